//! Snapshots as image layers: make the baseline, start containers from any snapshot, commit the
//! next one, write one back to the host, export one as `.tar.gz`.
//!
//! Costs follow the measurements in `sandbox-practices.md` §5.2: the baseline is an upload into a
//! created container plus one commit (far cheaper than a `docker build` with the workspace as
//! context), and every later snapshot is a commit of what changed. With `-v` each step logs its
//! duration.

use std::path::{Path, PathBuf};
use std::time::Instant;

use flate2::Compression;
use flate2::write::GzEncoder;

use super::changes::{ChangeSet, WritePlan};
use crate::layer::pack::PackFilter;
use crate::sandbox::extract::{Decision, ExtractOptions, Refused, remove_paths_safe};
use crate::sandbox::{Container, ContainerSpec, Engine, Role, SandboxError, WORKSPACE, short_id};

/// Where the harnessgym binary lives inside every container of a run.
pub const HELPER_PATH: &str = "/opt/harnessgym/bin/harnessgym";
/// The harnessgym executable to install into containers: `HARNESSGYM_HELPER_BINARY` when set
/// (tests, or a build for another image's libc), else this very executable.
pub fn helper_binary() -> std::io::Result<PathBuf> {
    match std::env::var_os("HARNESSGYM_HELPER_BINARY") {
        Some(path) => Ok(path.into()),
        None => std::env::current_exe(),
    }
}

/// The repository every snapshot image is tagged in.
pub const REPO: &str = "harnessgym/snapshot";
/// Label naming the snapshot within its run (`baseline`, `iteration-2`, `best`).
pub const NAME_LABEL: &str = "dev.harnessgym.snapshot";
/// Beyond this many paths to copy, one download of the whole workspace (filtered) is cheaper
/// than one archive request per path.
const MAX_PER_PATH_COPIES: usize = 64;

/// One workspace state: an image whose `/workspace` holds it.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Image id.
    pub image_id: String,
    /// `repo:tag` reference.
    pub reference: String,
    /// Name within the run.
    pub name: String,
    /// Workspace paths changed since the baseline.
    pub changes: ChangeSet,
}

/// How much of a snapshot goes back to the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteBack {
    /// Only the paths changed since the baseline, deletions included.
    Changed,
    /// The whole workspace (into an empty or scratch directory).
    Full,
}

/// What a write-back did.
#[derive(Debug, Clone, Default)]
pub struct WriteBackReport {
    /// Relative paths written.
    pub written: Vec<PathBuf>,
    /// Relative paths removed.
    pub removed: Vec<PathBuf>,
    /// Entries and removals refused (recorded, not applied), in the order met.
    pub refused: Vec<Refused>,
}

