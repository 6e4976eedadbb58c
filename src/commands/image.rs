//! stub
use super::context::Context;
use super::error::CommandError;
use crate::cli::ImageCommand;
pub async fn run(_ctx: &Context, _c: ImageCommand) -> Result<u8, CommandError> { Ok(0) }
