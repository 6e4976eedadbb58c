//! The sandbox against a real engine: hardened containers, exec and its timeouts, transfers,
//! labels and the reaper.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use common::{TestRun, count_labelled, write};
use harnessgym::layer::pack::PackFilter;
use harnessgym::sandbox::extract::ExtractOptions;
use harnessgym::sandbox::{ExecSpec, OutputSink, Owner, Role, Selector, WORKSPACE, labels};

#[tokio::test]
async fn exec_reports_exit_code_output_and_runs_hardened() {
    let t = TestRun::new("exec-basic").await;
    let c = t
        .engine
        .create_container(&t.spec(), &t.run, Role::Test)
        .await
        .expect("create");
    c.start().await.expect("start");
    let script = "id -u; grep -c . /proc/self/status >/dev/null; grep CapEff /proc/self/status; grep NoNewPrivs /proc/self/status; echo oops >&2; exit 7";
    let out = c
        .exec(&ExecSpec::shell(script, Duration::from_secs(20)))
        .await
        .expect("exec");
    assert_eq!(out.exit_code, Some(7));
    assert!(!out.timed_out);
    let stdout = out.stdout.text();
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("1000"), "runs as agent");
    assert_eq!(
        lines
            .next()
            .map(str::split_whitespace)
            .and_then(|mut w| w.nth(1)),
        Some("0000000000000000"),
        "no capabilities"
    );
    assert_eq!(
        lines
            .next()
            .map(str::split_whitespace)
            .and_then(|mut w| w.nth(1)),
        Some("1"),
        "no_new_privs set"
    );
    assert_eq!(out.stderr.text(), "oops\n");

    let mut with_stdin = ExecSpec::new(["cat"], Duration::from_secs(10));
    with_stdin.stdin = Some(b"hello through stdin".to_vec());
    let echoed = c.exec(&with_stdin).await.expect("exec with stdin");
    assert_eq!(echoed.stdout.text(), "hello through stdin");

    let net = c
        .exec(&ExecSpec::shell(
            "cat /sys/class/net/*/operstate | wc -l; ls /sys/class/net",
            Duration::from_secs(10),
        ))
        .await
        .expect("exec");
    assert_eq!(
        net.stdout.text().lines().nth(1),
        Some("lo"),
        "only loopback without a network"
    );
    c.remove().await.expect("remove");
    t.cleanup().await;
}

/// How many `sleep` processes run in the container (the keep-alive is one).
async fn sleeps(c: &harnessgym::sandbox::Container) -> String {
    let ps = ExecSpec::shell(
        "ps -eo comm= | grep -c '^sleep$' || true",
        Duration::from_secs(10),
    );
    c.exec(&ps)
        .await
        .expect("ps")
        .stdout
        .text()
        .trim()
        .to_string()
}

#[tokio::test]
async fn timeout_kills_a_grandchild_that_holds_the_pipe() {
    let t = TestRun::new("exec-timeout").await;
    let c = t
        .engine
        .create_container(&t.spec(), &t.run, Role::Test)
        .await
        .expect("create");
    c.start().await.expect("start");
    let timeout = Duration::from_secs(3);
    let started = Instant::now();
    let out = c
        .exec(&ExecSpec::shell(
            "sh -c 'sleep 60' & sleep 60; echo never",
            timeout,
        ))
        .await
        .expect("exec");
    let took = started.elapsed();
    assert!(out.timed_out, "reported as timed out: {out:?}");
    assert!(took < timeout + Duration::from_secs(5), "ended in {took:?}");
    assert!(!out.stdout.text().contains("never"));
    assert_eq!(sleeps(&c).await, "1", "only the keep-alive sleep is left");
    c.remove().await.expect("remove");
    t.cleanup().await;
}

#[tokio::test]
async fn timeout_sweeps_a_process_that_escaped_into_its_own_session() {
    let t = TestRun::new("exec-setsid").await;
    let c = t
        .engine
        .create_container(&t.spec(), &t.run, Role::Test)
        .await
        .expect("create");
    c.start().await.expect("start");
    let timeout = Duration::from_secs(2);
    let started = Instant::now();
    let out = c
        .exec(&ExecSpec::shell("setsid sleep 60 & sleep 60", timeout))
        .await
        .expect("exec");
    let took = started.elapsed();
    assert!(out.timed_out);
    assert!(took < timeout + Duration::from_secs(8), "ended in {took:?}");
    assert!(
        c.is_running().await.expect("inspect"),
        "the sweep spares the keep-alive"
    );
    assert_eq!(sleeps(&c).await, "1", "the escaped sleep was killed");
    c.remove().await.expect("remove");
    t.cleanup().await;
}

