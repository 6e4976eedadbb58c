//! The prompts HarnessGym sends to the agent (reference §8, `prompts.py`): the attempt prompt with
//! its artifact context, and the reflection, build and repair prompts that resume the same session
//! (when each is used: reference §2.2 steps 5, 14, 16 and §5).
//!
//! The texts live in `prompts/templates/*.md` and are filled by a tiny `{placeholder}`
//! substitution (`template`); `context` renders the registered artifacts and the activation
//! report; `render` holds the input structs and the renderers. Everything the agent sees uses
//! container paths under `/workspace`; the host workspace path never appears in a prompt.

mod context;
mod error;
mod render;
mod template;
#[cfg(test)]
mod tests;

pub use context::{PREVIEW_CHARS, Preview, Previews, collect_previews, render_artifact_context};
pub use error::PromptError;
pub use render::{
    Agent, AttemptPrompt, BuildPrompt, CONTAINER_WORKSPACE, HarnessDepth, PromptSession,
    ReflectionPrompt, RepairPrompt, StopTarget, TaskOrigin, container_result_path,
    render_attempt_prompt, render_build_prompt, render_reflection_prompt, render_repair_prompt,
    to_container_paths,
};
