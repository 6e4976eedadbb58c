//! The `harnessgym` binary: parse, run, map the outcome to the exit-code table.

use std::process::ExitCode;

fn main() -> ExitCode {
    harnessgym::commands::main()
}
