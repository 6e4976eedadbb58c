//! How a failure is shown to a person: one line, its causes, and a `hint:` when there is a fix.
//!
//! Errors in this crate put their cause in `source()` and never repeat it in their message, so the
//! chain printed here reads as a list of distinct facts, outermost first.

use std::error::Error;
use std::fmt::Write as _;

/// An error that knows how to help: the exit code it maps to and an optional hint.
pub trait Diagnose: Error {
    /// The exit code from [`crate::exit`] this error maps to.
    fn exit_code(&self) -> u8;
    /// A sentence telling the user how to fix it, when there is a fix.
    fn hint(&self) -> Option<String> {
        None
    }
}

/// An error and its causes on one line, `outer: cause: cause`, for JSON fields, records and
/// log lines.
pub fn one_line(err: &dyn Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Render an error as `harnessgym: error: <msg>`, one `caused by:` line per source, then a hint.
pub fn render(err: &(dyn Error + 'static), hint: Option<&str>) -> String {
    let mut out = format!("harnessgym: error: {err}\n");
    let mut source = err.source();
    while let Some(cause) = source {
        let _ = writeln!(out, "  caused by: {cause}");
        source = cause.source();
    }
    if let Some(hint) = hint {
        let _ = writeln!(out, "  hint: {hint}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("failed to open the task")]
    struct Outer {
        #[source]
        source: std::io::Error,
    }

    #[test]
    fn one_line_joins_each_cause_once() {
        let err = Outer {
            source: std::io::Error::other("no such file"),
        };
        assert_eq!(one_line(&err), "failed to open the task: no such file");
    }

    #[test]
    fn render_lists_each_cause_once_then_the_hint() {
        let err = Outer {
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        };
        let text = render(&err, Some("pass --task with an existing file"));
        assert_eq!(
            text,
            "harnessgym: error: failed to open the task\n  caused by: no such file\n  hint: pass --task with an existing file\n"
        );
    }
}
