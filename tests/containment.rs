//! The hostile-agent suite (issue 8): scripted fake-runner phases that act as an attacker with
//! a shell in the session container would, against the real engine and the built CLI.
//!
//! Every test works on a workspace `ws` inside a private parent directory that also holds a
//! sibling directory with a canary file, and checks, besides its own point ([`Host::check`]):
//! the host outside the workspace is unchanged and nothing new appeared next to the workspace,
//! the host `.git` is byte-identical, no symlink in the workspace points outside it, and the run
//! completed (exit 0, `summary.json`). Each test names where its refusal is recorded, and ends
//! with `t.cleanup()`, which asserts that no labelled container or image of its run remains.

mod common;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use common::{TestRun, run_fake, run_json, write};
use serde_json::Value;

const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/numerical_debug_task");
const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
const BUGGY_NORM: &str = "math.sqrt(sum(x * x for x in a)) + math.sqrt(sum(y * y for y in b))";
const FIXED_NORM: &str = "math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))";
/// The attempt's real fix to the demo's planted bug, as a shell line.
const FIX_KERNEL: &str = "sed -i 's/a)) + math.sqrt(/a)) * math.sqrt(/' kernel_ops.py\n";

// ---------------------------------------------------------------------------------------------
// The host around the workspace

/// One entry of a tree as seen without following links: its kind, mode and content (a file's
/// bytes, a link's target).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Dir(u32),
    File(u32, Vec<u8>),
    Link(PathBuf),
    Other(u32),
}

/// Every entry below `root` (relative paths), never following links.
fn tree(root: &Path) -> BTreeMap<PathBuf, Node> {
    let mut nodes = BTreeMap::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(root.join(&dir))
            .unwrap_or_else(|e| panic!("read {}: {e}", root.join(&dir).display()));
        for entry in entries {
            let rel = dir.join(entry.expect("entry").file_name());
            let path = root.join(&rel);
            let meta = std::fs::symlink_metadata(&path).expect("lstat");
            let mode = meta.permissions().mode();
            let node = if meta.file_type().is_symlink() {
                Node::Link(std::fs::read_link(&path).expect("readlink"))
            } else if meta.is_dir() {
                stack.push(rel.clone());
                Node::Dir(mode)
            } else if meta.is_file() {
                Node::File(mode, std::fs::read(&path).expect("read"))
            } else {
                Node::Other(mode)
            };
            nodes.insert(rel, node);
        }
    }
    nodes
}

/// A workspace `ws` in a private parent directory, next to `sibling/canary.txt`, with what the
/// host looked like before the run.
struct Host {
    parent: tempfile::TempDir,
    ws: PathBuf,
    canary: String,
    outside: BTreeMap<PathBuf, Node>,
    git: Option<BTreeMap<PathBuf, Node>>,
}

impl Host {
    /// A copy of the demo task (`kernel_ops.py` with the planted bug, `task.md`, `verifier.py`)
    /// plus `files`, committed in a git repository.
    fn demo(files: &[(&str, &str)]) -> Self {
        let host = Self::empty();
        for name in ["kernel_ops.py", "task.md", "verifier.py"] {
            std::fs::copy(Path::new(DEMO).join(name), host.ws.join(name)).expect("copy demo");
        }
        for (rel, content) in files {
            write(&host.ws, rel, content);
        }
        host.git_init().seal()
    }

    /// An empty workspace next to the canary (not sealed: add files, then [`Host::seal`]).
    fn empty() -> Self {
        let parent = tempfile::tempdir().expect("tempdir");
        let ws = parent.path().join("ws");
        std::fs::create_dir(&ws).expect("mkdir ws");
        let canary = format!("CANARY-{}-do-not-read", std::process::id());
        write(parent.path(), "sibling/canary.txt", &format!("{canary}\n"));
        Host {
            parent,
            ws,
            canary,
            outside: BTreeMap::new(),
            git: None,
        }
    }

    fn parent(&self) -> &Path {
        self.parent.path()
    }

    /// `git init` and one commit of everything, a tag `v0`, and an unreachable loose blob the
    /// agent will try to delete.
    fn git_init(self) -> Self {
        git(&self.ws, &["init", "-q", "-b", "main"]);
        git(&self.ws, &["add", "-A"]);
        git(&self.ws, &["commit", "-q", "-m", "user's work"]);
        git(&self.ws, &["tag", "v0"]);
        let blob = Command::new("git")
            .current_dir(&self.ws)
            .args(["hash-object", "-w", "--stdin"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child
                    .stdin
                    .take()
                    .expect("stdin")
                    .write_all(b"an orphan blob\n")?;
                child.wait_with_output()
            })
            .expect("git hash-object");
        assert!(blob.status.success());
        self
    }

    /// Record the host as it is now (call once the workspace is set up).
    fn seal(mut self) -> Self {
        let all = tree(self.parent());
        self.outside = all
            .into_iter()
            .filter(|(rel, _)| !rel.starts_with("ws"))
            .collect();
        let git_dir = self.ws.join(".git");
        self.git = git_dir.is_dir().then(|| tree(&git_dir));
        self
    }

    /// The checks every hostile run must pass: the host outside the workspace unchanged and
    /// nothing new next to the workspace, `.git` byte-identical, no link leading out of the
    /// workspace, a finished run (`summary.json`).
    fn check(&self, t: &TestRun) {
        let now: BTreeMap<PathBuf, Node> = tree(self.parent())
            .into_iter()
            .filter(|(rel, _)| !rel.starts_with("ws"))
            .collect();
        assert!(
            now == self.outside,
            "the host outside the workspace changed: before {:?}, after {:?}",
            self.outside.keys().collect::<Vec<_>>(),
            now.keys().collect::<Vec<_>>()
        );
        if let Some(before) = &self.git {
            let after = tree(&self.ws.join(".git"));
            let changed: Vec<&PathBuf> = before
                .keys()
                .chain(after.keys())
                .filter(|rel| before.get(*rel) != after.get(*rel))
                .collect();
            assert!(changed.is_empty(), "the host .git changed: {changed:?}");
        }
        let escaping = links_out_of(&self.ws);
        assert!(
            escaping.is_empty(),
            "links out of the workspace: {escaping:?}"
        );
        let summary = self.run_dir(t).join("summary.json");
        assert!(summary.is_file(), "no {}", summary.display());
    }

    fn run_dir(&self, t: &TestRun) -> PathBuf {
        self.ws.join(".harnessgym/runs").join(&t.run)
    }

    fn json(&self, t: &TestRun, rel: &str) -> Value {
        run_json(&self.ws, t, rel)
    }

    fn text(&self, t: &TestRun, rel: &str) -> String {
        let path = self.run_dir(t).join(rel);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.ws.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// Whether `rel` exists in the workspace (a dangling link counts).
    fn has(&self, rel: impl AsRef<Path>) -> bool {
        std::fs::symlink_metadata(self.ws.join(rel)).is_ok()
    }
}

/// `git` in `dir` with a fixed identity; asserts success and returns stdout.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=user",
            "-c",
            "user.email=user@example.invalid",
        ])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Symlinks below `root` whose target is absolute, climbs above `root`, or resolves outside it.
