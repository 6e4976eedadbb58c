//! The entry point: parse, set up logging and the runtime, run one command, map the outcome to
//! an exit code. This is the only place that prints an error and picks the exit status.

use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory as _, Parser as _};

use super::context::Context;
use super::error::CommandError;
use super::{compare, doctor, gc, image, inspect, mcp, run, snapshot};
use crate::cli::{Cli, Command, InternalCommand};
use crate::diagnostics::{Diagnose, render};

/// Run the binary.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(&err),
    };
    init_tracing(cli.verbose, cli.quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => return report(&CommandError::Runtime(err)),
    };
    let code = runtime.block_on(run(cli));
    // Stray background tasks (a fallback removal) must not hold the process open.
    runtime.shutdown_timeout(Duration::from_secs(2));
    code
}

async fn run(cli: Cli) -> ExitCode {
    let token = crate::shutdown::install();
    let ctx = Context::new(cli.verbose, cli.quiet, cli.docker_host.as_deref(), token);
    let result = match cli.command {
        Command::Image(command) => image::run(&ctx, command).await,
        Command::Snapshot(command) => snapshot::run(&ctx, command).await,
        Command::Gc(args) => gc::run(&ctx, args).await,
        Command::Doctor(args) => doctor::run(&ctx, args).await,
        Command::Mcp(command) => mcp::run(&ctx, command).await,
        Command::Internal(InternalCommand::Activate(args)) => crate::activation::run_internal(args)
            .await
            .map_err(Into::into),
        Command::Internal(InternalCommand::Usage(args)) => crate::layer::usage::run_cli(&args)
            .map_err(|e| CommandError::Internal {
                what: "measure the container's writes",
                source: e,
            }),
        // Synchronous and in-container: they block this worker thread. The host ends them with
        // SIGKILL (`sandbox::exec`); a layer cut short lacks its trailer and is refused on read.
        Command::Internal(InternalCommand::Manifest(args)) => {
            crate::layer::run_manifest(&args).map_err(Into::into)
        }
        Command::Internal(InternalCommand::Layer(args)) => {
            crate::layer::run_layer(&args).map_err(Into::into)
        }
        Command::Internal(InternalCommand::ApplyLayer(args)) => {
            crate::layer::run_apply_layer(&args).map_err(Into::into)
        }
        Command::Internal(InternalCommand::ModelServer(args)) => {
            crate::model_server::run(args, ctx.token.clone())
                .await
                .map_err(Into::into)
        }
        Command::Run(args) => run::run(&ctx, *args).await,
        Command::Compare(args) => compare::run(&ctx, *args).await,
        // Files only: these never connect to the engine.
        Command::Runs(args) => inspect::runs(&ctx, &args),
        Command::Show(args) => inspect::show(&ctx, &args),
        Command::Report(args) => inspect::report(&ctx, &args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => report(&err),
    }
}

/// `--help` and `--version` print as clap renders them. Any other parse failure prints clap's
/// whole message (what is missing, the valid values, its tips, the usage line) after our
/// `harnessgym: error:` prefix, then a hint naming the help of the command being parsed.
fn usage_error(err: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = err.print();
        return ExitCode::from(if err.use_stderr() {
            crate::exit::USAGE
        } else {
            crate::exit::SUCCESS
        });
    }
    let args: Vec<String> = std::env::args_os()
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    crate::errp!("{}", render_usage_error(err, &args));
    ExitCode::from(crate::exit::USAGE)
}

/// The closing line of clap's message; our hint says the same, naming the subcommand.
const CLAP_MORE_INFO: &str = "For more information, try '--help'.";

/// clap's rendered error (plain text) under our prefix, its closing pointer to `--help` replaced
/// by a hint naming the help of the (sub)command that `args` were for.
fn render_usage_error(err: &clap::Error, args: &[String]) -> String {
    let rendered = err.render().to_string();
    let body = rendered.trim_end();
    let body = body.strip_prefix("error: ").unwrap_or(body);
    let body = body.strip_suffix(CLAP_MORE_INFO).unwrap_or(body).trim_end();
    format!(
        "harnessgym: error: {body}\n\n  hint: see `{} --help` for every flag and its values\n",
        command_path(args)
    )
}

/// `harnessgym image build` for `harnessgym -v image build --force x`: the binary's name and each
/// word of `args` (after the binary) that names a subcommand of the one before it.
fn command_path(args: &[String]) -> String {
    let mut command = Cli::command();
    let mut path = vec![command.get_name().to_string()];
    for arg in args.iter().skip(1) {
        let Some(sub) = command.find_subcommand(arg).cloned() else {
            continue;
        };
        path.push(sub.get_name().to_string());
        command = sub;
    }
    path.join(" ")
}

fn report(err: &CommandError) -> ExitCode {
    crate::errp!("{}", render(err, err.hint().as_deref()));
    ExitCode::from(err.exit_code())
}

fn init_tracing(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let default = if verbose >= 3 {
        level.to_string()
    } else {
        format!("harnessgym={level},warn")
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("HARNESSGYM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colours only on a terminal that wants them (https://no-color.org); agent-made bytes in
    // a field never reach it raw either way.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(move || crate::output::SafeStderr { keep_styles: ansi })
        .with_ansi(ansi)
        .with_target(false)
        .without_time()
        .init();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(args: &[&str]) -> String {
        let args: Vec<String> = args.iter().map(ToString::to_string).collect();
        let err = Cli::try_parse_from(&args).expect_err("a usage error");
        render_usage_error(&err, &args)
    }

    #[test]
    fn the_hint_names_the_subcommand_being_parsed() {
        assert_eq!(command_path(&["harnessgym".into()]), "harnessgym");
        let args = ["harnessgym", "-v", "image", "build", "--force", "run"].map(String::from);
        assert_eq!(command_path(&args), "harnessgym image build");
        let text = usage(&["harnessgym", "run", "--runner", "nope", "--task-text", "x"]);
        assert!(
            text.ends_with(
                "\n\n  hint: see `harnessgym run --help` for every flag and its values\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn clap_whole_message_is_kept_under_our_prefix() {
        let text = usage(&["harnessgym", "run", "--workspace", "w"]);
        assert!(
            text.starts_with(
                "harnessgym: error: the following required arguments were not provided:\n  <--task <PATH>|--task-text <TEXT>>\n"
            ),
            "{text}"
        );
        assert!(text.contains("\nUsage: harnessgym run "), "{text}");
        assert!(!text.contains(CLAP_MORE_INFO), "{text}");
        let text = usage(&["harnessgym", "image", "bild"]);
        assert!(text.contains("tip: "), "clap's tips are kept: {text}");
    }
}
