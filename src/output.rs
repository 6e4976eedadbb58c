//! Printing that never panics: `println!` panics when stdout is a closed pipe (`harnessgym run |
//! head -1`) or stderr is closed, and a panic mid-run would skip the shutdown that removes the
//! run's containers. These macros write and drop the error: output that nobody reads is no
//! reason to stop a run or to leave anything behind.

/// `println!` to stdout, ignoring write errors (a closed pipe).
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::writeln!(::std::io::stdout().lock(), $($arg)*);
    }};
}

/// `eprintln!` to stderr, ignoring write errors (a closed stderr).
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::writeln!(::std::io::stderr().lock(), $($arg)*);
    }};
}

/// `eprint!` to stderr, ignoring write errors (a closed stderr).
#[macro_export]
macro_rules! errp {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let mut err = ::std::io::stderr().lock();
        let _ = ::std::write!(err, $($arg)*);
        let _ = err.flush();
    }};
}
