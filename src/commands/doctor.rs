//! `harnessgym doctor`: can a run work on this machine? One line per check; exit 0 only if yes.
//! With `--runner`, also the agent's image, CLI and credentials (`doctor_agent`).

use std::path::Path;
use std::time::Duration;

use super::context::Context;
use super::doctor_agent::Verdict;
use super::error::CommandError;
use crate::cli::DoctorArgs;
use crate::exit;
use crate::image::BASE_IMAGE;
use crate::sandbox::{ContainerSpec, Enforcement, Engine, EngineInfo, ExecSpec, Role};
use crate::snapshot::Strategy;

/// Below this much free space a run is likely to fail mid-way (snapshots are layers, but the
/// base image, builds and agent caches add up).
const DISK_FAIL_BYTES: u64 = 2 << 30;
/// Below this much free space we warn.
const DISK_WARN_BYTES: u64 = 10 << 30;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Status {
    Ok,
    Warn,
    Fail,
}

struct Report {
    worst: Status,
}

impl Report {
    fn line(&mut self, status: Status, what: &str, detail: impl AsRef<str>) {
        let tag = match status {
            Status::Ok => "ok  ",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        };
        crate::outln!("{tag}  {what:<14} {}", detail.as_ref());
        self.worst = self.worst.max(status);
    }
}

/// Run every check and print one line each.
pub async fn run(ctx: &Context, args: DoctorArgs) -> Result<u8, CommandError> {
    let mut report = Report { worst: Status::Ok };
    let engine = match ctx.engine().await {
        Ok(engine) => engine,
        Err(err) => {
            let causes = crate::diagnostics::render(&err, None);
            report.line(Status::Fail, "engine", causes.trim_end().replace('\n', " "));
            crate::outln!("hint: start the engine or set `--docker-host`/`DOCKER_HOST`");
            return Ok(exit::ENGINE);
        }
    };
    report.line(
        Status::Ok,
        "engine",
        format!("reachable at {}", engine.host()),
    );
    let checks = async {
        let info = match engine.info().await {
            Ok(info) => {
                engine_lines(&mut report, &info);
                Some(info)
            }
            Err(err) => {
                report.line(Status::Fail, "engine info", err.to_string());
                None
            }
        };
        let base_ok = image_line(&mut report, &engine).await;
        probe_line(&mut report, &engine).await;
        if let (Some(info), true) = (&info, base_ok) {
            snapshot_line(&mut report, &engine, info).await;
            disk_limit_line(&mut report, &engine, info).await;
        }
        helper_link_line(&mut report);
        for (what, verdict) in super::doctor_agent::check(&engine, &args).await {
            match verdict {
                Verdict::Ok(text) => report.line(Status::Ok, what, text),
                Verdict::Warn(text) => report.line(Status::Warn, what, text),
                Verdict::Fail(text) => report.line(Status::Fail, what, text),
            }
        }
        Ok::<(), CommandError>(())
    };
    ctx.guarded(&engine, checks).await?;
    disk_line(&mut report, "disk (engine)", Path::new("/var/lib/docker"));
    disk_line(&mut report, "disk (here)", Path::new("."));
    Ok(match report.worst {
        Status::Fail => exit::FAILURE,
        _ => exit::SUCCESS,
    })
}

fn engine_lines(report: &mut Report, info: &EngineInfo) {
    let api_ok = api_at_least(&info.api_version, 1, 40);
    report.line(
        if api_ok { Status::Ok } else { Status::Fail },
        "version",
        format!("engine {} (API {})", info.version, info.api_version),
    );
    report.line(
        Status::Ok,
        "cgroups",
        format!(
            "v{} ({}), storage driver {}",
            info.cgroup_version, info.cgroup_driver, info.storage_driver
        ),
    );
    let limits = [
        ("memory", info.memory_limit),
        ("pids", info.pids_limit),
        ("cpu", info.cpu_limit),
    ];
    let missing: Vec<&str> = limits
        .iter()
        .filter(|(_, ok)| !ok)
        .map(|(n, _)| *n)
        .collect();
    if missing.is_empty() {
        report.line(
            Status::Ok,
            "limits",
            "memory, pids and cpu limits are enforced",
        );
    } else {
        report.line(
            Status::Fail,
            "limits",
            format!("the engine cannot enforce {} limits", missing.join(", ")),
        );
    }
    if info.rootless {
        report.line(
            Status::Warn,
            "rootless",
            "rootless engine: check that cgroup v2 delegation is on",
        );
    }
}

