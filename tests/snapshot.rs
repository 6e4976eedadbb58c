//! Workspace snapshots against a real engine: baseline, commit, changed-paths write-back, full
//! write-back, export, and what a snapshot costs on disk.

mod common;

use std::time::Duration;

use common::{TestRun, write};
use harnessgym::layer::pack::PackFilter;
use harnessgym::sandbox::{ExecSpec, Role};
use harnessgym::snapshot::{SnapshotStore, WriteBack};

/// Everything but harnessgym's own state and version control goes back to the host.
fn task_files(rel: &str) -> bool {
    !(rel == ".harnessgym"
        || rel.starts_with(".harnessgym/")
        || rel == ".git"
        || rel.starts_with(".git/"))
}

/// Start a session from `parent`, run `script` in it, commit it as `name`, remove it.
async fn layer(
    t: &TestRun,
    store: &SnapshotStore,
    parent: &harnessgym::snapshot::Snapshot,
    script: &str,
    name: &str,
) -> harnessgym::snapshot::Snapshot {
    let session = store
        .start(parent, &t.spec(), Role::Session)
        .await
        .expect("start");
    let out = session
        .exec(&ExecSpec::shell(script, Duration::from_secs(20)))
        .await
        .expect("exec");
    assert!(out.success(), "{}", out.stderr.text());
    let snap = store.commit(&session, parent, name).await.expect("commit");
    session.remove().await.expect("remove");
    snap
}

#[tokio::test]
async fn commit_then_write_back_only_the_changed_paths() {
    let t = TestRun::new("snap-changes").await;
    let host = tempfile::tempdir().expect("tempdir");
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

    let store = SnapshotStore::new(t.engine.clone(), &t.run);
    let baseline = store
        .baseline(common::BASE, host.path(), PackFilter::default(), None)
        .await
        .expect("baseline");
    let script = "test ! -e .harnessgym/runs && echo 'x = 2' > edit.py && rm gone.txt && mkdir -p new/deep && echo n > new/deep/n.txt && echo o > dir/new.txt && echo h > .git/HEAD2";
    let snap = layer(&t, &store, &baseline, script, "iteration-1").await;

    let before = std::fs::metadata(host.path().join("keep.txt"))
        .expect("stat")
        .modified()
        .expect("mtime");
    let report = store
        .write_back(&snap, host.path(), WriteBack::Changed, task_files)
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
    assert_eq!(report.removed, [std::path::PathBuf::from("gone.txt")]);
    assert_eq!(
        std::fs::read_to_string(host.path().join("edit.py")).expect("read"),
        "x = 2\n"
    );
    assert_eq!(
        std::fs::read_to_string(host.path().join("new/deep/n.txt")).expect("read"),
        "n\n"
    );
    assert!(!host.path().join("gone.txt").exists());
    assert!(
        !host.path().join(".git/HEAD2").exists(),
        ".git is left alone"
    );
    assert_eq!(
        std::fs::metadata(host.path().join("keep.txt"))
            .expect("stat")
            .modified()
            .expect("mtime"),
        before
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
    let fresh = tempfile::tempdir().expect("tempdir");
    let full = store
        .write_back(&baseline, fresh.path(), WriteBack::Full, task_files)
        .await
        .expect("full");
    assert!(
        full.written.iter().any(|p| p.ends_with("gone.txt")),
        "the baseline still has it"
    );
    let report = store
        .write_back(&snap2, fresh.path(), WriteBack::Changed, task_files)
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
async fn a_snapshot_exports_as_tar_gz_and_can_be_tagged() {
    let t = TestRun::new("snap-export").await;
    let host = tempfile::tempdir().expect("tempdir");
    write(host.path(), "a/b.txt", "bee\n");
    let store = SnapshotStore::new(t.engine.clone(), &t.run);
    let baseline = store
        .baseline(common::BASE, host.path(), PackFilter::default(), None)
        .await
        .expect("baseline");
    let best = store.tag(&baseline, "best").await.expect("tag");
    assert_eq!(best.image_id, baseline.image_id, "a tag, not a copy");
    let out = host.path().join("export.tar.gz");
    let size = store.export_tar_gz(&best, &out).await.expect("export");
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

#[tokio::test]
async fn a_small_change_on_a_large_workspace_costs_about_the_change() {
    let t = TestRun::new("snap-cost").await;
    let host = tempfile::tempdir().expect("tempdir");
    // 64 MiB of incompressible data across files, then a 1 MiB change.
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..16 {
        let mut data = vec![0u8; 4 << 20];
        for chunk in data.chunks_mut(8) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            chunk.copy_from_slice(&seed.to_le_bytes()[..chunk.len()]);
        }
        std::fs::write(host.path().join(format!("blob{i}.bin")), data).expect("write");
    }
    let store = SnapshotStore::new(t.engine.clone(), &t.run);
    let baseline = store
        .baseline(common::BASE, host.path(), PackFilter::default(), None)
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
    let baseline_size = size(baseline.image_id.clone()).await;
    let snap_size = size(snap.image_id.clone()).await;
    let workspace_layer = baseline_size - base;
    let change_layer = snap_size - baseline_size;
    assert!(
        workspace_layer >= 64 << 20,
        "baseline layer holds the workspace: {workspace_layer}"
    );
    assert!(
        change_layer < 2 << 20,
        "the snapshot layer holds the change only: {change_layer} bytes"
    );
    t.cleanup().await;
}
