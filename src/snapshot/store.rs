//! The snapshots of one run: the baseline, containers started from any snapshot, other names
//! for a snapshot, export, removal. Capturing a session lives in `capture.rs`, writing a
//! snapshot back to the host in `writeback.rs`.
//!
//! The baseline is made on the host: the helper layer (shared by every run) and the workspace
//! packed deterministically as the next layer, loaded as one archive — the engine reuses an
//! identical workspace layer it already has, so a second run on an unchanged workspace (or every
//! compare trial of one template) sends nothing but a config. On engines without partial loads
//! the baseline is an upload into a staging container and a commit.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use flate2::Compression;
use flate2::write::GzEncoder;

use super::changes::ChangeSet;
use super::helper::{HELPER_PATH, ensure_helper_image};
use super::record::{self, SnapshotRecord};
use super::strategy::Strategy;
use crate::harness::time::utc_now;
use crate::layer::pack::{PackFilter, pack_workspace};
use crate::sandbox::{
    Container, ContainerSpec, Digesting, Engine, ImageConfig, LayerFile, LoadRequest, Role,
    SandboxError, WORKSPACE, short_id,
};

/// The repository every snapshot image is tagged in.
pub const REPO: &str = "harnessgym/snapshot";
/// What the log says when a baseline's task-files layer was already in the engine (only a config
/// and the harness layer were sent); the bench counts these.
pub const TASK_LAYER_REUSED: &str = "task files layer reused";
/// Label naming the snapshot within its run (`baseline`, `iteration-2`, `best`).
pub const NAME_LABEL: &str = "dev.harnessgym.snapshot";
/// The name of the layer root inside an image layer (`/workspace`).
pub(super) const PREFIX: &str = "workspace";
/// Chains deeper than this (layers above the baseline) are squashed onto the baseline; the
/// engine stacks at most 128 layers in all. `HARNESSGYM_SNAPSHOT_MAX_DEPTH` overrides it.
const MAX_DEPTH: u32 = 32;

/// One workspace state: an image whose `/workspace` holds it.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub(super) name: String,
    pub(super) image_id: String,
    pub(super) reference: String,
    pub(super) parent: Option<String>,
    pub(super) depth: u32,
    /// Its own layer's changes, relative to `parent`.
    pub(super) own: ChangeSet,
    /// Everything changed since the baseline.
    pub(super) since_baseline: ChangeSet,
    /// The image config (load strategy), to stack children on without asking the engine.
    pub(super) config: Option<Arc<ImageConfig>>,
}

impl Snapshot {
    /// The name within the run.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The image id.
    pub fn image_id(&self) -> &str {
        &self.image_id
    }

    /// `repo:tag`.
    pub fn reference(&self) -> &str {
        &self.reference
    }

    /// Layers above the baseline in the engine's chain (a squash resets it to 1).
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// Everything this state changed since the baseline.
    pub fn changes_since_baseline(&self) -> &ChangeSet {
        &self.since_baseline
    }

    /// What its own layer changed (relative to the state it was taken from).
    pub fn own_changes(&self) -> &ChangeSet {
        &self.own
    }
}

/// What a run keeps in the engine when it ends.
#[derive(Debug, Clone, Default)]
pub struct Retained {
    /// The snapshot names kept.
    pub names: Vec<String>,
    /// Bytes of their layers (the base image's and the shared helper's not counted).
    pub bytes: u64,
    /// Images removed.
    pub removed: usize,
}

/// The snapshots of one run, in one engine.
#[derive(Debug, Clone)]
pub struct SnapshotStore {
    pub(super) engine: Engine,
    pub(super) run: String,
    pub(super) records: PathBuf,
    pub(super) strategy: Strategy,
    pub(super) max_depth: u32,
    /// The baseline this store made, once it made it (squashed layers sit on it).
    pub(super) baseline: Arc<std::sync::OnceLock<Snapshot>>,
}

/// A Docker tag from a run id and a snapshot name (tags allow `[A-Za-z0-9_.-]`, 128 chars).
pub fn tag_for(run: &str, name: &str) -> String {
    let raw = format!("{run}-{name}");
    let mut tag: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    tag.truncate(128);
    tag
}

