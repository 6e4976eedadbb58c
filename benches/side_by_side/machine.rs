//! The machine a bench ran on, and how busy it was.

use std::path::Path;

use harnessgym::sandbox::EngineInfo;

/// Facts printed with the table.
#[derive(Debug, Clone)]
pub struct Machine {
    /// CPUs this process may use, and the model.
    pub cpus: String,
    /// Total memory.
    pub memory: String,
    /// Kernel release.
    pub kernel: String,
    /// Engine version and API.
    pub docker: String,
    /// Storage driver (and cgroup).
    pub storage: String,
    /// Start of the run (UTC).
    pub date: String,
    /// `git describe` of the tree measured.
    pub commit: String,
    /// rustc.
    pub rustc: String,
    /// The reference's interpreter.
    pub python: String,
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn output(program: &str, args: &[&str], cwd: &Path) -> String {
    std::process::Command::new(program)
        .args(args)
        .current_dir(cwd)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            let mut text = String::from_utf8_lossy(&o.stdout).trim().to_string();
            if text.is_empty() {
                text = String::from_utf8_lossy(&o.stderr).trim().to_string();
            }
            text
        })
        .unwrap_or_else(|| "unknown".to_string())
}

/// Now, as `2026-12-01 15:50 UTC`.
pub fn now() -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_else(|_| "unknown".to_string())
}

impl Machine {
    /// Gather the facts (`root` is the repository, `python` the reference's interpreter).
    pub fn gather(root: &Path, engine: &EngineInfo, python: &Path) -> Machine {
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0);
        let model = read("/proc/cpuinfo")
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
            .unwrap_or_default();
        let mem_kib: f64 = read("/proc/meminfo")
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|l| l.split_whitespace().next()?.parse().ok())
            .unwrap_or(0.0);
        let dirty = !output(
            "git",
            &["status", "--porcelain", "--untracked-files=no"],
            root,
        )
        .trim()
        .is_empty();
        let commit = format!(
            "{}{}",
            output("git", &["rev-parse", "--short", "HEAD"], root),
            if dirty {
                " (with uncommitted changes)"
            } else {
                ""
            }
        );
        Machine {
            cpus: format!("{cpus} ({model})"),
            memory: format!("{:.1} GiB", mem_kib / (1024.0 * 1024.0)),
            kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
            docker: format!("Engine {} (API {})", engine.version, engine.api_version),
            storage: format!(
                "{} (cgroup v{}, {})",
                engine.storage_driver, engine.cgroup_version, engine.root_dir
            ),
            date: now(),
            commit,
            rustc: output("rustc", &["--version"], root),
            python: output(&python.display().to_string(), &["--version"], root),
        }
    }
}

/// The 1-minute load average.
pub fn load_average() -> f64 {
    read("/proc/loadavg")
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(f64::NAN)
}

/// How busy the machine was while the bench ran, sampled before each measurement.
#[derive(Debug, Clone, Default)]
pub struct Busy {
    /// 1-minute load averages.
    pub loads: Vec<f64>,
    /// Running containers that were not the bench's.
    pub foreign: Vec<usize>,
}

impl Busy {
    /// Record one sample.
    pub fn sample(&mut self, host: &str, run: &str) {
        self.loads.push(load_average());
        if let Ok((_, foreign)) = crate::docker::running_containers(host, run) {
            self.foreign.push(foreign);
        }
    }

    /// Whether anything else was running.
    pub fn shared(&self, cpus: usize) -> bool {
        self.foreign.iter().any(|n| *n > 0) || self.loads.iter().any(|l| *l > cpus as f64)
    }

    /// `load 0.4–3.9, 0–2 other containers`.
    pub fn describe(&self) -> String {
        let lo = self.loads.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = self.loads.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let flo = self.foreign.iter().min().copied().unwrap_or(0);
        let fhi = self.foreign.iter().max().copied().unwrap_or(0);
        format!(
            "1-minute load average {lo:.1}–{hi:.1} over {} samples; {flo}–{fhi} running containers of other work",
            self.loads.len()
        )
    }
}
