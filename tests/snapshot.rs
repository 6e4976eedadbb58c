//! Workspace snapshots against a real engine: the baseline, captures through the in-container
//! walker, changed-paths write-back with refusals recorded, export, a tag as the best checkpoint,
//! and what a snapshot costs. Each test runs with both strategies (load and commit).

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::{BIN, TestRun, write};
use harnessgym::sandbox::extract::{Decision, workspace_policy};
use harnessgym::sandbox::{ContainerSpec, ExecSpec};
use harnessgym::snapshot::{Capture, Policy, Snapshot, SnapshotStore, Strategy};

/// Everything but harnessgym's own state goes back; protected paths are refused.
fn task_files() -> Policy {
    Arc::new(|rel: &Path| {
        if rel.starts_with(".harnessgym") {
            Decision::Skip
        } else {
            workspace_policy(rel)
        }
    })
}

fn store(t: &TestRun, records: &Path, strategy: Strategy) -> SnapshotStore {
    SnapshotStore::new(t.engine.clone(), &t.run, records.to_path_buf(), strategy)
}

/// Open a session from `parent`, run `script` in it, capture it as `name`, remove it.
async fn layer(
    t: &TestRun,
    store: &SnapshotStore,
    parent: &Snapshot,
    script: &str,
    name: &str,
) -> Snapshot {
    let (session, base) = store
        .open_session(parent, &t.spec())
        .await
        .expect("open session");
    let out = session
        .exec(&ExecSpec::shell(script, Duration::from_secs(20)))
        .await
        .expect("exec");
    assert!(out.success(), "{}", out.stderr.text());
    let capture = store
        .capture(&session, &base, name, None)
        .await
        .expect("capture");
    session.remove().await.expect("remove");
    match capture {
        Capture::Taken(snapshot, _) => snapshot,
        Capture::TooLarge { .. } => panic!("no limit was set"),
    }
}

async fn changed_paths_write_back(strategy: Strategy, name: &str) {
    let t = TestRun::new(name).await;
    let host = tempfile::tempdir().expect("tempdir");
    let records = tempfile::tempdir().expect("tempdir");
    write(host.path(), "keep.txt", "unchanged\n");
    write(host.path(), "edit.py", "x = 1\n");
    write(host.path(), "gone.txt", "delete me\n");
    write(host.path(), "dir/old.txt", "old\n");
    write(host.path(), ".git/HEAD", "ref: refs/heads/main\n");
    write(
        host.path(),
        ".harnessgym/runs/r1/log.txt",
        "run state is never packed\n",
    );
    let store = store(&t, records.path(), strategy);
    let baseline = store
        .baseline(common::BASE, host.path(), Path::new(BIN))
        .await
        .expect("baseline");
    let script = "test ! -e .harnessgym/runs && echo 'x = 2' > edit.py && rm gone.txt && mkdir -p new/deep empty && echo n > new/deep/n.txt && echo o > dir/new.txt && echo h > .git/HEAD2";
    let snap = layer(&t, &store, &baseline, script, "iteration-1").await;
    assert!(
        records.path().join("iteration-1.json").is_file(),
        "each snapshot is recorded with its changes"
    );

    let before = std::fs::metadata(host.path().join("keep.txt"))
        .and_then(|m| m.modified())
        .expect("mtime");
    let report = store
        .write_back(&snap, host.path(), task_files())
        .await
        .expect("write back");
    let mut written: Vec<String> = report
        .written
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    written.sort();
    assert_eq!(
        written,
        ["dir/new.txt", "edit.py", "new/deep/n.txt"],
        "only the changed files"
    );
    assert_eq!(report.removed, [PathBuf::from("gone.txt")]);
    assert!(host.path().join("empty").is_dir(), "a new empty directory");
    assert_eq!(
        std::fs::read_to_string(host.path().join("edit.py")).expect("read"),
        "x = 2\n"
    );
    assert!(!host.path().join("gone.txt").exists());
    assert!(!host.path().join(".git/HEAD2").exists(), ".git is refused");
    assert!(
        report
            .refused
            .iter()
            .any(|r| r.path.starts_with(".git") && r.reason.code() == "protected"),
        "and the refusal is recorded: {:?}",
        report.refused
    );
    assert_eq!(
        std::fs::metadata(host.path().join("keep.txt"))
            .and_then(|m| m.modified())
            .expect("mtime"),
        before,
        "an unchanged file is not rewritten"
    );

    // A second layer: the change set is relative to the baseline, not to the parent.
    let snap2 = layer(
        &t,
        &store,
        &snap,
        "rm -r new && echo 3 > keep.txt",
        "iteration-2",
    )
    .await;
    let fresh = common::copy_dir(host.path());
    std::fs::write(fresh.path().join("gone.txt"), "back on the host\n").expect("write");
    let report = store
        .write_back(&snap2, fresh.path(), task_files())
        .await
        .expect("write back");
    assert!(!fresh.path().join("new").exists());
    assert!(!fresh.path().join("gone.txt").exists());
    assert_eq!(
        std::fs::read_to_string(fresh.path().join("keep.txt")).expect("read"),
        "3\n"
    );
    assert!(report.removed.iter().any(|p| p.ends_with("gone.txt")));
    t.cleanup().await;
}

