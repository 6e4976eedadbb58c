//! How the MCP helpers report failures on stderr: the crate's `harnessgym: error:` rendering for
//! people, and one-line error chains for JSON fields and log lines.

use std::error::Error;

pub use crate::diagnostics::one_line as chain;

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
