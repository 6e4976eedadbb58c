//! Deadlines for every call to the engine.
//!
//! The engine can hang (compose users see about one call in a thousand never return under load),
//! and bollard's own timeout only covers the time to the response headers. Every call therefore
//! goes through [`within`], with one of the budgets below.

use std::future::Future;
use std::time::Duration;

use super::error::CallError;

/// Small metadata calls: ping, inspect, create, start, tag, list.
pub const QUICK: Duration = Duration::from_secs(30);
/// Calls whose cost grows with what changed: commit, changes, remove (deletes layers).
pub const HEAVY: Duration = Duration::from_secs(300);
/// Whole archive transfers and image builds (streamed, so they take as long as the data).
pub const TRANSFER: Duration = Duration::from_secs(30 * 60);
/// A graceful stop before the container is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// Run one engine call under a deadline, mapping both failure kinds into [`CallError`].
pub async fn within<T, F>(budget: Duration, call: F) -> Result<T, CallError>
where
    F: Future<Output = Result<T, bollard::errors::Error>>,
{
    match tokio::time::timeout(budget, call).await {
        Ok(result) => result.map_err(CallError::Docker),
        Err(_) => Err(CallError::Deadline(budget)),
    }
}
