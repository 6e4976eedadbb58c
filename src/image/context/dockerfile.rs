//! The header of a Dockerfile: the `ARG`s before the first `FROM` and the base image that `FROM`
//! names once build args are applied, with Docker's line continuations and `escape` directive.

use std::collections::{BTreeMap, HashMap};
use std::fs;

use super::discover::ImageDir;
use super::error::ContextError;
use super::shell::shell_words;

/// An `ARG` declared before the first `FROM`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDecl {
    /// The variable name.
    pub name: String,
    /// Its default, already unquoted and expanded against the earlier ARGs; `None` for `ARG X`.
    pub default: Option<String>,
}

/// The first `FROM` of a Dockerfile, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseImage {
    /// The effective image reference, after ARG expansion (e.g. `harnessgym/rootfs:bookworm`).
    pub image: String,
    /// The `FROM` argument as written (e.g. `${BASE_IMAGE}`).
    pub raw: String,
    /// The stage name (`AS name`), if any.
    pub stage: Option<String>,
    /// The `--platform=` flag as written, if any.
    pub platform: Option<String>,
    /// The ARGs declared before the `FROM`, with their effective values (override or default).
    pub args: Vec<ArgDecl>,
}

/// Resolve the image the first `FROM` of `dockerfile` names, with `build_args` overriding the
/// defaults of the ARGs declared before it (as Docker does; undeclared build args are ignored).
///
/// Supports `$X`, `${X}`, `${X:-word}`, `${X:+word}`, quotes, line continuations and the `escape`
/// parser directive. An ARG without default and without override expands to the empty string.
pub fn resolve_base_image(
    dockerfile: &str,
    build_args: &BTreeMap<String, String>,
) -> Result<BaseImage, ContextError> {
    let mut scope = ArgScope::default();
    let escape = escape_char(dockerfile);
    for (line, text) in logical_lines(dockerfile, escape) {
        let (keyword, rest) = match text.split_once(char::is_whitespace) {
            Some((k, r)) => (k, r.trim()),
            None => (text.as_str(), ""),
        };
        match keyword.to_ascii_uppercase().as_str() {
            "ARG" => scope.declare(line, rest, build_args, escape)?,
            "FROM" => return parse_from(line, rest, scope, escape),
            other => {
                return Err(ContextError::InstructionBeforeFrom {
                    line,
                    instruction: other.to_owned(),
                });
            }
        }
    }
    Err(ContextError::NoFrom)
}

/// The ARGs declared so far: their values, for expansion, and the declarations in order.
#[derive(Default)]
struct ArgScope {
    values: HashMap<String, String>,
    decls: Vec<ArgDecl>,
}

impl ArgScope {
    /// Declare the variables of the `ARG` instruction on `line` (`rest` is its argument text):
    /// each takes its build arg if given, else its default, else the empty string.
    fn declare(
        &mut self,
        line: usize,
        rest: &str,
        build_args: &BTreeMap<String, String>,
        escape: char,
    ) -> Result<(), ContextError> {
        let syntax = |reason: String| ContextError::Syntax { line, reason };
        let words = shell_words(rest, &self.values, escape).map_err(syntax)?;
        if words.is_empty() {
            return Err(syntax("ARG needs a name".into()));
        }
        for word in words {
            let (name, default) = match word.split_once('=') {
                Some((n, d)) => (n.to_owned(), Some(d.to_owned())),
                None => (word, None),
            };
            if name.is_empty() {
                return Err(syntax("ARG with an empty name".into()));
            }
            let value = build_args
                .get(&name)
                .cloned()
                .or_else(|| default.clone())
                .unwrap_or_default();
            self.values.insert(name.clone(), value.clone());
            self.decls.push(ArgDecl {
                name,
                default: Some(value),
            });
        }
        Ok(())
    }
}