#[tokio::test]
async fn captures_write_back_only_the_changed_paths_by_load() {
    changed_paths_write_back(Strategy::Load, "snap-changes-load").await;
}

#[tokio::test]
async fn captures_write_back_only_the_changed_paths_by_commit() {
    changed_paths_write_back(Strategy::Commit, "snap-changes-commit").await;
}

#[tokio::test]
async fn a_snapshot_exports_as_tar_gz_and_can_be_tagged() {
    let t = TestRun::new("snap-export").await;
    let host = tempfile::tempdir().expect("tempdir");
    let records = tempfile::tempdir().expect("tempdir");
    write(host.path(), "a/b.txt", "bee\n");
    let store = store(&t, records.path(), Strategy::Load);
    let baseline = store
        .baseline(common::BASE, host.path(), Path::new(BIN))
        .await
        .expect("baseline");
    let best = store.tag(&baseline, "best").await.expect("tag");
    assert_eq!(best.image_id(), baseline.image_id(), "a tag, not a copy");
    let out = host.path().join("export.tar.gz");
    let size = store
        .export_tar_gz(best.image_id(), &out)
        .await
        .expect("export");
    assert!(size > 0);
    let file = std::fs::File::open(&out).expect("open");
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut names = Vec::new();
    for entry in archive.entries().expect("entries") {
        let mut entry = entry.expect("entry");
        let name = entry.path().expect("path").display().to_string();
        if name == "workspace/a/b.txt" {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut entry, &mut text).expect("read");
            assert_eq!(text, "bee\n");
        }
        names.push(name);
    }
    assert!(
        names.contains(&"workspace/a/b.txt".to_string()),
        "{names:?}"
    );
    t.cleanup().await;
}

/// 64 MiB of incompressible data across files.
fn large_workspace(root: &Path) {
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..16 {
        let mut data = vec![0u8; 4 << 20];
        for chunk in data.chunks_mut(8) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            chunk.copy_from_slice(&seed.to_le_bytes()[..chunk.len()]);
        }
        std::fs::write(root.join(format!("blob{i}.bin")), data).expect("write");
    }
}

#[tokio::test]
async fn a_small_change_on_a_large_workspace_costs_about_the_change() {
    let t = TestRun::new("snap-cost").await;
    let host = tempfile::tempdir().expect("tempdir");
    let records = tempfile::tempdir().expect("tempdir");
    large_workspace(host.path());
    let store = store(&t, records.path(), Strategy::Load);
    let baseline = store
        .baseline(common::BASE, host.path(), Path::new(BIN))
        .await
        .expect("baseline");
    let script = "head -c 1048576 /dev/urandom > change.bin";
    let snap = layer(&t, &store, &baseline, script, "iteration-1").await;
    let size = |id: String| {
        let engine = t.engine.clone();
        async move {
            engine
                .inspect_image(&id)
                .await
                .expect("inspect")
                .and_then(|i| i.size)
                .expect("size")
        }
    };
    let base = size(common::BASE.to_string()).await;
    let baseline_size = size(baseline.image_id().to_string()).await;
    let snap_size = size(snap.image_id().to_string()).await;
    assert!(
        baseline_size - base >= 64 << 20,
        "the baseline holds the workspace"
    );
    assert!(
        snap_size - baseline_size < 2 << 20,
        "the snapshot layer holds the change only: {} bytes",
        snap_size - baseline_size
    );
    t.cleanup().await;
}