#[tokio::test]
async fn output_beyond_the_cap_is_cut_and_marked() {
    let t = TestRun::new("exec-cap").await;
    let c = t
        .engine
        .create_container(&t.spec(), &t.run, Role::Test)
        .await
        .expect("create");
    c.start().await.expect("start");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut spec = ExecSpec::shell(
        "head -c 100000 /dev/zero | tr '\\0' a",
        Duration::from_secs(20),
    );
    spec.stdout = OutputSink::file(dir.path().join("out.txt"), 1000);
    let out = c.exec(&spec).await.expect("exec");
    assert!(out.success());
    assert!(out.stdout.truncated);
    assert_eq!(out.stdout.total_bytes, 100_000);
    let text = std::fs::read_to_string(dir.path().join("out.txt")).expect("read");
    assert!(text.starts_with(&"a".repeat(1000)));
    assert!(text.ends_with("[harnessgym: output truncated: kept 1000 of 100000 bytes]\n"));
    c.remove().await.expect("remove");
    t.cleanup().await;
}

/// A tree with nested and empty dirs, an executable, and symlinks (file, dir, dangling, absolute).
fn sample_tree(root: &std::path::Path) {
    write(root, "a.txt", "alpha\n");
    write(root, "src/lib/mod.py", "print('hi')\n");
    let tool = write(root, "bin/tool.sh", "#!/bin/sh\necho tool\n");
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::create_dir_all(root.join("empty/nested")).expect("empty dirs");
    std::os::unix::fs::symlink("a.txt", root.join("link-to-file")).expect("symlink");
    std::os::unix::fs::symlink("src/lib", root.join("link-to-dir")).expect("symlink");
    std::os::unix::fs::symlink("missing", root.join("dangling")).expect("symlink");
    std::os::unix::fs::symlink("/etc/passwd", root.join("absolute")).expect("symlink");
}

#[tokio::test]
async fn upload_then_download_round_trips_content_modes_and_links() {
    let t = TestRun::new("roundtrip").await;
    let src = tempfile::tempdir().expect("tempdir");
    sample_tree(src.path());
    let c = t
        .engine
        .create_container(&t.spec(), &t.run, Role::Test)
        .await
        .expect("create");
    // Into a created, not started container: the files are there before any process runs.
    c.upload_dir(src.path(), PackFilter::default(), WORKSPACE)
        .await
        .expect("upload");
    c.start().await.expect("start");
    let owner = c
        .exec(&ExecSpec::shell(
            "stat -c %u:%g /workspace /workspace/bin/tool.sh && ./bin/tool.sh",
            Duration::from_secs(10),
        ))
        .await
        .expect("exec");
    assert_eq!(owner.stdout.text(), "1000:1000\n1000:1000\ntool\n");

    let back = tempfile::tempdir().expect("tempdir");
    let options = ExtractOptions {
        strip_components: 1,
        ..ExtractOptions::default()
    };
    c.download_to(WORKSPACE, back.path(), options)
        .await
        .expect("download");
    assert_trees_equal(src.path(), back.path());
    c.remove().await.expect("remove");
    t.cleanup().await;
}

/// Same entries, same file contents and permission bits, same link targets.
pub fn assert_trees_equal(a: &std::path::Path, b: &std::path::Path) {
    let list = |root: &std::path::Path| {
        let mut out = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("read dir") {
                let path = entry.expect("entry").path();
                let meta = std::fs::symlink_metadata(&path).expect("lstat");
                let rel = path.strip_prefix(root).expect("under root").to_path_buf();
                let what = if meta.file_type().is_symlink() {
                    format!(
                        "link {}",
                        std::fs::read_link(&path).expect("readlink").display()
                    )
                } else if meta.is_dir() {
                    stack.push(path.clone());
                    format!("dir {:o}", meta.permissions().mode() & 0o777)
                } else {
                    format!(
                        "file {:o} {}",
                        meta.permissions().mode() & 0o777,
                        String::from_utf8_lossy(&std::fs::read(&path).expect("read"))
                    )
                };
                out.push((rel, what));
            }
        }
        out.sort();
        out
    };
    assert_eq!(list(a), list(b));
}

