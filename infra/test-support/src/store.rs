//! The same `Store` over the embedded backend or DynamoDB Local, with a clock the test controls:
//! what the storage contract suite and every storage-facing test runs on. DynamoDB tests need
//! `MIZAN_TEST_DYNAMODB_ENDPOINT` (set by `infra/test.sh`) and fail, never skip, without it.

use mizan_shared::adapters::dynamodb::tables::{create_table, data_table, key_table};
use mizan_shared::adapters::dynamodb::{DynamoKeyStore, DynamoStore};
use mizan_shared::adapters::embedded::{EmbeddedKeyStore, EmbeddedStore};
use mizan_shared::adapters::local_vault::LocalVault;
use mizan_shared::crypto::envelope::{CacheSettings, Envelope};
use mizan_shared::domain::identity_hash::IdentityHasher;
use mizan_shared::domain::time::Timestamp;
use mizan_shared::ports::clock::{Clock, ManualClock};
use mizan_shared::ports::keys::KeyStore;
use mizan_shared::ports::records::RecordStore;
use mizan_shared::store::Store;
use std::sync::Arc;

pub const DYNAMODB_ENDPOINT_VAR: &str = "MIZAN_TEST_DYNAMODB_ENDPOINT";
pub const AWS_ENDPOINT_VAR: &str = "MIZAN_TEST_AWS_ENDPOINT";

/// The identity-hashing key of every test store.
pub const HASH_KEY: [u8; 32] = [42; 32];

/// 2026-01-01T00:00:00Z: tests start here and move the clock forward.
pub const START: i64 = 1_767_225_600_000;

pub struct Harness {
    pub store: Store,
    pub records: Arc<dyn RecordStore>,
    pub keys: Arc<dyn KeyStore>,
    pub envelope: Arc<Envelope>,
    pub clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
}

impl Harness {
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }
}

/// The emulator's URL from `var`; a clear failure naming the variable when it is not set.
pub fn endpoint(var: &str, what: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!(
            "{var} is not set: this test needs {what}. Run the whole suite with infra/test.sh, \
             which starts it, or export {var}=http://127.0.0.1:PORT"
        )
    })
}

/// A DynamoDB client for the emulator at `url`, with test credentials.
pub fn dynamodb_client_at(url: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::config::Builder::new()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .endpoint_url(url)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// A client for DynamoDB Local at `MIZAN_TEST_DYNAMODB_ENDPOINT`.
pub fn dynamodb_client() -> aws_sdk_dynamodb::Client {
    dynamodb_client_at(&endpoint(DYNAMODB_ENDPOINT_VAR, "DynamoDB Local"))
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", mizan_shared::domain::ids::random_id("t"))
}

/// A fresh data table and key table, so tests and benches never see each other's data.
pub async fn fresh_tables(client: &aws_sdk_dynamodb::Client) -> (DynamoStore, DynamoKeyStore) {
    let (data, keys) = (unique("data"), unique("keys"));
    create_table(client, &data, &data_table())
        .await
        .expect("create data table");
    create_table(client, &keys, &key_table())
        .await
        .expect("create key table");
    (
        DynamoStore::new(client.clone(), data),
        DynamoKeyStore::new(client.clone(), keys),
    )
}

/// A `Store` over `records` and `keys`, sealing with a local master key in `dir`, hashing with
/// [`HASH_KEY`], on `clock`.
pub fn store_over(
    records: Arc<dyn RecordStore>,
    keys: Arc<dyn KeyStore>,
    dir: &std::path::Path,
    clock: Arc<dyn Clock>,
) -> (Store, Arc<Envelope>) {
    let vault = LocalVault::open_or_create(&dir.join("master.key")).expect("local vault");
    let envelope = Arc::new(Envelope::new(
        Arc::new(vault),
        keys,
        CacheSettings::default(),
    ));
    let store = Store::new(
        records,
        envelope.clone(),
        Arc::new(IdentityHasher::new(HASH_KEY)),
        clock,
    );
    (store, envelope)
}

pub fn build(
    records: Arc<dyn RecordStore>,
    keys: Arc<dyn KeyStore>,
    dir: tempfile::TempDir,
) -> Harness {
    let clock = Arc::new(ManualClock::at(Timestamp::from_millis(START)));
    let (store, envelope) = store_over(records.clone(), keys.clone(), dir.path(), clock.clone());
    Harness {
        store,
        records,
        keys,
        envelope,
        clock,
        _dir: dir,
    }
}

pub async fn embedded() -> Harness {
    let dir = tempfile::tempdir().expect("temp dir");
    let records = EmbeddedStore::open(dir.path()).expect("embedded store");
    let keys = EmbeddedKeyStore::open(dir.path()).expect("embedded key store");
    build(Arc::new(records), Arc::new(keys), dir)
}

/// Fresh tables per test, so tests never see each other's data.
pub async fn dynamodb() -> Harness {
    let (records, keys) = fresh_tables(&dynamodb_client()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    build(Arc::new(records), Arc::new(keys), dir)
}

/// Runs each listed case, an `async fn(Harness)`, once on the embedded backend and once on
/// DynamoDB Local: the one way every storage-facing suite covers both adapters.
#[macro_export]
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case($crate::store::embedded().await).await;
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case($crate::store::dynamodb().await).await;
                }
            )*
        }
    };
}
