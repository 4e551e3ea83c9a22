//! The runner's delivery queue, in the process: what SQS FIFO does on AWS. Deliveries of one
//! group are handled one at a time in the order queued; a delivery whose turn asks for a retry
//! holds its group until then. Groups run in parallel, up to `CONCURRENCY` at once.

use crate::ports::webhook_delivery::{DeliveryQueue, QueueError, QueuedDelivery};
use async_trait::async_trait;
use futures_util::future::BoxFuture;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};

/// A delivery's turn: `None` when it is finished, or how long to wait before its next turn.
pub type TurnHandler =
    Arc<dyn Fn(QueuedDelivery) -> BoxFuture<'static, Option<Duration>> + Send + Sync>;

/// How many groups are attempted at once (as many HTTP requests in flight).
pub const CONCURRENCY: usize = 32;

pub struct InProcessDeliveryQueue {
    inner: Arc<Inner>,
}

struct Inner {
    groups: Mutex<HashMap<String, VecDeque<QueuedDelivery>>>,
    handler: TurnHandler,
    permits: Semaphore,
    /// Retries wait at most this long (the runner's tests shorten the day-long schedule).
    max_wait: Option<Duration>,
    drained: Notify,
}

impl InProcessDeliveryQueue {
    pub fn new(handler: TurnHandler) -> Self {
        InProcessDeliveryQueue::build(handler, None)
    }

    /// Waits at most `max_wait` between a group's retries.
    pub fn with_max_wait(handler: TurnHandler, max_wait: Duration) -> Self {
        InProcessDeliveryQueue::build(handler, Some(max_wait))
    }

    fn build(handler: TurnHandler, max_wait: Option<Duration>) -> Self {
        InProcessDeliveryQueue {
            inner: Arc::new(Inner {
                groups: Mutex::new(HashMap::new()),
                handler,
                permits: Semaphore::new(CONCURRENCY),
                max_wait,
                drained: Notify::new(),
            }),
        }
    }

    /// How many deliveries are queued or being attempted.
    pub fn len(&self) -> usize {
        self.inner.lock().values().map(VecDeque::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Resolves once nothing is queued.
    pub async fn drained(&self) {
        loop {
            let notified = self.inner.drained.notified();
            if self.is_empty() {
                return;
            }
            notified.await;
        }
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<QueuedDelivery>>> {
        // A panicking handler cannot leave the map half-changed: every change is one call.
        self.groups.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn run_group(self: Arc<Self>, group: String) {
        loop {
            let head = {
                let mut groups = self.lock();
                match groups.get(&group).and_then(|q| q.front().cloned()) {
                    Some(head) => head,
                    None => {
                        groups.remove(&group);
                        if groups.is_empty() {
                            self.drained.notify_waiters();
                        }
                        return;
                    }
                }
            };
            let wait = {
                let _permit = self.permits.acquire().await;
                (self.handler)(head).await
            };
            match wait {
                None => {
                    if let Some(queue) = self.lock().get_mut(&group) {
                        queue.pop_front();
                    }
                }
                Some(wait) => {
                    let wait = self.max_wait.map_or(wait, |max| wait.min(max));
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}

#[async_trait]
impl DeliveryQueue for InProcessDeliveryQueue {
    async fn enqueue(&self, deliveries: &[QueuedDelivery]) -> Result<(), QueueError> {
        let mut started = Vec::new();
        {
            let mut groups = self.inner.lock();
            for delivery in deliveries {
                let queue = groups.entry(delivery.group.clone()).or_default();
                if queue.is_empty() && !started.contains(&delivery.group) {
                    started.push(delivery.group.clone());
                }
                queue.push_back(delivery.clone());
            }
        }
        for group in started {
            tokio::spawn(self.inner.clone().run_group(group));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::TenantId;
    use crate::domain::webhook::EndpointId;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn delivery(group: &str, n: usize) -> QueuedDelivery {
        QueuedDelivery {
            tenant: TenantId::new("ten_a"),
            endpoint: EndpointId::generate(),
            delivery: format!("{group}-{n}"),
            group: group.to_owned(),
            replay: 0,
        }
    }

    #[tokio::test]
    async fn each_group_keeps_its_order_through_retries_and_groups_run_side_by_side() {
        let seen = Arc::new(Mutex::new(Vec::<String>::new()));
        let failures = Arc::new(AtomicUsize::new(0));
        let handler: TurnHandler = {
            let seen = seen.clone();
            let failures = failures.clone();
            Arc::new(move |d: QueuedDelivery| {
                let seen = seen.clone();
                let failures = failures.clone();
                Box::pin(async move {
                    // The second delivery of group a fails twice before it goes through.
                    if d.delivery == "a-1" && failures.fetch_add(1, Ordering::SeqCst) < 2 {
                        return Some(Duration::from_secs(3600));
                    }
                    seen.lock().unwrap().push(d.delivery);
                    None
                })
            })
        };
        let queue = InProcessDeliveryQueue::with_max_wait(handler, Duration::from_millis(5));
        let batch: Vec<_> = (0..4)
            .flat_map(|n| [delivery("a", n), delivery("b", n)])
            .collect();
        queue.enqueue(&batch).await.unwrap();
        tokio::time::timeout(Duration::from_secs(10), queue.drained())
            .await
            .expect("the queue drains");
        let seen = seen.lock().unwrap().clone();
        let of = |g: &str| -> Vec<String> {
            seen.iter().filter(|d| d.starts_with(g)).cloned().collect()
        };
        assert_eq!(of("a-"), ["a-0", "a-1", "a-2", "a-3"]);
        assert_eq!(of("b-"), ["b-0", "b-1", "b-2", "b-3"]);
        assert_eq!(failures.load(Ordering::SeqCst), 3);
        assert!(queue.is_empty());
    }
}
