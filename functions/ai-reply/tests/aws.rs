//! ai-reply on the AWS adapters (DynamoDB Local; moto for KMS and Secrets Manager; a fake Graph
//! API), its role's clients recorded: the IAM contract. Stream records of new inbound messages,
//! as DynamoDB Streams delivers them, are answered by the handler as its Lambda runs it, started
//! from its secrets: a question (its first send refused retryably, so the claim is given back,
//! then answered with statuses reported before the reply was stored) and a request for a person
//! (the hand-off takes the conversation over); and a person's accepted answer, sent from its
//! order's record. Then every AWS call it made is allowed by
//! `AiReplyFunction`'s policy in `template.yaml`, and every action the policy grants is used.
//! Needs `MIZAN_TEST_DYNAMODB_ENDPOINT` and `MIZAN_TEST_AWS_ENDPOINT`.

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use mizan_ai_reply::{handle_batch, Deps, Outcome};
use mizan_shared::adapters::backoff::RetryPolicy;
use mizan_shared::adapters::faq::FaqResponder;
use mizan_shared::adapters::graph::{GraphMessenger, GraphSettings};
use mizan_shared::adapters::table_pace_ledger::TablePaceLedger;
use mizan_shared::config::{layered, ExportConfig, ReplyConfig};
use mizan_shared::domain::audit::{Actor, AuditEvent};
use mizan_shared::domain::download_token::TokenSigner;
use mizan_shared::domain::ids::{ApiKeyId, Wamid};
use mizan_shared::domain::message::{Direction, Message, MessageContent, MessageKind, Status};
use mizan_shared::domain::reply::ReplyKind;
use mizan_shared::store::OutboundOrder;
use mizan_shared::store::{layout, StatusFields, Store};
use mizan_shared::workflows::outbound_send::SendOutcome;
use mizan_shared::workflows::rights_chat::ExportLinks;
use mizan_test_support::aws_calls::AwsCalls;
use mizan_test_support::aws_emulators::{self, Deployment};
use mizan_test_support::fakes::graph::{FakeGraph, Send};
use mizan_test_support::store::HASH_KEY;
use mizan_test_support::{events, iam_policy, seed};
use std::sync::Arc;
use std::time::Duration;

const PHONE: &str = "100000000000001";

/// The stream record DynamoDB Streams delivers for the insert of `message`.
async fn inserted(store: &Store, message: &Message, sequence: u64) -> EventRecord {
    let key = layout::message(&message.tenant, &message.contact, &message.id);
    events::stream_insert(store, key, sequence).await
}

/// Grants used by AWS on the function's behalf or on failure paths only. Each says why.
const INDIRECT: &[&str] = &[
    // Lambda's on-failure destination sends with the function's role.
    "sqs:SendMessage",
];

