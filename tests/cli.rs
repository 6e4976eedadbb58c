//! The built `harnessgym` binary, spawned as a user would: exit codes, messages, `doctor`, `gc`.

mod common;

use std::process::{Command, Output};

use common::TestRun;
use harnessgym::sandbox::{Owner, Role, labels};

fn harnessgym(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_harnessgym"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_wrong_socket_is_one_clear_error_with_exit_code_3() {
    let out = harnessgym(&["--docker-host", "unix:///nonexistent/docker.sock", "gc"]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = text(&out.stderr);
    let first = stderr.lines().next().unwrap_or_default();
    assert_eq!(
        first,
        "harnessgym: error: cannot reach the Docker engine at unix:///nonexistent/docker.sock: is it running?"
    );
    assert!(
        stderr.contains("  hint: ") && stderr.contains("`harnessgym doctor`"),
        "the hint points at doctor: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn doctor_with_a_wrong_socket_says_why_and_fails() {
    let out = harnessgym(&["--docker-host", "unix:///nonexistent/docker.sock", "doctor"]);
    assert_eq!(out.status.code(), Some(3));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("FAIL  engine"), "{stdout}");
}

#[test]
fn doctor_passes_on_this_machine_with_one_line_per_check() {
    let out = harnessgym(&["doctor"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let checks: Vec<&str> = stdout
        .lines()
        .map(|l| l.split_whitespace().nth(1).unwrap_or_default())
        .collect();
    for check in [
        "engine",
        "version",
        "cgroups",
        "limits",
        "images",
        "container",
        "helper",
        "snapshots",
        "disk",
    ] {
        assert!(checks.contains(&check), "no `{check}` line in:\n{stdout}");
    }
    let line = |name: &str| {
        stdout
            .lines()
            .find(|l| l[4..].trim_start().starts_with(name))
            .unwrap_or_default()
            .to_string()
    };
    let snapshots = line("snapshots");
    assert!(
        snapshots.contains("[load, ") || snapshots.contains("[commit, "),
        "the snapshot strategy and where it came from: {snapshots}"
    );
    let disk = line("disk limit");
    assert!(
        disk.contains("storage quota") || disk.contains("watchdog"),
        "how --disk-limit is enforced: {disk}"
    );
    assert!(
        stdout
            .lines()
            .all(|l| l.starts_with("ok  ") || l.starts_with("warn")),
        "{stdout}"
    );
    assert!(
        stdout.contains("runs as uid 1000, pids limit 1024"),
        "{stdout}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let out = harnessgym(&["image", "build", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
    let out = harnessgym(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    for word in [
        "image",
        "gc",
        "doctor",
        "--docker-host",
        "--verbose",
        "Exit codes",
    ] {
        assert!(help.contains(word), "--help lacks {word}:\n{help}");
    }
}

#[tokio::test]
async fn gc_removes_a_dead_owners_containers_and_keep_spares_images() {
    let t = TestRun::new("cli-gc").await;
    let mut child = Command::new("true").spawn().expect("spawn");
    let pid = child.id();
    child.wait().expect("wait");
    let dead = t.engine.with_owner(Owner {
        pid,
        start: 1,
        host: Owner::current().host,
    });
    let left = dead
        .create_container(&t.spec(), &t.run, Role::Session)
        .await
        .expect("create");
    left.commit(
        "harnessgym/test",
        &t.run,
        dead.labels(&t.run, Role::Snapshot),
    )
    .await
    .expect("commit");
    std::mem::forget(left);

    // `--keep`: a test must not remove a developer's finished-run snapshots on this engine
    // (the dead-owner image sweep is tested, scoped to test runs, in tests/sandbox.rs).
    let out = tokio::task::spawn_blocking(|| harnessgym(&["gc", "--keep"]))
        .await
        .expect("join");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("removed "),
        "{}",
        text(&out.stdout)
    );
    let containers = t
        .engine
        .list_containers_labelled(labels::RUN, Some(&t.run))
        .await
        .expect("list");
    let images = t
        .engine
        .list_images_labelled(labels::RUN, Some(&t.run))
        .await
        .expect("list");
    assert!(containers.is_empty(), "gc left {containers:?}");
    assert_eq!(images.len(), 1, "--keep keeps the snapshot image");
    t.cleanup().await;
}

#[tokio::test]
async fn helper_images_nothing_uses_are_pruned_and_used_ones_kept() {
    // `gc` prunes role `helper`; a role of this test's own keeps the developer's helpers (and
    // those of tests running beside it) out of reach.
    let t = TestRun::new("cli-helpers").await;
    let role = format!("test-helper-{}", std::process::id());
    let mut image_labels = t.engine.labels(&t.run, Role::Snapshot);
    image_labels.insert(labels::ROLE.to_string(), role.clone());
    let source = t
        .engine
        .create_container(&t.spec(), &t.run, Role::Session)
        .await
        .expect("create");
    let unused = source
        .commit(
            "harnessgym/test",
            &format!("{}-unused", t.run),
            image_labels.clone(),
        )
        .await
        .expect("commit");
    let used = source
        .commit("harnessgym/test", &format!("{}-used", t.run), image_labels)
        .await
        .expect("commit");
    assert_ne!(unused, used, "two images (their labels differ by tag only)");
    let user = t
        .engine
        .create_container(
            &harnessgym::sandbox::ContainerSpec::new(format!("harnessgym/test:{}-used", t.run)),
            &t.run,
            Role::Session,
        )
        .await
        .expect("a container of the used image");
    let mut report = harnessgym::sandbox::ReapReport::default();
    t.engine.prune_helpers(&role, &mut report).await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let left: Vec<String> = t
        .engine
        .list_images_labelled(labels::ROLE, Some(&role))
        .await
        .expect("list")
        .into_iter()
        .flat_map(|i| i.tags)
        .collect();
    assert_eq!(
        left,
        [format!("harnessgym/test:{}-used", t.run)],
        "{report:?}"
    );
    user.remove().await.expect("remove");
    source.remove().await.expect("remove");
    t.cleanup().await;
}

#[tokio::test]
async fn snapshot_export_writes_the_workspace_as_tar_gz() {
    let t = TestRun::new("cli-export").await;
    let host = tempfile::tempdir().expect("tempdir");
    common::write(host.path(), "notes/a.txt", "hello\n");
    let records = tempfile::tempdir().expect("tempdir");
    let store = harnessgym::snapshot::SnapshotStore::new(
        t.engine.clone(),
        &t.run,
        records.path().to_path_buf(),
        harnessgym::snapshot::Strategy::Load,
    );
    store
        .baseline(common::BASE, host.path(), std::path::Path::new(common::BIN))
        .await
        .expect("baseline");
    let out = host.path().join("baseline.tar.gz");
    let (run, target) = (t.run.clone(), out.display().to_string());
    let listed = {
        let run = run.clone();
        tokio::task::spawn_blocking(move || harnessgym(&["snapshot", "list", "--run", &run]))
            .await
            .expect("join")
    };
    assert!(
        text(&listed.stdout).contains("baseline"),
        "{}",
        text(&listed.stdout)
    );
    let exported = tokio::task::spawn_blocking(move || {
        harnessgym(&[
            "snapshot", "export", "--run", &run, "--name", "baseline", "--out", &target,
        ])
    })
    .await
    .expect("join");
    assert_eq!(
        exported.status.code(),
        Some(0),
        "{}",
        text(&exported.stderr)
    );
    let file = std::fs::File::open(&out).expect("the export exists");
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let names: Vec<String> = archive
        .entries()
        .expect("entries")
        .map(|e| {
            e.expect("entry")
                .path()
                .expect("path")
                .display()
                .to_string()
        })
        .collect();
    assert!(
        names.contains(&"workspace/notes/a.txt".to_string()),
        "{names:?}"
    );
    let missing = tokio::task::spawn_blocking(|| {
        harnessgym(&[
            "snapshot",
            "export",
            "--run",
            "no-such-run",
            "--name",
            "x",
            "--out",
            "/tmp/x.tar.gz",
        ])
    })
    .await
    .expect("join");
    assert_eq!(missing.status.code(), Some(2));
    t.cleanup().await;
}

#[test]
fn a_run_id_that_already_exists_is_refused_before_anything_runs() {
    let ws = tempfile::tempdir().expect("tempdir");
    common::write(ws.path(), "task.md", "task\n");
    common::write(ws.path(), ".harnessgym/runs/old/summary.json", "{}\n");
    common::write(ws.path(), ".harnessgym/runs/old/run_config.json", "{}\n");
    let out = harnessgym(&[
        "run",
        "--task-text",
        "x",
        "--workspace",
        &ws.path().display().to_string(),
        "--runner",
        "fake",
        "--run-id",
        "old",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("harnessgym: error: run id `old` already exists"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(ws.path().join(".harnessgym/runs/old/summary.json")).expect("kept"),
        "{}\n"
    );
}

#[tokio::test]
async fn a_run_id_another_workspace_still_has_snapshots_of_is_refused() {
    let t = TestRun::new("cli-taken").await;
    let first = tempfile::tempdir().expect("tempdir");
    common::write(first.path(), "task.md", "Say hello.\n");
    common::run_fake(&t, first.path(), 1, &[]).await;
    let kept = t
        .engine
        .list_images_labelled(labels::RUN, Some(&t.run))
        .await
        .expect("list");
    assert!(!kept.is_empty(), "the first run keeps its snapshots");

    let second = tempfile::tempdir().expect("tempdir");
    common::write(second.path(), "task.md", "Say hello.\n");
    let (run, ws) = (t.run.clone(), second.path().display().to_string());
    let out = tokio::task::spawn_blocking(move || {
        harnessgym(&[
            "run",
            "--task",
            "task.md",
            "--workspace",
            &ws,
            "--runner",
            "fake",
            "--run-id",
            &run,
        ])
    })
    .await
    .expect("join");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("already has"), "{stderr}");
    assert!(stderr.contains("hint: pick another --run-id"), "{stderr}");
    assert!(
        !second.path().join(".harnessgym").exists(),
        "nothing written"
    );
    let after = t
        .engine
        .list_images_labelled(labels::RUN, Some(&t.run))
        .await
        .expect("list");
    assert_eq!(after.len(), kept.len(), "the first run's snapshots stay");
    t.cleanup().await;
}

#[tokio::test]
async fn run_json_prints_the_summary_and_nothing_else_on_stdout() {
    let t = TestRun::new("cli-json").await;
    let ws = tempfile::tempdir().expect("tempdir");
    common::write(ws.path(), "task.md", "Say hello.\n");
    let out = common::run_fake(&t, ws.path(), 1, &["--json"]).await;
    let printed: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    let saved = common::run_json(ws.path(), &t, "summary.json");
    assert_eq!(printed, saved);
    assert_eq!(printed["run_id"], t.run.as_str());
    t.cleanup().await;
}
