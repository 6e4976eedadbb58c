//! Images: build `images/<name>/Dockerfile` through the API, bootstrap an offline base.
#![allow(missing_docs)]

/// The base image every container runs in unless `--image` names another.
pub const BASE_IMAGE: &str = "harnessgym/base:latest";

/// stub
#[derive(Debug, thiserror::Error)]
#[error("image")]
pub struct ImageError;
impl crate::diagnostics::Diagnose for ImageError {
    fn exit_code(&self) -> u8 { 1 }
}
