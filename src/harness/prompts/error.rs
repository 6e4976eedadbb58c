//! The one error type of prompt rendering.

use crate::harness::json::JsonError;

/// Why a prompt could not be rendered. Every variant is a defect in this crate (a template out of
/// step with its caller, or JSON that cannot be serialized), never bad user input; the unit tests
/// render every template so that they cannot happen in a release.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    /// A template uses a placeholder its caller gives no value for.
    #[error("template {template} uses placeholder {{{placeholder}}} but no value was given")]
    MissingValue {
        /// Template file name.
        template: &'static str,
        /// The placeholder without braces.
        placeholder: String,
    },
    /// A caller gives a value for a placeholder the template does not use.
    #[error("template {template} has no placeholder {{{placeholder}}} for the value given")]
    UnusedValue {
        /// Template file name.
        template: &'static str,
        /// The placeholder without braces.
        placeholder: String,
    },
    /// A JSON document embedded in a prompt could not be serialized.
    #[error("failed to render {what} as json")]
    Json {
        /// What was being rendered (`attempt result`, `qualification report`).
        what: &'static str,
        /// The serializer's failure.
        #[source]
        source: JsonError,
    },
}
