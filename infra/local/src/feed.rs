//! The change feed: the embedded store's change log delivered to stream consumers as DynamoDB
//! Streams events, the way Lambda's DynamoDB event source delivers them to ai-reply and the
//! export worker.
//!
//! Like an event source mapping, a batch is retried until every consumer accepts it, and the feed
//! position only advances past a batch once they all have. Each consumer stands for its own
//! Lambda function with its own iterator, so a batch one consumer accepted is not redelivered to
//! it while another is retried. A batch no consumer can ever accept blocks the feed, exactly as a
//! poison record blocks a shard without a bisect or failure destination: the log says which.

use async_trait::async_trait;
use aws_lambda_events::event::dynamodb::Event;
use mizan_shared::adapters::embedded::stream_event::to_stream_event;
use mizan_shared::adapters::embedded::EmbeddedStore;
use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::shutdown::Shutdown;

/// The runner's position in the change log.
pub const CONSUMER: &str = "local-runner";

/// A stream-triggered function hosted by the runner.
#[async_trait]
pub trait StreamConsumer: Send + Sync {
    /// The function it stands for (`ai-reply`), for logs.
    fn name(&self) -> &str;

    /// Handles one batch. An error makes the feed retry the batch with backoff; its text is
    /// logged, so it must carry no personal data (the same rule as a Lambda error in CloudWatch).
    async fn handle(&self, event: Event) -> Result<(), String>;
}

#[derive(Clone, Debug)]
pub struct FeedSettings {
    /// Changes per event; Lambda's default batch size for DynamoDB Streams is 100.
    pub batch_size: usize,
    /// How long to wait for a change before looking again: writes by another process (an admin
    /// command on the same data directory) wake no one, so the feed also polls.
    pub poll_interval: Duration,
    /// How long to gather changes before delivering a batch that is not full, like an event
    /// source mapping's batching window: under load, one batch (and one position write) carries
    /// many changes instead of one each.
    pub batching_window: Duration,
    pub first_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for FeedSettings {
    fn default() -> Self {
        FeedSettings {
            batch_size: 100,
            poll_interval: Duration::from_secs(1),
            batching_window: Duration::from_millis(100),
            first_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(30),
        }
    }
}

pub struct Feed {
    store: EmbeddedStore,
    consumers: Vec<Arc<dyn StreamConsumer>>,
    settings: FeedSettings,
}

impl Feed {
    pub fn new(
        store: EmbeddedStore,
        consumers: Vec<Arc<dyn StreamConsumer>>,
        settings: FeedSettings,
    ) -> Self {
        Feed {
            store,
            consumers,
            settings,
        }
    }

    /// Delivers changes until shutdown; a batch being handled is finished first.
    pub async fn run(self, mut shutdown: Shutdown) {
        let Some(mut position) = self
            .retrying("read feed position", &mut shutdown, || {
                self.store.feed_position(CONSUMER)
            })
            .await
        else {
            return;
        };
        tracing::info!(
            consumers = self.consumers.len(),
            position,
            "change feed started"
        );
        while !shutdown.is_requested() {
            let Some(changes) = self
                .retrying("read changes", &mut shutdown, || {
                    self.store.changes_after(position, self.settings.batch_size)
                })
                .await
            else {
                return;
            };
            let Some(last) = changes.last().map(|c| c.seq) else {
                tokio::select! {
                    _ = self.store.wait_for_change() => {}
                    _ = tokio::time::sleep(self.settings.poll_interval) => {}
                    _ = shutdown.requested() => return,
                }
                tokio::select! {
                    _ = tokio::time::sleep(self.settings.batching_window) => {}
                    _ = shutdown.requested() => return,
                }
                continue;
            };
            let Some(event) = self
                .retrying("build stream event", &mut shutdown, || async {
                    to_stream_event(&changes)
                })
                .await
            else {
                return;
            };
            for consumer in &self.consumers {
                let delivered = self
                    .retrying(consumer.name(), &mut shutdown, || {
                        consumer.handle(event.clone())
                    })
                    .await;
                if delivered.is_none() {
                    return;
                }
            }
            if self
                .retrying("save feed position", &mut shutdown, || {
                    self.store.set_feed_position(CONSUMER, last)
                })
                .await
                .is_none()
            {
                return;
            }
            tracing::debug!(
                records = changes.len(),
                position = last,
                "change feed batch handled"
            );
            position = last;
            if changes.len() < self.settings.batch_size {
                tokio::select! {
                    _ = tokio::time::sleep(self.settings.batching_window) => {}
                    _ = shutdown.requested() => return,
                }
            }
        }
    }

