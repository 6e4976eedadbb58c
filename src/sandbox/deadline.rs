//! Deadlines for every call to the engine.
//!
//! The engine can hang (compose users see about one call in a thousand never return under load),
//! and bollard's own timeout only covers the time to the response headers. Every call therefore
//! goes through [`within`], with one of the budgets below.
//!
//! A process can also bound how many engine calls are in flight at once ([`limit_calls`]):
//! `compare` does, so that many trials side by side do not queue dozens of creates, loads and
//! commits on one engine. The bound covers the calls themselves (a container create, an exec's
//! start, an image load's transfer), never the time an agent's command runs: an exec's output is
//! read outside [`within`], so a running phase holds no permit. Waiting for a permit does not
//! count against a call's budget.

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

/// The process-wide bound on engine calls in flight, when one is set.
static CALL_LIMIT: std::sync::RwLock<Option<std::sync::Arc<tokio::sync::Semaphore>>> =
    std::sync::RwLock::new(None);

/// Let at most `calls` engine calls (at least 1) be in flight at once in this process, from now
/// on; `None` lifts the bound. Calls already waiting keep the bound they found.
pub fn limit_calls(calls: Option<usize>) {
    let limit = calls.map(|n| std::sync::Arc::new(tokio::sync::Semaphore::new(n.max(1))));
    if let Ok(mut slot) = CALL_LIMIT.write() {
        *slot = limit;
    }
}

/// Run one engine call under a deadline, mapping both failure kinds into [`CallError`]. With a
/// bound set ([`limit_calls`]), the call first waits for a permit.
pub async fn within<T, F>(budget: Duration, call: F) -> Result<T, CallError>
where
    F: Future<Output = Result<T, bollard::errors::Error>>,
{
    let limit = CALL_LIMIT.read().ok().and_then(|slot| slot.clone());
    // A closed semaphore (never: it is never closed) would only mean no bound.
    let _permit = match &limit {
        Some(semaphore) => semaphore.acquire().await.ok(),
        None => None,
    };
    let started = std::time::Instant::now();
    let outcome = tokio::time::timeout(budget, call).await;
    let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
    ENGINE_NANOS.fetch_add(nanos, std::sync::atomic::Ordering::Relaxed);
    match outcome {
        Ok(result) => result.map_err(CallError::Docker),
        Err(_) => Err(CallError::Deadline(budget)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_bound_holds_calls_in_flight_and_waiting_is_not_budget() {
        limit_calls(Some(1));
        let in_flight = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let calls = (0..3).map(|_| {
            let (in_flight, most) = (in_flight.clone(), most.clone());
            within(Duration::from_millis(150), async move {
                let now = in_flight.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                most.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
                in_flight.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                Ok::<(), bollard::errors::Error>(())
            })
        });
        let results = futures::future::join_all(calls).await;
        limit_calls(None);
        assert!(
            results.iter().all(Result::is_ok),
            "no call ran out of budget waiting"
        );
        assert_eq!(most.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