/// Parse the `FROM` instruction on `line` (`rest` is its argument text), expanding it against
/// the ARGs declared before it.
fn parse_from(
    line: usize,
    rest: &str,
    scope: ArgScope,
    escape: char,
) -> Result<BaseImage, ContextError> {
    let syntax = |reason: String| ContextError::Syntax { line, reason };
    let words = shell_words(rest, &scope.values, escape).map_err(syntax)?;
    let mut platform = None;
    let mut positional = Vec::new();
    for word in words {
        if positional.is_empty() && word.starts_with("--") {
            if let Some(p) = word.strip_prefix("--platform=") {
                platform = Some(p.to_owned());
            }
        } else {
            positional.push(word);
        }
    }
    let raw_image = rest
        .split_whitespace()
        .find(|w| !w.starts_with("--"))
        .unwrap_or_default()
        .to_owned();
    let (image, stage) = match positional.as_slice() {
        [image] => (image.clone(), None),
        [image, as_kw, stage] if as_kw.eq_ignore_ascii_case("as") => {
            (image.clone(), Some(stage.clone()))
        }
        _ => {
            return Err(syntax(format!(
                "FROM takes `[--platform=P] IMAGE [AS NAME]`, got `{rest}`"
            )));
        }
    };
    if image.is_empty() {
        return Err(ContextError::EmptyBaseImage {
            line,
            raw: raw_image,
        });
    }
    Ok(BaseImage {
        image,
        raw: raw_image,
        stage,
        platform,
        args: scope.decls,
    })
}

/// Read `dir/Dockerfile` and resolve its base image (see [`resolve_base_image`]).
pub fn resolve_base_image_of(
    image: &ImageDir,
    build_args: &BTreeMap<String, String>,
) -> Result<BaseImage, ContextError> {
    let text =
        fs::read_to_string(&image.dockerfile).map_err(|source| ContextError::ReadDockerfile {
            path: image.dockerfile.clone(),
            source,
        })?;
    resolve_base_image(&text, build_args)
}

/// The escape character from a leading `# escape=` parser directive, else `\`.
fn escape_char(text: &str) -> char {
    for line in text.lines() {
        let trimmed = line.trim();
        let Some(directive) = trimmed.strip_prefix('#') else {
            break;
        };
        let Some((key, value)) = directive.split_once('=') else {
            break;
        };
        let key = key.trim().to_ascii_lowercase();
        if key == "escape" {
            let value = value.trim();
            if value == "`" {
                return '`';
            }
            break;
        }
        if key != "syntax" && key != "check" {
            break;
        }
    }
    '\\'
}