fn links_out_of(root: &Path) -> Vec<(PathBuf, PathBuf)> {
    let canonical = root.canonicalize().expect("canonical root");
    tree(root)
        .into_iter()
        .filter_map(|(rel, node)| match node {
            Node::Link(target) => Some((rel, target)),
            _ => None,
        })
        .filter(|(rel, target)| {
            let mut depth: i64 = rel.parent().map_or(0, |p| p.components().count() as i64);
            let lexical_out = target.components().any(|c| match c {
                Component::RootDir | Component::Prefix(_) => true,
                Component::ParentDir => {
                    depth -= 1;
                    depth < 0
                }
                Component::Normal(_) => {
                    depth += 1;
                    false
                }
                Component::CurDir => false,
            });
            let resolved_out = root
                .join(rel)
                .canonicalize()
                .is_ok_and(|p| !p.starts_with(&canonical));
            lexical_out || resolved_out
        })
        .collect()
}

/// The refusals in `write_back.json`: `(path, reason code)`.
fn refused(host: &Host, t: &TestRun) -> Vec<(String, String)> {
    host.json(t, "write_back.json")["refused"]
        .as_array()
        .expect("refused list")
        .iter()
        .map(|r| {
            (
                r["path"].as_str().expect("path").to_string(),
                r["reason"].as_str().expect("reason").to_string(),
            )
        })
        .collect()
}

fn assert_refused(list: &[(String, String)], path: &str, reason: &str) {
    assert!(
        list.iter().any(|(p, r)| p == path && r == reason),
        "`{path}` not refused as {reason}: {list:?}"
    );
}

/// The entries of result.json's `limits` list of iteration `i`: `(phase, limit, detail)`.
fn limits(host: &Host, t: &TestRun, i: u32) -> Vec<(String, String, String)> {
    let result = host.json(t, &format!("iterations/{i}/result.json"));
    result["limits"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|l| {
            let field = |k: &str| l[k].as_str().unwrap_or_default().to_string();
            (field("phase"), field("limit"), field("detail"))
        })
        .collect()
}

fn has_limit(list: &[(String, String, String)], phase: &str, limit: &str) -> bool {
    list.iter().any(|(p, l, _)| p == phase && l == limit)
}

