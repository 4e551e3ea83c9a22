//! Scheduled functions on a timer, standing in for EventBridge schedules (retention-purge).
//!
//! Each schedule runs once at start-up, then every `interval`, never overlapping itself. The
//! first run catches up on time the runner was stopped: what is due is decided by the clock, not
//! by how many ticks were missed. A failed run is logged and tried again at the next tick.

use crate::shutdown::Shutdown;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The interval a scheduled function runs at unless it registers another: 15 minutes, often
/// enough that retention visibly bites during a local session, rare enough to stay quiet.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(15 * 60);

/// The shortest interval accepted; shorter ones are raised to it.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

pub type JobFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// One run of a scheduled function. Its error text is logged: no personal data in it.
pub type Job = Arc<dyn Fn() -> JobFuture + Send + Sync>;

#[derive(Clone)]
pub struct Schedule {
    pub name: &'static str,
    pub interval: Duration,
    pub job: Job,
}

impl Schedule {
    pub fn new<F, Fut>(name: &'static str, interval: Duration, job: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        Schedule {
            name,
            interval: interval.max(MIN_INTERVAL),
            job: Arc::new(move || Box::pin(job()) as JobFuture),
        }
    }
}

/// Runs every schedule until shutdown; a run in progress is finished first.
pub async fn run_all(schedules: Vec<Schedule>, shutdown: Shutdown) {
    let mut tasks = tokio::task::JoinSet::new();
    for schedule in schedules {
        tracing::info!(
            schedule = schedule.name,
            interval_s = schedule.interval.as_secs(),
            "schedule registered"
        );
        tasks.spawn(run_one(schedule, shutdown.clone()));
    }
    while tasks.join_next().await.is_some() {}
}

async fn run_one(schedule: Schedule, mut shutdown: Shutdown) {
    let mut ticker = tokio::time::interval(schedule.interval.max(MIN_INTERVAL));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.requested() => return,
        }
        let started = Instant::now();
        let outcome = (schedule.job)().await;
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match outcome {
            Ok(()) => tracing::info!(
                schedule = schedule.name,
                elapsed_ms,
                "scheduled run finished"
            ),
            Err(e) => tracing::warn!(
                schedule = schedule.name,
                elapsed_ms,
                error = %e,
                "scheduled run failed; trying again at the next tick"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shutdown;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn a_schedule_runs_at_start_then_every_interval_and_survives_failures() {
        let runs = Arc::new(AtomicU32::new(0));
        let counter = runs.clone();
        let schedule = Schedule::new("test", MIN_INTERVAL, move || {
            let counter = counter.clone();
            async move {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                if n == 0 {
                    Err("first run fails".to_owned())
                } else {
                    Ok(())
                }
            }
        });
        let (trigger, shutdown) = shutdown::channel();
        let task = tokio::spawn(run_all(vec![schedule], shutdown));
        let started = Instant::now();
        tokio::time::timeout(Duration::from_secs(10), async {
            while runs.load(Ordering::SeqCst) < 3 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("three runs: at start, and two ticks after the failed one");
        assert!(started.elapsed() >= Duration::from_millis(1900));
        trigger.fire();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("schedules stop on shutdown")
            .unwrap();
    }

    #[test]
    fn a_zero_interval_is_raised_to_the_minimum() {
        let schedule = Schedule::new("zero", Duration::ZERO, || async { Ok(()) });
        assert_eq!(schedule.interval, MIN_INTERVAL);
    }
}
