//! The artifact kinds and their directories, and the registry's filesystem sync (reference §2.1
//! step 1 and §3.2; `artifacts.py:ARTIFACT_DIRS`, `ensure_harness_dirs`,
//! `sync_registry_from_files`).
//!
//! The sync registers files that agents created without registering them. It never prunes and never
//! touches an existing entry. Unlike the reference it does not save the registry (the caller does,
//! once) and it does not create missing kind directories (it skips them). It also stays inside the
//! workspace: symlinked directories are never descended (no cycles, no escapes), a symlinked file
//! counts only if it resolves to a regular file inside the workspace, and a kind directory that
//! resolves outside the workspace is skipped. Entries whose names are not UTF-8 cannot be written
//! as JSON paths and are skipped.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::{Artifact, Registry, RegistryError};

/// The harness directory at the workspace root.
pub const HARNESS_DIR: &str = ".harnessgym";
/// Run records, under [`HARNESS_DIR`].
pub const RUNS_DIR: &str = "runs";
/// The only file name the sync registers under `skills/`.
pub const SKILL_FILE_NAME: &str = "SKILL.md";
/// The only file names the sync registers under `mcp/`.
pub const MCP_MANIFEST_NAMES: [&str; 3] = ["mcp.json", "server.json", "harnessgym-mcp.json"];

/// The eight artifact kinds, each with its directory under `.harnessgym/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ArtifactKind {
    /// `skills/`: agent skills (`SKILL.md`).
    Skill,
    /// `mcp/`: MCP servers (a manifest per server).
    Mcp,
    /// `tools/`.
    Tool,
    /// `verifiers/`.
    Verifier,
    /// `fixtures/`.
    Fixture,
    /// `tests/`.
    Test,
    /// `docs/`.
    Docs,
    /// `scripts/`.
    Script,
}

impl ArtifactKind {
    /// Every kind, in the reference's order (which is also the sync's registration order).
    pub const ALL: [Self; 8] = [
        Self::Skill,
        Self::Mcp,
        Self::Tool,
        Self::Verifier,
        Self::Fixture,
        Self::Test,
        Self::Docs,
        Self::Script,
    ];

    /// The registry `kind` string.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Skill => "skill",
            Self::Mcp => "mcp",
            Self::Tool => "tool",
            Self::Verifier => "verifier",
            Self::Fixture => "fixture",
            Self::Test => "test",
            Self::Docs => "docs",
            Self::Script => "script",
        }
    }

    /// The directory name under `.harnessgym/`.
    pub const fn dir_name(self) -> &'static str {
        match self {
            Self::Skill => "skills",
            Self::Mcp => "mcp",
            Self::Tool => "tools",
            Self::Verifier => "verifiers",
            Self::Fixture => "fixtures",
            Self::Test => "tests",
            Self::Docs => "docs",
            Self::Script => "scripts",
        }
    }

    /// The kind named by a registry `kind` string.
    pub fn from_kind(kind: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|candidate| candidate.as_str() == kind)
    }

    /// The kind stored in a `.harnessgym/` directory.
    pub fn from_dir_name(dir_name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|candidate| candidate.dir_name() == dir_name)
    }

    /// Whether the sync registers a file of this name for this kind: skills only `SKILL.md`, MCP
    /// servers only their manifests, every other kind any file.
    pub fn accepts_file_name(self, name: &str) -> bool {
        match self {
            Self::Skill => name == SKILL_FILE_NAME,
            Self::Mcp => MCP_MANIFEST_NAMES.contains(&name),
            _ => true,
        }
    }
}

/// Creates `.harnessgym/` with `runs/` and the eight kind directories; returns the `.harnessgym`
/// path.
pub fn ensure_harness_dirs(workspace_root: &Path) -> Result<PathBuf, RegistryError> {
    let harness_dir = workspace_root.join(HARNESS_DIR);
    let names =
        std::iter::once(RUNS_DIR).chain(ArtifactKind::ALL.iter().map(|kind| kind.dir_name()));
    for name in names {
        let path = harness_dir.join(name);
        fs::create_dir_all(&path).map_err(|source| RegistryError::CreateDir { path, source })?;
    }
    Ok(harness_dir)
}