/// Join continuation lines and drop comments and blank lines; yields (first line number, text).
fn logical_lines(text: &str, escape: char) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let trimmed = raw.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_some()) {
            continue; // comments (also inside continuations) and blank continuation lines
        }
        if trimmed.is_empty() {
            continue;
        }
        // Like Docker: the escape and the newline vanish, the next line is appended as written.
        let body = raw.trim_end();
        let (body, continues) = match body.strip_suffix(escape) {
            Some(b) => (b, true),
            None => (body, false),
        };
        let (start, mut acc) = current.take().unwrap_or((line_no, String::new()));
        acc.push_str(body);
        if continues {
            current = Some((start, acc));
        } else {
            out.push((start, acc.trim().to_owned()));
        }
    }
    if let Some((start, acc)) = current {
        out.push((start, acc.trim().to_owned()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::context::test_support::args;

    #[test]
    fn resolves_default_and_override() {
        let text = "# comment\nARG BASE_IMAGE=debian:bookworm-slim\nFROM ${BASE_IMAGE}\nRUN true\n";
        let base = resolve_base_image(text, &BTreeMap::new()).expect("resolve");
        assert_eq!(base.image, "debian:bookworm-slim");
        assert_eq!(base.raw, "${BASE_IMAGE}");
        let over = resolve_base_image(
            text,
            &args(&[("BASE_IMAGE", "harnessgym/rootfs:bookworm"), ("OTHER", "x")]),
        )
        .expect("resolve");
        assert_eq!(over.image, "harnessgym/rootfs:bookworm");
        assert_eq!(
            over.args,
            [ArgDecl {
                name: "BASE_IMAGE".into(),
                default: Some("harnessgym/rootfs:bookworm".into())
            }]
        );
    }

    #[test]
    fn resolves_the_repo_dockerfile_shape() {
        let text = "# harnessgym base image\n#\nARG BASE_IMAGE=debian:bookworm-slim\nFROM ${BASE_IMAGE}\n\nRUN set -eu; \\\n    echo hi\n";
        let base = resolve_base_image(text, &BTreeMap::new()).expect("resolve");
        assert_eq!(base.image, "debian:bookworm-slim");
    }

    #[test]
    fn undeclared_build_args_do_not_apply() {
        let text = "FROM $BASE_IMAGE\n";
        let err = resolve_base_image(text, &args(&[("BASE_IMAGE", "x")])).expect_err("empty");
        assert!(
            matches!(err, ContextError::EmptyBaseImage { line: 1, .. }),
            "{err}"
        );
    }

    #[test]
    fn composes_args_and_modifiers() {
        let text = "ARG REPO=harnessgym\nARG NAME=\"base\"\nARG TAG\nARG IMAGE=$REPO/${NAME}\n\
                FROM --platform=linux/amd64 ${IMAGE}:${TAG:-latest} AS build\n";
        let base = resolve_base_image(text, &BTreeMap::new()).expect("resolve");
        assert_eq!(base.image, "harnessgym/base:latest");
        assert_eq!(base.stage.as_deref(), Some("build"));
        assert_eq!(base.platform.as_deref(), Some("linux/amd64"));
        let tagged = resolve_base_image(text, &args(&[("TAG", "abc")])).expect("resolve");
        assert_eq!(tagged.image, "harnessgym/base:abc");
        let plus =
            resolve_base_image("ARG D=1\nFROM x${D:+-dev}\n", &BTreeMap::new()).expect("resolve");
        assert_eq!(plus.image, "x-dev");
    }

    #[test]
    fn multiple_args_on_one_line_and_lowercase_keywords() {
        let text = "arg A=a B=b\nfrom ${A}:${B} as s\n";
        let base = resolve_base_image(text, &BTreeMap::new()).expect("resolve");
        assert_eq!(base.image, "a:b");
        assert_eq!(base.stage.as_deref(), Some("s"));
    }

    #[test]
    fn continuation_lines_and_escape_directive() {
        let text = "ARG BASE=debian:\\\nbookworm\nFROM \\\n  # inline comment\n  $BASE\n";
        let base = resolve_base_image(text, &BTreeMap::new()).expect("resolve");
        assert_eq!(base.image, "debian:bookworm");
        let text = "# escape=`\nARG BASE=c:\\image\nFROM `\n  $BASE\n";
        let base = resolve_base_image(text, &BTreeMap::new()).expect("resolve");
        assert_eq!(base.image, "c:\\image");
    }

    #[test]
    fn single_quotes_do_not_expand_and_escaped_dollar_is_literal() {
        let text = "ARG A=x\nARG B='$A'\nFROM ${B}\n";
        let base = resolve_base_image(text, &BTreeMap::new()).expect("resolve");
        assert_eq!(base.image, "$A");
        let text = "FROM a\\$b\n";
        let base = resolve_base_image(text, &BTreeMap::new()).expect("resolve");
        assert_eq!(base.image, "a$b");
    }

    #[test]
    fn header_errors() {
        let none = BTreeMap::new();
        assert!(matches!(
            resolve_base_image("ARG A=1\n", &none),
            Err(ContextError::NoFrom)
        ));
        assert!(matches!(
            resolve_base_image("RUN x\nFROM a\n", &none),
            Err(ContextError::InstructionBeforeFrom { line: 1, .. })
        ));
        assert!(matches!(
            resolve_base_image("FROM a b\n", &none),
            Err(ContextError::Syntax { line: 1, .. })
        ));
        assert!(matches!(
            resolve_base_image("ARG A=\"x\nFROM a\n", &none),
            Err(ContextError::Syntax { line: 1, .. })
        ));
        assert!(matches!(
            resolve_base_image("FROM ${A#x}\n", &none),
            Err(ContextError::Syntax { .. })
        ));
    }
}
