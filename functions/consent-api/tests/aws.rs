//! consent-api on the AWS adapters (DynamoDB Local; moto for S3, KMS and Secrets Manager), its
//! role's clients recorded: the IAM contract. Every sample request in `events/consent-api/`
//! (contact access and rectification, consent, restriction, take-over, settings, audit, API
//! keys, templates against a fake Graph API, a person's message) and then an erasure (archives,
//! records, the data key) go through the handler as its Lambda runs it, started from its secrets; then every AWS call it made is allowed by
//! `ConsentApiFunction`'s policy in `template.yaml`, and every action the policy grants is used.
//! Needs `MIZAN_TEST_DYNAMODB_ENDPOINT` and `MIZAN_TEST_AWS_ENDPOINT`.

mod support;

use mizan_consent_api::{handle, Deps, Wiring};
use mizan_shared::backend::Services;
use mizan_shared::config::{layered, Config};
use mizan_shared::domain::contact::ContactProfile;
use mizan_shared::domain::ids::WabaId;
use mizan_shared::domain::message::Direction;
use mizan_shared::ports::archives::ArchiveStore;
use mizan_test_support::aws_calls::AwsCalls;
use mizan_test_support::aws_emulators::{self, Deployment};
use mizan_test_support::fakes::graph::FakeGraph;
use mizan_test_support::store::HASH_KEY;
use mizan_test_support::{iam_policy, seed};
use std::sync::Arc;
use support::{event, sample_names, BUSINESS_ACCOUNT, PHONE, USER_ID, WA_ID};

/// Grants used by AWS on the function's behalf or on failure paths only. Each says why.
const INDIRECT: &[&str] = &[];

#[tokio::test]
async fn the_api_calls_exactly_what_its_iam_policy_grants() {
    let deployment = Deployment::create().await;
    let seed_role = deployment.role(None, HASH_KEY);
    let tenant = seed::tenant(&seed_role.store, "Atlas Tea", None, Some(PHONE)).await;
    let tenant = seed_role
        .store
        .attach_business_account(&tenant.id, &WabaId::new(BUSINESS_ACCOUNT))
        .await
        .unwrap();
    let token = seed::api_key(&seed_role.store, &tenant.id).await;
    // The template the sample campaign broadcasts, approved.
    seed::template(
        &seed_role.store,
        &tenant.id,
        ("order_update", "en_US"),
        mizan_shared::domain::template::TemplateCategory::Utility,
        "APPROVED",
        vec![serde_json::json!({"type": "BODY", "text": "Hi {{1}}, your order ships on {{2}}."})],
    )
    .await;
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

    let graph_secret = aws_emulators::create_secret(
        "mizan-graph",
        &serde_json::json!({ "MIZAN_WHATSAPP_ACCESS_TOKEN": "EAAG-aws-test" }),
    )
    .await;
    let calls = AwsCalls::default();
    let (role, values) = deployment
        .start_up(&calls, &[("GraphSecret", graph_secret)])
        .await;
    let fake_graph = FakeGraph::start().await;
    let env = |var: &str| (var == "MIZAN_GRAPH_BASE_URL").then(|| fake_graph.base_url.clone());
    let config = Config::from_lookup(layered(&env, &values, true).unwrap()).unwrap();
    let settings = <Deps as Wiring>::settings(&layered(&env, &values, true).unwrap()).unwrap();
    let ledger = Arc::new(
        mizan_shared::adapters::table_pace_ledger::TablePaceLedger::new(role.store.clone()),
    );
    let services = Services {
        store: role.store,
        pace_ledger: ledger,
        archives: Arc::new(role.archives),
        embedded: None,
        aws: None,
    };
    let deps = Deps::new(&services, &config, &settings).unwrap();

    let mut names = sample_names();
    // The erasure and the minor flag end the contact, closing the account ends everything:
    // they go last.
    names.retain(|n| {
        n != "post-erasure"
            && n != "post-minor"
            && n != "delete-template"
            && n != "post-account-close"
    });
    // The template is submitted before it is deleted.
    names.push("delete-template".into());
    names.push("post-erasure".into());
    names.push("post-account-close".into());
    assert!(names.len() >= 20, "the sample events are there");
    for name in &names {
        let answer = handle(&deps, event(name, &token)).await.unwrap();
        let status = answer.status().as_u16();
        assert!(status < 500, "{name}: {status}");
        if name == "post-campaigns" {
            assert_eq!(status, 202, "the sample campaign is made (its key too)");
        }
    }
    assert!(
        !seed_role.archives.exists(&archive).await.unwrap(),
        "the erasure removed the contact's archive"
    );

    iam_policy::assert_contract("ConsentApiFunction", &calls, INDIRECT);
}
