//! Our own stdin, stdout and stderr as async files.
//!
//! The crate's tokio build has no `io-std`; a duplicate of each descriptor wrapped in
//! [`tokio::fs::File`] does the same job (reads and writes run on the blocking pool) without
//! `unsafe`. Callers flush after every message, which is also when write errors surface.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};

/// Our stdin.
pub fn stdin() -> io::Result<tokio::fs::File> {
    duplicate(io::stdin().as_fd())
}

/// Our stdout.
pub fn stdout() -> io::Result<tokio::fs::File> {
    duplicate(io::stdout().as_fd())
}

/// Our stderr.
pub fn stderr() -> io::Result<tokio::fs::File> {
    duplicate(io::stderr().as_fd())
}

fn duplicate(fd: BorrowedFd<'_>) -> io::Result<tokio::fs::File> {
    let owned = fd.try_clone_to_owned()?;
    Ok(tokio::fs::File::from_std(std::fs::File::from(owned)))
}
