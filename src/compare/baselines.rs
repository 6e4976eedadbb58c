//! The compare's two starting points, made once for all trials and owned by the compare (its id
//! is their run label; records in `<output-dir>/snapshots/`, a re-run's in its directory):
//!
//! - the **template baseline**: the helper layer plus the template packed on the host without
//!   the exclusions of [`super::template`] — every plain trial's sessions start from it;
//! - the **harnessed baseline**: a session of the template baseline into which the bundle is
//!   uploaded, captured — one more layer, shared by every harnessed trial.
//!
//! An unchanged template packs to the same layer, which the engine already has: a second
//! compare (or a re-run) of the same template sends only a config.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::bundle::Bundle;
use super::error::CompareError;
use super::template;
use crate::layer::pack::PackFilter;
use crate::orchestrator::RunConfig;
use crate::sandbox::{ContainerSpec, Engine, WORKSPACE};
use crate::snapshot::{Capture, Snapshot, SnapshotStore, Strategy};

/// The name of the harnessed baseline snapshot.
pub const HARNESSED: &str = "harnessed-baseline";

/// The compare's baselines.
#[derive(Debug)]
pub struct Baselines {
    /// The store they belong to (the compare's run label).
    pub store: SnapshotStore,
    /// The template's.
    pub template: Snapshot,
    /// The template's files as trials see them.
    pub files: Vec<PathBuf>,
    /// The template plus the bundle, when there is a bundle.
    pub harnessed: Option<Snapshot>,
    /// Where their records are.
    pub records: PathBuf,
}

/// A container spec like a trial's (image, limits, runtime), network off.
pub fn spec(probe: &RunConfig) -> ContainerSpec {
    let mut spec = ContainerSpec::new(&probe.image);
    spec.limits = probe.limits;
    spec.runtime = probe.runtime.clone();
    spec.network = "none".to_string();
    spec
}

/// Make the baselines of `template_dir` (and of `bundle`, when there is one).
pub async fn make(
    engine: &Engine,
    (label, records_root): (&str, &Path),
    template_dir: &Path,
    probe: &RunConfig,
    strategy: Strategy,
    bundle: Option<&Bundle>,
) -> Result<Baselines, CompareError> {
    let records = crate::snapshot::records_dir(records_root);
    let store = SnapshotStore::new(engine.clone(), label, records.clone(), strategy);
    let helper = crate::snapshot::helper_binary().map_err(CompareError::io(
        "locate the harnessgym binary at",
        Path::new("(self)"),
    ))?;
    let filter = PackFilter {
        exclude: Some(template::is_excluded),
        ..PackFilter::default()
    };
    let baseline = store
        .baseline_filtered(&probe.image, template_dir, &helper, filter)
        .await?;
    let dir = template_dir.to_path_buf();
    let files = tokio::task::spawn_blocking(move || template::files(&dir))
        .await
        .map_err(|e| CompareError::io("list", template_dir)(std::io::Error::other(e)))?
        .map_err(CompareError::io("list", template_dir))?;
    let harnessed = match bundle {
        Some(bundle) => Some(with_bundle(&store, &baseline, probe, bundle).await?),
        None => None,
    };
    Ok(Baselines {
        store,
        template: baseline,
        files,
        harnessed,
        records,
    })
}

/// The template baseline plus the bundle, as one captured layer.
async fn with_bundle(
    store: &SnapshotStore,
    baseline: &Snapshot,
    probe: &RunConfig,
    bundle: &Bundle,
) -> Result<Snapshot, CompareError> {
    let (container, base) = store.open_session(baseline, &spec(probe)).await?;
    let made = async {
        let filter = PackFilter {
            include: Some(vec![PathBuf::from(crate::harness::registry::HARNESS_DIR)]),
            ..PackFilter::default()
        };
        container
            .upload_dir(bundle.root(), filter, WORKSPACE)
            .await?;
        store.capture(&container, &base, HARNESSED, None).await
    }
    .await;
    container.remove().await?;
    match made? {
        Capture::Taken(snapshot, _) => Ok(snapshot),
        Capture::TooLarge { limit } => Err(CompareError::Io {
            action: "capture the bundle (over the limit) of",
            path: bundle.source.clone(),
            source: std::io::Error::other(format!("{limit} bytes")),
        }),
    }
}

impl Baselines {
    /// What a trial of `harnessed` or not starts from.
    pub fn start(&self, harnessed: bool) -> &Snapshot {
        match (&self.harnessed, harnessed) {
            (Some(snapshot), true) => snapshot,
            _ => &self.template,
        }
    }

    /// The record of the baselines for `trial.json` (what a re-run checks): image ids, the
    /// layers' diff ids (load strategy), references.
    pub fn record(&self) -> Value {
        let records = crate::snapshot::load_all(&self.records);
        let one = |snapshot: &Snapshot| {
            let diff_id = records
                .iter()
                .find(|r| r.name == snapshot.name())
                .and_then(|r| r.diff_id.clone());
            json!({
                "name": snapshot.name(),
                "image_id": snapshot.image_id(),
                "reference": snapshot.reference(),
                "diff_id": diff_id,
            })
        };
        json!({
            "template": one(&self.template),
            "harnessed": self.harnessed.as_ref().map(one),
        })
    }
}