#[tokio::test]
async fn ai_reply_calls_exactly_what_its_iam_policy_grants() {
    let deployment = Deployment::create().await;
    let seed_role = deployment.role(None, HASH_KEY);
    let tenant = seed::tenant(&seed_role.store, "Atlas Tea", None, Some(PHONE)).await;
    let now = seed_role.store.now();
    let mut messages = Vec::new();
    for (wa_id, wamid, text) in [
        ("212600000601", "wamid.Q1", "What are your opening hours?"),
        ("212600000602", "wamid.H1", "Can I talk to a human please?"),
        ("212600000603", "wamid.D1", "delete my data"),
    ] {
        let contact = seed::contact(&seed_role.store, &tenant.id, wa_id).await;
        let message = seed::text_message(
            &seed_role.store,
            (&tenant.id, &contact),
            wamid,
            Direction::Inbound,
            text,
            now,
        )
        .await;
        messages.push(message);
    }
    // Meta reports the reply delivered before ai-reply has stored it (the fake's first id).
    seed_role
        .store
        .record_status(
            &tenant.id,
            None,
            &Wamid::new("wamid.FAKE0001"),
            StatusFields {
                status: Status::Delivered,
                at: now,
                errors: vec![],
                billing: None,
            },
        )
        .await
        .unwrap();

    let graph_secret = aws_emulators::create_secret(
        "mizan-graph",
        &serde_json::json!({ "MIZAN_WHATSAPP_ACCESS_TOKEN": "EAAG-aws-test" }),
    )
    .await;
    let reply_secret = aws_emulators::create_secret(
        "mizan-reply",
        &serde_json::json!({ "MIZAN_AI_API_KEY": "sk-aws-test" }),
    )
    .await;
    let export_secret = aws_emulators::create_secret(
        "mizan-export",
        &serde_json::json!({ "MIZAN_EXPORT_TOKEN_SECRET": "ab".repeat(32) }),
    )
    .await;
    let calls = AwsCalls::default();
    let (role, values) = deployment
        .start_up(
            &calls,
            &[
                ("GraphSecret", graph_secret),
                ("ReplySecret", reply_secret),
                ("ExportSecret", export_secret),
            ],
        )
        .await;
    let env = |var: &str| {
        (var == "MIZAN_PUBLIC_BASE_URL").then(|| "https://api.atlas.example".to_owned())
    };
    let settings = layered(&env, &values, true).unwrap();
    let reply = ReplyConfig::from_lookup(&settings).unwrap();
    let export = ExportConfig::from_lookup(&settings).unwrap();
    let graph = FakeGraph::start().await;
    let links = Arc::new(ExportLinks {
        signer: Arc::new(TokenSigner::new(export.token_secret.unwrap().to_vec())),
        base_url: export.public_base_url.clone().unwrap(),
    });
    let deps = deps_of(role.store, &reply, &graph).with_links(Some(links));

    let mut question = Event::default();
    question.records = vec![inserted(&seed_role.store, &messages[0], 1).await];
    // WhatsApp is unavailable: nothing went out, the claim is given back for the retry.
    graph.script([Send::Error {
        status: 503,
        code: 131000,
    }]);
    let first = handle_batch(&deps, question.clone()).await;
    assert_eq!(first.failures.len(), 1, "{first:?}");
    let retried = handle_batch(&deps, question).await;
    assert!(
        matches!(retried.outcomes[0].2, Outcome::Replied(ReplyKind::Answer)),
        "{retried:?}"
    );
    let mut hand_off = Event::default();
    hand_off.records = vec![inserted(&seed_role.store, &messages[1], 2).await];
    let handed = handle_batch(&deps, hand_off).await;
    assert!(
        matches!(handed.outcomes[0].2, Outcome::Replied(ReplyKind::HandOff)),
        "{handed:?}"
    );
    let taken = seed_role
        .store
        .contact_state(&tenant.id, &messages[1].contact)
        .await
        .unwrap()
        .unwrap();
    assert!(taken.value.taken_over);

    // A person's answer to the first contact (still in the window), accepted by the API: the
    // sender sends it from its order's stream record.
    let answer = Message::from_agent(
        tenant.id.clone(),
        messages[0].contact.clone(),
        ApiKeyId::new("key_0123456789ab"),
        MessageKind::Text,
        MessageContent::text("Our shop opens at 9."),
        None,
        seed_role.store.now(),
    );
    let order = OutboundOrder::for_message(&answer, None).unwrap();
    let audit = AuditEvent::new(
        tenant.id.clone(),
        Actor::System("test".into()),
        "message.accepted",
        None,
        seed_role.store.now(),
    );
    seed_role
        .store
        .accept_outbound(&answer, &order, None, &audit)
        .await
        .unwrap();
    let mut send = Event::default();
    send.records = vec![
        events::stream_insert(
            &seed_role.store,
            layout::outbound_order(&tenant.id, &answer.contact, &answer.id),
            3,
        )
        .await,
    ];
    let sent = handle_batch(&deps, send).await;
    assert_eq!(sent.sends.len(), 1, "{sent:?}");
    assert_eq!(sent.sends[0].2, Some(SendOutcome::Sent), "{sent:?}");

    // A person erases their data in the chat: the question with its code, then the code.
    let erasing = &messages[2];
    let mut question = Event::default();
    question.records = vec![inserted(&seed_role.store, erasing, 4).await];
    let asked = handle_batch(&deps, question).await;
    assert!(
        matches!(
            asked.outcomes[0].2,
            Outcome::Replied(ReplyKind::RightsAnswer)
        ),
        "{asked:?}"
    );
    let code = seed_role
        .store
        .pending_erasure(&tenant.id, &erasing.contact)
        .await
        .unwrap()
        .unwrap()
        .value
        .code;
    let confirmation = seed::text_message(
        &seed_role.store,
        (&tenant.id, &erasing.contact),
        "wamid.D2",
        Direction::Inbound,
        &format!("DELETE {code}"),
        seed_role.store.now(),
    )
    .await;
    let mut confirm = Event::default();
    confirm.records = vec![inserted(&seed_role.store, &confirmation, 5).await];
    let erased = handle_batch(&deps, confirm).await;
    assert!(erased.failures.is_empty(), "{erased:?}");
    assert!(seed_role
        .store
        .contact_state(&tenant.id, &erasing.contact)
        .await
        .unwrap()
        .is_none());

    iam_policy::assert_contract("AiReplyFunction", &calls, INDIRECT);
}

