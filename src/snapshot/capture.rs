//! Capturing a session's `/workspace` as the next snapshot.
//!
//! When a session container starts, the in-container helper records a manifest of `/workspace`
//! (kept on the host, out of the agent's reach). A capture runs the helper again: it walks
//! `/workspace` against that manifest and streams a layer tar of what changed (whiteouts for
//! deletions, an opaque marker where a directory was replaced). The host spools it to a temporary
//! file, digests and validates it in one pass (its entries are the snapshot's changes), then
//! registers it: loaded on top of the parent image, or — on engines without partial loads —
//! applied in a staging container of the parent and committed. Both give the same tree.
//!
//! A chain deeper than the store's bound is squashed: the layer is the whole workspace (with an
//! opaque root) on top of the baseline, and the change set still comes from a normal walk.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::changes::{ChangeSet, EntryKind, LayerChange};
use super::helper::HELPER_PATH;
use super::store::{PREFIX, REPO, Snapshot, SnapshotStore, finish, tag_for};
use super::strategy::Strategy;
use crate::layer::read::{EntryKind as LayerKind, read_layer};
use crate::sandbox::{
    Container, ContainerSpec, DigestingReader, ExecInput, ExecSpec, LayerFile, LoadRequest,
    OutputSink, Role, SandboxError, WORKSPACE, short_id,
};

/// Budget of one walk (manifest or layer); a huge workspace takes seconds, not minutes.
const WALK_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Largest manifest kept (about 100 bytes per entry: millions of entries).
const MANIFEST_CAP: u64 = 1 << 30;
/// Room for tar headers on top of the content limit.
const HEADER_SLACK: u64 = 256 << 20;
/// The variable that tells `harnessgym internal` it runs inside a container.
const IN_CONTAINER: &str = "HARNESSGYM_IN_CONTAINER=1";

/// What a session's state is compared against when it is captured.
#[derive(Debug, Clone)]
pub struct CaptureBase {
    start: Snapshot,
    manifest: Arc<Vec<u8>>,
}

impl CaptureBase {
    /// The snapshot the session started from.
    pub fn start(&self) -> &Snapshot {
        &self.start
    }
}

/// What the walk left out of a capture: never in the snapshot, so never on the host; the caller
/// records it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeftOut {
    /// New or changed FIFOs, sockets and devices.
    pub special: u64,
    /// Entries named `.wh.*` (the engine would read them as whiteouts), with what is below them.
    pub reserved: u64,
    /// Entries whose path is longer than [`crate::layer::manifest::MAX_PATH_BYTES`], with what
    /// is below them.
    pub too_long: u64,
}

impl LeftOut {
    /// From the walk's statistics (its last JSON line on stderr); nothing when there is none.
    fn from_stderr(stderr: &str) -> Self {
        let stats = stderr
            .lines()
            .rev()
            .find_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .unwrap_or_default();
        let count = |key: &str| stats[key].as_u64().unwrap_or(0);
        LeftOut {
            special: count("skipped_special"),
            reserved: count("skipped_reserved"),
            too_long: count("skipped_long"),
        }
    }

    /// One sentence per kind of entry left out.
    pub fn details(&self) -> Vec<String> {
        let max = crate::layer::manifest::MAX_PATH_BYTES;
        [
            (
                self.special,
                "special file(s) (FIFOs, sockets, devices), never carried".to_string(),
            ),
            (
                self.reserved,
                "name(s) starting with `.wh.`, with what is below them".to_string(),
            ),
            (
                self.too_long,
                format!("path(s) too long to carry (over {max} bytes), with what is below them"),
            ),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("the capture left out {n} {what}"))
        .collect()
    }
}

/// How a capture ended.
#[derive(Debug)]
pub enum Capture {
    /// The next snapshot, and what its walk left out.
    Taken(Snapshot, LeftOut),
    /// The workspace's changes exceed `limit` bytes: nothing was registered.
    TooLarge {
        /// The limit.
        limit: u64,
    },
}

/// A layer spooled on the host.
struct Spooled {
    _dir: tempfile::TempDir,
    path: PathBuf,
    diff_id: String,
    bytes: u64,
    changes: ChangeSet,
    left_out: LeftOut,
}

impl SnapshotStore {
    /// Start a session container from `start` and record its workspace manifest.
    pub async fn open_session(
        &self,
        start: &Snapshot,
        spec: &ContainerSpec,
    ) -> Result<(Container, CaptureBase), SandboxError> {
        let container = self.start(start, spec, Role::Session).await?;
        match manifest(&container).await {
            Ok(manifest) => Ok((
                container,
                CaptureBase {
                    start: start.clone(),
                    manifest: Arc::new(manifest),
                },
            )),
            Err(err) => {
                if let Err(cleanup) = container.remove().await {
                    tracing::warn!("{cleanup}");
                }
                Err(err)
            }
        }
    }

