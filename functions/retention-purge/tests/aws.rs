//! retention-purge on the AWS adapters (DynamoDB Local; moto for S3, KMS and Secrets Manager),
//! its role's clients recorded: the IAM contract. Every AWS call the purge makes while it strips
//! content, deletes metadata, completes an erasure (archives, records, the data key), retires an
//! idle contact and removes an expired export is allowed by `RetentionPurgeFunction`'s policy in
//! `template.yaml`, and every action the policy grants is used. The purge's role may not read
//! or unwrap data keys: a KMS call or a key-table read would show here as denied. Needs
//! `MIZAN_TEST_DYNAMODB_ENDPOINT` and `MIZAN_TEST_AWS_ENDPOINT` (set by `infra/test.sh`).

use mizan_shared::adapters::dynamodb::DynamoKeyStore;
use mizan_shared::adapters::refusing_archives::RefusingArchives;
use mizan_shared::adapters::s3_archives::S3ArchiveDeleter;
use mizan_shared::domain::audit::{Actor, AuditEvent};
use mizan_shared::domain::message::Direction;
use mizan_shared::domain::time::days;
use mizan_shared::ports::archives::ArchiveStore;
use mizan_shared::ports::clock::Clock;
use mizan_shared::ports::keys::{KeyContext, KeyStore};
use mizan_shared::store::ErasureReason;
use mizan_shared::workflows::purge::{self, PurgeOptions};
use mizan_test_support::aws_calls::AwsCalls;
use mizan_test_support::aws_emulators::{self, Deployment};
use mizan_test_support::store::HASH_KEY;
use mizan_test_support::{iam_policy, seed};
use std::sync::Arc;

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
    let (_, expiring) = seed::ready_export(&seed.store, &seed.archives, &tenant.id, &kept, 7).await;
    let (_, erased_archive) =
        seed::ready_export(&seed.store, &seed.archives, &tenant.id, &erased, 30).await;
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
    let (role, _) = deployment.start_up(&calls, &[]).await;
    // The archives as the function wires them: deletion only.
    let archives = RefusingArchives::deleting_only(Arc::new(S3ArchiveDeleter::new(
        aws_emulators::s3(Some(&calls)),
        deployment.bucket.clone(),
    )));
    // Day 31: content past the chat retention, the erasure, the 7-day export.
    deployment.clock.advance(days(31));
    let report = purge::run(
        &role.store,
        &archives,
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
        &archives,
        PurgeOptions::at(deployment.clock.now()),
    )
    .await
    .unwrap();
    assert_eq!(report.failures(), 0, "{report:?}");
    let kept_key = KeyContext::new(tenant.id.clone(), kept.clone());
    assert!(keys.get(&kept_key).await.unwrap().is_none(), "retired");

    iam_policy::assert_contract("RetentionPurgeFunction", &calls, INDIRECT);
}

/// The purge's and consent-api's archives delete and refuse anything else, saying so.
#[tokio::test]
async fn archives_for_deletion_only_delete() {
    let deployment = Deployment::create().await;
    let seed = deployment.role(None, HASH_KEY);
    let tenant = seed::tenant(&seed.store, "Atlas Tea", None, None).await;
    let contact = seed::contact(&seed.store, &tenant.id, "212600000503").await;
    let (_, archive) =
        seed::ready_export(&seed.store, &seed.archives, &tenant.id, &contact, 7).await;
    let deletion = RefusingArchives::deleting_only(Arc::new(S3ArchiveDeleter::new(
        aws_emulators::s3(None),
        deployment.bucket.clone(),
    )));
    let refused = |e: mizan_shared::ports::archives::ArchiveError| e.to_string();
    assert!(refused(deletion.exists(&archive).await.unwrap_err()).contains("only deletes"));
    assert!(refused(deletion.read(&archive).await.unwrap_err()).contains("only deletes"));
    assert!(deletion.create("exports/x.zip").await.is_err());
    assert!(seed.archives.exists(&archive).await.unwrap());
    deletion.delete(&archive).await.unwrap();
    deletion.delete(&archive).await.unwrap(); // again: nothing left, still fine
    assert!(!seed.archives.exists(&archive).await.unwrap());
}