/// Registers every artifact file under the kind directories that the registry does not know yet,
/// and returns the new ids in registration order (reference §3.2).
///
/// Files are visited per kind, sorted by path components, skipping anything under `__pycache__` and
/// `.pyc`/`.pyo` files. Ids are `<kind>:<workspace-relative POSIX path>`. New entries get the
/// description `Discovered <kind> artifact at <path>`, metadata `{"source": "filesystem-sync"}` and
/// `iteration` (or `null`).
pub fn sync_registry_from_files(
    registry: &mut Registry,
    workspace_root: &Path,
    iteration: Option<i64>,
) -> Result<Vec<String>, RegistryError> {
    let root = fs::canonicalize(workspace_root).map_err(scan_error(workspace_root))?;
    let mut added = Vec::new();
    for kind in ArtifactKind::ALL {
        let dir = workspace_root.join(HARNESS_DIR).join(kind.dir_name());
        if !is_dir_inside(&dir, &root)? {
            continue;
        }
        let mut files = Vec::new();
        collect_files(&dir, &root, &mut Vec::new(), &mut files)?;
        // Sorting component lists matches Python's sorting of `Path` objects (part by part, not as
        // strings).
        files.sort();
        for components in files {
            let Some(name) = components.last() else {
                continue;
            };
            if !kind.accepts_file_name(name) {
                continue;
            }
            let path = format!("{HARNESS_DIR}/{}/{}", kind.dir_name(), components.join("/"));
            let id = format!("{}:{path}", kind.as_str());
            if registry.get(&id).is_some() {
                continue;
            }
            registry
                .artifacts
                .push(discovered_artifact(kind, &path, iteration));
            added.push(id);
        }
    }
    Ok(added)
}

/// [`sync_registry_from_files`] for a bundle that is not on disk: `files` are the
/// workspace-relative paths of its regular files and links (e.g. the entries of an archive
/// downloaded from a container), in any order.
pub fn sync_registry_from_paths<'a>(
    registry: &mut Registry,
    files: impl IntoIterator<Item = &'a str>,
    iteration: Option<i64>,
) -> Vec<String> {
    let mut by_kind: Vec<Vec<Vec<String>>> = vec![Vec::new(); ArtifactKind::ALL.len()];
    for path in files {
        let mut parts = path.split('/');
        if parts.next() != Some(HARNESS_DIR) {
            continue;
        }
        let Some(dir) = parts.next() else {
            continue;
        };
        let Some(index) = ArtifactKind::ALL.iter().position(|k| k.dir_name() == dir) else {
            continue;
        };
        let components: Vec<String> = parts.map(str::to_string).collect();
        let skipped = components.is_empty()
            || components
                .iter()
                .any(|c| c == "__pycache__" || c.is_empty())
            || components.last().is_some_and(|name| is_bytecode(name));
        if !skipped {
            by_kind[index].push(components);
        }
    }
    let mut added = Vec::new();
    for (kind, mut files) in ArtifactKind::ALL.iter().zip(by_kind) {
        files.sort();
        files.dedup();
        for components in files {
            let Some(name) = components.last() else {
                continue;
            };
            if !kind.accepts_file_name(name) {
                continue;
            }
            let path = format!("{HARNESS_DIR}/{}/{}", kind.dir_name(), components.join("/"));
            let id = format!("{}:{path}", kind.as_str());
            if registry.get(&id).is_some() {
                continue;
            }
            registry
                .artifacts
                .push(discovered_artifact(*kind, &path, iteration));
            added.push(id);
        }
    }
    added
}

fn discovered_artifact(kind: ArtifactKind, path: &str, iteration: Option<i64>) -> Artifact {
    let mut metadata = Map::new();
    metadata.insert("source".to_owned(), Value::from("filesystem-sync"));
    Artifact {
        description: format!("Discovered {} artifact at {path}", kind.as_str()),
        iteration: iteration.map_or(Value::Null, Value::from),
        metadata,
        ..Artifact::new(kind.as_str(), path)
    }
}

