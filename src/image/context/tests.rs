//! Unit tests of the parent module.
use super::*;

fn args(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("mkdir");
    }
    fs::write(path, text).expect("write");
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

fn sample_context(dir: &Path) {
    write(&dir.join("Dockerfile"), "FROM debian:bookworm-slim\n");
    write(&dir.join("scripts/setup.sh"), "#!/bin/sh\necho hi\n");
    set_mode(&dir.join("scripts/setup.sh"), 0o755);
    write(&dir.join("a.txt"), "a");
    std::os::unix::fs::symlink("scripts/setup.sh", dir.join("link")).expect("symlink");
}

#[test]
fn discovers_images_sorted_and_skips_dirs_without_dockerfile() {
    let root = tempfile::tempdir().expect("tempdir");
    write(&root.path().join("codex/Dockerfile"), "FROM x\n");
    write(&root.path().join("base/Dockerfile"), "FROM y\n");
    write(&root.path().join("notes/README.md"), "no dockerfile\n");
    write(&root.path().join(".hidden/Dockerfile"), "FROM z\n");
    write(&root.path().join("file-at-top"), "x");
    let images = discover_images(root.path()).expect("discover");
    let names: Vec<_> = images.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["base", "codex"]);
    assert_eq!(images[0].dockerfile, root.path().join("base/Dockerfile"));
}

#[test]
fn invalid_image_directory_name_is_an_error() {
    let root = tempfile::tempdir().expect("tempdir");
    write(&root.path().join("Base/Dockerfile"), "FROM x\n");
    let err = discover_images(root.path()).expect_err("uppercase name");
    assert!(
        matches!(err, ContextError::InvalidImageName { .. }),
        "{err}"
    );
}

#[test]
fn image_name_rules() {
    for ok in [
        "base",
        "codex",
        "claude-code",
        "a.b",
        "a_b",
        "a__b",
        "a--b",
        "x1",
    ] {
        assert!(is_valid_image_name(ok), "{ok}");
    }
    for bad in ["", "Base", "-a", "a-", "a..b", "a___b", "a b", "a/b", "_a"] {
        assert!(!is_valid_image_name(bad), "{bad}");
    }
}

#[test]
fn tar_is_deterministic_sorted_and_normalised() {
    let one = tempfile::tempdir().expect("tempdir");
    let two = tempfile::tempdir().expect("tempdir");
    sample_context(one.path());
    sample_context(two.path());
    // Different mtimes and a different non-exec mode on the second copy.
    set_mode(&two.path().join("a.txt"), 0o600);
    let later = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
    fs::File::options()
        .write(true)
        .open(two.path().join("a.txt"))
        .expect("open")
        .set_modified(later)
        .expect("mtime");
    let a = context_tar_bytes(one.path()).expect("tar");
    let b = context_tar_bytes(two.path()).expect("tar");
    assert_eq!(a, b);

    let mut archive = tar::Archive::new(a.as_slice());
    let mut seen = Vec::new();
    for entry in archive.entries().expect("entries") {
        let entry = entry.expect("entry");
        let header = entry.header();
        assert_eq!(header.mtime().expect("mtime"), 0);
        assert_eq!(header.uid().expect("uid"), 0);
        assert_eq!(header.gid().expect("gid"), 0);
        let path = entry.path().expect("path").to_string_lossy().into_owned();
        let mode = header.mode().expect("mode");
        let link = entry
            .link_name()
            .expect("link")
            .map(|l| l.to_string_lossy().into_owned());
        seen.push((path, mode, link));
    }
    assert_eq!(
        seen,
        [
            ("Dockerfile".to_owned(), 0o644, None),
            ("a.txt".to_owned(), 0o644, None),
            (
                "link".to_owned(),
                0o777,
                Some("scripts/setup.sh".to_owned())
            ),
            ("scripts/".to_owned(), 0o755, None),
            ("scripts/setup.sh".to_owned(), 0o755, None),
        ]
    );
}