#[tokio::test]
async fn an_unchanged_workspace_reuses_its_baseline_layer() {
    let t = TestRun::new("snap-reuse").await;
    let host = tempfile::tempdir().expect("tempdir");
    write(host.path(), "task.md", "same content\n");
    write(
        host.path(),
        ".harnessgym/registry.json",
        "{\"updated\": 1}\n",
    );
    let first_records = tempfile::tempdir().expect("tempdir");
    let second_records = tempfile::tempdir().expect("tempdir");
    let first = store(&t, first_records.path(), Strategy::Load)
        .baseline(common::BASE, host.path(), Path::new(BIN))
        .await
        .expect("first baseline");
    let other = SnapshotStore::new(
        t.engine.clone(),
        format!("{}-again", t.run),
        second_records.path().to_path_buf(),
        Strategy::Load,
    );
    let second = other
        .baseline(common::BASE, host.path(), Path::new(BIN))
        .await
        .expect("second baseline");
    let layers = |id: String| {
        let engine = t.engine.clone();
        async move {
            engine
                .inspect_image(&id)
                .await
                .expect("inspect")
                .and_then(|i| i.root_fs)
                .and_then(|r| r.layers)
                .expect("layers")
        }
    };
    assert_eq!(
        layers(first.image_id().to_string()).await,
        layers(second.image_id().to_string()).await,
        "the same content gives the same layers (diff ids)"
    );
    // A run rewrites `.harnessgym/` before packing (and on a fresh copy of a template creates
    // it, which moves the root's mtime): the task files keep their own layer.
    write(
        host.path(),
        ".harnessgym/registry.json",
        "{\"updated\": 2, \"more\": 1}\n",
    );
    let moved = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
    std::fs::File::open(host.path())
        .and_then(|root| root.set_modified(moved))
        .expect("move the root's mtime");
    let third_records = tempfile::tempdir().expect("tempdir");
    let third = SnapshotStore::new(
        t.engine.clone(),
        format!("{}-third", t.run),
        third_records.path().to_path_buf(),
        Strategy::Load,
    )
    .baseline(common::BASE, host.path(), Path::new(BIN))
    .await
    .expect("third baseline");
    let (before, after) = (
        layers(second.image_id().to_string()).await,
        layers(third.image_id().to_string()).await,
    );
    let base = layers(common::BASE.to_string()).await;
    assert_eq!(
        after.len(),
        base.len() + 3,
        "base, helper, task files, harness: {after:?}"
    );
    assert_eq!(before.len(), after.len(), "{before:?} {after:?}");
    let n = after.len();
    assert_eq!(
        before[..n - 1],
        after[..n - 1],
        "a changed .harnessgym/ leaves the task files' layer as it was"
    );
    assert_ne!(
        before[n - 1],
        after[n - 1],
        "the harness layer holds the change"
    );
    for run in ["again", "third"] {
        common::TestRun::adopt(&t, &format!("{}-{run}", t.run))
            .cleanup()
            .await;
    }
    t.cleanup().await;
}

#[tokio::test]
async fn a_limit_refuses_a_capture_larger_than_it() {
    let t = TestRun::new("snap-limit").await;
    let host = tempfile::tempdir().expect("tempdir");
    let records = tempfile::tempdir().expect("tempdir");
    write(host.path(), "task.md", "x\n");
    let store = store(&t, records.path(), Strategy::Load);
    let baseline = store
        .baseline(common::BASE, host.path(), Path::new(BIN))
        .await
        .expect("baseline");
    let spec: ContainerSpec = t.spec();
    let (session, base) = store
        .open_session(&baseline, &spec)
        .await
        .expect("open session");
    let out = session
        .exec(&ExecSpec::shell(
            "head -c 3145728 /dev/zero > big.bin",
            Duration::from_secs(20),
        ))
        .await
        .expect("exec");
    assert!(out.success());
    let capture = store
        .capture(&session, &base, "iteration-1", Some(1 << 20))
        .await
        .expect("capture");
    assert!(
        matches!(capture, Capture::TooLarge { limit } if limit == 1 << 20),
        "{capture:?}"
    );
    session.remove().await.expect("remove");
    t.cleanup().await;
}

async fn hard_linked_change(strategy: Strategy, name: &str) {
    let t = TestRun::new(name).await;
    let host = tempfile::tempdir().expect("tempdir");
    let records = tempfile::tempdir().expect("tempdir");
    write(host.path(), "lib.py", "x = 1\n");
    let store = store(&t, records.path(), strategy);
    let baseline = store
        .baseline(common::BASE, host.path(), Path::new(BIN))
        .await
        .expect("baseline");
    let linked = layer(&t, &store, &baseline, "ln lib.py twin.py", "iteration-1").await;
    let script = "python3 -c \"import os; st = os.stat('lib.py'); open('lib.py', 'r+b').write(b'yyyyyy'); os.utime('lib.py', ns=(st.st_atime_ns, st.st_mtime_ns))\"";
    let changed = layer(&t, &store, &linked, script, "iteration-2").await;
    let c = store
        .start(&changed, &t.spec(), harnessgym::sandbox::Role::Test)
        .await
        .expect("start");
    let out = c
        .exec(&ExecSpec::shell(
            "cat lib.py; echo; cat twin.py; echo; stat -c %h lib.py",
            Duration::from_secs(20),
        ))
        .await
        .expect("exec");
    c.remove().await.expect("remove");
    let text = out.stdout.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.first(), Some(&"yyyyyy"), "{text}");
    t.cleanup().await;
}

#[tokio::test]
async fn a_hard_linked_file_changed_in_place_is_captured_by_load() {
    hard_linked_change(Strategy::Load, "snap-hardlink-load").await;
}

#[tokio::test]
async fn a_hard_linked_file_changed_in_place_is_captured_by_commit() {
    hard_linked_change(Strategy::Commit, "snap-hardlink-commit").await;
}