/// The base image's line; whether it is there.
async fn image_line(report: &mut Report, engine: &Engine) -> bool {
    match engine.inspect_image(BASE_IMAGE).await {
        Ok(Some(image)) => {
            report.line(
                Status::Ok,
                "images",
                format!(
                    "{BASE_IMAGE} present ({:.0} MB)",
                    image.size.unwrap_or(0) as f64 / 1e6
                ),
            );
            true
        }
        Ok(None) => {
            report.line(
                Status::Fail,
                "images",
                format!("{BASE_IMAGE} is missing: run `harnessgym image build` (or `make image`)"),
            );
            false
        }
        Err(err) => {
            report.line(Status::Fail, "images", err.to_string());
            false
        }
    }
}

/// How snapshots become images on this engine (probed once, then remembered).
async fn snapshot_line(report: &mut Report, engine: &Engine, info: &EngineInfo) {
    match crate::snapshot::strategy::detect(engine, info, BASE_IMAGE).await {
        Ok((strategy, source)) => {
            let how = match strategy {
                Strategy::Load => "by loading the layers harnessgym makes (cost what changed)",
                Strategy::Commit => {
                    "by commit (the engine refuses partial image archives); slower on large workspaces"
                }
            };
            report.line(
                Status::Ok,
                "snapshots",
                format!("{how} [{}, {}]", strategy.name(), source.name()),
            );
        }
        Err(err) => report.line(Status::Fail, "snapshots", err.to_string()),
    }
}

/// How `--disk-limit` is enforced here (probed once, then remembered).
async fn disk_limit_line(report: &mut Report, engine: &Engine, info: &EngineInfo) {
    match engine.disk_enforcement(info, BASE_IMAGE).await {
        Ok((Enforcement::Quota, _)) => report.line(
            Status::Ok,
            "disk limit",
            "enforced by the engine's storage quota (writes past it fail)",
        ),
        Ok((Enforcement::Watchdog, _)) => report.line(
            Status::Ok,
            "disk limit",
            format!(
                "enforced by a watchdog (storage driver {} has no quota): a command that \
                 writes past it is stopped within seconds",
                info.storage_driver
            ),
        ),
        Err(err) => report.line(Status::Fail, "disk limit", err.to_string()),
    }
}

/// Whether the in-container helper is statically linked: only then it runs in any `--image`.
fn helper_link_line(report: &mut Report) {
    let Ok(path) = crate::snapshot::helper_binary() else {
        return;
    };
    match crate::snapshot::is_static(&path) {
        Some(true) => report.line(
            Status::Ok,
            "helper link",
            format!("{} is static: it runs in any --image", path.display()),
        ),
        Some(false) => report.line(
            Status::Warn,
            "helper link",
            format!(
                "{} is dynamically linked: a --image with an older glibc or musl needs the \
                 static build of `make build` (or HARNESSGYM_HELPER_BINARY)",
                path.display()
            ),
        ),
        None => report.line(
            Status::Warn,
            "helper link",
            format!("cannot read {}", path.display()),
        ),
    }
}

