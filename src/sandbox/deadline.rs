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

/// Nanoseconds spent waiting for the engine in this process (calls made through [`within`]).
static ENGINE_NANOS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Time this process has spent waiting for engine calls so far (overlapping calls add up), so a
/// run can say how much of its wall time was the engine's and how much its own.
pub fn engine_time() -> Duration {
    Duration::from_nanos(ENGINE_NANOS.load(std::sync::atomic::Ordering::Relaxed))
}

/// Run one engine call under a deadline, mapping both failure kinds into [`CallError`].
pub async fn within<T, F>(budget: Duration, call: F) -> Result<T, CallError>
where
    F: Future<Output = Result<T, bollard::errors::Error>>,
{
    let started = std::time::Instant::now();
    let outcome = tokio::time::timeout(budget, call).await;
    let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
    ENGINE_NANOS.fetch_add(nanos, std::sync::atomic::Ordering::Relaxed);
    match outcome {
        Ok(result) => result.map_err(CallError::Docker),
        Err(_) => Err(CallError::Deadline(budget)),
    }
}
