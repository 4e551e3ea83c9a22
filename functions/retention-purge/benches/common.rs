//! What the purge benches share: a `Store` on fresh DynamoDB Local tables that counts every
//! item and index query it reads. Needs `MIZAN_TEST_DYNAMODB_ENDPOINT`.

use mizan_shared::adapters::dynamodb::DynamoStore;
use mizan_shared::domain::ids::{ContactId, MessageId, TenantId};
use mizan_shared::domain::retention::Category;
use mizan_shared::domain::time::Timestamp;
use mizan_shared::ports::clock::ManualClock;
use mizan_shared::ports::records::Record;
use mizan_shared::store::{layout, Store};
use mizan_test_support::counting::CountingReads;
use mizan_test_support::store::{
    dynamodb_client_at, endpoint, fresh_tables, store_over, DYNAMODB_ENDPOINT_VAR,
};
use std::sync::Arc;

pub struct Bench {
    pub store: Store,
    pub dynamo: Arc<DynamoStore>,
    pub counting: Arc<CountingReads>,
    pub dir: tempfile::TempDir,
}

impl Bench {
    /// Fresh tables, and a store whose clock is `now` that counts what it reads.
    pub async fn connect(now: Timestamp) -> Bench {
        let url = endpoint(DYNAMODB_ENDPOINT_VAR, "DynamoDB Local");
        let (records, keys) = fresh_tables(&dynamodb_client_at(&url)).await;
        let dynamo = Arc::new(records);
        let counting = Arc::new(CountingReads::new(dynamo.clone()));
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = store_over(
            counting.clone(),
            Arc::new(keys),
            dir.path(),
            Arc::new(ManualClock::at(now)),
        );
        Bench {
            store,
            dynamo,
            counting,
            dir,
        }
    }
}

/// An inbound message record of `tenant` as intake files it (content sealed, indexed under chat
/// content at `sent_at`), the `n`th of the bench.
pub fn message_record(tenant: &TenantId, n: u64, sent_at: Timestamp) -> Record {
    let contact = ContactId::parse(&format!("c{:04}", n % 1_000)).unwrap();
    let id = MessageId::parse(&format!("m{n:08}")).unwrap();
    let key = layout::message(tenant, &contact, &id);
    let mut record = Record::new(
        key.clone(),
        layout::kind::MESSAGE_IN,
        serde_json::json!({"direction": "inbound", "kind": "text"}),
    );
    record.sealed = Some(vec![7; 96]); // the size of a short sealed text
    record.time = Some(sent_at);
    record.retention = Some(layout::retention_entry(
        tenant,
        Category::ChatContent,
        &key,
        sent_at,
    ));
    record
}
