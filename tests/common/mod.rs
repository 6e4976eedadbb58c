//! Shared pieces of the integration tests: the engine, a per-test run label, and cleanup that
//! runs even when an assertion fails.
//!
//! These tests talk to a real Docker engine and need the base image (`make image`). They fail,
//! never skip, when either is missing.

#![allow(dead_code, missing_docs)]

use std::path::{Path, PathBuf};

use harnessgym::sandbox::{ContainerSpec, Engine, Selector, labels};

pub mod shape;
pub mod snapshot;

/// The image every container test runs in.
pub const BASE: &str = harnessgym::image::BASE_IMAGE;

/// A test's run: a unique `dev.harnessgym.run` label and the engine to create objects with.
/// Everything labelled with it is removed by [`TestRun::cleanup`], or on drop after a panic.
pub struct TestRun {
    pub engine: Engine,
    pub run: String,
    cleaned: bool,
}

impl TestRun {
    pub async fn new(name: &str) -> Self {
        let host = harnessgym::sandbox::resolve_host(None);
        let engine = Engine::connect(&host)
            .await
            .unwrap_or_else(|e| panic!("these tests need a Docker engine at {host}: {e}"));
        engine
            .require_image(BASE)
            .await
            .unwrap_or_else(|e| panic!("these tests need {BASE}; run `make image` first: {e}"));
        TestRun {
            engine,
            run: format!("test-{name}-{}", std::process::id()),
            cleaned: false,
        }
    }

    /// Another run label on `t`'s engine (for objects a test makes under a second run id);
    /// cleaned up the same way.
    pub fn adopt(t: &TestRun, run: &str) -> Self {
        TestRun {
            engine: t.engine.clone(),
            run: run.to_string(),
            cleaned: false,
        }
    }

    /// A hardened spec of the base image.
    pub fn spec(&self) -> ContainerSpec {
        ContainerSpec::new(BASE)
    }

    /// Remove every object of this run and assert that none is left.
    pub async fn cleanup(mut self) {
        self.cleaned = true;
        let report = self
            .engine
            .reap(&Selector::Run(self.run.clone()), true)
            .await;
        assert!(
            report.errors.is_empty(),
            "cleanup failed: {:?}",
            report.errors
        );
        let left = count_labelled(&self.engine, &self.run).await;
        assert_eq!(left, 0, "objects of {} left after cleanup", self.run);
    }
}

impl Drop for TestRun {
    fn drop(&mut self) {
        if self.cleaned {
            return;
        }
        // A failed assertion skipped the explicit cleanup: do it on a thread of its own with
        // its own runtime, since the test's runtime cannot be blocked on from here.
        let run = self.run.clone();
        let host = self.engine.host().to_string();
        let worker = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(engine) = Engine::connect(&host).await {
                    engine.reap(&Selector::Run(run), true).await;
                }
            });
        });
        let _ = worker.join();
    }
}

/// Containers plus images carrying `dev.harnessgym.run=<run>`.
pub async fn count_labelled(engine: &Engine, run: &str) -> usize {
    let containers = engine
        .list_containers_labelled(labels::RUN, Some(run))
        .await
        .expect("list containers");
    let images = engine
        .list_images_labelled(labels::RUN, Some(run))
        .await
        .expect("list images");
    containers.len() + images.len()
}

/// Write `content` at `root/rel`, creating parents.
pub fn write(root: &Path, rel: &str, content: &str) -> PathBuf {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("has a parent")).expect("create parents");
    std::fs::write(&path, content).expect("write file");
    path
}

/// The built binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_harnessgym");

/// `harnessgym run` with the fake runner on `ws` for `t`'s run id, quiet, 20 s budgets unless
/// `extra` sets them; asserts it exits 0 and returns its output.
pub async fn run_fake(
    t: &TestRun,
    ws: &Path,
    iterations: u32,
    extra: &[&str],
) -> std::process::Output {
    run_fake_as(t, ws, iterations, extra, &["-q"]).await
}

/// [`run_fake`] with the global flags `global` (`-q`, `-v`) instead of `-q`.
pub async fn run_fake_as(
    t: &TestRun,
    ws: &Path,
    iterations: u32,
    extra: &[&str],
    global: &[&str],
) -> std::process::Output {
    let mut args: Vec<String> = global.iter().map(|s| s.to_string()).collect();
    args.extend(["run".into(), "--task".into(), "task.md".into()]);
    args.extend(["--iterations".to_string(), iterations.to_string()]);
    args.extend(
        ["--runner", "fake", "--run-id", &t.run]
            .iter()
            .map(|s| s.to_string()),
    );
    for (flag, value) in [("--attempt-timeout", "20s"), ("--build-timeout", "20s")] {
        if !extra.contains(&flag) {
            args.extend([flag.to_string(), value.to_string()]);
        }
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let cwd = ws.to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(BIN)
            .current_dir(cwd)
            .args(args)
            .output()
            .expect("the binary runs")
    })
    .await
    .expect("join");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A JSON file of `t`'s run in `ws` (`rel` under `.harnessgym/runs/<id>/`).
pub fn run_json(ws: &Path, t: &TestRun, rel: &str) -> serde_json::Value {
    let path = ws.join(".harnessgym/runs").join(&t.run).join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("valid JSON")
}

/// Copy the directory `src` into a fresh temp dir.
pub fn copy_dir(src: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", src.display()))
        .arg(dir.path())
        .status()
        .expect("cp runs");
    assert!(status.success());
    dir
}
