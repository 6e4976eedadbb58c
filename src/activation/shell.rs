//! POSIX shell-word splitting as Python's `shlex.split` does it (reference §6.3: a string
//! `self_test` is shell-split, never run through a shell).
//!
//! Whitespace (space, tab, CR, LF) separates words; single quotes keep everything literally;
//! inside double quotes a backslash escapes only `"` and `\`; outside quotes it escapes any
//! character, a newline included. Quotes may appear in the middle of a word (`a"b c"d` is one
//! word), `''` is an empty word, and `#` is an ordinary character (`shlex.split` disables
//! comments).
//!
//! Why not the `shlex` crate: it follows the POSIX shell where Python does not, and bundles'
//! `self_test` strings are written for Python. On `a #b` it drops `#b` as a comment (Python:
//! `["a", "#b"]`); in double quotes it unescapes `\$` and `` \` `` and drops a backslash-newline
//! (Python keeps both characters); outside quotes it joins a backslash-newline (Python keeps the
//! newline); it keeps `\r` inside a word (Python splits on it); and it reports every failure as
//! `None`, so the manifest warning could not say which quote or escape is wrong. The cases below
//! are Python's own answers.

use std::fmt;

/// Why a string could not be split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitProblem {
    /// A quote is never closed (Python: "No closing quotation").
    NoClosingQuotation,
    /// The string ends with an unescaped backslash (Python: "No escaped character").
    NoEscapedCharacter,
}

impl fmt::Display for SplitProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoClosingQuotation => "no closing quotation",
            Self::NoEscapedCharacter => "no escaped character",
        })
    }
}

/// Where the splitter is inside the current word.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Plain,
    Single,
    Double,
}

/// Splits `text` into words like `shlex.split(text)`.
pub fn split(text: &str) -> Result<Vec<String>, SplitProblem> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut state = State::Plain;
    let mut chars = text.chars();
    while let Some(ch) = chars.next() {
        match (state, ch) {
            (State::Plain, ' ' | '\t' | '\r' | '\n') => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (State::Plain, '\'') => (state, in_word) = (State::Single, true),
            (State::Plain, '"') => (state, in_word) = (State::Double, true),
            (State::Plain, '\\') => {
                word.push(chars.next().ok_or(SplitProblem::NoEscapedCharacter)?);
                in_word = true;
            }
            (State::Single, '\'') | (State::Double, '"') => state = State::Plain,
            (State::Double, '\\') => match chars.next() {
                Some(next @ ('"' | '\\')) => word.push(next),
                Some(next) => {
                    word.push('\\');
                    word.push(next);
                }
                None => return Err(SplitProblem::NoEscapedCharacter),
            },
            (_, other) => {
                word.push(other);
                in_word = true;
            }
        }
    }
    if state != State::Plain {
        return Err(SplitProblem::NoClosingQuotation);
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each input with what CPython 3.11's `shlex.split` returns for it (`ValueError("No closing
    /// quotation")` and `ValueError("No escaped character")` as the two problems).
    #[test]
    fn splits_exactly_like_python_shlex() {
        let cases: &[(&str, Result<&[&str], SplitProblem>)] = &[
            ("", Ok(&[])),
            ("   ", Ok(&[])),
            ("python3 test.py", Ok(&["python3", "test.py"])),
            ("  a\t b\n", Ok(&["a", "b"])),
            ("a\rb", Ok(&["a", "b"])),
            ("a 'b c' \"d e\"", Ok(&["a", "b c", "d e"])),
            ("a\"b c\"d", Ok(&["ab cd"])),
            ("'' x", Ok(&["", "x"])),
            ("\"\"", Ok(&[""])),
            ("a\\ b", Ok(&["a b"])),
            ("\"a\\\"b\\\\c\\d\"", Ok(&["a\"b\\c\\d"])),
            ("'a\\b'", Ok(&["a\\b"])),
            ("echo #not-a-comment", Ok(&["echo", "#not-a-comment"])),
            ("a #b c", Ok(&["a", "#b", "c"])),
            ("a#b", Ok(&["a#b"])),
            ("\"\\$HOME\"", Ok(&["\\$HOME"])),
            ("\"\\`x\"", Ok(&["\\`x"])),
            ("a\\\nb", Ok(&["a\nb"])),
            ("\"a\\\nb\"", Ok(&["a\\\nb"])),
            ("'it'\\''s'", Ok(&["it's"])),
            ("x=\"1 2\"", Ok(&["x=1 2"])),
            ("--arg='{\"k\": 1}'", Ok(&["--arg={\"k\": 1}"])),
            (
                "sh -c 'python3 -m pytest -q tests/ && echo ok'",
                Ok(&["sh", "-c", "python3 -m pytest -q tests/ && echo ok"]),
            ),
            (
                "python3 server.py --self-test",
                Ok(&["python3", "server.py", "--self-test"]),
            ),
            ("a 'b", Err(SplitProblem::NoClosingQuotation)),
            ("a \"b", Err(SplitProblem::NoClosingQuotation)),
            ("a \\", Err(SplitProblem::NoEscapedCharacter)),
            ("\"a\\", Err(SplitProblem::NoEscapedCharacter)),
            ("'a\\", Err(SplitProblem::NoClosingQuotation)),
            ("ünï cødé 'ß x'", Ok(&["ünï", "cødé", "ß x"])),
        ];
        for (input, expected) in cases {
            let expected = expected.map(|words| words.iter().map(ToString::to_string).collect());
            assert_eq!(split(input), expected, "{input:?}");
        }
    }

    #[test]
    fn problems_read_like_pythons() {
        assert_eq!(
            SplitProblem::NoClosingQuotation.to_string(),
            "no closing quotation"
        );
        assert_eq!(
            SplitProblem::NoEscapedCharacter.to_string(),
            "no escaped character"
        );
    }
}
