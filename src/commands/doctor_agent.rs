//! `harnessgym doctor --runner ...`: what one agent runner needs — its image, its CLI inside
//! that image (checked in a throwaway hardened container without network), and a credential:
//! an API key variable set here, or a credentials file to mount.

use std::path::Path;
use std::time::Duration;

use crate::cli::{DoctorArgs, RunnerChoice};
use crate::runner::{CustomAgent, RunnerKind, default_env};
use crate::sandbox::{ContainerSpec, Engine, ExecSpec, Role};

/// How long the CLI may take to print its version.
const VERSION_TIMEOUT: Duration = Duration::from_secs(60);

/// One line of the doctor's report: ok, warning or failure.
pub enum Verdict {
    /// Fine.
    Ok(String),
    /// Worth a look.
    Warn(String),
    /// A run would fail.
    Fail(String),
}

/// What `--runner` asks about.
struct Target {
    kind: RunnerKind,
    image: String,
    program: String,
    env: Vec<String>,
}

fn kind(choice: RunnerChoice) -> RunnerKind {
    match choice {
        RunnerChoice::Exec => RunnerKind::Exec,
        RunnerChoice::Claude => RunnerKind::Claude,
        RunnerChoice::Fake => RunnerKind::Fake,
        RunnerChoice::Custom => RunnerKind::Custom,
        RunnerChoice::TuiGoal => RunnerKind::TuiGoal,
    }
}

fn target(args: &DoctorArgs, choice: RunnerChoice) -> Result<Target, String> {
    let kind = kind(choice);
    let custom = match (kind, &args.runner_config) {
        (RunnerKind::Custom, Some(path)) => Some(CustomAgent::load(path).map_err(|e| {
            let cause = std::error::Error::source(&e)
                .map(|c| format!(": {c}"))
                .unwrap_or_default();
            format!("{e}{cause}")
        })?),
        (RunnerKind::Custom, None) => {
            return Err("--runner custom needs --runner-config FILE".into());
        }
        _ => None,
    };
    let program = match kind {
        RunnerKind::Claude => args.claude_bin.clone(),
        RunnerKind::Custom => custom
            .as_ref()
            .and_then(|c| c.command.first().cloned())
            .unwrap_or_default(),
        _ => args.codex_bin.clone(),
    };
    let image = args
        .image
        .clone()
        .or_else(|| custom.as_ref().and_then(|c| c.image.clone()))
        .unwrap_or_else(|| kind.default_image().to_string());
    let mut env: Vec<String> = if args.env.is_empty() {
        default_env(kind).iter().map(|n| n.to_string()).collect()
    } else {
        args.env.clone()
    };
    env.extend(custom.iter().flat_map(|c| c.env.iter().cloned()));
    Ok(Target {
        kind,
        image,
        program,
        env,
    })
}

/// The lines for `--runner` (none without it).
pub async fn check(engine: &Engine, args: &DoctorArgs) -> Vec<(&'static str, Verdict)> {
    let Some(choice) = args.runner else {
        return Vec::new();
    };
    let target = match target(args, choice) {
        Ok(target) => target,
        Err(reason) => return vec![("runner", Verdict::Fail(reason))],
    };
    let mut lines = vec![("agent image", image_verdict(engine, &target.image).await)];
    if matches!(lines[0].1, Verdict::Ok(_)) {
        lines.push(("agent cli", cli_verdict(engine, &target).await));
    }
    lines.push((
        "credentials",
        credentials_verdict(&target, &args.credentials_file),
    ));
    lines
}

async fn image_verdict(engine: &Engine, image: &str) -> Verdict {
    match engine.inspect_image(image).await {
        Ok(Some(_)) => Verdict::Ok(format!("{image} present")),
        Ok(None) => Verdict::Fail(format!(
            "{image} is missing: run `harnessgym image build` (or name your own with --image)"
        )),
        Err(err) => Verdict::Fail(err.to_string()),
    }
}

/// Run `<program> --version` (a custom agent: only `command -v`) in a throwaway container.
async fn cli_verdict(engine: &Engine, target: &Target) -> Verdict {
    let script = if target.kind == RunnerKind::Custom {
        r#"command -v "$0""#
    } else {
        r#"command -v "$0" >/dev/null && "$0" --version"#
    };
    let argv = ["sh", "-c", script, target.program.as_str()];
    let spec = ContainerSpec::new(&target.image);
    let probe = async {
        let container = engine
            .create_container(&spec, "doctor", Role::Scratch)
            .await?;
        let ran = async {
            container.start().await?;
            container.exec(&ExecSpec::new(argv, VERSION_TIMEOUT)).await
        }
        .await;
        container.remove().await?;
        ran
    };
    match probe.await {
        Ok(out) if out.success() => {
            let version = out.stdout.text();
            let version = version
                .lines()
                .last()
                .unwrap_or_default()
                .trim()
                .to_string();
            Verdict::Ok(format!(
                "{} runs in {}: {version}",
                target.program, target.image
            ))
        }
        Ok(out) => Verdict::Fail(format!(
            "{} is not runnable in {} (exit {:?}); set {} or use an image that has it",
            target.program,
            target.image,
            out.exit_code,
            match target.kind {
                RunnerKind::Claude => "--claude-bin",
                RunnerKind::Custom => "the command of --runner-config",
                _ => "--codex-bin",
            }
        )),
        Err(err) => Verdict::Fail(format!("cannot run a container of {}: {err}", target.image)),
    }
}

fn credentials_verdict(target: &Target, files: &[String]) -> Verdict {
    let set: Vec<&str> = target
        .env
        .iter()
        .filter(|n| std::env::var_os(n).is_some_and(|v| !v.is_empty()))
        .map(String::as_str)
        .collect();
    let missing_files: Vec<&str> = files
        .iter()
        .map(|f| f.split(':').next().unwrap_or_default())
        .filter(|host| {
            let host = match host.strip_prefix("~/") {
                Some(rest) => std::env::var_os("HOME")
                    .map(|h| Path::new(&h).join(rest))
                    .unwrap_or_default(),
                None => Path::new(host).to_path_buf(),
            };
            !host.is_file()
        })
        .collect();
    if !missing_files.is_empty() {
        return Verdict::Fail(format!(
            "no such credentials file: {}",
            missing_files.join(", ")
        ));
    }
    match (set.is_empty(), files.is_empty()) {
        (false, _) => Verdict::Ok(format!("passed by name: {}", set.join(", "))),
        (true, false) => Verdict::Ok(format!("credentials file: {}", files.join(", "))),
        (true, true) if target.env.is_empty() => {
            Verdict::Warn("the agent gets no variables and no credentials file".into())
        }
        (true, true) => Verdict::Fail(format!(
            "none of {} is set, and no --credentials-file is given",
            target.env.join(", ")
        )),
    }
}
