//! The system as the local runner wires it (embedded backend, every service connected), on a
//! clock the test moves, with the data table's change feed read as the DynamoDB Streams events
//! Lambda would deliver: what the function suites build their `Deps` from (`Deps::new`).

use crate::store::START;
use aws_lambda_events::event::dynamodb::Event;
use mizan_shared::adapters::embedded::stream_event::to_stream_event;
use mizan_shared::adapters::embedded::EmbeddedStore;
use mizan_shared::backend::{self, Services};
use mizan_shared::config::Config;
use mizan_shared::domain::time::Timestamp;
use mizan_shared::ports::clock::{Clock, ManualClock, SystemClock};
use mizan_shared::store::Store;
use std::sync::{Arc, Mutex};

/// The hash key of every test system (the sample events' ids are computed with it).
pub const SYSTEM_HASH_KEY: [u8; 32] = [9; 32];

pub struct TestSystem {
    pub config: Config,
    pub services: Services,
    /// `None` for a system on the real clock ([`TestSystem::start_in_real_time`]).
    manual_clock: Option<Arc<ManualClock>>,
    pub embedded: EmbeddedStore,
    /// The change feed's position the next stream event starts after.
    position: Mutex<i64>,
    pub dir: tempfile::TempDir,
}

impl TestSystem {
    /// A fresh embedded system on a manual clock at [`START`], with [`SYSTEM_HASH_KEY`], with
    /// full durability unless `MIZAN_EMBEDDED_DURABILITY` says otherwise (the benches measure
    /// both).
    pub async fn start() -> TestSystem {
        let clock = Arc::new(ManualClock::at(Timestamp::from_millis(START)));
        TestSystem::start_on(clock.clone(), Some(clock)).await
    }

    /// The same on the real clock, for suites whose order of events is the order they happen
    /// in (audit trails read newest first).
    pub async fn start_in_real_time() -> TestSystem {
        TestSystem::start_on(Arc::new(SystemClock), None).await
    }

    async fn start_on(clock: Arc<dyn Clock>, manual_clock: Option<Arc<ManualClock>>) -> TestSystem {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = Config {
            embedded_durability: Config::from_env()
                .map(|c| c.embedded_durability)
                .unwrap_or_default(),
            ..Config::embedded(dir.path().to_owned(), SYSTEM_HASH_KEY)
        };
        let services = backend::connect_with_clock(&config, clock)
            .await
            .expect("connect the embedded backend");
        let embedded = services.embedded.clone().expect("the embedded backend");
        TestSystem {
            config,
            services,
            manual_clock,
            embedded,
            position: Mutex::new(0),
            dir,
        }
    }

    /// The clock the test moves.
    pub fn clock(&self) -> &ManualClock {
        self.manual_clock
            .as_deref()
            .expect("a system started on the manual clock")
    }

    pub fn store(&self) -> &Store {
        &self.services.store
    }

    /// What changed since the last call, as the DynamoDB Streams event Lambda would deliver.
    pub async fn stream_event(&self) -> Event {
        let from = *self.position.lock().expect("position");
        let changes = self
            .embedded
            .changes_after(from, 10_000)
            .await
            .expect("read the change feed");
        if let Some(last) = changes.last() {
            *self.position.lock().expect("position") = last.seq;
        }
        to_stream_event(&changes).expect("changes as a stream event")
    }

    /// Forgets what changed so far: the next stream event starts from here.
    pub async fn skip_changes(&self) {
        while !self.stream_event().await.records.is_empty() {}
    }
}