    /// Capture `container`'s workspace as the snapshot `name` (its processes must be stopped:
    /// the caller sweeps after every phase). `limit` caps the bytes of changed content.
    pub async fn capture(
        &self,
        container: &Container,
        base: &CaptureBase,
        name: &str,
        limit: Option<u64>,
    ) -> Result<Capture, SandboxError> {
        let started = Instant::now();
        let Some(delta) = self.walk(container, base, limit, false).await? else {
            return Ok(Capture::TooLarge {
                limit: limit.unwrap_or(0),
            });
        };
        let parent = &base.start;
        let left_out = delta.left_out;
        let own = delta.changes.clone();
        let since_baseline = parent.since_baseline.then(&own);
        if delta.changes.is_empty() {
            // Nothing changed: the same image under a new name.
            let mut same = self.tag(parent, name).await?;
            same.parent = Some(parent.name.clone());
            return Ok(Capture::Taken(same, delta.left_out));
        }
        let squash = parent.depth + 1 > self.max_depth;
        let layer = if squash {
            match self.walk(container, base, limit, true).await? {
                Some(full) => full,
                None => {
                    return Ok(Capture::TooLarge {
                        limit: limit.unwrap_or(0),
                    });
                }
            }
        } else {
            delta
        };
        let snapshot = self
            .register(parent, name, &layer, squash, own, since_baseline)
            .await?;
        tracing::info!(
            paths = snapshot.own.len(),
            bytes = layer.bytes,
            squash,
            image = short_id(&snapshot.image_id),
            "{name}: captured in {:.2?}",
            started.elapsed()
        );
        Ok(Capture::Taken(snapshot, left_out))
    }

    /// Run the in-container walk and spool its layer. `None`: over `limit`.
    async fn walk(
        &self,
        container: &Container,
        base: &CaptureBase,
        limit: Option<u64>,
        full: bool,
    ) -> Result<Option<Spooled>, SandboxError> {
        let dir = tempfile::tempdir().map_err(|source| SandboxError::HostIo {
            action: "create a temporary directory for",
            path: "a layer".into(),
            source,
        })?;
        let path = dir.path().join("layer.tar");
        let mut argv = vec![
            HELPER_PATH.to_string(),
            "internal".into(),
            "layer".into(),
            "--root".into(),
            WORKSPACE.into(),
            "--prefix".into(),
            PREFIX.into(),
        ];
        if let Some(limit) = limit {
            argv.extend(["--max-bytes".into(), limit.to_string()]);
        }
        if full {
            argv.push("--full".into());
        }
        let mut spec = ExecSpec::new(argv, WALK_TIMEOUT);
        spec.env = vec![IN_CONTAINER.to_string()];
        spec.stdin = (!full).then(|| ExecInput::Bytes(base.manifest.to_vec()));
        spec.stdout = OutputSink::file(&path, limit.unwrap_or(u64::MAX / 2) + HEADER_SLACK);
        spec.stderr = OutputSink::memory(1 << 20);
        let out = container.exec(&spec).await?;
        match out.exit_code {
            Some(0) if !out.timed_out && !out.stdout.truncated => {}
            Some(3) => return Ok(None),
            _ => {
                return Err(SandboxError::Walk {
                    id: container.short(),
                    code: out.exit_code,
                    stderr: out.stderr.text().trim().to_string(),
                });
            }
        }
        let file = path.clone();
        let parsed = tokio::task::spawn_blocking(move || parse_layer(&file))
            .await
            .map_err(|e| SandboxError::HostIo {
                action: "read",
                path: path.clone(),
                source: std::io::Error::other(e.to_string()),
            })??;
        let (diff_id, bytes, changes) = parsed;
        Ok(Some(Spooled {
            _dir: dir,
            path,
            diff_id,
            bytes,
            changes,
            left_out: LeftOut::from_stderr(&out.stderr.text()),
        }))
    }

    /// Make `layer` an image on top of `parent` (or of the baseline when squashing).
    async fn register(
        &self,
        parent: &Snapshot,
        name: &str,
        layer: &Spooled,
        squash: bool,
        own: ChangeSet,
        since_baseline: ChangeSet,
    ) -> Result<Snapshot, SandboxError> {
        let under = if squash {
            self.baseline_snapshot()?
        } else {
            parent.clone()
        };
        let tag = tag_for(&self.run, name);
        let (image_id, config) = match (self.strategy, &under.config) {
            (Strategy::Load, Some(config)) => {
                let child = config.child(
                    &layer.diff_id,
                    &format!("harnessgym snapshot {name}"),
                    &self.image_labels(name),
                );
                let layers = [LayerFile {
                    diff_id: layer.diff_id.clone(),
                    path: layer.path.clone(),
                }];
                let reference = format!("{REPO}:{tag}");
                let request = LoadRequest {
                    config: &child,
                    tag: &reference,
                    layers: &layers,
                };
                (
                    self.engine.load_image(&request).await?,
                    Some(Arc::new(child)),
                )
            }
            _ => (self.commit_layer(&under, name, &layer.path).await?, None),
        };
        let snapshot = Snapshot {
            name: name.to_string(),
            image_id,
            reference: format!("{REPO}:{tag}"),
            parent: Some(parent.name.clone()),
            depth: if squash { 1 } else { parent.depth + 1 },
            own,
            since_baseline,
            config,
        };
        self.save_record(
            &snapshot,
            Some(&layer.diff_id),
            layer.bytes,
            &under.image_id,
        )?;
        Ok(snapshot)
    }