/// The campaign sender on the AWS adapters, started from its secrets as its Lambda starts: a
/// campaign to a consenting contact and to one who opted out of everything is prepared, sent
/// (the gate asked, the parameters opened, the message sealed and recorded) and completed; every
/// AWS call is allowed by `CampaignSenderFunction`'s policy and every grant is used.
/// The campaign sender's grants used on failure paths only. Each says why.
const CAMPAIGN_INDIRECT: &[&str] = &[
    // Removing the message of a send that did not happen (throttled, or a crashed sender's claim
    // that never reached Meta) before it is made again.
    "dynamodb:BatchWriteItem",
];

#[tokio::test]
async fn the_campaign_sender_calls_exactly_what_its_iam_policy_grants() {
    use mizan_shared::domain::campaign::CampaignRequest;
    use mizan_shared::domain::consent::{ConsentAction, ConsentEvent, Purpose};
    use mizan_shared::domain::template::TemplateCategory;
    use mizan_shared::workflows::campaign_send::Pacer;

    let deployment = Deployment::create().await;
    let seed_role = deployment.role(None, HASH_KEY);
    let tenant = seed::tenant(&seed_role.store, "Atlas Tea", None, Some(PHONE)).await;
    seed::template(
        &seed_role.store,
        &tenant.id,
        ("order_update", "en_US"),
        TemplateCategory::Utility,
        "APPROVED",
        vec![serde_json::json!({"type": "BODY", "text": "Order {{1}} ships today."})],
    )
    .await;
    seed::contact(&seed_role.store, &tenant.id, "212600000701").await;
    let stopped = seed::contact(&seed_role.store, &tenant.id, "212600000702").await;
    let stop = ConsentEvent::from_api(
        tenant.id.clone(),
        stopped,
        seed_role.store.now(),
        Purpose::All,
        ConsentAction::OptOut,
        "aws-test:1".into(),
        &ApiKeyId::new("key_0123456789ab"),
    );
    seed_role.store.record_consent(&stop, None).await.unwrap();
    // A segment campaign too: resolving it reads the contacts from the retention index.
    seed::template(
        &seed_role.store,
        &tenant.id,
        ("spring_sale", "en"),
        TemplateCategory::Marketing,
        "APPROVED",
        vec![
            serde_json::json!({"type": "BODY", "text": "Spring sale, {{1}}!"}),
            serde_json::json!({"type": "FOOTER", "text": "Reply STOP to opt out"}),
        ],
    )
    .await;
    let subscriber = seed::contact(&seed_role.store, &tenant.id, "212600000703").await;
    let opt_in = ConsentEvent::from_api(
        tenant.id.clone(),
        subscriber,
        seed_role.store.now(),
        Purpose::Marketing,
        ConsentAction::OptIn,
        "aws-test:2".into(),
        &ApiKeyId::new("key_0123456789ab"),
    );
    seed_role.store.record_consent(&opt_in, None).await.unwrap();
    let segment: CampaignRequest = serde_json::from_value(serde_json::json!({
        "name": "Spring", "template": {"name": "spring_sale", "language": "en"},
        "parameters": {"body": {"1": "friend"}},
        "audience": {"segment": "marketing_opted_in"}
    }))
    .unwrap();
    mizan_shared::workflows::campaigns::create(
        &seed_role.store,
        &tenant,
        &ApiKeyId::new("key_0123456789ab"),
        segment.check().unwrap(),
    )
    .await
    .unwrap();
    let request: CampaignRequest = serde_json::from_value(serde_json::json!({
        "name": "Shipping", "template": {"name": "order_update", "language": "en_US"},
        "audience": {"contacts": [
            {"contact": "212600000701", "parameters": {"body": {"1": "#4821"}}},
            {"contact": "212600000702", "parameters": {"body": {"1": "#4822"}}}
        ]}
    }))
    .unwrap();
    mizan_shared::workflows::campaigns::create(
        &seed_role.store,
        &tenant,
        &ApiKeyId::new("key_0123456789ab"),
        request.check().unwrap(),
    )
    .await
    .unwrap();

    let graph_secret = aws_emulators::create_secret(
        "mizan-graph-campaigns",
        &serde_json::json!({ "MIZAN_WHATSAPP_ACCESS_TOKEN": "EAAG-aws-test" }),
    )
    .await;
    let calls = AwsCalls::default();
    let (role, values) = deployment
        .start_up(&calls, &[("GraphSecret", graph_secret)])
        .await;
    let env = |_: &str| None;
    let reply = ReplyConfig::from_lookup(layered(&env, &values, true).unwrap()).unwrap();
    let graph = FakeGraph::start().await;
    let deps = deps_of(role.store, &reply, &graph);
    let mut context = lambda_runtime::Context::default();
    context.deadline = u64::try_from(deps.store.now().as_millis()).unwrap() + 60_000;
    let event = lambda_runtime::LambdaEvent::new(serde_json::json!({}), context);
    // The pacer reads the number's other sends from the ledger in the table.
    let pacer = Pacer::default().leaving_room_for(deps.pace_ledger.clone());
    let report = mizan_ai_reply::campaigns::handle(&deps, &pacer, deps.store.now(), event)
        .await
        .unwrap();
    // The listed campaign: one sent, one opted out; the segment: its one subscriber.
    assert_eq!(
        (report.sent, report.skipped, report.completed),
        (2, 1, 2),
        "{report:?}"
    );
    assert_eq!(
        graph
            .requests()
            .iter()
            .filter(|r| r.body["type"] == "template")
            .count(),
        2
    );

    iam_policy::assert_contract("CampaignSenderFunction", &calls, CAMPAIGN_INDIRECT);
}

/// The function's dependencies as its start-up builds them, sending to `graph`.
fn deps_of(store: mizan_shared::store::Store, reply: &ReplyConfig, graph: &FakeGraph) -> Deps {
    let messenger = GraphMessenger::new(GraphSettings {
        base_url: graph.base_url.clone(),
        version: reply.graph.version.clone(),
        access_token: reply.require_graph_token().unwrap(),
        timeout: Duration::from_secs(2),
        retry: RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        },
    });
    let ledger = Arc::new(TablePaceLedger::new(store.clone()));
    Deps::from_parts(
        store,
        Arc::new(FaqResponder),
        Arc::new(messenger),
        ledger,
        reply.history,
    )
}
