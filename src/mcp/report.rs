//! How the MCP helpers report failures on stderr: the crate's `harnessgym: error:` rendering for
//! people, and one-line error chains for JSON fields and log lines.

use std::error::Error;

/// An error and its causes on one line: `outer: cause: cause`.
pub fn chain(err: &(dyn Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Prints `err` the way every harnessgym command does (message, causes, hint).
pub fn print_error(err: &(dyn Error + 'static), hint: Option<&str>) {
    crate::errp!("{}", crate::diagnostics::render(err, hint));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("failed to start `x`")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn chain_joins_each_cause_once() {
        let err = Outer(std::io::Error::new(std::io::ErrorKind::NotFound, "gone"));
        assert_eq!(chain(&err), "failed to start `x`: gone");
    }
}
