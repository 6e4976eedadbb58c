//! POSIX shell-word splitting as Python's `shlex.split` does it (reference §6.3: a string
//! `self_test` is shell-split, never run through a shell).
//!
//! Whitespace separates words; single quotes keep everything literally; inside double quotes a
//! backslash escapes only `"` and `\`; outside quotes it escapes any character. Quotes may appear
//! in the middle of a word (`a"b c"d` is one word), `''` is an empty word, and `#` is an ordinary
//! character (`shlex.split` disables comments).

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
                None => return Err(SplitProblem::NoClosingQuotation),
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

    fn ok(text: &str) -> Vec<String> {
        split(text).expect("splits")
    }

    #[test]
    fn splits_like_python_shlex() {
        assert_eq!(ok("python3 test.py"), ["python3", "test.py"]);
        assert_eq!(ok("  a\t b\n"), ["a", "b"]);
        assert_eq!(ok("a 'b c' \"d e\""), ["a", "b c", "d e"]);
        assert_eq!(ok("a\"b c\"d"), ["ab cd"]);
        assert_eq!(ok("'' x"), ["", "x"]);
        assert_eq!(ok(r"a\ b"), ["a b"]);
        assert_eq!(ok(r#""a\"b\\c\d""#), [r#"a"b\c\d"#]);
        assert_eq!(ok(r"'a\b'"), [r"a\b"]);
        assert_eq!(ok("echo #not-a-comment"), ["echo", "#not-a-comment"]);
        assert_eq!(ok("   "), Vec::<String>::new());
    }

    #[test]
    fn reports_unbalanced_input() {
        assert_eq!(split("a 'b"), Err(SplitProblem::NoClosingQuotation));
        assert_eq!(split("a \"b"), Err(SplitProblem::NoClosingQuotation));
        assert_eq!(split("a \\"), Err(SplitProblem::NoEscapedCharacter));
        assert_eq!(
            SplitProblem::NoClosingQuotation.to_string(),
            "no closing quotation"
        );
    }
}