/// Whether `dir` exists, is a directory (possibly through a symlink) and resolves inside `root`.
fn is_dir_inside(dir: &Path, root: &Path) -> Result<bool, RegistryError> {
    match fs::canonicalize(dir) {
        Ok(resolved) => Ok(resolved.starts_with(root) && resolved.is_dir()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(RegistryError::Scan {
            path: dir.to_owned(),
            source,
        }),
    }
}

/// Appends the component lists (relative to the kind directory) of the candidate files under `dir`.
fn collect_files(
    dir: &Path,
    root: &Path,
    prefix: &mut Vec<String>,
    out: &mut Vec<Vec<String>>,
) -> Result<(), RegistryError> {
    for entry in fs::read_dir(dir).map_err(scan_error(dir))? {
        let entry = entry.map_err(scan_error(dir))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if name == "__pycache__" {
            continue;
        }
        let path = entry.path();
        let file_type = entry.file_type().map_err(scan_error(&path))?;
        if file_type.is_dir() {
            prefix.push(name);
            collect_files(&path, root, prefix, out)?;
            prefix.pop();
            continue;
        }
        let is_candidate =
            file_type.is_file() || (file_type.is_symlink() && is_file_inside(&path, root));
        if is_candidate && !is_bytecode(&name) {
            let mut components = prefix.clone();
            components.push(name);
            out.push(components);
        }
    }
    Ok(())
}

/// Whether a symlink resolves to a regular file inside `root`; broken links are not files.
fn is_file_inside(link: &Path, root: &Path) -> bool {
    fs::canonicalize(link).is_ok_and(|target| target.starts_with(root) && target.is_file())
}

/// Python's `suffix in {".pyc", ".pyo"}`: the last extension, where a bare dotfile has none.
fn is_bytecode(name: &str) -> bool {
    Path::new(name)
        .extension()
        .is_some_and(|extension| extension == "pyc" || extension == "pyo")
}

fn scan_error(path: &Path) -> impl Fn(io::Error) -> RegistryError + '_ {
    move |source| RegistryError::Scan {
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, relative: &str) {
        let path = root.join(relative);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, "x\n").expect("write");
    }

    fn ids(registry: &Registry) -> Vec<&str> {
        registry
            .artifacts
            .iter()
            .map(|artifact| artifact.id.as_str())
            .collect()
    }

    #[test]
    fn kind_table_matches_the_reference() {
        let pairs: Vec<_> = ArtifactKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.dir_name()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("skill", "skills"),
                ("mcp", "mcp"),
                ("tool", "tools"),
                ("verifier", "verifiers"),
                ("fixture", "fixtures"),
                ("test", "tests"),
                ("docs", "docs"),
                ("script", "scripts"),
            ]
        );
        for kind in ArtifactKind::ALL {
            assert_eq!(ArtifactKind::from_kind(kind.as_str()), Some(kind));
            assert_eq!(ArtifactKind::from_dir_name(kind.dir_name()), Some(kind));
        }
        assert_eq!(ArtifactKind::from_kind("tools"), None);
        assert_eq!(ArtifactKind::from_dir_name("tool"), None);
    }

    #[test]
    fn ensure_harness_dirs_creates_runs_and_kind_dirs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let harness = ensure_harness_dirs(dir.path()).expect("creates");
        assert_eq!(harness, dir.path().join(".harnessgym"));
        for name in [
            "runs",
            "skills",
            "mcp",
            "tools",
            "verifiers",
            "fixtures",
            "tests",
            "docs",
            "scripts",
        ] {
            assert!(harness.join(name).is_dir(), "{name} missing");
        }
        ensure_harness_dirs(dir.path()).expect("is idempotent");
    }

    #[test]
    fn ensure_harness_dirs_reports_the_blocking_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join(".harnessgym"), "not a dir").expect("seeds");
        let error = ensure_harness_dirs(dir.path()).expect_err("must fail");
        assert!(
            matches!(error, RegistryError::CreateDir { ref path, .. } if path.ends_with(".harnessgym/runs"))
        );
    }

    #[test]
    fn sync_registers_the_reference_test_layout() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        ensure_harness_dirs(root).expect("dirs");
        for file in [
            ".harnessgym/tools/probe.py",
            ".harnessgym/docs/brief.md",
            ".harnessgym/tests/test_probe.py",
            ".harnessgym/skills/demo/SKILL.md",
            ".harnessgym/skills/demo/notes.md",
            ".harnessgym/mcp/server/mcp.json",
            ".harnessgym/mcp/server/server.py",
        ] {
            write(root, file);
        }
        let mut registry = Registry::new();
        let added = sync_registry_from_files(&mut registry, root, Some(2)).expect("syncs");
        let expected = [
            "skill:.harnessgym/skills/demo/SKILL.md",
            "mcp:.harnessgym/mcp/server/mcp.json",
            "tool:.harnessgym/tools/probe.py",
            "test:.harnessgym/tests/test_probe.py",
            "docs:.harnessgym/docs/brief.md",
        ];
        assert_eq!(added, expected);
        assert_eq!(ids(&registry), expected);

        let tool = registry
            .get("tool:.harnessgym/tools/probe.py")
            .expect("tool");
        assert_eq!(tool.kind, "tool");
        assert_eq!(tool.path, ".harnessgym/tools/probe.py");
        assert_eq!(
            tool.description,
            "Discovered tool artifact at .harnessgym/tools/probe.py"
        );
        assert_eq!(tool.iteration, Value::from(2));
        assert_eq!(
            Value::Object(tool.metadata.clone()),
            serde_json::json!({"source": "filesystem-sync"})
        );
    }

    #[test]
    fn sync_skips_bytecode_and_pycache_and_sorts_by_components() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for file in [
            ".harnessgym/tools/a-c",
            ".harnessgym/tools/a/b",
            ".harnessgym/tools/x.pyc",
            ".harnessgym/tools/y.pyo",
            ".harnessgym/tools/.pyc",
            ".harnessgym/tools/__pycache__/z.py",
            ".harnessgym/tools/deep/__pycache__/w.txt",
            ".harnessgym/tools/deep/keep.txt",
        ] {
            write(root, file);
        }
        let mut registry = Registry::new();
        let added = sync_registry_from_files(&mut registry, root, None).expect("syncs");
        assert_eq!(
            added,
            [
                "tool:.harnessgym/tools/.pyc",
                "tool:.harnessgym/tools/a/b",
                "tool:.harnessgym/tools/a-c",
                "tool:.harnessgym/tools/deep/keep.txt",
            ]
        );
        assert!(
            registry
                .artifacts
                .iter()
                .all(|artifact| artifact.iteration.is_null())
        );
    }

    #[test]
    fn a_file_list_syncs_like_the_same_files_on_disk() {
        let files = [
            ".harnessgym/tools/a-c",
            ".harnessgym/tools/a/b",
            ".harnessgym/tools/x.pyc",
            ".harnessgym/tools/__pycache__/z.py",
            ".harnessgym/tools/deep/keep.txt",
            ".harnessgym/skills/s/SKILL.md",
            ".harnessgym/skills/s/notes.md",
            ".harnessgym/mcp/m/server.py",
            ".harnessgym/mcp/m/harnessgym-mcp.json",
            ".harnessgym/runs/r/result.json",
            "kernel.py",
        ];
        let dir = tempfile::tempdir().expect("tempdir");
        for file in files {
            write(dir.path(), file);
        }
        let mut on_disk = Registry::new();
        let from_disk = sync_registry_from_files(&mut on_disk, dir.path(), Some(2)).expect("syncs");
        let mut listed = Registry::new();
        let from_list = sync_registry_from_paths(&mut listed, files.iter().rev().copied(), Some(2));
        assert_eq!(from_list, from_disk);
        assert_eq!(listed.artifacts.len(), on_disk.artifacts.len());
    }

    #[test]
    fn sync_never_touches_or_prunes_existing_entries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, ".harnessgym/tools/probe.py");
        let mut registry = Registry::new();
        let mut known = Artifact::new("tool", ".harnessgym/tools/probe.py");
        known.description = "Agent description".to_owned();
        known.iteration = Value::from(1);
        registry.artifacts.push(known.clone());
        registry
            .artifacts
            .push(Artifact::new("tool", ".harnessgym/tools/deleted.py"));

        let added = sync_registry_from_files(&mut registry, root, Some(3)).expect("syncs");
        assert!(added.is_empty());
        assert_eq!(registry.artifacts.len(), 2);
        assert_eq!(registry.artifacts[0], known);
    }

    #[test]
    fn sync_tolerates_a_missing_harness_dir() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut registry = Registry::new();
        let added = sync_registry_from_files(&mut registry, dir.path(), Some(1)).expect("syncs");
        assert!(added.is_empty());
        assert!(
            !dir.path().join(".harnessgym").exists(),
            "sync must not create directories"
        );
    }

    #[test]
    fn sync_of_a_missing_workspace_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("nope");
        let error =
            sync_registry_from_files(&mut Registry::new(), &missing, None).expect_err("must fail");
        assert!(matches!(error, RegistryError::Scan { ref path, .. } if path == &missing));
    }

    #[cfg(unix)]
    #[test]
    fn sync_does_not_follow_symlinks_out_of_the_workspace() {
        use std::os::unix::fs::symlink;
        let outside = tempfile::tempdir().expect("tempdir");
        write(outside.path(), "secret.txt");
        write(outside.path(), "SKILL.md");
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, ".harnessgym/tools/real.py");
        write(root, "task/inside.txt");
        let tools = root.join(".harnessgym/tools");
        symlink(outside.path().join("secret.txt"), tools.join("escape.txt")).expect("link");
        symlink(outside.path(), tools.join("escape_dir")).expect("link");
        symlink(root.join("task/inside.txt"), tools.join("inside.txt")).expect("link");
        symlink(root.join("task"), tools.join("inside_dir")).expect("link");
        symlink(&tools, tools.join("loop")).expect("link");
        symlink(root.join("missing"), tools.join("broken")).expect("link");
        // A whole kind directory pointing outside the workspace is skipped.
        symlink(outside.path(), root.join(".harnessgym/skills")).expect("link");

        let mut registry = Registry::new();
        let added = sync_registry_from_files(&mut registry, root, None).expect("syncs");
        assert_eq!(
            added,
            [
                "tool:.harnessgym/tools/inside.txt",
                "tool:.harnessgym/tools/real.py"
            ]
        );
    }

    #[cfg(unix)]
    #[test]
    fn sync_follows_a_kind_dir_symlinked_inside_the_workspace() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "shared-docs/guide.md");
        fs::create_dir_all(root.join(".harnessgym")).expect("mkdir");
        symlink(root.join("shared-docs"), root.join(".harnessgym/docs")).expect("link");
        let mut registry = Registry::new();
        let added = sync_registry_from_files(&mut registry, root, None).expect("syncs");
        assert_eq!(added, ["docs:.harnessgym/docs/guide.md"]);
    }

    #[test]
    fn file_name_rules() {
        assert!(ArtifactKind::Skill.accepts_file_name("SKILL.md"));
        assert!(!ArtifactKind::Skill.accepts_file_name("skill.md"));
        for name in MCP_MANIFEST_NAMES {
            assert!(ArtifactKind::Mcp.accepts_file_name(name));
        }
        assert!(!ArtifactKind::Mcp.accepts_file_name("server.py"));
        assert!(ArtifactKind::Docs.accepts_file_name("anything.md"));
        assert!(is_bytecode("a.b.pyc"));
        assert!(!is_bytecode(".pyc"));
        assert!(!is_bytecode("a.py"));
    }
}
