//! One cancellation token for the whole process, driven by SIGINT and SIGTERM.
//!
//! Containers are not in the terminal's foreground process group, so Ctrl-C never reaches them:
//! the CLI must stop them itself. The first signal cancels the token, and every command then runs
//! its explicit async shutdown (remove what it created). A second signal means "stop now": the
//! process exits with [`crate::exit::INTERRUPTED`] at once and the next start's reaper removes
//! whatever was left behind.

use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

/// Install the signal listeners and return the token they cancel.
///
/// Must be called from inside a tokio runtime. If the listeners cannot be installed the token is
/// still returned (it simply never fires) and a warning is logged.
pub fn install() -> CancellationToken {
    let token = CancellationToken::new();
    let (mut int, mut term) = match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(int), Ok(term)) => (int, term),
        (Err(err), _) | (_, Err(err)) => {
            tracing::warn!("cannot install signal handlers: {err}");
            return token;
        }
    };
    let fired = token.clone();
    tokio::spawn(async move {
        let mut seen = 0u8;
        loop {
            tokio::select! {
                _ = int.recv() => {},
                _ = term.recv() => {},
            }
            seen += 1;
            if seen == 1 {
                crate::errln!(
                    "harnessgym: interrupted, removing what this command created (press Ctrl-C again to exit now)"
                );
                fired.cancel();
            } else {
                crate::errln!(
                    "harnessgym: exiting now; `harnessgym gc` removes anything left behind"
                );
                std::process::exit(i32::from(crate::exit::INTERRUPTED));
            }
        }
    });
    token
}
