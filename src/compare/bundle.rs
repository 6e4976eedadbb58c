//! The harness bundle of the harnessed group (reference §9 step 3): the artifact source's eight
//! artifact folders and its `registry.json` — nothing else (no runs, activation report, runtime
//! or telemetry), without `__pycache__`, `*.pyc`, `*.pyo`.
//!
//! It is read once, through the packer (links are never followed) and the safe extractor, into a
//! private staging directory; from there it goes into the harnessed baseline (one layer shared
//! by every harnessed trial) and into each harnessed trial's host `.harnessgym/`, where the loop
//! reads the registry its prompts list. Its digest covers the staged content (names, kinds,
//! executable bits, bytes, link targets; not times), so a re-run can tell whether the bundle is
//! still the one a trial had.

use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use super::error::CompareError;
use crate::harness::registry::{ArtifactKind, HARNESS_DIR};
use crate::layer::pack::{PackFilter, pack_workspace};
use crate::sandbox::extract::{Decision, ExtractOptions, extract_safe, workspace_policy};

/// The bundle's registry file, workspace-relative.
const REGISTRY: &str = ".harnessgym/registry.json";

/// Resolve `--artifact-source` (relative to `cwd`): a `.harnessgym` directory itself, or a
/// workspace holding one. Links are not followed to find it.
pub fn resolve_source(given: &Path, cwd: &Path) -> Result<PathBuf, CompareError> {
    let path = cwd.join(given);
    let is_dir = |p: &Path| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir());
    if path.file_name().is_some_and(|n| n == HARNESS_DIR) && is_dir(&path) {
        return Ok(path);
    }
    let inner = path.join(HARNESS_DIR);
    if is_dir(&inner) {
        return Ok(inner);
    }
    Err(CompareError::ArtifactSource {
        path: given.to_path_buf(),
    })
}

/// Whether `rel` (workspace-relative) belongs to the bundle: `.harnessgym` itself, its registry,
/// or a path in one of the eight artifact folders.
fn in_bundle(rel: &Path) -> bool {
    let mut parts = rel.components().map(|c| c.as_os_str());
    match (parts.next(), parts.next()) {
        (Some(first), None) => first == HARNESS_DIR,
        (Some(first), Some(second)) => {
            first == HARNESS_DIR
                && (rel == Path::new(REGISTRY)
                    || ArtifactKind::ALL.iter().any(|k| second == k.dir_name()))
        }
        _ => false,
    }
}

/// Python caches are never part of a copied bundle.
fn is_cache(rel: &Path) -> bool {
    rel.components().any(|c| {
        let name = c.as_os_str().to_string_lossy();
        name == "__pycache__" || name.ends_with(".pyc") || name.ends_with(".pyo")
    })
}

/// The extraction policy of bundle copies: the bundle's paths (protected names refused), nothing
/// else.
fn policy(rel: &Path) -> Decision {
    if !in_bundle(rel) || is_cache(rel) {
        Decision::Skip
    } else if rel == Path::new(HARNESS_DIR) {
        Decision::Keep
    } else {
        workspace_policy(rel)
    }
}