/// result.json's `result_errors` of iteration `i`: `(phase, error)`.
fn result_errors(host: &Host, t: &TestRun, i: u32) -> Vec<(String, String)> {
    let result = host.json(t, &format!("iterations/{i}/result.json"));
    result["result_errors"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|e| {
            (
                e["phase"].as_str().unwrap_or_default().to_string(),
                e["error"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// A marker path on the host that a hostile payload would create if it ever ran there.
fn host_marker(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "harnessgym-containment-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&path);
    path
}

// ---------------------------------------------------------------------------------------------
// 1. `.git`

#[tokio::test]
async fn the_agents_git_changes_never_reach_the_host_and_its_commits_come_back_as_a_bundle() {
    let t = TestRun::new("contain-git").await;
    let marker = host_marker("git");
    let m = marker.display();
    let attempt = format!(
        r#"set -e
# A payload that would run on the host at the next `git status` or checkout.
printf '#!/bin/sh\ntouch {m}\n' > .git/hooks/post-checkout
chmod +x .git/hooks/post-checkout
git config core.fsmonitor 'touch {m}; true'
git status > /dev/null
[ -e {m} ] && echo "the fsmonitor payload runs in the container"
# Erase the user's history where it can.
git tag -d v0
h=$(echo 'an orphan blob' | git hash-object --stdin)
rm -f .git/objects/$(echo $h | cut -c1-2)/$(echo $h | cut -c3-)
rm -f .git/description
# The real fix, committed.
{FIX_KERNEL}git -c user.name=agent -c user.email=agent@example.invalid commit -qam 'agent fix'
# Case variants of the protected name.
mkdir -p .GIT .Git/hooks
echo '[core] fsmonitor = touch {m}' > .GIT/config
printf '#!/bin/sh\ntouch {m}\n' > .Git/hooks/post-checkout
"#
    );
    let host = Host::demo(&[(".fake_runner/attempt.sh", &attempt)]);
    let head = git(&host.ws, &["rev-parse", "HEAD"]);
    run_fake(&t, &host.ws, 1, &[]).await;
    host.check(&t);

    let stdout = host.text(&t, "iterations/1/attempt.stdout.txt");
    assert!(
        stdout.contains("the fsmonitor payload runs in the container"),
        "the payload must be live for this test to mean anything: {stdout}"
    );
    assert!(
        host.read("kernel_ops.py").contains(FIXED_NORM),
        "the fix lands"
    );
    // `git status` on the host runs nothing of the agent's.
    git(&host.ws, &["status", "--porcelain"]);
    assert!(!marker.exists(), "{m}: the agent's code ran on the host");
    assert_eq!(git(&host.ws, &["rev-parse", "HEAD"]), head);
    for case in [".GIT", ".Git"] {
        assert!(!host.has(case), "{case} reached the host");
    }

    let list = refused(&host, &t);
    for path in [
        ".git/config",
        ".git/hooks/post-checkout",
        ".GIT/config",
        ".Git/hooks/post-checkout",
    ] {
        assert!(
            list.iter()
                .any(|(p, r)| r == "protected" && (p == path || path.starts_with(p.as_str()))),
            "{path} not refused as protected: {list:?}"
        );
    }

    // The agent's commits, as data, in the run folder.
    let bundle = host.run_dir(&t).join("agent-commits.bundle");
    let write_back = host.json(&t, "write_back.json");
    assert_eq!(
        write_back["agent_commits"].as_str(),
        Some(bundle.to_str().expect("utf-8")),
        "{write_back:#}"
    );
    let heads = git(
        host.parent(),
        &["bundle", "list-heads", bundle.to_str().expect("utf-8")],
    );
    let main = heads
        .lines()
        .find(|l| l.ends_with(" refs/heads/main"))
        .unwrap_or_else(|| panic!("no main in {heads}"));
    assert_ne!(main.split(' ').next(), Some(head.trim()), "{heads}");
    assert!(
        !heads.contains("refs/tags/v0"),
        "the agent deleted v0: {heads}"
    );
    let inspect = host.parent().join("inspect");
    git(host.parent(), &["init", "-q", "inspect"]);
    git(
        &inspect,
        &[
            "fetch",
            "-q",
            bundle.to_str().expect("utf-8"),
            "refs/heads/*:refs/agent/*",
        ],
    );
    assert_eq!(
        git(&inspect, &["log", "-1", "--format=%s", "refs/agent/main"]).trim(),
        "agent fix"
    );
    std::fs::remove_dir_all(&inspect).expect("remove the inspection repository");
    host.check(&t);
    t.cleanup().await;
}

// ---------------------------------------------------------------------------------------------
// 2. Symlinks

#[tokio::test]
async fn symlinks_come_back_only_inside_the_workspace_and_a_second_run_reads_no_host_file() {
    let t = TestRun::new("contain-links").await;
    let attempt = r#"set -e
rm kernel_ops.py && ln -s /etc/passwd kernel_ops.py
rm task.md && ln -s ../sibling/canary.txt task.md
ln -s ../../.. up
ln -s / abs
ln -s src/../../sibling/canary.txt sneaky
ln -s src docs
ln -s ../verifier.py src/inner
# Hard links: to a host-image file (refused by the kernel for a file the agent does not own),
# and to a workspace file (comes back as a copy).
ln /etc/passwd hl 2>/dev/null && echo "hard link to /etc/passwd made" || echo "no hard link to /etc/passwd"
ln verifier.py hl2
"#;
    let host = Host::demo(&[
        (".fake_runner/attempt_1.sh", attempt),
        ("src/helper.py", "HELPER = 1\n"),
    ]);
    let kernel = host.read("kernel_ops.py");
    let task = host.read("task.md");
    run_fake(&t, &host.ws, 1, &[]).await;
    host.check(&t);

    let list = refused(&host, &t);
    assert_refused(&list, "kernel_ops.py", "symlink_absolute");
    assert_refused(&list, "abs", "symlink_absolute");
    assert_refused(&list, "task.md", "symlink_outside");
    assert_refused(&list, "up", "symlink_outside");
    assert_refused(&list, "sneaky", "symlink_outside");
    assert_eq!(
        host.read("kernel_ops.py"),
        kernel,
        "refused: the user's file stays"
    );
    assert_eq!(host.read("task.md"), task);
    for gone in ["up", "abs", "sneaky"] {
        assert!(!host.has(gone), "{gone} landed");
    }
    assert_eq!(
        std::fs::read_link(host.ws.join("docs")).expect("docs is a link"),
        Path::new("src"),
        "a link inside the workspace lands"
    );
    assert_eq!(
        std::fs::read_link(host.ws.join("src/inner")).expect("src/inner is a link"),
        Path::new("../verifier.py")
    );
    for copy in ["hl", "hl2"] {
        if let Ok(meta) = std::fs::symlink_metadata(host.ws.join(copy)) {
            assert!(meta.is_file() && meta.nlink() == 1, "{copy}: {meta:?}");
        }
    }
    assert_eq!(host.read("hl2"), host.read("verifier.py"));
    let verifier = std::fs::metadata(host.ws.join("verifier.py")).expect("verifier.py");
    assert_eq!(verifier.nlink(), 1, "no hard link between host files");

    // A second run on the same workspace: the engine takes its baseline, and nothing of the
    // host outside the workspace reaches the prompt (what a real runner sends to a provider).
    let second = TestRun::adopt(&t, &format!("{}-again", t.run));
    std::fs::remove_file(host.ws.join(".fake_runner/attempt_1.sh")).expect("rm");
    run_fake(&second, &host.ws, 1, &[]).await;
    host.check(&second);
    let prompt = host.text(&second, "iterations/1/attempt.prompt.txt");
    assert!(prompt.contains("Fix the numerical kernels"), "{prompt}");
    assert!(
        !prompt.contains(&host.canary),
        "the canary reached the prompt"
    );
    let parent = host.parent().display().to_string();
    assert!(!prompt.contains(&parent), "a host path reached the prompt");
    second.cleanup().await;
    t.cleanup().await;
}

// ---------------------------------------------------------------------------------------------
// 3. Hostile paths never abort a run

#[tokio::test]
async fn hostile_paths_are_refused_or_kept_exactly_and_never_abort_the_run() {
    let t = TestRun::new("contain-paths").await;
    let attempt = format!(
        r#"set -e
{FIX_KERNEL}printf 'raw bytes\n' > "$(printf 'bad-\377\376-name.txt')"
printf 'one\n' > "$(printf 'new\nline.txt')"
d="$(printf 'dir\nwith\nnewlines')"
mkdir "$d" && printf 'two\n' > "$d/f.txt"
# The user's directory link `lib -> src`, replaced by a real directory with files.
rm lib && mkdir lib && echo 'NEW = 2' > lib/new.py
chmod 6755 kernel_ops.py && chmod 1777 lib
mkfifo fifo
python3 -c "import socket; socket.socket(socket.AF_UNIX).bind('sock')"
# Directories nested far past PATH_MAX (2,500 levels, 7,500 bytes of path).
python3 -c "
import os
for _ in range(2500):
    os.mkdir('dd'); os.chdir('dd')
open('bottom.txt', 'w').write('deep')
"
"#
    );
    let build = r#"set -e
rm -rf .harnessgym/tools && ln -s /etc .harnessgym/tools
echo '{"status": "tooling_built"}' > "$HARNESSGYM_RESULT"
"#;
    let host = Host::empty();
    for name in ["kernel_ops.py", "task.md", "verifier.py"] {
        std::fs::copy(Path::new(DEMO).join(name), host.ws.join(name)).expect("copy demo");
    }
    write(&host.ws, ".fake_runner/attempt.sh", &attempt);
    write(&host.ws, ".fake_runner/build.sh", build);
    write(&host.ws, "src/helper.py", "HELPER = 1\n");
    std::os::unix::fs::symlink("src", host.ws.join("lib")).expect("the user's link");
    let host = host.git_init().seal();
    run_fake(&t, &host.ws, 1, &[]).await;
    host.check(&t);

    let kernel = host.read("kernel_ops.py");
    assert!(
        kernel.contains(FIXED_NORM) && !kernel.contains(BUGGY_NORM),
        "the fix lands"
    );
    let raw = host.ws.join(OsStr::from_bytes(b"bad-\xff\xfe-name.txt"));
    assert_eq!(
        std::fs::read(&raw).expect("the non-UTF-8 name is kept exactly"),
        b"raw bytes\n"
    );
    assert_eq!(host.read("new\nline.txt"), "one\n");
    assert_eq!(host.read("dir\nwith\nnewlines/f.txt"), "two\n");

    // The agent replaced the user's directory link `lib -> src` by a real directory: that
    // change lands as made, and nothing is written through the link into `src`.
    let lib = std::fs::symlink_metadata(host.ws.join("lib")).expect("lib");
    assert!(lib.is_dir(), "{lib:?}");
    // Setuid, setgid and sticky bits never come back.
    let mode = |rel: &str| {
        std::fs::symlink_metadata(host.ws.join(rel))
            .expect("mode")
            .permissions()
            .mode()
    };
    assert_eq!(mode("kernel_ops.py") & 0o7777, 0o755);
    assert_eq!(mode("lib") & 0o7000, 0, "{:o}", mode("lib"));
    assert_eq!(host.read("lib/new.py"), "NEW = 2\n");
    assert!(!host.has("src/new.py"), "written through the user's link");
    assert_eq!(host.read("src/helper.py"), "HELPER = 1\n");

    // Special files and paths too long to carry never land, and the capture says so.
    assert!(!host.has("fifo") && !host.has("sock"));
    let deepest = tree(&host.ws)
        .keys()
        .map(|p| p.as_os_str().len())
        .max()
        .unwrap_or(0);
    assert!(deepest < 4096, "a {deepest}-byte path landed");
    let hits = limits(&host, &t, 1);
    let left_out: Vec<&String> = hits
        .iter()
        .filter(|(phase, limit, _)| phase == "iteration-1" && limit == "refused")
        .map(|(_, _, detail)| detail)
        .collect();
    assert!(
        left_out.iter().any(|d| d.contains("2 special file")),
        "{hits:?}"
    );
    assert!(left_out.iter().any(|d| d.contains("too long")), "{hits:?}");

    // `.harnessgym/tools -> /etc` from the build: refused on the way out, recorded.
    let meta = std::fs::symlink_metadata(host.ws.join(".harnessgym/tools")).expect("tools");
    assert!(meta.is_dir(), "the host's tools folder stays a directory");
    let hits = limits(&host, &t, 1);
    assert!(
        hits.iter().any(|(phase, limit, detail)| phase == "bundle"
            && limit == "refused"
            && detail.contains(".harnessgym/tools")),
        "{hits:?}"
    );
    t.cleanup().await;
}

// ---------------------------------------------------------------------------------------------
// 4. Processes do not outlive their phase

/// A phase script that gives the attempt's daemons their signal, and reports whether any still
/// runs and whether `verifier.py` is still the original. (A survivor would rewrite it before
/// the session is captured, and `pwned` would reach the host.)
const CHECK_DAEMONS: &str = r#"touch /tmp/go
if cmp -s verifier.py .fake_runner/verifier.orig; then echo "verifier: original"; else echo "verifier: CHANGED"; fi
stray=$(ps -eo pid=,args= | grep -c '[p]wned')
echo "stray processes: $stray"
"#;

#[tokio::test]
async fn processes_the_attempt_leaves_running_are_killed_before_reflection() {
    let t = TestRun::new("contain-procs").await;
    // Daemons that outlive the attempt's exit 0, one escaping its process group with setsid;
    // they start rewriting verifier.py only once a later phase gives the signal.
    let attempt = r#"loop='while [ ! -e /tmp/go ]; do sleep 0.1; done; while :; do echo pwned > verifier.py; sleep 0.1; done'
nohup sh -c "$loop" > /dev/null 2>&1 &
setsid sh -c "$loop" > /dev/null 2>&1 < /dev/null &
echo '{"status": "blocked"}' > "$HARNESSGYM_RESULT"
exit 0
"#;
    let verifier = std::fs::read_to_string(Path::new(DEMO).join("verifier.py")).expect("verifier");
    let host = Host::demo(&[
        (".fake_runner/attempt.sh", attempt),
        (".fake_runner/reflection.sh", CHECK_DAEMONS),
        (".fake_runner/build.sh", CHECK_DAEMONS),
        (".fake_runner/verifier.orig", &verifier),
    ]);
    run_fake(&t, &host.ws, 1, &[]).await;
    host.check(&t);

    for phase in ["reflection", "build"] {
        let seen = host.text(&t, &format!("iterations/1/{phase}.stdout.txt"));
        assert!(
            seen.contains("verifier: original") && seen.contains("stray processes: 0"),
            "{phase}: {seen}"
        );
    }
    assert_eq!(host.read("verifier.py"), verifier, "pwned came back");
    let hits = limits(&host, &t, 1);
    assert!(has_limit(&hits, "attempt", "processes"), "{hits:?}");
    let killed: u32 = hits
        .iter()
        .find(|(p, l, _)| p == "attempt" && l == "processes")
        .and_then(|(_, _, detail)| detail.split(' ').next()?.parse().ok())
        .expect("a count of killed processes");
    assert!(killed >= 2, "both daemons (and their children): {hits:?}");
    t.cleanup().await;
}

#[tokio::test]
async fn an_agent_that_kills_every_process_it_can_does_not_end_the_session() {
    let t = TestRun::new("contain-killall").await;
    // `kill -9 -1` signals every process the agent's user may signal; the container's
    // keep-alive is not one of them, so the session lives on to reflect, build and capture.
    let attempt = format!(
        r#"{FIX_KERNEL}echo '{{"status": "blocked"}}' > "$HARNESSGYM_RESULT"
sleep 300 &
kill -9 -1
"#
    );
    let host = Host::demo(&[
        (".fake_runner/attempt_1.sh", &attempt),
        (".fake_runner/reflection_1.sh", "echo reflection ran\n"),
    ]);
    run_fake(&t, &host.ws, 2, &[]).await;
    host.check(&t);
    let seen = host.text(&t, "iterations/1/reflection.stdout.txt");
    assert!(seen.contains("reflection ran"), "{seen}");
    assert!(
        host.read("kernel_ops.py").contains(FIXED_NORM),
        "the fix lands"
    );
    let summary = host.json(&t, "summary.json");
    let iterations = summary["iterations"].as_array().map(Vec::len);
    assert_eq!(iterations, Some(2), "both iterations ran: {summary:#}");
    assert_eq!(summary["final_status"], "solved", "{summary:#}");
    t.cleanup().await;
}

// ---------------------------------------------------------------------------------------------
// 5. The disk limit

/// A run with a 200 MiB disk limit whose attempt runs `attempt` (which writes far more, then
/// sleeps): the attempt is stopped within seconds, failed, recorded as `disk`; nothing of it
/// reaches the host. When the written file outlives the phase (`kept`), the over-limit state is
/// never captured, and that is recorded too.
async fn over_the_disk_limit(name: &str, attempt: &str, kept: bool) {
    let t = TestRun::new(name).await;
    let host = Host::demo(&[(".fake_runner/attempt.sh", attempt)]);
    let extra = ["--disk-limit", "200m", "--attempt-timeout", "60s"];
    run_fake(&t, &host.ws, 1, &extra).await;
    host.check(&t);

    let result = host.json(&t, "iterations/1/result.json");
    let phase = &result["phases"]["attempt"];
    assert_eq!(phase["status"], "failed", "{phase:#}");
    let took = phase["duration_seconds"].as_f64().expect("duration");
    // The watchdog measures every 5 s; two such tests writing at once on a loaded machine
    // take up to about 15 s.
    assert!(took < 20.0, "stopped after {took} s, the timeout is 60 s");
    let hits = limits(&host, &t, 1);
    assert!(has_limit(&hits, "attempt", "disk"), "{hits:?}");
    assert_eq!(
        has_limit(&hits, "iteration-1", "disk"),
        kept,
        "the over-limit snapshot is refused and recorded: {hits:?}"
    );
    assert!(!host.has("big"), "the big file reached the host");
    let summary = host.json(&t, "summary.json");
    let recorded = summary["harnessgym"]["limits"].to_string();
    assert!(recorded.contains("\"disk\""), "{summary:#}");
    t.cleanup().await;
}

#[tokio::test]
async fn an_attempt_that_fills_the_disk_is_stopped_failed_and_never_captured() {
    let attempt = "head -c 600M /dev/zero > big\nsleep 60\n";
    over_the_disk_limit("contain-disk", attempt, true).await;
}

#[tokio::test]
async fn a_deleted_file_held_open_still_counts_against_the_disk_limit() {
    let attempt = "exec 3> big\nrm big\nhead -c 600M /dev/zero >&3\nsleep 60\n";
    // Once the phase's processes are killed the file is gone: the state is small again.
    over_the_disk_limit("contain-disk-unlinked", attempt, false).await;
}

// ---------------------------------------------------------------------------------------------
// 6. Scoring sees the task, not the agent's environment

/// The evaluator: the number in `value.txt` as the score (lower is better).
const SCORE_PY: &str = "import json\nv = int(open('value.txt').read())\nprint(json.dumps({'status': 'passed', 'score': v}))\n";

const OPTIMIZE: &[&str] = &[
    "--optimization-mode",
    "--post-attempt-command",
    "python3 score.py",
];

/// A workspace scored by `score.py` (baseline 10) whose attempt runs `attempt`.
fn scored_workspace(attempt: &str) -> Host {
    let host = Host::empty();
    write(&host.ws, "task.md", "Make the score small.\n");
    write(&host.ws, "value.txt", "10\n");
    write(&host.ws, "score.py", SCORE_PY);
    write(&host.ws, ".fake_runner/attempt.sh", attempt);
    host.git_init().seal()
}

/// Python that makes every later `print` show a fake best score of `fake`, and leaves
/// `/tmp/loaded-<fake>` behind to show it ran.
fn fake_print(fake: u32) -> String {
    format!(
        "import builtins, json\nopen('/tmp/loaded-{fake}', 'w').close()\n_print = builtins.print\nbuiltins.print = lambda *a, **k: _print(json.dumps({{'status': 'passed', 'score': {fake}}}), **k)\n"
    )
}

#[tokio::test]
async fn a_python_startup_hook_in_the_agents_home_cannot_fake_the_score() {
    let t = TestRun::new("contain-score-home").await;
    // The real work: 10 -> 7. The fake: every python3 started in this home prints score 1.
    let attempt = format!(
        r#"set -e
echo 7 > value.txt
# What the best checkpoint carries goes through the same door when it is restored.
ln -s /etc/passwd leak
printf '#!/bin/sh\ntouch /tmp/pwned\n' > .git/hooks/post-checkout
site=$(python3 -c 'import site; print(site.getusersitepackages())')
mkdir -p "$site"
cat > "$site/usercustomize.py" <<'EOF'
{user}EOF
cat > "$site/sitecustomize.py" <<'EOF'
{site}EOF
# A .pth that puts a hidden directory on sys.path (as PYTHONPATH would) and imports from it.
mkdir -p "$HOME/.hidden"
cat > "$HOME/.hidden/zzhook.py" <<'EOF'
{pth}EOF
printf '%s\nimport zzhook\n' "$HOME/.hidden" > "$site/zz-hook.pth"
echo "in the session: $(python3 score.py)"
echo "hooks loaded: $(ls /tmp | grep loaded- | tr '\n' ' ')"
"#,
        user = fake_print(1),
        site = fake_print(2),
        pth = fake_print(3),
    );
    let host = scored_workspace(&attempt);
    run_fake(&t, &host.ws, 1, OPTIMIZE).await;
    host.check(&t);

    let stdout = host.text(&t, "iterations/1/attempt.stdout.txt");
    // The hooks must be live in the session for this test to mean anything (the innermost
    // fake print, the .pth one, is what shows). The user site's sitecustomize.py is planted
    // too, but Debian's own sitecustomize comes first on sys.path and shadows it.
    assert!(
        stdout.contains(r#"in the session: {"status": "passed", "score": 3}"#)
            && stdout.contains("hooks loaded: loaded-1 loaded-3"),
        "{stdout}"
    );
    let result = host.json(&t, "iterations/1/result.json");
    assert_eq!(result["post_attempt"]["score"], 7.0, "{result:#}");
    let summary = host.json(&t, "summary.json");
    assert_eq!(summary["best_score"], 7.0, "{summary:#}");
    assert_eq!(summary["optimization"]["baseline_score"], 10.0);
    let manifest = host.json(&t, "checkpoints/best_manifest.json");
    assert_eq!(manifest["iteration"], 1);
    assert_eq!(host.read("value.txt"), "7\n", "the real improvement lands");
    assert!(
        tree(&host.ws)
            .keys()
            .all(|p| !p.ends_with("usercustomize.py")),
        "the agent's home never reaches the host"
    );
    let write_back = host.json(&t, "write_back.json");
    assert_eq!(write_back["snapshot"], "best", "{write_back:#}");
    let list = refused(&host, &t);
    assert_refused(&list, "leak", "symlink_absolute");
    assert_refused(&list, ".git/hooks/post-checkout", "protected");
    t.cleanup().await;
}

#[tokio::test]
async fn a_protected_evaluator_edited_by_the_agent_is_scored_from_the_baseline_and_disqualifies() {
    let t = TestRun::new("contain-score-protect").await;
    let attempt = format!(
        "set -e\necho 7 > value.txt\ncat > score.py <<'EOF'\n{}print('ignored')\nEOF\n",
        fake_print(1)
    );
    let host = scored_workspace(&attempt);
    let mut extra = OPTIMIZE.to_vec();
    extra.extend(["--protect", "score.py"]);
    run_fake(&t, &host.ws, 1, &extra).await;
    host.check(&t);

    let result = host.json(&t, "iterations/1/result.json");
    assert_eq!(
        result["protected_paths_modified"],
        serde_json::json!(["score.py"]),
        "{result:#}"
    );
    assert_eq!(
        result["post_attempt"]["score"], 7.0,
        "scored by the original score.py"
    );
    assert_eq!(result["verified"], false, "{result:#}");
    assert_eq!(result["verification"]["status"], "failed");
    let optimization = &result["optimization"];
    assert_eq!(optimization["improved_from_baseline"], false, "{result:#}");
    assert_eq!(optimization["improved_from_previous_best"], false);
    assert!(
        optimization["best_checkpoint"].is_null(),
        "never the best checkpoint: {result:#}"
    );
    let summary = host.json(&t, "summary.json");
    assert_eq!(summary["best_checkpoint"]["latest"]["iteration"], 0);
    assert_eq!(
        summary["best_score"], 10.0,
        "the disqualified score is not the run's best: {summary:#}"
    );
    assert_eq!(summary["optimization"]["best_score"], 10.0);
    assert_eq!(summary["optimization"]["improved"], false);
    assert_eq!(
        host.read("score.py"),
        SCORE_PY,
        "the evaluator stays the user's"
    );
    t.cleanup().await;
}

/// Without `--protect`, the evaluator is a task file like any other: an attempt that edits it
/// is scored by its own version, and that edit comes back. That is what `--protect` is for.
#[tokio::test]
async fn without_protect_an_edited_evaluator_is_the_agents_to_change() {
    let t = TestRun::new("contain-score-open").await;
    let fake = format!("{}print('ignored')\n", fake_print(1));
    let attempt = format!("set -e\ncat > score.py <<'EOF'\n{fake}EOF\n");
    let host = scored_workspace(&attempt);
    run_fake(&t, &host.ws, 1, OPTIMIZE).await;
    host.check(&t);

    let result = host.json(&t, "iterations/1/result.json");
    assert!(result["protected_paths_modified"].is_null(), "{result:#}");
    assert_eq!(result["post_attempt"]["score"], 1.0, "{result:#}");
    assert_eq!(host.read("score.py"), fake);
    t.cleanup().await;
}

// ---------------------------------------------------------------------------------------------
// 7. Silent failures are recorded

#[tokio::test]
async fn hostile_result_and_registry_files_are_recorded_not_silently_ignored() {
    let t = TestRun::new("contain-files").await;
    let replace =
        |how: &str| format!("rm -f \"$HARNESSGYM_RESULT\"\n{how} \"$HARNESSGYM_RESULT\"\n");
    let build = format!(
        "{}head -c 20M /dev/zero | tr '\\0' ' ' > .harnessgym/registry.json\n",
        replace("truncate -s 2G")
    );
    // The attempt also floods its output past the 8 MiB capture cap.
    let attempt = format!(
        "head -c 12M /dev/zero | tr '\\0' x\n{}",
        replace("ln -s /etc/passwd")
    );
    let host = Host::demo(&[
        (".fake_runner/attempt.sh", &attempt),
        (".fake_runner/reflection.sh", &replace("mkfifo")),
        (".fake_runner/build.sh", &build),
    ]);
    let out = run_fake(&t, &host.ws, 1, &[]).await;
    assert_eq!(out.status.code(), Some(0));
    host.check(&t);

    let errors = result_errors(&host, &t, 1);
    for (phase, what) in [
        ("attempt", "symlink"),
        ("reflection", "FIFO"),
        ("build", "2147483648 bytes"),
    ] {
        assert!(
            errors.iter().any(|(p, e)| p == phase
                && e.starts_with("result.json refused")
                && e.contains(what)),
            "{phase}: {errors:?}"
        );
    }
    let hits = limits(&host, &t, 1);
    assert!(
        hits.iter().any(|(phase, limit, detail)| phase == "bundle"
            && limit == "refused"
            && detail.starts_with("registry.json refused")),
        "{hits:?}"
    );
    assert!(has_limit(&hits, "attempt", "output"), "{hits:?}");
    let stdout = std::fs::metadata(host.run_dir(&t).join("iterations/1/attempt.stdout.txt"))
        .expect("attempt stdout");
    assert!(stdout.len() <= 9 << 20, "{} bytes kept", stdout.len());
    // Refused content is a limit hit like any other: summary.json gathers them all.
    let summary = host.json(&t, "summary.json");
    let gathered: Vec<(&str, &str)> = summary["harnessgym"]["limits"]
        .as_array()
        .expect("limits")
        .iter()
        .filter(|l| l["limit"] == "refused")
        .filter_map(|l| Some((l["phase"].as_str()?, l["detail"].as_str()?)))
        .collect();
    for phase in ["attempt", "reflection", "build"] {
        assert!(
            gathered
                .iter()
                .any(|(p, d)| *p == phase && d.starts_with("result.json refused")),
            "{phase}: {gathered:?}"
        );
    }
    assert!(
        gathered
            .iter()
            .any(|(p, d)| *p == "bundle" && d.starts_with("registry.json refused")),
        "{gathered:?}"
    );
    let registry = std::fs::metadata(host.ws.join(".harnessgym/registry.json")).expect("registry");
    assert!(
        registry.len() < 1 << 20,
        "the host registry stays the host's"
    );
    t.cleanup().await;
}

#[tokio::test]
async fn an_oom_kill_is_recorded_as_the_memory_limit() {
    let t = TestRun::new("contain-oom").await;
    let attempt = "python3 -c \"b = b'x' * (1 << 30)\"\n";
    let host = Host::demo(&[(".fake_runner/attempt.sh", attempt)]);
    run_fake(&t, &host.ws, 1, &["--memory", "256m"]).await;
    host.check(&t);
    let hits = limits(&host, &t, 1);
    assert!(has_limit(&hits, "attempt", "memory"), "{hits:?}");
    let result = host.json(&t, "iterations/1/result.json");
    assert_eq!(
        result["phases"]["attempt"]["status"], "failed",
        "{result:#}"
    );
    let summary = host.json(&t, "summary.json");
    assert!(
        summary["harnessgym"]["limits"]
            .to_string()
            .contains("\"memory\""),
        "{summary:#}"
    );
    t.cleanup().await;
}

/// Holds every process slot it can get, for good: forks children that sleep, and retries.
const HOLD_PIDS: &str = "import os, time\nwhile True:\n    try:\n        if os.fork() == 0:\n            time.sleep(1000)\n            os._exit(0)\n    except OSError:\n        time.sleep(0.01)\n";

/// Counts the processes of the container besides init, the keep-alive, itself and its parent
/// (`timeout`), with shell builtins only (nothing that needs a fork).
const COUNT_STRAYS: &str = r#"read -r keep rest < /proc/1/task/1/children
n=0
for d in /proc/[0-9]*; do p=${d#/proc/}; case "$p" in 1|"$keep"|"$$"|"$PPID") ;; *) n=$((n+1)) ;; esac; done
echo "stray processes: $n"
"#;

#[tokio::test]
async fn a_fork_bomb_is_held_at_the_pids_limit_and_recorded() {
    let t = TestRun::new("contain-forks").await;
    // The attempt's bomb runs in its process group until the phase ends. The reflection's
    // holder escapes the group with setsid, takes every slot, and the phase exits 0 at once,
    // leaving it to the sweep (which must work at the limit, against a process that forks
    // again as soon as a slot frees).
    let attempt = "bomb() { bomb | bomb & }\nbomb\nsleep 60\n";
    let reflection = r#"setsid python3 .fake_runner/hold.py < /dev/null > /dev/null 2>&1 &
i=0
while [ "$i" -lt 1000000 ]; do read -r c < /sys/fs/cgroup/pids/pids.current; [ "$c" -ge 64 ] && break; i=$((i+1)); done
echo "at the limit: $c"
"#;
    let host = Host::demo(&[
        (".fake_runner/attempt.sh", attempt),
        (".fake_runner/reflection.sh", reflection),
        (".fake_runner/hold.py", HOLD_PIDS),
        (".fake_runner/build.sh", COUNT_STRAYS),
    ]);
    let extra = ["--pids-limit", "64", "--attempt-timeout", "5s"];
    run_fake(&t, &host.ws, 1, &extra).await;
    host.check(&t);
    let hits = limits(&host, &t, 1);
    assert!(has_limit(&hits, "attempt", "pids"), "{hits:?}");
    let seen = host.text(&t, "iterations/1/reflection.stdout.txt");
    assert!(seen.contains("at the limit: 64"), "{seen}");
    assert!(has_limit(&hits, "reflection", "pids"), "{hits:?}");
    assert!(has_limit(&hits, "reflection", "processes"), "{hits:?}");
    // The build ran in the same container after both: nothing of them was left.
    let strays = host.text(&t, "iterations/1/build.stdout.txt");
    assert!(strays.contains("stray processes: 0"), "{strays}");
    assert!(
        !has_limit(&hits, "build", "pids") && !has_limit(&hits, "build", "processes"),
        "a bomb outlived its phase: {hits:?}"
    );
    t.cleanup().await;
}

// ---------------------------------------------------------------------------------------------
// 8. Quarantine never touches the host

const SERVER_DIR: &str = ".harnessgym/mcp/kernel-probe";

/// A build that makes the example MCP server from `.fake_runner/server` (the broken or the
/// working one), and plants links to host files in the bundle.
const BUILD_SERVER: &str = r#"set -e
mkdir -p .harnessgym/mcp/kernel-probe
cp .fake_runner/server/* .harnessgym/mcp/kernel-probe/
ln -s /etc/passwd .harnessgym/tools/leak
ln -s ../../.. .harnessgym/skills/up
echo '{"status": "tooling_built"}' > "$HARNESSGYM_RESULT"
"#;

/// The demo task with a build that makes `example`'s MCP server.
fn server_workspace(example: &str) -> Host {
    let server = Path::new(EXAMPLES).join(example).join(SERVER_DIR);
    let manifest =
        std::fs::read_to_string(server.join("harnessgym-mcp.json")).expect("the example manifest");
    let source = std::fs::read_to_string(server.join("server.py")).expect("the example server");
    Host::demo(&[
        (".fake_runner/build.sh", BUILD_SERVER),
        (".fake_runner/server/harnessgym-mcp.json", &manifest),
        (".fake_runner/server/server.py", &source),
    ])
}

/// The registry's artifact at `path`.
fn artifact(host: &Host, path: &str) -> Value {
    let text = host.read(".harnessgym/registry.json");
    let registry: Value = serde_json::from_str(&text).expect("registry");
    registry["artifacts"]
        .as_array()
        .expect("artifacts")
        .iter()
        .find(|a| a["path"] == path)
        .cloned()
        .unwrap_or_else(|| panic!("no {path} in {registry:#}"))
}

/// The bundle's links to host files were refused on the way out, and recorded.
fn assert_bundle_links_refused(host: &Host, t: &TestRun) {
    let hits = limits(host, t, 1);
    for (path, reason) in [
        (".harnessgym/tools/leak", "is absolute"),
        (".harnessgym/skills/up", "leaves the destination"),
    ] {
        assert!(
            hits.iter().any(|(phase, limit, detail)| phase == "bundle"
                && limit == "refused"
                && detail.starts_with(path)
                && detail.contains(reason)),
            "{path}: {hits:?}"
        );
        assert!(!host.has(path), "{path} reached the host");
    }
}

#[tokio::test]
async fn a_tool_that_fails_qualification_never_touches_the_host_and_stays_as_evidence() {
    let t = TestRun::new("contain-quarantine").await;
    let host = server_workspace("mcp_bundle_broken");
    run_fake(&t, &host.ws, 1, &["--artifact-repair-attempts", "0"]).await;
    host.check(&t);

    let report = host.json(
        &t,
        "iterations/1/qualification/attempt_1/qualification.json",
    );
    assert_eq!(report["status"], "failed", "{report:#}");
    assert!(!host.has(SERVER_DIR), "a quarantined tool reached the host");
    let manifest = artifact(&host, &format!("{SERVER_DIR}/harnessgym-mcp.json"));
    assert_eq!(manifest["metadata"]["quarantined"], true, "{manifest:#}");
    assert_bundle_links_refused(&host, &t);

    // Its files are kept as evidence in the run's snapshot.
    let evidence = tempfile::tempdir().expect("tempdir");
    let out = evidence.path().join("iteration-1.tar.gz");
    let export = Command::new(common::BIN)
        .current_dir(&host.ws)
        .args([
            "snapshot",
            "export",
            "--run",
            &t.run,
            "--name",
            "iteration-1",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("the binary runs");
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let listing = Command::new("tar")
        .arg("tzf")
        .arg(&out)
        .output()
        .expect("tar runs");
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(
        listing
            .lines()
            .any(|l| l.ends_with(&format!("{SERVER_DIR}/server.py"))),
        "{listing}"
    );
    host.check(&t);
    t.cleanup().await;
}

#[tokio::test]
async fn a_tool_that_passes_qualification_lands_on_the_host() {
    let t = TestRun::new("contain-qualified").await;
    let host = server_workspace("mcp_bundle");
    run_fake(&t, &host.ws, 1, &["--artifact-repair-attempts", "0"]).await;
    host.check(&t);

    let report = host.json(
        &t,
        "iterations/1/qualification/attempt_1/qualification.json",
    );
    assert_eq!(report["status"], "passed", "{report:#}");
    for file in ["server.py", "harnessgym-mcp.json"] {
        let landed = host.ws.join(SERVER_DIR).join(file);
        assert!(
            std::fs::symlink_metadata(&landed).is_ok_and(|m| m.is_file()),
            "{file} did not land"
        );
    }
    let manifest = artifact(&host, &format!("{SERVER_DIR}/harnessgym-mcp.json"));
    assert_eq!(
        manifest["metadata"]["qualification"]["status"], "passed",
        "{manifest:#}"
    );
    assert_bundle_links_refused(&host, &t);
    t.cleanup().await;
}

// ---------------------------------------------------------------------------------------------
// Cases of our own

/// A workspace damaged by a harnessgym before issue 8's fix: the agent's `task.md -> host file`
/// came back. The task file is read without following links out of the workspace, so the host
/// file never reaches a prompt (what a real runner sends to a model provider).
#[tokio::test]
async fn a_task_file_that_links_out_of_the_workspace_is_not_read() {
    let t = TestRun::new("contain-task-link").await;
    let host = Host::empty();
    for name in ["kernel_ops.py", "verifier.py"] {
        std::fs::copy(Path::new(DEMO).join(name), host.ws.join(name)).expect("copy demo");
    }
    std::os::unix::fs::symlink("../sibling/canary.txt", host.ws.join("task.md")).expect("link");
    let host = host.seal();
    let out = Command::new(common::BIN)
        .current_dir(&host.ws)
        .args([
            "run", "--task", "task.md", "--runner", "fake", "--run-id", &t.run, "-q",
        ])
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let first = stderr.lines().next().unwrap_or_default();
    assert!(
        first.contains("task.md") && stderr.contains("outside the workspace"),
        "one line naming the task file, its cause saying why: {stderr}"
    );
    let leaked = tree(&host.ws).into_iter().any(|(_, node)| match node {
        Node::File(_, bytes) => String::from_utf8_lossy(&bytes).contains(&host.canary),
        _ => false,
    });
    assert!(!leaked, "the canary was copied into the workspace");
    assert!(!host.run_dir(&t).exists(), "the run started");
    t.cleanup().await;
}

/// Ten thousand refused links in the task files, and 1,500 in the bundle: every one is refused
/// and counted, the reports stay bounded, and the rest of the write-back (the real fix)
/// completes.
#[tokio::test]
async fn a_flood_of_refused_links_is_counted_and_the_report_stays_bounded() {
    let t = TestRun::new("contain-flood").await;
    let flood = |dir: &str, n: u32| {
        format!(
            "python3 -c \"import os; os.makedirs('{dir}', exist_ok=True); [os.symlink('/etc/passwd', f'{dir}/l{{i}}') for i in range({n})]\"\n"
        )
    };
    let attempt = format!("set -e\n{FIX_KERNEL}{}", flood("many", 10_000));
    // Enough to pass the bound of 1,000 listed refusals, and cheaper than 10,000 again.
    let build = format!(
        "set -e\n{}echo '{{\"status\": \"tooling_built\"}}' > \"$HARNESSGYM_RESULT\"\n",
        flood(".harnessgym/tools", 1_500)
    );
    let host = Host::demo(&[
        (".fake_runner/attempt.sh", &attempt),
        (".fake_runner/build.sh", &build),
    ]);
    run_fake(&t, &host.ws, 1, &[]).await;
    host.check(&t);

    assert!(
        host.read("kernel_ops.py").contains(FIXED_NORM),
        "the fix lands"
    );
    let links = std::fs::read_dir(host.ws.join("many"))
        .expect("many")
        .count();
    assert_eq!(links, 0, "no link landed");
    let write_back = host.json(&t, "write_back.json");
    let listed = write_back["refused"].as_array().expect("refused").len();
    assert!(listed <= 1000, "{listed} refusals listed");
    let size = std::fs::metadata(host.run_dir(&t).join("write_back.json"))
        .expect("write_back.json")
        .len();
    assert!(size < 1 << 20, "write_back.json is {size} bytes");
    assert_eq!(
        write_back["refused_unlisted"].as_u64(),
        Some(10_000 - listed as u64),
        "the refusals past the list are counted"
    );
    let summary = host.json(&t, "summary.json");
    assert_eq!(
        summary["harnessgym"]["write_back"]["refused"], 10_000,
        "{:#}",
        summary["harnessgym"]["write_back"]
    );
    let hits = limits(&host, &t, 1);
    let bundle: Vec<&String> = hits
        .iter()
        .filter(|(phase, limit, _)| phase == "bundle" && limit == "refused")
        .map(|(_, _, detail)| detail)
        .collect();
    assert!(
        bundle.len() <= 1001,
        "{} bundle refusals listed",
        bundle.len()
    );
    let unlisted = 1_500 - (bundle.len() - 1);
    assert!(
        bundle
            .iter()
            .any(|d| d.starts_with(&format!("{unlisted} more entries refused"))),
        "the bundle's refusals past the list are counted: {:?}",
        bundle.last()
    );
    t.cleanup().await;
}

// ---------------------------------------------------------------------------------------------
// 9. What the agent made never drives the user's terminal, nor locks the user out of a file

#[tokio::test]
async fn escape_sequences_in_agent_made_names_and_statuses_print_as_visible_text() {
    let t = TestRun::new("contain-term").await;
    // A window title, a clear screen, concealed text and a carriage return in refused paths,
    // a link target, a result status and a registry artifact's name.
    let attempt = r#"set -e
printf x > "$(printf '.git/hooks/\033]0;PWNED\007\033[2J')"
ln -s "$(printf '/etc/\033[8mhidden')" "$(printf 'esc\033[1mlink\r')"
printf '{"status": "blocked\\u001b]0;title\\u0007\\u009b2J"}' > "$HARNESSGYM_RESULT"
"#;
    let build = r#"set -e
mkdir -p .harnessgym/tools
printf 'print(1)\n' > "$(printf '.harnessgym/tools/t\033[2Jool.py')"
echo '{"status": "tooling_built"}' > "$HARNESSGYM_RESULT"
"#;
    let host = Host::demo(&[
        (".fake_runner/attempt_1.sh", attempt),
        (".fake_runner/build_1.sh", build),
    ]);
    // Not quiet: every warning and step shows.
    let out = common::run_fake_as(&t, &host.ws, 1, &[], &["-v"]).await;
    host.check(&t);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for (name, text) in [("stdout", &stdout), ("stderr", &stderr)] {
        let raw: Vec<char> = text
            .chars()
            .filter(|c| c.is_control() && *c != '\n' && *c != '\t')
            .collect();
        assert!(raw.is_empty(), "{name} carries {raw:?}: {text}");
    }
    assert!(
        stderr.contains(r".git/hooks/\x1b]0;PWNED\x07\x1b[2J"),
        "the refusal still shows, escaped: {stderr}"
    );
    assert!(stderr.contains(r"esc\x1b[1mlink\x0d"), "{stderr}");
    t.cleanup().await;
}

#[tokio::test]
async fn json_output_stays_valid_json_when_agent_strings_hold_terminal_controls() {
    let t = TestRun::new("contain-json").await;
    // DEL, a C1 control and a bidi override: JSON leaves them raw, a terminal does not.
    let attempt = r#"printf '{"status": "blocked", "summary": "a\u007fb\u009bc\u202ed\u001be"}' > "$HARNESSGYM_RESULT"
"#;
    let host = Host::demo(&[(".fake_runner/attempt_1.sh", attempt)]);
    let out = run_fake(&t, &host.ws, 1, &["--json"]).await;
    host.check(&t);
    let stdout = String::from_utf8(out.stdout).expect("UTF-8");
    let raw: Vec<char> = stdout
        .chars()
        .filter(|c| c.is_control() && *c != '\n' && *c != '\t')
        .collect();
    assert!(raw.is_empty(), "stdout carries {raw:?}");
    let summary: Value = serde_json::from_str(&stdout).expect("stdout is one JSON document");
    assert_eq!(summary["run_id"], t.run.as_str());
    let result = host.json(&t, "iterations/1/result.json");
    assert_eq!(
        result["summary"], "a\u{7f}b\u{9b}c\u{202e}d\u{1b}e",
        "kept as data"
    );
    t.cleanup().await;
}

#[tokio::test]
async fn files_the_agent_made_unreadable_land_readable_and_writable_by_the_user() {
    let t = TestRun::new("contain-modes").await;
    let attempt = r#"set -e
printf 'x\n' > locked-file && chmod 000 locked-file
printf 'w\n' > write-only && chmod 222 write-only
mkdir locked-dir && printf 'y\n' > locked-dir/f && chmod 000 locked-dir/f locked-dir
printf 'z\n' > everyone && chmod 777 everyone
mkdir shared && chmod 777 shared
"#;
    let host = Host::demo(&[(".fake_runner/attempt_1.sh", attempt)]);
    run_fake(&t, &host.ws, 1, &[]).await;
    host.check(&t);
    let mode = |rel: &str| {
        std::fs::symlink_metadata(host.ws.join(rel))
            .unwrap_or_else(|e| panic!("{rel}: {e}"))
            .permissions()
            .mode()
            & 0o7777
    };
    // The owner can always read and write (and search a directory); nobody else can write.
    assert_eq!(mode("locked-file"), 0o600);
    assert_eq!(mode("write-only"), 0o600);
    assert_eq!(mode("locked-dir/f"), 0o600);
    assert_eq!(mode("everyone"), 0o755);
    for dir in ["locked-dir", "shared"] {
        let mode = mode(dir);
        assert!(
            mode & 0o700 == 0o700 && mode & 0o7022 == 0,
            "{dir}: {mode:o}"
        );
    }
    assert_eq!(host.read("locked-dir/f"), "y\n");
    // The next run packs the workspace as its baseline: every file must be readable.
    let second = TestRun::adopt(&t, &format!("{}-again", t.run));
    std::fs::remove_file(host.ws.join(".fake_runner/attempt_1.sh")).expect("rm");
    run_fake(&second, &host.ws, 1, &[]).await;
    host.check(&second);
    second.cleanup().await;
    t.cleanup().await;
}