#[test]
fn tar_handles_long_paths() {
    let dir = tempfile::tempdir().expect("tempdir");
    let long = format!("{}/{}", "d".repeat(120), "f".repeat(120));
    write(&dir.path().join(&long), "x");
    let bytes = context_tar_bytes(dir.path()).expect("tar");
    let mut archive = tar::Archive::new(bytes.as_slice());
    let paths: Vec<String> = archive
        .entries()
        .expect("entries")
        .map(|e| {
            e.expect("entry")
                .path()
                .expect("path")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert!(paths.contains(&long), "{paths:?}");
}

#[test]
fn hash_depends_on_content_mode_path_args_and_base() {
    let dir = tempfile::tempdir().expect("tempdir");
    sample_context(dir.path());
    let none = BTreeMap::new();
    let h = |d: &Path, a: &BTreeMap<String, String>, base: Option<&str>| {
        context_hash(d, a, base).expect("hash")
    };
    let base = h(dir.path(), &none, None);
    assert_eq!(base.full().len(), 64);
    assert_eq!(base.short().len(), SHORT_HASH_LEN);
    assert!(base.full().starts_with(base.short()));
    assert_eq!(base, h(dir.path(), &none, None), "stable");

    let with_arg = h(dir.path(), &args(&[("BASE_IMAGE", "x")]), None);
    assert_ne!(base, with_arg);
    assert_ne!(with_arg, h(dir.path(), &args(&[("BASE_IMAGE", "y")]), None));
    assert_ne!(base, h(dir.path(), &none, Some("sha256:abc")));

    set_mode(&dir.path().join("a.txt"), 0o755);
    let exec = h(dir.path(), &none, None);
    assert_ne!(base, exec, "executable bit is hashed");
    set_mode(&dir.path().join("a.txt"), 0o600);
    assert_eq!(base, h(dir.path(), &none, None), "only the exec bit counts");

    write(&dir.path().join("a.txt"), "b");
    let content = h(dir.path(), &none, None);
    assert_ne!(base, content);
    write(&dir.path().join("a.txt"), "a");

    fs::rename(dir.path().join("a.txt"), dir.path().join("b.txt")).expect("rename");
    assert_ne!(base, h(dir.path(), &none, None), "path is hashed");
}

#[test]
fn field_encoding_is_unambiguous() {
    // "ab" + "c" must not hash like "a" + "bc".
    let dir = tempfile::tempdir().expect("tempdir");
    write(&dir.path().join("Dockerfile"), "FROM x\n");
    let one = context_hash(dir.path(), &args(&[("ab", "c")]), None).expect("hash");
    let two = context_hash(dir.path(), &args(&[("a", "bc")]), None).expect("hash");
    assert_ne!(one, two);
}

#[test]
fn tags_use_short_hash_and_latest() {
    let hash = ContextHash("0123456789abcdef".repeat(4));
    let tags = image_tags("base", &hash);
    assert_eq!(tags.content, "harnessgym/base:0123456789ab");
    assert_eq!(tags.latest, "harnessgym/base:latest");
}

#[test]
fn local_image_names() {
    assert_eq!(local_image_name("harnessgym/base:latest"), Some("base"));
    assert_eq!(local_image_name("harnessgym/base"), Some("base"));
    assert_eq!(
        local_image_name("harnessgym/rootfs:bookworm"),
        Some("rootfs")
    );
    assert_eq!(local_image_name("harnessgym/base@sha256:00"), Some("base"));
    assert_eq!(local_image_name("debian:bookworm-slim"), None);
    assert_eq!(local_image_name("harnessgymx/base"), None);
    assert_eq!(local_image_name("docker.io/harnessgym/base"), None);
}

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

#[test]
fn error_messages_are_lowercase_and_do_not_repeat_the_cause() {
    let err = ContextError::ReadFile {
        path: PathBuf::from("/x"),
        source: io::Error::other("disk on fire"),
    };
    let text = err.to_string();
    assert!(!text.contains("disk on fire"));
    assert!(text.starts_with(char::is_lowercase));
}
