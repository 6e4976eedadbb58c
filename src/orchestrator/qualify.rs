//! The qualification seam (reference §5). The loop calls it after every build; a qualification
//! that passes changes nothing, so the loop goes on as after a pass.
//!
//! Qualification in a clean container (activation as the self-test, repair, quarantine) plugs
//! in here; until then the report says it was not run rather than claiming a pass.

use serde_json::{Value, json};

use super::RunConfig;
use crate::harness::registry::Registry;

/// The `artifact_qualification` block for iteration `i`.
pub fn qualify(config: &RunConfig, registry: &Registry, i: u32) -> Value {
    if !config.qualify_artifacts {
        return json!({"status": "disabled", "iteration": i});
    }
    json!({
        "status": "not_run",
        "iteration": i,
        "reason": "clean-container qualification is not available in this version; artifacts were not quarantined",
        "registry_artifact_count": registry.artifacts.len(),
    })
}