fn host_err(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> SandboxError {
    let path = path.to_path_buf();
    move |source| SandboxError::HostIo {
        action,
        path,
        source,
    }
}

impl SnapshotStore {
    /// The store for `run`, keeping records in `records` (`runs/<id>/snapshots`).
    pub fn new(
        engine: Engine,
        run: impl Into<String>,
        records: PathBuf,
        strategy: Strategy,
    ) -> Self {
        let max_depth = std::env::var("HARNESSGYM_SNAPSHOT_MAX_DEPTH")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|d| *d > 0)
            .unwrap_or(MAX_DEPTH);
        SnapshotStore {
            engine,
            run: run.into(),
            records,
            strategy,
            max_depth,
            baseline: Arc::new(std::sync::OnceLock::new()),
        }
    }

    /// The same store with another bound on chain depth (tests squash short chains with it).
    pub fn with_max_depth(mut self, depth: u32) -> Self {
        self.max_depth = depth.max(1);
        self
    }

    /// Use `baseline` (made by another store: a compare's template) as this store's baseline,
    /// the one long chains are squashed onto.
    pub fn adopt_baseline(&self, baseline: &Snapshot) {
        let _ = self.baseline.set(baseline.clone());
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// How snapshots become images here.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// The labels of a snapshot image called `name`.
    pub(super) fn image_labels(&self, name: &str) -> HashMap<String, String> {
        let mut labels = self.engine.labels(&self.run, Role::Snapshot);
        labels.insert(NAME_LABEL.to_string(), name.to_string());
        labels
    }

    /// Make the run's baseline: `base_image` + the helper `binary` + `workspace` (run state
    /// excluded).
    pub async fn baseline(
        &self,
        base_image: &str,
        workspace: &Path,
        binary: &Path,
    ) -> Result<Snapshot, SandboxError> {
        self.baseline_filtered(base_image, workspace, binary, PackFilter::default())
            .await
    }

    /// [`SnapshotStore::baseline`] of `workspace` packed with `filter` (its `prefix` is the
    /// store's; e.g. a compare template without the reference's exclusions).
    pub async fn baseline_filtered(
        &self,
        base_image: &str,
        workspace: &Path,
        binary: &Path,
        filter: PackFilter,
    ) -> Result<Snapshot, SandboxError> {
        let started = Instant::now();
        let (image_id, config, diff_id) = match self.strategy {
            Strategy::Load => {
                self.baseline_by_load(base_image, workspace, binary, filter)
                    .await?
            }
            Strategy::Commit => (
                self.baseline_by_commit(base_image, workspace, binary, filter)
                    .await?,
                None,
                None,
            ),
        };
        tracing::info!("baseline: ready in {:.2?}", started.elapsed());
        let snapshot = Snapshot {
            name: "baseline".into(),
            reference: format!("{REPO}:{}", tag_for(&self.run, "baseline")),
            image_id,
            parent: None,
            depth: 0,
            own: ChangeSet::default(),
            since_baseline: ChangeSet::default(),
            config: config.map(Arc::new),
        };
        self.save_record(&snapshot, diff_id.as_deref(), 0, base_image)?;
        let _ = self.baseline.set(snapshot.clone());
        Ok(snapshot)
    }

    /// The baseline as layers loaded on the helper image: the task files, then `.harnessgym/`
    /// on its own. A run rewrites `.harnessgym/` (folders, `registry.json`) before packing, so
    /// keeping it apart lets a second run on unchanged task files reuse their layer, already
    /// in the engine, and load only the small harness layer. Also returns the first (task
    /// files) layer's diff id, which the baseline's record keeps: the same task files give the
    /// same id, so a record tells whether a later baseline holds the same files.
    async fn baseline_by_load(
        &self,
        base_image: &str,
        workspace: &Path,
        binary: &Path,
        filter: PackFilter,
    ) -> Result<(String, Option<ImageConfig>, Option<String>), SandboxError> {
        let (helper, helper_config) = ensure_helper_image(&self.engine, base_image, binary).await?;
        let dir =
            tempfile::tempdir().map_err(host_err("create a temporary directory for", workspace))?;
        let started = Instant::now();
        let mut layers = Vec::new();
        for (name, part) in baseline_parts(filter) {
            let file = dir.path().join(format!("{name}.tar"));
            let (root, out) = (workspace.to_path_buf(), file.clone());
            let (diff_id, bytes) =
                tokio::task::spawn_blocking(move || pack_layer(&root, &out, part))
                    .await
                    .map_err(|e| {
                        host_err("pack", workspace)(std::io::Error::other(e.to_string()))
                    })??;
            tracing::info!(bytes, "baseline: {name} layer {}", short_id(&diff_id));
            layers.push(LayerFile {
                diff_id,
                path: file,
            });
        }
        tracing::info!("baseline: workspace packed in {:.2?}", started.elapsed());
        let mut config = helper_config;
        for layer in &layers {
            config = config.child(
                &layer.diff_id,
                &format!("harnessgym baseline of {}", workspace.display()),
                &self.image_labels("baseline"),
            );
        }
        let tag = format!("{REPO}:{}", tag_for(&self.run, "baseline"));
        let image_id = self.load_reusing(&config, &tag, &layers).await?;
        tracing::debug!(helper = %helper, "baseline on the helper image");
        let files_layer = layers.first().map(|l| l.diff_id.clone());
        Ok((image_id, Some(config), files_layer))
    }

    /// Load `config` as `tag` sending only the last of `layers` (the others may already be in
    /// the engine: a second run on the same task files), else all of them.
    async fn load_reusing(
        &self,
        config: &ImageConfig,
        tag: &str,
        layers: &[LayerFile],
    ) -> Result<String, SandboxError> {
        let last = layers.len().saturating_sub(1);
        let reuse = LoadRequest {
            config,
            tag,
            layers: &layers[last..],
        };
        match self.engine.load_image(&reuse).await {
            Ok(id) if last > 0 => {
                tracing::info!(
                    "baseline: {TASK_LAYER_REUSED} ({})",
                    short_id(&layers[0].diff_id)
                );
                Ok(id)
            }
            Ok(id) => Ok(id),
            Err(SandboxError::Load { .. }) if last > 0 => {
                let full = LoadRequest {
                    config,
                    tag,
                    layers,
                };
                self.engine.load_image(&full).await
            }
            Err(err) => Err(err),
        }
    }

    async fn baseline_by_commit(
        &self,
        base_image: &str,
        workspace: &Path,
        binary: &Path,
        filter: PackFilter,
    ) -> Result<String, SandboxError> {
        let staging = self.staging(base_image).await?;
        let result = async {
            let rel = HELPER_PATH.trim_start_matches('/');
            staging.install_file("/", rel, binary, 0o755).await?;
            staging
                .upload_dir(
                    workspace,
                    PackFilter {
                        prefix: None,
                        ..filter
                    },
                    WORKSPACE,
                )
                .await?;
            staging
                .commit(
                    REPO,
                    &tag_for(&self.run, "baseline"),
                    self.image_labels("baseline"),
                )
                .await
        }
        .await;
        finish(staging, result).await
    }

    /// Write `snapshot`'s record (own changes, image, parent).
    pub(super) fn save_record(
        &self,
        snapshot: &Snapshot,
        diff_id: Option<&str>,
        layer_bytes: u64,
        layer_parent: &str,
    ) -> Result<(), SandboxError> {
        let entry = SnapshotRecord {
            format_version: record::FORMAT_VERSION,
            run_id: self.run.clone(),
            name: snapshot.name.clone(),
            parent: snapshot.parent.clone(),
            image_id: snapshot.image_id.clone(),
            reference: snapshot.reference.clone(),
            layer_parent: Some(layer_parent.to_string()),
            diff_id: diff_id.map(str::to_string),
            layer_bytes,
            depth: snapshot.depth,
            strategy: self.strategy.name().to_string(),
            created_at: utc_now(),
            changes: snapshot.own.to_records(),
        };
        record::save(&self.records, &entry).map_err(|e| SandboxError::HostIo {
            action: "write the snapshot record in",
            path: self.records.clone(),
            source: std::io::Error::other(e.to_string()),
        })
    }

    /// Create (not start) a container from `snapshot` with `spec` (its image is replaced).
    pub async fn create(
        &self,
        snapshot: &Snapshot,
        spec: &ContainerSpec,
        role: Role,
    ) -> Result<Container, SandboxError> {
        let mut spec = spec.clone();
        spec.image = snapshot.image_id.clone();
        self.engine.create_container(&spec, &self.run, role).await
    }

    /// Copy `paths` (workspace-relative files) from `from` into the created or running
    /// `container`, replacing what is there. Paths `from` lacks are skipped.
    pub async fn copy_into(
        &self,
        from: &Snapshot,
        container: &Container,
        paths: &[PathBuf],
    ) -> Result<(), SandboxError> {
        let staging = self.staging(&from.image_id).await?;
        let result = async {
            for rel in paths {
                let Some(text) = rel.to_str() else {
                    tracing::warn!(
                        "cannot copy a non-UTF-8 path through the engine: {}",
                        rel.display()
                    );
                    continue;
                };
                let parent = rel
                    .parent()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                let bytes = match staging
                    .download_with(&format!("{WORKSPACE}/{text}"), |reader| {
                        let mut bytes = Vec::new();
                        std::io::Read::read_to_end(reader, &mut bytes).map(|_| bytes)
                    })
                    .await
                {
                    Ok(read) => read.map_err(host_err("read", rel))?,
                    Err(SandboxError::Download { source, .. }) if source.is_not_found() => continue,
                    Err(err) => return Err(err),
                };
                let dest = format!("{WORKSPACE}/{parent}");
                let named = PathBuf::from(rel);
                container
                    .upload_tar(&dest, move |writer| {
                        std::io::Write::write_all(writer, &bytes).map_err(|source| {
                            SandboxError::HostIo {
                                action: "copy",
                                path: named,
                                source,
                            }
                        })
                    })
                    .await?;
            }
            Ok(())
        }
        .await;
        finish(staging, result).await
    }

    /// Create and start a container from `snapshot` with `spec` (its image is replaced).
    pub async fn start(
        &self,
        snapshot: &Snapshot,
        spec: &ContainerSpec,
        role: Role,
    ) -> Result<Container, SandboxError> {
        let container = self.create(snapshot, spec, role).await?;
        match container.start().await {
            Ok(()) => Ok(container),
            Err(err) => {
                if let Err(cleanup) = container.remove().await {
                    tracing::warn!("{cleanup}");
                }
                Err(err)
            }
        }
    }

    /// Give `snapshot` another name (a tag on the same image, no copy) — e.g. the best
    /// checkpoint. The new name is recorded with no layer of its own.
    pub async fn tag(&self, snapshot: &Snapshot, name: &str) -> Result<Snapshot, SandboxError> {
        let tag = tag_for(&self.run, name);
        self.engine
            .tag_image(&snapshot.image_id, REPO, &tag)
            .await?;
        let named = Snapshot {
            reference: format!("{REPO}:{tag}"),
            name: name.to_string(),
            parent: Some(snapshot.name.clone()),
            own: ChangeSet::default(),
            ..snapshot.clone()
        };
        self.save_record(&named, None, 0, &snapshot.image_id)?;
        Ok(named)
    }

    /// Write the snapshot's workspace as a gzip-compressed tar at `out` (atomically). Returns the
    /// compressed size.
    pub async fn export_tar_gz(&self, image: &str, out: &Path) -> Result<u64, SandboxError> {
        let staging = self.staging(image).await?;
        let target = out.to_path_buf();
        let result = staging
            .download_with(WORKSPACE, move |reader| write_gz(reader, &target))
            .await
            .and_then(|written| written);
        finish(staging, result).await
    }

    /// Keep the images of `keep` (by image id) and remove the run's other snapshot images;
    /// a removal the engine refuses is logged and the image kept. Returns what is kept: the
    /// names, and the bytes of their layers.
    pub async fn retain(&self, keep: &[&Snapshot]) -> Result<Retained, SandboxError> {
        let kept_ids: std::collections::BTreeSet<&str> =
            keep.iter().map(|s| s.image_id.as_str()).collect();
        let images = self
            .engine
            .list_images_labelled(crate::sandbox::labels::RUN, Some(&self.run))
            .await?;
        let mut removed = 0;
        for image in images.iter().filter(|i| !kept_ids.contains(i.id.as_str())) {
            match self.engine.remove_image(&image.id).await {
                Ok(()) => removed += 1,
                Err(err) => tracing::warn!("keeping {}: {err}", short_id(&image.id)),
            }
        }
        let records = record::load_all(&self.records);
        // One snapshot can fill two roles (a refused capture leaves the baseline as the final
        // state): name it, and count its bytes, once.
        let mut names: Vec<&str> = Vec::new();
        for snapshot in keep {
            if !names.contains(&snapshot.name.as_str()) {
                names.push(&snapshot.name);
            }
        }
        Ok(Retained {
            names: names.iter().map(|n| n.to_string()).collect(),
            bytes: record::chain_bytes(&records, &names),
            removed,
        })
    }

    /// Remove a snapshot's image (all its tags).
    pub async fn remove(&self, snapshot: &Snapshot) -> Result<(), SandboxError> {
        self.engine.remove_image(&snapshot.image_id).await
    }

    /// A created, never started container of `image`, to read or write files of.
    pub(super) async fn staging(&self, image: &str) -> Result<Container, SandboxError> {
        let spec = ContainerSpec::new(image);
        self.engine
            .create_container(&spec, &self.run, Role::Staging)
            .await
    }
}

/// Pack `root` as the workspace layer into `out`; its diff id and size.
fn pack_layer(root: &Path, out: &Path, filter: PackFilter) -> Result<(String, u64), SandboxError> {
    let file = std::fs::File::create(out).map_err(host_err("create", out))?;
    let mut digesting = Digesting::new(std::io::BufWriter::new(file));
    let filter = PackFilter {
        prefix: Some(PathBuf::from(PREFIX)),
        ..filter
    };
    pack_workspace(root, &filter, &mut digesting).map_err(|source| SandboxError::Pack {
        path: root.to_path_buf(),
        source,
    })?;
    let (mut writer, diff_id, bytes) = digesting.finish();
    std::io::Write::flush(&mut writer).map_err(host_err("write", out))?;
    Ok((diff_id, bytes))
}

/// The baseline's layers: the task files, then `.harnessgym/` alone (one layer when the filter
/// already names what to pack).
fn baseline_parts(filter: PackFilter) -> Vec<(&'static str, PackFilter)> {
    if filter.include.is_some() {
        return vec![("workspace", filter)];
    }
    let harness = PathBuf::from(crate::harness::registry::HARNESS_DIR);
    let mut tasks = filter.clone();
    tasks.skip.push(harness.clone());
    let bundle = PackFilter {
        include: Some(vec![harness]),
        ..filter
    };
    vec![("task files", tasks), ("harness", bundle)]
}

/// Remove the staging container whatever `result` is; its own error wins over a cleanup error.
pub(super) async fn finish<T>(
    staging: Container,
    result: Result<T, SandboxError>,
) -> Result<T, SandboxError> {
    let removed = staging.remove().await;
    let value = result?;
    removed?;
    Ok(value)
}

fn write_gz(reader: &mut dyn std::io::Read, out: &Path) -> Result<u64, SandboxError> {
    let dir = out.parent().unwrap_or(Path::new("."));
    let temp =
        tempfile::NamedTempFile::new_in(dir).map_err(host_err("create a file next to", out))?;
    let mut encoder = GzEncoder::new(std::io::BufWriter::new(temp), Compression::fast());
    std::io::copy(reader, &mut encoder).map_err(host_err("write", out))?;
    let writer = encoder.finish().map_err(host_err("write", out))?;
    let temp = writer
        .into_inner()
        .map_err(|e| host_err("write", out)(e.into_error()))?;
    temp.as_file().sync_all().map_err(host_err("sync", out))?;
    let size = temp
        .as_file()
        .metadata()
        .map_err(host_err("stat", out))?
        .len();
    temp.persist(out)
        .map_err(|e| host_err("rename into", out)(e.error))?;
    Ok(size)
}