#[tokio::test]
async fn every_object_carries_the_owner_labels() {
    let t = TestRun::new("labels").await;
    let c = t
        .engine
        .create_container(&t.spec(), &t.run, Role::Test)
        .await
        .expect("create");
    let mut image_labels = t.engine.labels(&t.run, Role::Snapshot);
    image_labels.insert("extra".into(), "1".into());
    let image = c
        .commit("harnessgym/test", &t.run, image_labels)
        .await
        .expect("commit");
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
    assert_eq!(containers.len(), 1);
    assert_eq!(images.len(), 1);
    assert_eq!(images[0].id, image);
    let me = Owner::current();
    for object_labels in containers
        .iter()
        .map(|(_, l)| l)
        .chain(images.iter().map(|i| &i.labels))
    {
        for key in [
            labels::RUN,
            labels::ROLE,
            labels::OWNER_PID,
            labels::OWNER_START,
            labels::OWNER_HOST,
            labels::CREATED,
        ] {
            assert!(
                object_labels.contains_key(key),
                "{key} missing in {object_labels:?}"
            );
        }
        assert_eq!(Owner::from_labels(object_labels), Some(me.clone()));
    }
    c.remove().await.expect("remove");
    t.cleanup().await;
}

/// An owner that is certainly gone: a child process that has exited and been waited for.
fn dead_owner() -> Owner {
    let mut child = std::process::Command::new("true").spawn().expect("spawn");
    let pid = child.id();
    child.wait().expect("wait");
    Owner {
        pid,
        start: 1,
        host: Owner::current().host,
    }
}

#[tokio::test]
async fn the_reaper_removes_what_a_dead_owner_left_and_spares_live_owners() {
    let t = TestRun::new("reaper").await;
    let orphaned = t.engine.with_owner(dead_owner());
    let stopped = orphaned
        .create_container(&t.spec(), &t.run, Role::Session)
        .await
        .expect("create");
    let running = orphaned
        .create_container(&t.spec(), &t.run, Role::Session)
        .await
        .expect("create");
    running.start().await.expect("start");
    let snapshot = running
        .commit(
            "harnessgym/test",
            &format!("{}-dead", t.run),
            orphaned.labels(&t.run, Role::Snapshot),
        )
        .await
        .expect("commit");
    let mine = t
        .engine
        .create_container(&t.spec(), &t.run, Role::Session)
        .await
        .expect("create");
    // The handles of the "dead" process must not clean up on drop: that process is gone.
    std::mem::forget(stopped);
    std::mem::forget(running);

    let report = t
        .engine
        .reap(&Selector::DeadOwnersOfRuns("test-".into()), true)
        .await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(
        report.containers.len(),
        2,
        "both dead-owner containers, created and running"
    );
    assert!(
        report
            .images
            .contains(&harnessgym::sandbox::short_id(&snapshot).to_string())
    );
    let left = t
        .engine
        .list_containers_labelled(labels::RUN, Some(&t.run))
        .await
        .expect("list");
    assert_eq!(left.len(), 1, "the live owner's container stays");
    assert_eq!(left[0].0, mine.id());
    mine.remove().await.expect("remove");
    assert_eq!(count_labelled(&t.engine, &t.run).await, 0);
    t.cleanup().await;
}

#[tokio::test]
async fn cancellation_removes_every_container_the_process_created() {
    let t = TestRun::new("cancel").await;
    let engine = t.engine.with_owner(Owner::current());
    let token = tokio_util::sync::CancellationToken::new();
    let ctx = harnessgym::commands::Context {
        verbose: 0,
        quiet: true,
        docker_host: engine.host().to_string(),
        token: token.clone(),
    };
    let work = async {
        let running = engine
            .create_container(&t.spec(), &t.run, Role::Session)
            .await?;
        running.start().await?;
        let _created = engine
            .create_container(&t.spec(), &t.run, Role::Scratch)
            .await?;
        token.cancel();
        // Never finishes by itself: only the cancellation ends this work.
        std::future::pending::<()>().await;
        Ok::<_, harnessgym::sandbox::SandboxError>(running)
    };
    let result = ctx
        .guarded(&engine, async {
            work.await.map_err(harnessgym::commands::CommandError::from)
        })
        .await;
    assert!(matches!(
        result,
        Err(harnessgym::commands::CommandError::Interrupted)
    ));
    assert!(engine.live_containers().is_empty());
    let left = engine
        .list_containers_labelled(labels::RUN, Some(&t.run))
        .await
        .expect("list");
    assert!(left.is_empty(), "left: {left:?}");
    t.cleanup().await;
}
