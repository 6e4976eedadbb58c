//! The entry point: parse, set up logging and the runtime, run one command, map the outcome to
//! an exit code. This is the only place that prints an error and picks the exit status.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser as _;

use super::context::Context;
use super::error::CommandError;
use super::{doctor, gc, image, mcp, run, snapshot};
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
        Command::Internal(InternalCommand::ModelServer(args)) => {
            crate::model_server::run(args, ctx.token.clone())
                .await
                .map_err(Into::into)
        }
        Command::Run(args) => run::run(&ctx, *args).await,
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => report(&err),
    }
}

/// `--help` and `--version` print as clap renders them; a usage error is one line like every
/// other failure, then a hint.
fn usage_error(err: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) || matches!(
        err.kind(),
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = err.print();
        return ExitCode::from(if err.use_stderr() {
            crate::exit::USAGE
        } else {
            crate::exit::SUCCESS
        });
    }
    let rendered = err.render().to_string();
    let first = rendered.lines().next().unwrap_or_default();
    let message = first.strip_prefix("error: ").unwrap_or(first);
    eprintln!("harnessgym: error: {message}");
    eprintln!("  hint: see `harnessgym --help` or `harnessgym <command> --help`");
    ExitCode::from(crate::exit::USAGE)
}

fn report(err: &CommandError) -> ExitCode {
    eprint!("{}", render(err, err.hint().as_deref()));
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
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();
}