    /// Runs `op` until it succeeds, backing off exponentially; `None` if shutdown comes first.
    async fn retrying<T, E, F, Fut>(
        &self,
        what: &str,
        shutdown: &mut Shutdown,
        mut op: F,
    ) -> Option<T>
    where
        E: Display,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut backoff = self.settings.first_backoff;
        let mut attempt = 0u32;
        loop {
            attempt = attempt.saturating_add(1);
            match op().await {
                Ok(value) => return Some(value),
                Err(e) => {
                    tracing::warn!(
                        step = what,
                        attempt,
                        retry_in_ms = u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX),
                        error = %e,
                        "change feed step failed; retrying the same batch"
                    );
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = shutdown.requested() => return None,
            }
            backoff = (backoff * 2).min(self.settings.max_backoff);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shutdown;
    use mizan_shared::backend;
    use mizan_shared::config::{Backend, Config};
    use mizan_shared::domain::tenant::Tenant;
    use std::sync::Mutex;
    use tokio::sync::mpsc;

    /// Fails its first `failures` batches, then passes every batch on.
    struct Flaky {
        failures: Mutex<u32>,
        calls: Mutex<u32>,
        seen: mpsc::UnboundedSender<Event>,
    }

    #[async_trait]
    impl StreamConsumer for Flaky {
        fn name(&self) -> &str {
            "flaky"
        }

        async fn handle(&self, event: Event) -> Result<(), String> {
            *self.calls.lock().unwrap() += 1;
            let mut failures = self.failures.lock().unwrap();
            if *failures > 0 {
                *failures -= 1;
                return Err("simulated failure".into());
            }
            self.seen.send(event).map_err(|e| e.to_string())
        }
    }

    fn quick() -> FeedSettings {
        FeedSettings {
            batch_size: 100,
            poll_interval: Duration::from_millis(50),
            batching_window: Duration::from_millis(5),
            first_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(40),
        }
    }

    #[tokio::test]
    async fn a_failed_batch_is_retried_and_the_position_advances_only_after_success() {
        // Given a store with one new tenant and a consumer that fails twice
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::from_lookup(|_| None).unwrap();
        config.backend = Backend::Embedded {
            data_dir: dir.path().to_owned(),
        };
        let services = backend::connect(&config).await.unwrap();
        let embedded = services.embedded.clone().unwrap();
        let tenant = Tenant::new("Feed Test", services.store.now());
        services.store.create_tenant(&tenant).await.unwrap();
        let (seen, mut events) = mpsc::unbounded_channel();
        let flaky = Arc::new(Flaky {
            failures: Mutex::new(2),
            calls: Mutex::new(0),
            seen,
        });
        let (trigger, shutdown) = shutdown::channel();

        // When the feed runs
        let feed = Feed::new(embedded.clone(), vec![flaky.clone()], quick());
        let task = tokio::spawn(feed.run(shutdown));
        let event = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .expect("the batch is delivered after the failures")
            .unwrap();

        // Then the consumer got DynamoDB Streams INSERTs of the tenant and its directory entry,
        // on its third try
        assert_eq!(*flaky.calls.lock().unwrap(), 3);
        assert_eq!(event.records.len(), 2);
        assert_eq!(event.records[0].event_name, "INSERT");
        assert_eq!(
            event.records[0].event_source.as_deref(),
            Some("aws:dynamodb")
        );

        // And a later write is delivered too, woken by the store rather than the poll
        let second = Tenant::new("Feed Test 2", services.store.now());
        services.store.create_tenant(&second).await.unwrap();
        let event = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(event.records.len(), 2);

        trigger.fire();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the feed stops on shutdown")
            .unwrap();
        let position = embedded.feed_position(CONSUMER).await.unwrap();
        assert!(position >= 2);
        assert!(embedded
            .changes_after(position, 10)
            .await
            .unwrap()
            .is_empty());
    }

    #[tokio::test]
    async fn shutdown_interrupts_a_batch_that_keeps_failing_without_advancing() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::from_lookup(|_| None).unwrap();
        config.backend = Backend::Embedded {
            data_dir: dir.path().to_owned(),
        };
        let services = backend::connect(&config).await.unwrap();
        let embedded = services.embedded.clone().unwrap();
        services
            .store
            .create_tenant(&Tenant::new("Stuck", services.store.now()))
            .await
            .unwrap();
        let (seen, _events) = mpsc::unbounded_channel();
        let flaky = Arc::new(Flaky {
            failures: Mutex::new(u32::MAX),
            calls: Mutex::new(0),
            seen,
        });
        let (trigger, shutdown) = shutdown::channel();
        let task =
            tokio::spawn(Feed::new(embedded.clone(), vec![flaky.clone()], quick()).run(shutdown));
        while *flaky.calls.lock().unwrap() < 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        trigger.fire();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(embedded.feed_position(CONSUMER).await.unwrap(), 0);
        // The tenant and its directory entry, both still undelivered.
        assert_eq!(embedded.changes_after(0, 10).await.unwrap().len(), 2);
    }
}
