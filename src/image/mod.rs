//! Images: build `images/<name>/Dockerfile` through the engine API with content-hash tags, and
//! bootstrap an offline Debian base when no registry can be reached.

pub mod bootstrap;
mod build;
pub mod context;
mod error;

pub use build::{BuildOptions, BuildOutcome, bootstrap_rootfs, build_images};
pub use error::ImageError;

/// The base image every container runs in unless `--image` names another.
pub const BASE_IMAGE: &str = "harnessgym/base:latest";

/// The images compiled into the binary, so `harnessgym image build` works from any directory.
pub const EMBEDDED: &[(&str, &str, &str)] = &[(
    "base",
    "Dockerfile",
    include_str!("../../images/base/Dockerfile"),
)];
