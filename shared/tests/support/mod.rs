//! Test harness: the same `Store` over the embedded backend or DynamoDB Local, with a clock the
//! test controls. DynamoDB tests need `MIZAN_TEST_DYNAMODB_ENDPOINT` (set by `infra/test.sh`) and
//! fail, never skip, without it.

#![allow(dead_code)]

use mizan_shared::adapters::dynamodb::tables::{create_table, data_table, key_table};
use mizan_shared::adapters::dynamodb::{DynamoKeyStore, DynamoStore};
use mizan_shared::adapters::embedded::{EmbeddedKeyStore, EmbeddedStore};
use mizan_shared::adapters::local_vault::LocalVault;
use mizan_shared::crypto::envelope::{CacheSettings, Envelope};
use mizan_shared::domain::identity_hash::IdentityHasher;
use mizan_shared::domain::time::Timestamp;
use mizan_shared::ports::clock::ManualClock;
use mizan_shared::ports::keys::KeyStore;
use mizan_shared::ports::records::RecordStore;
use mizan_shared::store::Store;
use std::sync::Arc;

pub const DYNAMODB_ENDPOINT_VAR: &str = "MIZAN_TEST_DYNAMODB_ENDPOINT";
pub const AWS_ENDPOINT_VAR: &str = "MIZAN_TEST_AWS_ENDPOINT";

/// The identity-hashing key of every harness's store.
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

pub fn endpoint(var: &str, what: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!(
            "{var} is not set: this test needs {what}. Run the whole suite with infra/test.sh, \
             which starts it, or export {var}=http://127.0.0.1:PORT"
        )
    })
}

pub fn dynamodb_client() -> aws_sdk_dynamodb::Client {
    let url = endpoint(DYNAMODB_ENDPOINT_VAR, "DynamoDB Local");
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

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", mizan_shared::domain::ids::random_id("t"))
}

pub fn build(
    records: Arc<dyn RecordStore>,
    keys: Arc<dyn KeyStore>,
    dir: tempfile::TempDir,
) -> Harness {
    let vault = LocalVault::open_or_create(&dir.path().join("master.key")).expect("local vault");
    let envelope = Arc::new(Envelope::new(
        Arc::new(vault),
        keys.clone(),
        CacheSettings::default(),
    ));
    let clock = Arc::new(ManualClock::at(Timestamp::from_millis(START)));
    let store = Store::new(
        records.clone(),
        envelope.clone(),
        Arc::new(IdentityHasher::new(HASH_KEY)),
        clock.clone(),
    );
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
    let client = dynamodb_client();
    let data = unique("data");
    let keys = unique("keys");
    create_table(&client, &data, &data_table())
        .await
        .expect("create data table");
    create_table(&client, &keys, &key_table())
        .await
        .expect("create key table");
    let dir = tempfile::tempdir().expect("temp dir");
    build(
        Arc::new(DynamoStore::new(client.clone(), data)),
        Arc::new(DynamoKeyStore::new(client, keys)),
        dir,
    )
}

/// Runs each listed case, an `async fn(Harness)`, once on the embedded backend and once on
/// DynamoDB Local: the one way every storage-facing suite covers both adapters.
#[allow(unused_macros)]
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(crate::support::embedded().await).await;
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(crate::support::dynamodb().await).await;
                }
            )*
        }
    };
}