/// Copy the bundle of `from` (a directory holding `.harnessgym/`) into `to`, through the packer
/// and the safe extractor. Refused entries are logged and skipped.
fn copy(from: &Path, to: &Path) -> Result<(), CompareError> {
    let (reader, writer) = std::io::pipe().map_err(CompareError::io("open a pipe for", from))?;
    let root = from.to_path_buf();
    let packer = std::thread::spawn(move || {
        let mut include = vec![PathBuf::from(REGISTRY)];
        include.extend(
            ArtifactKind::ALL
                .iter()
                .map(|k| Path::new(HARNESS_DIR).join(k.dir_name())),
        );
        let filter = PackFilter {
            include: Some(include),
            exclude: Some(is_cache),
            ..PackFilter::default()
        };
        pack_workspace(&root, &filter, writer)
    });
    let options = ExtractOptions {
        policy: Some(Box::new(policy)),
        ..ExtractOptions::default()
    };
    let extracted = extract_safe(reader, to, &options);
    let packed = packer.join();
    let report = extracted.map_err(|e| CompareError::Io {
        action: "copy the bundle into",
        path: to.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    match packed {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            return Err(CompareError::io("read the bundle in", from)(
                std::io::Error::other(e),
            ));
        }
        Err(_) => {
            return Err(CompareError::io("read the bundle in", from)(
                std::io::Error::other("the packer panicked"),
            ));
        }
    }
    for refused in &report.refused {
        tracing::warn!("bundle entry refused: {refused:?}");
    }
    Ok(())
}

/// The bundle, staged on the host.
#[derive(Debug)]
pub struct Bundle {
    staging: tempfile::TempDir,
    /// Where it was read from (a `.harnessgym` directory).
    pub source: PathBuf,
    /// Its files and links, workspace-relative, sorted (the trials' `copied_artifacts`).
    pub files: Vec<String>,
    /// `sha256:<hex>` of its content.
    pub digest: String,
}

impl Bundle {
    /// Stage the bundle of the `.harnessgym` directory `source`.
    pub fn stage(source: &Path) -> Result<Self, CompareError> {
        let staging = tempfile::tempdir()
            .map_err(CompareError::io("create a staging directory for", source))?;
        let parent = source.parent().unwrap_or(Path::new("/"));
        copy(parent, staging.path())?;
        let entries =
            walk(staging.path()).map_err(CompareError::io("read the staged bundle of", source))?;
        let files = entries
            .iter()
            .filter(|e| e.kind != Kind::Dir)
            .map(|e| e.rel.to_string_lossy().into_owned())
            .collect();
        Ok(Bundle {
            source: source.to_path_buf(),
            files,
            digest: digest(&entries),
            staging,
        })
    }

    /// The directory holding the staged `.harnessgym/`.
    pub fn root(&self) -> &Path {
        self.staging.path()
    }

    /// Write the bundle into the host workspace `workspace` (a trial's).
    pub fn write_into(&self, workspace: &Path) -> Result<(), CompareError> {
        copy(self.staging.path(), workspace)
    }
}

/// The digest of the bundle at `source` as it is now (to check a re-run against the record).
pub fn digest_of(source: &Path) -> Result<String, CompareError> {
    Bundle::stage(source).map(|b| b.digest)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dir,
    File,
    Link,
}

struct Entry {
    rel: PathBuf,
    kind: Kind,
    executable: bool,
    content: Vec<u8>,
}

/// Every entry under `root`'s `.harnessgym`, sorted by path, without following links.
fn walk(root: &Path) -> std::io::Result<Vec<Entry>> {
    use std::os::unix::fs::PermissionsExt as _;
    let mut entries = Vec::new();
    let mut stack = vec![PathBuf::from(HARNESS_DIR)];
    while let Some(dir) = stack.pop() {
        let Ok(listing) = std::fs::read_dir(root.join(&dir)) else {
            continue;
        };
        for item in listing {
            let rel = dir.join(item?.file_name());
            let path = root.join(&rel);
            let meta = std::fs::symlink_metadata(&path)?;
            let (kind, content) = if meta.is_dir() {
                stack.push(rel.clone());
                (Kind::Dir, Vec::new())
            } else if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path)?;
                (
                    Kind::Link,
                    target.to_string_lossy().into_owned().into_bytes(),
                )
            } else {
                (Kind::File, std::fs::read(&path)?)
            };
            let executable = kind == Kind::File && meta.permissions().mode() & 0o111 != 0;
            entries.push(Entry {
                rel,
                kind,
                executable,
                content,
            });
        }
    }
    entries.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(entries)
}

/// `sha256:<hex>` of the entries: for each, its path, kind, executable bit, length and content.
fn digest(entries: &[Entry]) -> String {
    let mut hasher = Sha256::new();
    for entry in entries {
        hasher.update(entry.rel.to_string_lossy().as_bytes());
        hasher.update([0, entry.kind as u8, u8::from(entry.executable)]);
        hasher.update((entry.content.len() as u64).to_le_bytes());
        hasher.update(&entry.content);
    }
    let hex: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dirs");
        std::fs::write(path, text).expect("write");
    }

    #[test]
    fn the_bundle_is_the_artifact_folders_and_the_registry_only() {
        let ws = tempfile::tempdir().expect("tempdir");
        let root = ws.path();
        write(root, ".harnessgym/registry.json", "{}");
        write(root, ".harnessgym/tools/probe.py", "print(1)");
        write(root, ".harnessgym/tests/test_probe.py", "assert True");
        write(
            root,
            ".harnessgym/tools/__pycache__/probe.cpython-311.pyc",
            "x",
        );
        write(root, ".harnessgym/runs/r/result.json", "{}");
        write(root, ".harnessgym/activation.json", "{}");
        write(root, ".harnessgym/mcp_calls.jsonl", "");
        write(root, "task.md", "t");
        let source = resolve_source(root, Path::new("/")).expect("a workspace holding one");
        assert_eq!(
            resolve_source(&source, Path::new("/")).expect("the folder itself"),
            source
        );
        let bundle = Bundle::stage(&source).expect("staged");
        assert_eq!(
            bundle.files,
            [
                ".harnessgym/registry.json",
                ".harnessgym/tests/test_probe.py",
                ".harnessgym/tools/probe.py"
            ]
        );
        let again = Bundle::stage(&source).expect("staged again");
        assert_eq!(again.digest, bundle.digest, "content, not times");
        write(root, ".harnessgym/tools/probe.py", "print(2)");
        assert_ne!(digest_of(&source).expect("digest"), bundle.digest);
        let trial = tempfile::tempdir().expect("tempdir");
        bundle.write_into(trial.path()).expect("copied");
        assert!(trial.path().join(".harnessgym/tools/probe.py").is_file());
        assert!(!trial.path().join(".harnessgym/activation.json").exists());
        assert!(resolve_source(&root.join("task.md"), Path::new("/")).is_err());
    }
}
