//! `make bench`: the sandbox's costs, measured side by side in one run and printed as ratios.
//!
//! A workspace of `HARNESSGYM_BENCH_MB` MiB (default 300: one blob plus 20 KiB files) is made in
//! a temp dir; then, against the real engine: the baseline as upload + commit versus a
//! `docker build` with the workspace as context; a snapshot after a 1 MiB change (time and bytes
//! added); create + start → first exec output; exec round trip; changed-paths write-back; and
//! this process's peak memory against the workspace size. Everything it creates carries the
//! run label `bench-<pid>` and is removed at the end.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use harnessgym::image::BASE_IMAGE;
use harnessgym::layer::pack::PackFilter;
use harnessgym::sandbox::{
    BuildRequest, ContainerSpec, Engine, ExecSpec, Role, Selector, resolve_host,
};
use harnessgym::snapshot::{SnapshotStore, WriteBack};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn make_workspace(root: &Path, mib: u64) -> Result<u64> {
    let small = 20 * 1024;
    let files = (mib * 1024 * 1024 / 3 / small).max(1);
    let blob = mib * 1024 * 1024 - files * small;
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut fill = |out: &mut dyn Write, mut n: u64| -> Result<()> {
        let mut buf = vec![0u8; 1 << 20];
        while n > 0 {
            for chunk in buf.chunks_mut(8) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                chunk.copy_from_slice(&seed.to_le_bytes()[..chunk.len()]);
            }
            let take = n.min(buf.len() as u64) as usize;
            out.write_all(&buf[..take])?;
            n -= take as u64;
        }
        Ok(())
    };
    fill(&mut std::fs::File::create(root.join("blob.bin"))?, blob)?;
    std::fs::create_dir_all(root.join("src"))?;
    for i in 0..files {
        fill(
            &mut std::fs::File::create(root.join(format!("src/f{i:05}.dat")))?,
            small,
        )?;
    }
    Ok(mib * 1024 * 1024)
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_string)
        })
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

async fn timed<T>(f: impl std::future::Future<Output = Result<T>>) -> Result<(T, Duration)> {
    let started = Instant::now();
    let value = f.await?;
    Ok((value, started.elapsed()))
}

async fn bench(engine: &Engine, run: &str, ws: &Path, bytes: u64) -> Result<Vec<(String, String)>> {
    let mut rows = Vec::new();
    let store = SnapshotStore::new(engine.clone(), run);
    let rss_before = peak_rss_kib();
    let (baseline, upload) = timed(async {
        Ok(store
            .baseline(BASE_IMAGE, ws, PackFilter::default(), None)
            .await?)
    })
    .await?;
    let rss_after = peak_rss_kib();
    std::fs::write(
        ws.join("Dockerfile"),
        format!("FROM {BASE_IMAGE}\nCOPY --chown=1000:1000 . /workspace\n"),
    )?;
    let request = BuildRequest {
        tag: format!("harnessgym/bench:{run}"),
        labels: engine.labels(run, Role::Test),
        network: "none".into(),
        build_args: HashMap::new(),
    };
    let dir = ws.to_path_buf();
    let (_, build) = timed(async {
        Ok(engine
            .build_image(
                &request,
                move |w| {
                    let mut tar = tar::Builder::new(w);
                    tar.append_dir_all(".", &dir).map_err(|e| {
                        harnessgym::sandbox::SandboxError::HostIo {
                            action: "pack",
                            path: dir.clone(),
                            source: e,
                        }
                    })?;
                    tar.finish()
                        .map_err(|e| harnessgym::sandbox::SandboxError::HostIo {
                            action: "pack",
                            path: dir.clone(),
                            source: e,
                        })
                },
                |_| {},
            )
            .await?)
    })
    .await?;
    std::fs::remove_file(ws.join("Dockerfile"))?;
    rows.push((
        "baseline: upload + commit".into(),
        format!("{:.2}s", upload.as_secs_f64()),
    ));
    rows.push((
        "baseline: docker build with the workspace as context".into(),
        format!("{:.2}s", build.as_secs_f64()),
    ));
    rows.push((
        "  ratio build / (upload + commit)".into(),
        format!("{:.2}x", build.as_secs_f64() / upload.as_secs_f64()),
    ));
    let spec = ContainerSpec::new(BASE_IMAGE);
    let session = store.start(&baseline, &spec, Role::Test).await?;
    session
        .exec(&ExecSpec::shell(
            "head -c 1048576 /dev/urandom > change.bin",
            Duration::from_secs(30),
        ))
        .await?;
    let (snap, commit) =
        timed(async { Ok(store.commit(&session, &baseline, "bench-change").await?) }).await?;
    session.remove().await?;
    let size = |id: String| async move {
        engine
            .inspect_image(&id)
            .await
            .ok()
            .flatten()
            .and_then(|i| i.size)
            .unwrap_or(0)
    };
    let added = size(snap.image_id.clone()).await - size(baseline.image_id.clone()).await;
    rows.push((
        "snapshot after a 1 MiB change: diff + commit".into(),
        format!("{:.2}s", commit.as_secs_f64()),
    ));
    rows.push((
        "  bytes added / workspace bytes".into(),
        format!("{:.4} ({added} of {bytes})", added as f64 / bytes as f64),
    ));
    let mut first = Vec::new();
    let mut round = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let c = engine.create_container(&spec, run, Role::Test).await?;
        c.start().await?;
        c.exec(&ExecSpec::new(["true"], Duration::from_secs(10)))
            .await?;
        first.push(started.elapsed());
        for _ in 0..4 {
            let started = Instant::now();
            c.exec(&ExecSpec::new(["true"], Duration::from_secs(10)))
                .await?;
            round.push(started.elapsed());
        }
        c.remove().await?;
    }
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    rows.push((
        "create + start -> first exec done (median of 5)".into(),
        format!("{:.0} ms", median(first).as_secs_f64() * 1e3),
    ));
    rows.push((
        "exec round trip (median of 20)".into(),
        format!("{:.0} ms", median(round).as_secs_f64() * 1e3),
    ));
    let back = tempfile::tempdir()?;
    let (_, changed) = timed(async {
        Ok(store
            .write_back(&snap, back.path(), WriteBack::Changed, |_| true)
            .await?)
    })
    .await?;
    rows.push((
        "write-back of the changed paths".into(),
        format!("{:.2}s", changed.as_secs_f64()),
    ));
    let grown = rss_after.saturating_sub(rss_before) * 1024;
    rows.push((
        "peak memory growth during the baseline upload".into(),
        format!(
            "{:.1} MiB ({:.3} of the workspace)",
            grown as f64 / 1048576.0,
            grown as f64 / bytes as f64
        ),
    ));
    Ok(rows)
}

#[tokio::main]
async fn main() -> Result<()> {
    let mib: u64 = std::env::var("HARNESSGYM_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let engine = Engine::connect(&resolve_host(None)).await?;
    engine.require_image(BASE_IMAGE).await?;
    let info = engine.info().await?;
    let ws = tempfile::tempdir()?;
    let bytes = make_workspace(ws.path(), mib)?;
    let run = format!("bench-{}", std::process::id());
    println!(
        "engine {} (API {}), storage driver {}, workspace {mib} MiB",
        info.version, info.api_version, info.storage_driver
    );
    let outcome = bench(&engine, &run, ws.path(), bytes).await;
    let report = engine.reap(&Selector::Run(run.clone()), true).await;
    for err in report.errors {
        eprintln!("cleanup: {err}");
    }
    for (what, value) in outcome? {
        println!("{what:<56} {value}");
    }
    Ok(())
}