    /// The baseline, as the parent of a squashed layer.
    fn baseline_snapshot(&self) -> Result<Snapshot, SandboxError> {
        self.baseline
            .get()
            .cloned()
            .ok_or_else(|| SandboxError::HostIo {
                action: "squash onto the baseline of",
                path: self.records.clone(),
                source: std::io::Error::other("this store made no baseline"),
            })
    }

    /// The commit strategy: apply the layer in a staging container of `under`, commit it.
    async fn commit_layer(
        &self,
        under: &Snapshot,
        name: &str,
        layer: &Path,
    ) -> Result<String, SandboxError> {
        let spec = ContainerSpec::new(&under.image_id);
        let staging = self.start(under, &spec, Role::Staging).await?;
        let result = async {
            let argv = [
                HELPER_PATH,
                "internal",
                "apply-layer",
                "--root",
                WORKSPACE,
                "--prefix",
                PREFIX,
                // The commit that follows may diff by size and mtime (naive-diff drivers).
                "--distinct-mtimes",
            ];
            let mut exec = ExecSpec::new(argv, WALK_TIMEOUT);
            exec.env = vec![IN_CONTAINER.to_string()];
            exec.stdin = Some(ExecInput::File(layer.to_path_buf()));
            let out = staging.exec(&exec).await?;
            if !out.success() {
                return Err(SandboxError::Walk {
                    id: staging.short(),
                    code: out.exit_code,
                    stderr: out.stderr.text().trim().to_string(),
                });
            }
            staging
                .commit(REPO, &tag_for(&self.run, name), self.image_labels(name))
                .await
        }
        .await;
        finish(staging, result).await
    }
}

/// Record the manifest of the container's workspace.
async fn manifest(container: &Container) -> Result<Vec<u8>, SandboxError> {
    let argv = [HELPER_PATH, "internal", "manifest", "--root", WORKSPACE];
    let mut spec = ExecSpec::new(argv, WALK_TIMEOUT);
    spec.env = vec![IN_CONTAINER.to_string()];
    spec.stdout = OutputSink::memory(MANIFEST_CAP);
    let out = container.exec(&spec).await?;
    if !out.success() || out.stdout.truncated {
        return Err(SandboxError::Walk {
            id: container.short(),
            code: out.exit_code,
            stderr: out.stderr.text().trim().to_string(),
        });
    }
    Ok(out.stdout.bytes)
}

/// Digest and validate a spooled layer in one pass; its diff id, size and changes.
fn parse_layer(path: &Path) -> Result<(String, u64, ChangeSet), SandboxError> {
    let io = |source| SandboxError::HostIo {
        action: "read the layer",
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut reader = DigestingReader::new(std::io::BufReader::with_capacity(1 << 20, file));
    let entries =
        read_layer(&mut reader, PREFIX.as_bytes()).map_err(|source| SandboxError::BadLayer {
            path: path.to_path_buf(),
            source: Box::new(source),
        })?;
    let (diff_id, bytes) = reader.finish().map_err(io)?;
    let changes = ChangeSet::from_layer(entries.into_iter().map(|entry| {
        let path = PathBuf::from(
            <std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(entry.path),
        );
        let change = match entry.kind {
            LayerKind::Dir => LayerChange::Entry(EntryKind::Dir),
            LayerKind::File | LayerKind::Hardlink => LayerChange::Entry(EntryKind::File),
            LayerKind::Symlink => LayerChange::Entry(EntryKind::Symlink),
            LayerKind::Whiteout => LayerChange::Whiteout,
            LayerKind::Opaque => LayerChange::Opaque,
        };
        (path, change)
    }));
    Ok((diff_id, bytes, changes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_walk_left_out_is_read_from_its_last_json_line() {
        let stderr = "WARN paths longer than 3072 bytes left out\n{\"files\":1,\"skipped_special\":2,\"skipped_reserved\":0,\"skipped_long\":5}\n";
        let left_out = LeftOut::from_stderr(stderr);
        assert_eq!(
            left_out,
            LeftOut {
                special: 2,
                reserved: 0,
                too_long: 5
            }
        );
        let details = left_out.details();
        assert_eq!(details.len(), 2, "{details:?}");
        assert!(details[0].starts_with("the capture left out 2 special file(s)"));
        assert!(details[1].contains("5 path(s) too long"));
        assert_eq!(LeftOut::from_stderr("not json\n"), LeftOut::default());
        assert!(LeftOut::default().details().is_empty());
    }
}
