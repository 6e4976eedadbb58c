//! Images: build `images/<name>/Dockerfile` through the engine API with content-hash tags, and
//! bootstrap an offline Debian base when no registry can be reached.

pub mod bootstrap;
mod build;
pub mod context;
mod error;
pub mod wheel;

pub use build::{BuildOptions, BuildOutcome, bootstrap_rootfs, build_images};
pub use error::ImageError;

/// The base image every container runs in unless `--image` names another.
pub const BASE_IMAGE: &str = "harnessgym/base:latest";

/// The Claude Code image (`--runner claude`).
pub const CLAUDE_IMAGE: &str = "harnessgym/claude:latest";
/// The Codex image (`--runner exec`, `--runner tui-goal`).
pub const CODEX_IMAGE: &str = "harnessgym/codex:latest";

/// The images compiled into the binary, so `harnessgym image build` works from any directory:
/// `(image, file, content)`.
pub const EMBEDDED: &[(&str, &str, &str)] = &[
    (
        "base",
        "Dockerfile",
        include_str!("../../images/base/Dockerfile"),
    ),
    (
        "claude",
        "Dockerfile",
        include_str!("../../images/claude/Dockerfile"),
    ),
    (
        "claude",
        "pin.toml",
        include_str!("../../images/claude/pin.toml"),
    ),
    (
        "claude",
        "extract_wheel.py",
        include_str!("../../images/claude/extract_wheel.py"),
    ),
    (
        "codex",
        "Dockerfile",
        include_str!("../../images/codex/Dockerfile"),
    ),
    (
        "codex",
        "pin.toml",
        include_str!("../../images/codex/pin.toml"),
    ),
    (
        "codex",
        "extract_wheel.py",
        include_str!("../../images/codex/extract_wheel.py"),
    ),
];
