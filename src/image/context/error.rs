//! The error type of build contexts: listing images, walking and reading a context, writing its
//! tar, and parsing the header of its Dockerfile.

use std::io;
use std::path::PathBuf;

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// The `images/` directory could not be listed.
    #[error("failed to list the images directory {}", path.display())]
    ListImages {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// An image directory has a name Docker does not accept as a repository component.
    #[error(
        "image directory {} has an invalid name: use lowercase letters, digits and `.`, `_`, `-` between them",
        path.display()
    )]
    InvalidImageName {
        /// The directory.
        path: PathBuf,
    },
    /// A context directory could not be walked (read_dir or metadata failed).
    #[error("failed to walk the build context at {}", path.display())]
    Walk {
        /// The path being read.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A path in the context is not valid UTF-8.
    #[error("build context path {} is not valid UTF-8", path.display())]
    NonUtf8Path {
        /// The path.
        path: PathBuf,
    },
    /// A context entry is neither a file, a directory nor a symlink.
    #[error("build context entry {} is not a file, directory or symlink", path.display())]
    UnsupportedEntry {
        /// The path.
        path: PathBuf,
    },
    /// A context file could not be read (or changed size while it was read).
    #[error("failed to read build context file {}", path.display())]
    ReadFile {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Writing the tar stream failed.
    #[error("failed to write the build context tar")]
    WriteTar {
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The Dockerfile could not be read.
    #[error("failed to read {}", path.display())]
    ReadDockerfile {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The Dockerfile has no `FROM` instruction.
    #[error("the Dockerfile has no FROM instruction")]
    NoFrom,
    /// An instruction other than `ARG` comes before the first `FROM`.
    #[error("line {line}: `{instruction}` comes before the first FROM (only ARG may)")]
    InstructionBeforeFrom {
        /// 1-based line number.
        line: usize,
        /// The instruction keyword.
        instruction: String,
    },
    /// A line of the Dockerfile header could not be parsed.
    #[error("line {line}: {reason}")]
    Syntax {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The `FROM` image expands to an empty name.
    #[error("line {line}: the FROM image `{raw}` expands to an empty name")]
    EmptyBaseImage {
        /// 1-based line number.
        line: usize,
        /// The raw `FROM` argument.
        raw: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
