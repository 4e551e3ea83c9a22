//! What the suites of business-events share: the embedded system, a tenant as the sample
//! events name it, an endpoint at a local receiver, and recording stand-ins of the queues.

#![allow(dead_code)]

use async_trait::async_trait;
use aws_lambda_events::event::dynamodb::EventRecord;
use mizan_business_events::{RouterDeps, SenderDeps};
use mizan_shared::adapters::webhook_http::HttpWebhookPoster;
use mizan_shared::domain::audit::Actor;
use mizan_shared::domain::tenant::Tenant;
use mizan_shared::domain::webhook::{UrlPolicy, WebhookEndpoint};
use mizan_shared::ports::change_forward::ChangeForward;
use mizan_shared::ports::webhook_delivery::{QueueError, Redelivery};
use mizan_shared::store::Store;
use mizan_shared::workflows::webhooks::{Endpoints, NewEndpoint};
use mizan_test_support::receiver::RecordingQueue;
use mizan_test_support::seed;
use mizan_test_support::system::TestSystem;
use secrecy::SecretString;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The tenant the sample events of `events/change-router/` belong to.
pub const SAMPLE_TENANT: &str = "ten_0123456789abcdef0123456789abcdef";
pub const PHONE: &str = "100000000000001";
pub const WA_ID: &str = "212600000001";

/// The runner's policy: the receiver listens on a loopback port.
pub const LOOPBACK: UrlPolicy = UrlPolicy {
    allow_loopback: true,
};

pub fn events_dir(function: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../events/{function}"))
}

/// Export jobs handed on, in order.
#[derive(Default)]
pub struct RecordingForward {
    pub records: Mutex<Vec<EventRecord>>,
    pub down: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl ChangeForward for RecordingForward {
    async fn forward(&self, records: &[EventRecord]) -> Result<(), QueueError> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(QueueError("the export job queue is down".into()));
        }
        self.records.lock().unwrap().extend_from_slice(records);
        Ok(())
    }
}

/// Retry waits asked for, by receipt handle.
#[derive(Default)]
pub struct RecordingRedelivery(pub Mutex<Vec<(String, Duration)>>);

#[async_trait]
impl Redelivery for RecordingRedelivery {
    async fn redeliver_after(&self, receipt: &str, wait: Duration) -> Result<(), QueueError> {
        self.0.lock().unwrap().push((receipt.to_owned(), wait));
        Ok(())
    }
}

pub struct Harness {
    pub system: TestSystem,
    pub tenant: Tenant,
    pub queue: Arc<RecordingQueue>,
    pub forward: Arc<RecordingForward>,
    pub redelivery: Arc<RecordingRedelivery>,
    pub router: RouterDeps,
    pub sender: SenderDeps,
}

impl Harness {
    pub fn store(&self) -> &Store {
        self.system.store()
    }

    /// An endpoint of the tenant at `url` for `events`, and its secret.
    pub async fn endpoint(&self, url: &str, events: &[&str]) -> (WebhookEndpoint, SecretString) {
        Endpoints {
            store: self.store(),
            policy: LOOPBACK,
        }
        .add(
            &self.tenant.id,
            Actor::Admin,
            NewEndpoint {
                url: url.to_owned(),
                events: events.iter().map(|e| e.to_string()).collect(),
                description: None,
            },
        )
        .await
        .expect("the endpoint is added")
    }
}

pub async fn harness() -> Harness {
    let system = TestSystem::start().await;
    let tenant = seed::tenant(
        system.store(),
        "Atlas Tea",
        Some(SAMPLE_TENANT),
        Some(PHONE),
    )
    .await;
    let queue = Arc::new(RecordingQueue::default());
    let forward = Arc::new(RecordingForward::default());
    let redelivery = Arc::new(RecordingRedelivery::default());
    let router = RouterDeps {
        store: system.store().clone(),
        deliveries: queue.clone(),
        export_jobs: Some(forward.clone()),
        analytics: None,
    };
    let sender = SenderDeps {
        store: system.store().clone(),
        poster: Arc::new(HttpWebhookPoster::new(LOOPBACK)),
        redelivery: redelivery.clone(),
    };
    Harness {
        system,
        tenant,
        queue,
        forward,
        redelivery,
        router,
        sender,
    }
}