/// Start a hardened container and check from inside that it is what we asked for.
async fn probe_line(report: &mut Report, engine: &Engine) {
    let spec = ContainerSpec::new(BASE_IMAGE);
    let probe = async {
        let container = engine
            .create_container(&spec, "doctor", Role::Scratch)
            .await?;
        let checked = async {
            // The in-container tools are this binary: check it runs on the image's libc.
            if let Ok(helper) = crate::snapshot::helper_binary() {
                let rel = crate::snapshot::HELPER_PATH.trim_start_matches('/');
                container.install_file("/", rel, &helper, 0o755).await?;
            }
            container.start().await?;
            let script = "id -u; (cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max); /opt/harnessgym/bin/harnessgym --version >/dev/null 2>&1 && echo helper-ok || echo helper-broken";
            container.exec(&ExecSpec::shell(script, Duration::from_secs(20))).await
        }
        .await;
        container.remove().await?;
        checked
    };
    match probe.await {
        Ok(outcome) if outcome.success() => {
            let text = outcome.stdout.text();
            let mut lines = text.lines();
            let uid = lines.next().unwrap_or("?").trim().to_string();
            let pids = lines.next().unwrap_or("?").trim().to_string();
            let helper_ok = lines.next().map(str::trim) == Some("helper-ok");
            let expected = spec.limits.pids.to_string();
            let status = if uid == "1000" && pids == expected {
                Status::Ok
            } else {
                Status::Fail
            };
            report.line(
                status,
                "container",
                format!("hardened container runs as uid {uid}, pids limit {pids}"),
            );
            if helper_ok {
                report.line(
                    Status::Ok,
                    "helper",
                    "harnessgym runs inside the base image (activation, MCP helpers)",
                );
            } else {
                report.line(
                    Status::Fail,
                    "helper",
                    "this harnessgym binary does not run inside the base image (libc mismatch?): set HARNESSGYM_HELPER_BINARY to a compatible build",
                );
            }
        }
        Ok(outcome) => report.line(
            Status::Fail,
            "container",
            format!(
                "probe exited with {:?}: {}",
                outcome.exit_code,
                outcome.stderr.text().trim()
            ),
        ),
        Err(err) => report.line(
            Status::Fail,
            "container",
            format!("cannot run a container: {err}"),
        ),
    }
}

fn disk_line(report: &mut Report, what: &str, path: &Path) {
    match free_bytes(path) {
        Some(free) => {
            let status = if free < DISK_FAIL_BYTES {
                Status::Fail
            } else if free < DISK_WARN_BYTES {
                Status::Warn
            } else {
                Status::Ok
            };
            report.line(
                status,
                what,
                format!("{:.1} GB free at {}", free as f64 / 1e9, path.display()),
            );
        }
        None => report.line(
            Status::Warn,
            what,
            format!("cannot measure free space at {}", path.display()),
        ),
    }
}

/// Free bytes on the filesystem holding `path`, from `df` (no unsafe statvfs binding needed).
fn free_bytes(path: &Path) -> Option<u64> {
    let output = std::process::Command::new("df")
        .arg("-Pk")
        .arg(path)
        .output()
        .ok()?;
    parse_df(&String::from_utf8_lossy(&output.stdout))
}

fn parse_df(text: &str) -> Option<u64> {
    let line = text.lines().nth(1)?;
    let available_kb: u64 = line.split_whitespace().nth(3)?.parse().ok()?;
    Some(available_kb * 1024)
}

fn api_at_least(version: &str, major: u32, minor: u32) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let found = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    found >= (major, minor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn df_output_is_read_in_kilobytes() {
        let text = "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/vda 263174212 12345 83886080 13% /\n";
        assert_eq!(parse_df(text), Some(83_886_080 * 1024));
        assert_eq!(parse_df("garbage"), None);
    }

    #[test]
    fn api_versions_compare_numerically() {
        assert!(api_at_least("1.41", 1, 40));
        assert!(api_at_least("1.100", 1, 40));
        assert!(!api_at_least("1.39", 1, 40));
        assert!(!api_at_least("", 1, 40));
    }
}
