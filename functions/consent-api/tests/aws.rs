//! consent-api on the AWS adapters (DynamoDB Local; moto for S3, KMS and Secrets Manager), its
//! role's clients recorded: the IAM contract. Every sample request in `events/consent-api/`
//! (contact access and rectification, consent, restriction, take-over, settings, audit, API
//! keys) and then an erasure (archives, records, the data key) go through the handler as its
//! Lambda runs it, started from its secret; then every AWS call it made is allowed by
//! `ConsentApiFunction`'s policy in `template.yaml`, and every action the policy grants is used.
//! Needs `MIZAN_TEST_DYNAMODB_ENDPOINT` and `MIZAN_TEST_AWS_ENDPOINT`.

mod support;

use mizan_consent_api::{handle, Deps, Wiring};
use mizan_shared::backend::Services;
use mizan_shared::config::{layered, Config};
use mizan_shared::domain::contact::ContactProfile;
use mizan_shared::domain::message::Direction;
use mizan_shared::ports::archives::ArchiveStore;
use mizan_test_support::aws_calls::AwsCalls;
use mizan_test_support::aws_emulators::Deployment;
use mizan_test_support::store::HASH_KEY;
use mizan_test_support::{iam_policy, seed};
use std::sync::Arc;
use support::{event, sample_names, PHONE, USER_ID, WA_ID};

/// Grants used by AWS on the function's behalf or on failure paths only. Each says why.
const INDIRECT: &[&str] = &[];

#[tokio::test]
async fn the_api_calls_exactly_what_its_iam_policy_grants() {
    let deployment = Deployment::create().await;
    let seed_role = deployment.role(None, HASH_KEY);
    let tenant = seed::tenant(&seed_role.store, "Atlas Tea", None, Some(PHONE)).await;
    let token = seed::api_key(&seed_role.store, &tenant.id).await;
    let profile = ContactProfile {
        user_id: Some(USER_ID.into()),
        ..seed::profile(WA_ID)
    };
    let contact = seed_role
        .store
        .upsert_contact(&tenant.id, &profile)
        .await
        .unwrap()
        .contact
        .value
        .id;
    seed::text_message(
        &seed_role.store,
        (&tenant.id, &contact),
        "wamid.API1",
        Direction::Inbound,
        "hello",
        seed_role.store.now(),
    )
    .await;
    let (_, archive) = seed::ready_export(
        &seed_role.store,
        &seed_role.archives,
        &tenant.id,
        &contact,
        7,
    )
    .await;

    let calls = AwsCalls::default();
    let (role, values) = deployment.start_up(&calls, &[]).await;
    let env = |_: &str| None;
    let config = Config::from_lookup(layered(&env, &values, true).unwrap()).unwrap();
    let services = Services {
        store: role.store,
        archives: Arc::new(role.archives),
        embedded: None,
    };
    let deps = Deps::new(&services, &config, &()).unwrap();

    let mut names = sample_names();
    // The erasure and the minor flag end the contact: they go last.
    names.retain(|n| n != "post-erasure" && n != "post-minor");
    names.push("post-erasure".into());
    assert!(names.len() >= 20, "the sample events are there");
    for name in &names {
        let answer = handle(&deps, event(name, &token)).await.unwrap();
        let status = answer.status().as_u16();
        assert!(status < 500, "{name}: {status}");
    }
    assert!(
        !seed_role.archives.exists(&archive).await.unwrap(),
        "the erasure removed the contact's archive"
    );

    iam_policy::assert_contract("ConsentApiFunction", &calls, INDIRECT);
}
