//! How snapshots are registered with an engine: by loading layers we make (cost what changed,
//! on every storage driver), or by committing a staging container (engines that refuse partial
//! image archives, e.g. the containerd image store, whose snapshotter diffs natively).
//!
//! Decided once per engine: `HARNESSGYM_SNAPSHOT_STRATEGY=load|commit` forces it (tests run one
//! suite with each); otherwise the answer remembered for the engine's id; otherwise a probe (a
//! tiny partial load), whose answer is remembered.

use crate::sandbox::facts::{self, EngineFacts};
use crate::sandbox::{Engine, EngineInfo, Role, SandboxError};

/// The variable that forces a strategy.
pub const STRATEGY_ENV: &str = "HARNESSGYM_SNAPSHOT_STRATEGY";

/// How snapshots become images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// `POST /images/load` of an archive holding only the new layer.
    Load,
    /// The layer applied in a staging container of the parent, then `docker commit`.
    Commit,
}

/// Why a strategy was chosen (recorded in `run_config.json`, shown by `doctor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// [`STRATEGY_ENV`] said so.
    Forced,
    /// Remembered from an earlier probe of this engine.
    Remembered,
    /// Probed now.
    Probed,
}

impl Strategy {
    /// The name as recorded.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Load => "load",
            Strategy::Commit => "commit",
        }
    }
}

impl Source {
    /// The name as recorded.
    pub fn name(self) -> &'static str {
        match self {
            Source::Forced => "forced",
            Source::Remembered => "remembered",
            Source::Probed => "probed",
        }
    }
}

/// The strategy for `engine`, probing with `image` (any image the engine has) if needed.
pub async fn detect(
    engine: &Engine,
    info: &EngineInfo,
    image: &str,
) -> Result<(Strategy, Source), SandboxError> {
    match std::env::var(STRATEGY_ENV).ok().as_deref() {
        Some("load") => return Ok((Strategy::Load, Source::Forced)),
        Some("commit") => return Ok((Strategy::Commit, Source::Forced)),
        Some(other) if !other.is_empty() => {
            tracing::warn!("{STRATEGY_ENV}={other} is neither `load` nor `commit`; ignored");
        }
        _ => {}
    }
    let mut known = facts::load(&info.id);
    if let Some(partial) = known.partial_load {
        return Ok((pick(partial), Source::Remembered));
    }
    let labels = engine.labels("harnessgym-probe", Role::Staging);
    let partial = engine.probe_partial_load(image, &labels).await?;
    known.partial_load = Some(partial);
    facts::save(&info.id, &known);
    Ok((pick(partial), Source::Probed))
}

fn pick(partial_load: bool) -> Strategy {
    if partial_load {
        Strategy::Load
    } else {
        Strategy::Commit
    }
}

/// What is remembered about an engine (for `doctor`).
pub fn remembered(info: &EngineInfo) -> EngineFacts {
    facts::load(&info.id)
}
