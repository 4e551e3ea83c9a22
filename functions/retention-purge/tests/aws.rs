//! retention-purge on the AWS adapters (DynamoDB Local; moto for S3, KMS and Secrets Manager),
//! its role's clients recorded: the IAM contract. Every AWS call the purge makes while it strips
//! content, deletes metadata, completes an erasure (archives, records, the data key), retires an
//! idle contact and removes an expired export is allowed by `RetentionPurgeFunction`'s policy in
//! `template.yaml`, and every action the policy grants is used. The purge's role may not read
//! or unwrap data keys: a KMS call or a key-table read would show here as denied. Needs
//! `MIZAN_TEST_DYNAMODB_ENDPOINT` and `MIZAN_TEST_AWS_ENDPOINT` (set by `infra/test.sh`).

use mizan_shared::adapters::dynamodb::tables::{create_table, data_table, key_table};
use mizan_shared::adapters::dynamodb::{DynamoKeyStore, DynamoStore};
use mizan_shared::adapters::kms::KmsVault;
use mizan_shared::adapters::s3_archives::S3Archives;
use mizan_shared::config::{layered, Config};
use mizan_shared::crypto::envelope::{CacheSettings, Envelope};
use mizan_shared::domain::audit::{Actor, AuditEvent};
use mizan_shared::domain::export::{ExportJob, ExportScope, ExportState};
use mizan_shared::domain::identity_hash::IdentityHasher;
use mizan_shared::domain::ids::{ContactId, ExportId};
use mizan_shared::domain::message::Direction;
use mizan_shared::domain::tenant::Tenant;
use mizan_shared::domain::time::{days, Timestamp};
use mizan_shared::ports::archives::ArchiveStore;
use mizan_shared::ports::clock::{Clock, ManualClock};
use mizan_shared::ports::keys::{KeyContext, KeyStore};
use mizan_shared::store::{ErasureReason, Store};
use mizan_shared::workflows::purge::{self, PurgeOptions};
use mizan_test_support::aws_calls::AwsCalls;
use mizan_test_support::store::{unique, HASH_KEY, START};
use mizan_test_support::{aws_emulators, iam_policy, seed};
use serde_json::json;
use std::sync::Arc;

/// One role's view of the deployment: a store and archives over its own clients.
struct Role {
    store: Store,
    archives: S3Archives,
}

struct Deployment {
    data: String,
    keys: String,
    key_id: String,
    key_arn: String,
    bucket: String,
    core_secret: String,
    clock: Arc<ManualClock>,
}

impl Deployment {
    async fn create() -> Deployment {
        let dynamodb = aws_emulators::dynamodb(None);
        let (data, keys) = (unique("data"), unique("keys"));
        create_table(&dynamodb, &data, &data_table()).await.unwrap();
        create_table(&dynamodb, &keys, &key_table()).await.unwrap();
        let key = aws_emulators::kms(None)
            .create_key()
            .description("mizan purge test")
            .send()
            .await
            .unwrap();
        let key = key.key_metadata().unwrap();
        let bucket = unique("exports").replace('_', "-").to_lowercase();
        aws_emulators::s3(None)
            .create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
        let core_secret = aws_emulators::create_secret(
            "mizan-core",
            &json!({ "MIZAN_HASH_KEY": hex::encode(HASH_KEY) }),
        )
        .await;
        Deployment {
            data,
            keys,
            key_id: key.key_id().to_owned(),
            key_arn: key.arn().unwrap().to_owned(),
            bucket,
            core_secret,
            clock: Arc::new(ManualClock::at(Timestamp::from_millis(START))),
        }
    }

    /// The role's clients, recorded when `recorder` is given, with the resources named by their
    /// logical ids in `template.yaml`; the hash key is the one the role read from its secret.
    fn role(&self, recorder: Option<&AwsCalls>, hash_key: [u8; 32]) -> Role {
        if let Some(r) = recorder {
            r.name(&self.data, "DataTable");
            r.name(&self.keys, "KeyTable");
            r.name(&self.bucket, "ExportBucket");
            r.name(&self.key_id, "DataKey");
            r.name(&self.key_arn, "DataKey");
        }
        let dynamodb = aws_emulators::dynamodb(recorder);
        let envelope = Envelope::new(
            Arc::new(KmsVault::new(
                aws_emulators::kms(recorder),
                self.key_id.clone(),
            )),
            Arc::new(DynamoKeyStore::new(dynamodb.clone(), self.keys.clone())),
            CacheSettings::default(),
        );
        Role {
            store: Store::new(
                Arc::new(DynamoStore::new(dynamodb, self.data.clone())),
                Arc::new(envelope),
                Arc::new(IdentityHasher::new(hash_key)),
                self.clock.clone(),
            ),
            archives: S3Archives::new(
                aws_emulators::s3(recorder),
                self.bucket.clone(),
                self.key_arn.clone(),
            ),
        }
    }