/// The snapshots of one run, in one engine.
#[derive(Debug, Clone)]
pub struct SnapshotStore {
    engine: Engine,
    run: String,
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

impl SnapshotStore {
    /// The store for `run`.
    pub fn new(engine: Engine, run: impl Into<String>) -> Self {
        SnapshotStore {
            engine,
            run: run.into(),
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Pack `workspace` into a container of `base_image` at `/workspace` (owned by `agent`) and
    /// commit it as the run's baseline. With `helper`, that executable is installed (root-owned)
    /// at [`HELPER_PATH`], so every container of the run has harnessgym's in-container tools
    /// without a copy per container.
    pub async fn baseline(
        &self,
        base_image: &str,
        workspace: &Path,
        filter: PackFilter,
        helper: Option<&Path>,
    ) -> Result<Snapshot, SandboxError> {
        let staging = self.staging(base_image).await?;
        let result = async {
            let started = Instant::now();
            if let Some(helper) = helper {
                let rel = HELPER_PATH.trim_start_matches('/');
                staging.install_file("/", rel, helper, 0o755).await?;
            }
            let stats = staging.upload_dir(workspace, filter, WORKSPACE).await?;
            tracing::info!(
                files = stats.files,
                bytes = stats.bytes,
                "baseline: workspace uploaded in {:.2?}",
                started.elapsed()
            );
            self.commit_named(&staging, "baseline", ChangeSet::default())
                .await
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
        let mut spec = spec.clone();
        spec.image = snapshot.image_id.clone();
        let container = self.engine.create_container(&spec, &self.run, role).await?;
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

    /// Commit `container` (started from `parent`) as the snapshot `name`.
    pub async fn commit(
        &self,
        container: &Container,
        parent: &Snapshot,
        name: &str,
    ) -> Result<Snapshot, SandboxError> {
        let started = Instant::now();
        let layer = ChangeSet::from_container(&container.changes().await?);
        tracing::info!(
            paths = layer.len(),
            "{name}: changes listed in {:.2?}",
            started.elapsed()
        );
        self.commit_named(container, name, parent.changes.then(&layer))
            .await
    }

    async fn commit_named(
        &self,
        container: &Container,
        name: &str,
        changes: ChangeSet,
    ) -> Result<Snapshot, SandboxError> {
        let started = Instant::now();
        let mut image_labels = self.engine.labels(&self.run, Role::Snapshot);
        image_labels.insert(NAME_LABEL.to_string(), name.to_string());
        let tag = tag_for(&self.run, name);
        let image_id = container.commit(REPO, &tag, image_labels).await?;
        tracing::info!(
            image = short_id(&image_id),
            "{name}: committed in {:.2?}",
            started.elapsed()
        );
        Ok(Snapshot {
            image_id,
            reference: format!("{REPO}:{tag}"),
            name: name.to_string(),
            changes,
        })
    }

    /// Keep `container`'s state as the snapshot `name` without tracking its changes (evidence
    /// to export later, never written back).
    pub async fn keep(&self, container: &Container, name: &str) -> Result<Snapshot, SandboxError> {
        self.commit_named(container, name, ChangeSet::default())
            .await
    }

    /// Give `snapshot` another name (a tag on the same image, no copy) — e.g. the best
    /// checkpoint.
    pub async fn tag(&self, snapshot: &Snapshot, name: &str) -> Result<Snapshot, SandboxError> {
        let tag = tag_for(&self.run, name);
        self.engine
            .tag_image(&snapshot.image_id, REPO, &tag)
            .await?;
        Ok(Snapshot {
            reference: format!("{REPO}:{tag}"),
            name: name.to_string(),
            ..snapshot.clone()
        })
    }

    /// Write `snapshot` to the host directory `dest`. `keep` selects the workspace-relative
    /// paths that may be touched (e.g. everything but `.harnessgym` and `.git`).
    pub async fn write_back(
        &self,
        snapshot: &Snapshot,
        dest: &Path,
        mode: WriteBack,
        keep: fn(&str) -> bool,
    ) -> Result<WriteBackReport, SandboxError> {
        let started = Instant::now();
        let staging = self.staging(&snapshot.image_id).await?;
        let result = match mode {
            WriteBack::Full => self.copy_all(&staging, dest, keep, None).await,
            WriteBack::Changed => {
                let plan = snapshot.changes.filtered(keep).plan();
                self.apply_plan(&staging, dest, &plan, keep).await
            }
        };
        let report = finish(staging, result).await?;
        tracing::info!(
            written = report.written.len(),
            removed = report.removed.len(),
            "{}: written back in {:.2?}",
            snapshot.name,
            started.elapsed()
        );
        Ok(report)
    }

    async fn apply_plan(
        &self,
        staging: &Container,
        dest: &Path,
        plan: &WritePlan,
        keep: fn(&str) -> bool,
    ) -> Result<WriteBackReport, SandboxError> {
        let mut report = if plan.copy.len() > MAX_PER_PATH_COPIES {
            self.copy_all(staging, dest, keep, Some(plan.copy.clone()))
                .await?
        } else {
            let mut report = WriteBackReport::default();
            for rel in &plan.copy {
                let options = ExtractOptions {
                    prefix: Path::new(rel).parent().map(Path::to_path_buf),
                    ..ExtractOptions::default()
                };
                let src = format!("{WORKSPACE}/{rel}");
                let extracted = staging.download_to(&src, dest, options).await?;
                report.written.extend(extracted.written);
                report.refused.extend(extracted.refused);
            }
            report
        };
        let deletions: Vec<PathBuf> = plan.delete.iter().map(PathBuf::from).collect();
        let removal =
            remove_paths_safe(dest, &deletions, None).map_err(|source| SandboxError::Extract {
                id: staging.short(),
                path: WORKSPACE.to_string(),
                dest: dest.to_path_buf(),
                source,
            })?;
        report.removed = removal.removed;
        report.refused.extend(removal.refused);
        Ok(report)
    }

    /// Download the whole workspace, keeping what `keep` accepts and, when `only` is given, what
    /// lies at or under one of those paths.
    async fn copy_all(
        &self,
        staging: &Container,
        dest: &Path,
        keep: fn(&str) -> bool,
        only: Option<Vec<String>>,
    ) -> Result<WriteBackReport, SandboxError> {
        let policy = move |rel: &Path| {
            let rel = rel.to_string_lossy();
            Decision::keep_if(
                keep(&rel)
                    && only.as_ref().is_none_or(|roots| {
                        roots
                            .iter()
                            .any(|r| rel == r.as_str() || rel.starts_with(&format!("{r}/")))
                    }),
            )
        };
        let options = ExtractOptions {
            strip_components: 1,
            policy: Some(Box::new(policy)),
            ..ExtractOptions::default()
        };
        let extracted = staging.download_to(WORKSPACE, dest, options).await?;
        Ok(WriteBackReport {
            written: extracted.written,
            removed: Vec::new(),
            refused: extracted.refused,
        })
    }

    /// Write the snapshot's workspace as a gzip-compressed tar at `out` (atomically). Returns the
    /// compressed size.
    pub async fn export_tar_gz(
        &self,
        snapshot: &Snapshot,
        out: &Path,
    ) -> Result<u64, SandboxError> {
        let staging = self.staging(&snapshot.image_id).await?;
        let target = out.to_path_buf();
        let result = staging
            .download_with(WORKSPACE, move |reader| write_gz(reader, &target))
            .await
            .and_then(|written| written);
        finish(staging, result).await
    }

    /// Remove a snapshot's image (all its tags).
    pub async fn remove(&self, snapshot: &Snapshot) -> Result<(), SandboxError> {
        self.engine.remove_image(&snapshot.image_id).await
    }

    /// A created, never started container of `image`, to read or write files of.
    async fn staging(&self, image: &str) -> Result<Container, SandboxError> {
        let spec = ContainerSpec::new(image);
        self.engine
            .create_container(&spec, &self.run, Role::Staging)
            .await
    }
}

/// Remove the staging container whatever `result` is; its own error wins over a cleanup error.
async fn finish<T>(staging: Container, result: Result<T, SandboxError>) -> Result<T, SandboxError> {
    let removed = staging.remove().await;
    let value = result?;
    removed?;
    Ok(value)
}

fn write_gz(reader: &mut dyn std::io::Read, out: &Path) -> Result<u64, SandboxError> {
    let io_err = |action, source| SandboxError::HostIo {
        action,
        path: out.to_path_buf(),
        source,
    };
    let dir = out.parent().unwrap_or(Path::new("."));
    let temp =
        tempfile::NamedTempFile::new_in(dir).map_err(|e| io_err("create a file next to", e))?;
    let mut encoder = GzEncoder::new(std::io::BufWriter::new(temp), Compression::fast());
    std::io::copy(reader, &mut encoder).map_err(|e| io_err("write", e))?;
    let writer = encoder.finish().map_err(|e| io_err("write", e))?;
    let temp = writer
        .into_inner()
        .map_err(|e| io_err("write", e.into_error()))?;
    temp.as_file().sync_all().map_err(|e| io_err("sync", e))?;
    let size = temp
        .as_file()
        .metadata()
        .map_err(|e| io_err("stat", e))?
        .len();
    temp.persist(out)
        .map_err(|e| io_err("rename into", e.error))?;
    Ok(size)
}