    /// The purge's role as its Lambda starts: the hash key from its secret, then its clients.
    async fn purge_role(&self, recorder: &AwsCalls) -> Role {
        let values =
            aws_emulators::start_up_secrets(recorder, &[("CoreSecret", self.core_secret.clone())])
                .await;
        let env = |var: &str| (var == "MIZAN_DATA_DIR").then(|| "/unused".to_owned());
        let config = Config::from_lookup(layered(&env, &values, true).unwrap()).unwrap();
        self.role(Some(recorder), config.hash_key.unwrap())
    }
}

/// A ready export of `contact` whose archive is in the bucket, its link lasting `link_days`.
async fn export(
    role: &Role,
    tenant: &Tenant,
    contact: &ContactId,
    link_days: u64,
) -> (ExportJob, String) {
    let object_key = format!("{}/{}.zip", tenant.id, ExportId::generate());
    let mut upload = role.archives.create(&object_key).await.unwrap();
    upload.write_part(b"zip".to_vec()).await.unwrap();
    upload.finish().await.unwrap();
    let now = role.store.now();
    let mut job = ExportJob {
        id: ExportId::generate(),
        tenant: tenant.id.clone(),
        scope: ExportScope::Contact {
            contact: contact.clone(),
        },
        state: ExportState::Pending,
        requested_at: now,
        expires_at: now.plus(days(link_days)),
        requested_by: "key_1".into(),
        downloads: 0,
        last_audited_download_at: None,
        download_limit: None,
    };
    job.mark_ready(object_key.clone(), 3).unwrap();
    role.store.create_export(&job).await.unwrap();
    (job, object_key)
}

/// Grants used by AWS on the function's behalf or on failure paths only. Each says why.
const INDIRECT: &[&str] = &[];

#[tokio::test]
async fn the_purge_calls_exactly_what_its_iam_policy_grants() {
    let deployment = Deployment::create().await;
    let seed = deployment.role(None, HASH_KEY);
    let tenant = seed::tenant(&seed.store, "Atlas Tea", None, None).await;
    let kept = seed::contact(&seed.store, &tenant.id, "212600000501").await;
    let erased = seed::contact(&seed.store, &tenant.id, "212600000502").await;
    for (contact, wamid) in [(&kept, "wamid.P1"), (&erased, "wamid.P2")] {
        seed::text_message(
            &seed.store,
            (&tenant.id, contact),
            wamid,
            Direction::Inbound,
            "hello",
            seed.store.now(),
        )
        .await;
    }
    let (_, expiring) = export(&seed, &tenant, &kept, 7).await;
    let (_, erased_archive) = export(&seed, &tenant, &erased, 30).await;
    let found = seed
        .store
        .contact(&tenant.id, &erased)
        .await
        .unwrap()
        .unwrap();
    let audit = AuditEvent::new(
        tenant.id.clone(),
        Actor::Admin,
        "contact.erasure_requested",
        Some(erased.clone()),
        seed.store.now(),
    );
    seed.store
        .request_erasure(&found, ErasureReason::Request, &audit)
        .await
        .unwrap();

    let calls = AwsCalls::default();
    let role = deployment.purge_role(&calls).await;
    // Day 31: content past the chat retention, the erasure, the 7-day export.
    deployment.clock.advance(days(31));
    let report = purge::run(
        &role.store,
        &role.archives,
        PurgeOptions::at(deployment.clock.now()),
    )
    .await
    .unwrap();
    assert_eq!(report.failures(), 0, "{report:?}");
    assert!(!seed.archives.exists(&expiring).await.unwrap());
    assert!(!seed.archives.exists(&erased_archive).await.unwrap());
    let erased_key = KeyContext::new(tenant.id.clone(), erased.clone());
    let keys = DynamoKeyStore::new(aws_emulators::dynamodb(None), deployment.keys.clone());
    assert!(keys.get(&erased_key).await.unwrap().is_none(), "shredded");
    // Day 91: the metadata minimum, and the idle contact retired with its key.
    deployment.clock.advance(days(60));
    let report = purge::run(
        &role.store,
        &role.archives,
        PurgeOptions::at(deployment.clock.now()),
    )
    .await
    .unwrap();
    assert_eq!(report.failures(), 0, "{report:?}");
    let kept_key = KeyContext::new(tenant.id.clone(), kept.clone());
    assert!(keys.get(&kept_key).await.unwrap().is_none(), "retired");

    iam_policy::assert_contract("RetentionPurgeFunction", &calls, INDIRECT);
}
