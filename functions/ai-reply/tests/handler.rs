//! The ai-reply handler, driven by the DynamoDB Streams events in `events/ai-reply/` and by the
//! events the embedded change feed produces, against the embedded store, a fake Graph API and a
//! fake OpenAI-compatible server (local HTTP servers that answer like the real ones).

use aws_lambda_events::event::dynamodb::Event;
use mizan_ai_reply::{handle, handle_batch, Deps, Outcome};
use mizan_shared::adapters::backoff::RetryPolicy;
use mizan_shared::adapters::faq::FaqResponder;
use mizan_shared::adapters::graph::{GraphMessenger, GraphSettings};
use mizan_shared::adapters::in_process_pace_ledger::InProcessPaceLedger;
use mizan_shared::adapters::openai::{ChatCompletions, ChatSettings};
use mizan_shared::domain::audit::{Actor, AuditEvent};
use mizan_shared::domain::consent::{ConsentAction, ConsentEvent, ConsentSource, Purpose};
use mizan_shared::domain::identity_hash::IdentifierKind;
use mizan_shared::domain::ids::{ApiKeyId, ContactId, MessageId, PhoneNumberId, TenantId, Wamid};
use mizan_shared::domain::keywords::Language;
use mizan_shared::domain::message::{Direction, Message, MessageContent, MessageKind};
use mizan_shared::domain::reply::{opt_out_hint, ReplyKind, SkipReason};
use mizan_shared::domain::tenant::{FaqEntry, Tenant, TenantSettings};
use mizan_shared::domain::time::Timestamp;
use mizan_shared::domain::whatsapp::parse_delivery;
use mizan_shared::ports::responder::Responder;
use mizan_shared::store::{ClaimState, ErasureReason, OutboundOrder, Store};
use mizan_shared::stream_batch::new_inbound_message;
use mizan_shared::workflows::intake;
use mizan_shared::workflows::outbound_send::SendOutcome;
use mizan_test_support::fakes::graph::{FakeGraph, Send};
use mizan_test_support::fakes::model::{Completion, FakeModel, DEFAULT_ANSWER};
use mizan_test_support::logs::captured_logs;
use mizan_test_support::system::TestSystem;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

const PHONE: &str = "100000000000001";
const TENANT: &str = "ten_0123456789abcdef0123456789abcdef";
const HOURS_ANSWER: &str = "We are open Monday to Saturday, 9:00 to 19:00.";

struct Harness {
    system: TestSystem,
    deps: Deps,
    tenant: Tenant,
    graph: FakeGraph,
}

fn fast_retry(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        first_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
    }
}

fn demo_settings() -> TenantSettings {
    TenantSettings {
        faq: vec![
            FaqEntry::new("What are your opening hours?".into(), HOURS_ANSWER.into()),
            FaqEntry::new(
                "Do you deliver?".into(),
                "We deliver in Casablanca and Rabat within 24 hours.".into(),
            ),
        ],
        ai_instructions: "Answer like a friendly tea merchant.".into(),
        ..TenantSettings::default()
    }
}

async fn harness() -> Harness {
    harness_with(None, demo_settings()).await
}

async fn harness_with(model: Option<&FakeModel>, settings: TenantSettings) -> Harness {
    let system = TestSystem::start().await;
    let store = system.store().clone();
    let mut tenant = Tenant::new("Atlas Tea", store.now());
    tenant.id = TenantId::new(TENANT);
    tenant.settings = settings;
    store.create_tenant(&tenant).await.unwrap();
    let tenant = store
        .attach_phone_number(&tenant.id, &PhoneNumberId::new(PHONE))
        .await
        .unwrap();
    let graph = FakeGraph::start().await;
    let messenger = GraphMessenger::new(GraphSettings {
        base_url: graph.base_url.clone(),
        version: "v24.0".into(),
        access_token: "EAAG-test-token".into(),
        timeout: Duration::from_millis(500),
        retry: fast_retry(3),
    });
    let responder: Arc<dyn Responder> = match model {
        Some(model) => Arc::new(
            ChatCompletions::new(ChatSettings {
                base_url: model.base_url.clone(),
                model: "gpt-test".into(),
                api_key: Some("sk-test".into()),
                timeout: Duration::from_millis(300),
                retry: fast_retry(2),
            })
            .unwrap(),
        ),
        None => Arc::new(FaqResponder),
    };
    system.skip_changes().await;
    Harness {
        system,
        deps: Deps::from_parts(
            store,
            responder,
            Arc::new(messenger),
            Arc::new(InProcessPaceLedger::default()),
            20,
        ),
        tenant,
        graph,
    }
}

fn text_delivery(wamid: &str, wa_id: &str, text: &str, sent_at: Timestamp) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100000", "phone_number_id": PHONE},
            "contacts": [{"profile": {"name": "Amina Benali"}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": wamid, "timestamp": sent_at.as_unix_seconds().to_string(),
                          "type": "text", "text": {"body": text}}]
        }}]}]
    }))
    .unwrap()
}

impl Harness {
    fn store(&self) -> &Store {
        &self.deps.store
    }

    /// The customer's message arrives through webhook intake, as in production.
    async fn customer_says(&self, wa_id: &str, wamid: &str, text: &str) {
        let body = text_delivery(wamid, wa_id, text, self.store().now());
        let delivery = parse_delivery(&body).unwrap();
        intake::ingest(self.store(), &delivery).await.unwrap();
    }

    /// Everything written since the last call, as the stream delivers it.
    async fn stream_event(&self) -> Event {
        self.system.stream_event().await
    }

    fn later(&self, by: Duration) {
        self.system.clock().advance(by);
    }

    fn contact_id(&self, wa_id: &str) -> ContactId {
        self.store()
            .hasher()
            .contact_id(&self.tenant.id, IdentifierKind::WaId, wa_id)
    }

    fn message_id(&self, wamid: &str) -> MessageId {
        self.store().message_id(&self.tenant.id, &Wamid::new(wamid))
    }

    async fn contact(
        &self,
        wa_id: &str,
    ) -> mizan_shared::store::Versioned<mizan_shared::domain::contact::Contact> {
        self.store()
            .contact(&self.tenant.id, &self.contact_id(wa_id))
            .await
            .unwrap()
            .unwrap()
    }

    fn outcomes(report: &mizan_ai_reply::BatchReport) -> Vec<Outcome> {
        report.outcomes.iter().map(|(_, _, o)| o.clone()).collect()
    }
}

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events/ai-reply")
}

// ---------------------------------------------------------------------------------------------
// The events in events/ai-reply/

/// The writes behind each sample event, so the store holds what the event points at.
async fn seed_scenario(h: &Harness, name: &str) {
    match name {
        "single-message" => {
            h.customer_says(
                "212600000001",
                "wamid.HBgMMjEyNjAwMDAwMDAxFQIAEhgUM0EwMDAwMDAwMDAwMDAwMDAwMDEA",
                "What are your opening hours?",
            )
            .await
        }
        "burst" => {
            for (i, text) in ["Hello", "I have a question", "Do you deliver to Rabat?"]
                .iter()
                .enumerate()
            {
                h.customer_says(
                    "212600000002",
                    &format!("wamid.HBgMMjEyNjAwMDAwMDAyFQIAEhgUM0EwMDAwMDAwMDAwMDAwMDAwMD{i}A"),
                    text,
                )
                .await;
                h.later(Duration::from_secs(2));
            }
        }
        "mixed-batch" => {
            h.customer_says(
                "212600000003",
                "wamid.HBgMMjEyNjAwMDAwMDAzFQIAEhgUM0EwMDAwMDAwMDAwMDAwMDAwMDMA",
                "Bonjour, vous êtes ouverts dimanche ?",
            )
            .await
        }
        other => panic!("no scenario {other}"),
    }
}

/// The event a scenario's writes produce; single and burst keep only the message records.
/// The id Mizan gives a person's message is random: the event file holds this instead.
const AGENT_MESSAGE_PLACEHOLDER: &str = "out_00000000000000000000000000000000";
const AGENT_CONTACT: &str = "212600000004";

/// A customer asks, and a person's answer is accepted through the API (what consent-api does).
async fn seed_agent_send(h: &Harness) -> MessageId {
    h.customer_says(
        AGENT_CONTACT,
        "wamid.HBgMMjEyNjAwMDAwMDA0FQIAEhgUM0EwMDAwMDAwMDAwMDAwMDAwMDQA",
        "Is my order ready?",
    )
    .await;
    let answer = Message::from_agent(
        h.tenant.id.clone(),
        h.contact_id(AGENT_CONTACT),
        ApiKeyId::new("key_0123456789ab"),
        MessageKind::Text,
        MessageContent::text("Yes, you can pick it up today."),
        None,
        h.store().now(),
    );
    let order = OutboundOrder::for_message(&answer, None).unwrap();
    let audit = AuditEvent::new(
        h.tenant.id.clone(),
        Actor::ApiKey(ApiKeyId::new("key_0123456789ab")),
        "message.accepted",
        Some(answer.contact.clone()),
        h.store().now(),
    );
    h.store()
        .accept_outbound(&answer, &order, None, &audit)
        .await
        .unwrap();
    answer.id
}

async fn scenario_event(h: &Harness, name: &str) -> serde_json::Value {
    if name == "agent-send" {
        let id = seed_agent_send(h).await;
        let mut event = serde_json::to_value(h.stream_event().await).unwrap();
        let records = event["Records"].as_array_mut().unwrap();
        records.retain(|r| r["dynamodb"]["NewImage"]["kind"]["S"] == "outbound_order");
        for record in records.iter_mut() {
            // The retention shard hashes the random id too.
            if let Some(image) = record["dynamodb"]["NewImage"].as_object_mut() {
                image.remove("rk");
            }
        }
        let text = event
            .to_string()
            .replace(id.as_str(), AGENT_MESSAGE_PLACEHOLDER);
        return serde_json::from_str(&text).unwrap();
    }
    seed_scenario(h, name).await;
    let mut event = serde_json::to_value(h.stream_event().await).unwrap();
    if name != "mixed-batch" {
        let records = event["Records"].as_array_mut().unwrap();
        records.retain(|r| r["dynamodb"]["NewImage"]["kind"]["S"] == "message_in");
    }
    event
}

/// Sealed bytes differ on every run (fresh nonce and data key), and the change time is the
/// store's wall clock: compared without them.
fn without_sealed(mut event: serde_json::Value) -> serde_json::Value {
    for record in event["Records"].as_array_mut().unwrap() {
        if let Some(change) = record["dynamodb"].as_object_mut() {
            change.remove("ApproximateCreationDateTime");
        }
        if let Some(image) = record["dynamodb"]["NewImage"].as_object_mut() {
            image.remove("c");
        }
    }
    event
}

fn load_event(name: &str) -> Event {
    let text = std::fs::read_to_string(events_dir().join(format!("{name}.json")))
        .unwrap_or_else(|e| panic!("events/ai-reply/{name}.json: {e}"));
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn event_files_are_what_the_change_feed_produces() {
    // MIZAN_WRITE_EVENTS=1 rewrites them (after a change of the record layout).
    for name in ["single-message", "burst", "mixed-batch", "agent-send"] {
        let h = harness().await;
        let produced = scenario_event(&h, name).await;
        let path = events_dir().join(format!("{name}.json"));
        if std::env::var_os("MIZAN_WRITE_EVENTS").is_some() {
            std::fs::create_dir_all(events_dir()).unwrap();
            std::fs::write(
                &path,
                serde_json::to_string_pretty(&produced).unwrap() + "\n",
            )
            .unwrap();
        }
        let committed: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            without_sealed(committed),
            without_sealed(produced),
            "events/ai-reply/{name}.json is stale: regenerate with MIZAN_WRITE_EVENTS=1"
        );
    }
}

#[tokio::test]
async fn the_agent_send_event_sends_the_persons_answer_once_without_quoting() {
    let h = harness().await;
    let id = seed_agent_send(&h).await;
    let text = std::fs::read_to_string(events_dir().join("agent-send.json")).unwrap();
    let event: Event =
        serde_json::from_str(&text.replace(AGENT_MESSAGE_PLACEHOLDER, id.as_str())).unwrap();
    let report = handle_batch(&h.deps, event.clone()).await;
    assert!(report.failures.is_empty(), "{report:?}");
    assert_eq!(report.sends[0].2, Some(SendOutcome::Sent));
    assert!(
        report.outcomes.is_empty(),
        "no automated reply is made for it"
    );
    let texts = h.graph.text_attempts();
    assert_eq!(texts.len(), 1);
    assert_eq!(texts[0]["to"], AGENT_CONTACT);
    assert_eq!(texts[0]["text"]["body"], "Yes, you can pick it up today.");
    assert!(
        texts[0].get("context").is_none(),
        "a person's message quotes nothing"
    );
    assert!(h.graph.read_receipts().is_empty());
    // The stream delivers it again: nothing more goes out.
    let again = handle_batch(&h.deps, event).await;
    assert_eq!(again.sends[0].2, Some(SendOutcome::AlreadyHandled));
    assert_eq!(h.graph.text_attempts().len(), 1);
    assert_eq!(
        noted_sends(&h).await,
        1,
        "the send is noted for the campaign sender's pacing"
    );
}

/// The sends of the harness's number the pace ledger noted in the last window.
async fn noted_sends(h: &Harness) -> usize {
    h.deps
        .pace_ledger
        .recent(
            &PhoneNumberId::new(PHONE),
            mizan_shared::workflows::pacing::PACING_WINDOW,
        )
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_persons_message_that_whatsapp_refuses_is_failed_and_131050_records_the_opt_out() {
    let h = harness().await;
    let id = seed_agent_send(&h).await;
    let text = std::fs::read_to_string(events_dir().join("agent-send.json")).unwrap();
    let event: Event =
        serde_json::from_str(&text.replace(AGENT_MESSAGE_PLACEHOLDER, id.as_str())).unwrap();
    // WhatsApp is down first: nothing went out, the record is retried, then it goes.
    h.graph.script((0..3).map(|_| Send::Error {
        status: 503,
        code: 131000,
    }));
    let first = handle_batch(&h.deps, event.clone()).await;
    assert_eq!(first.failures.len(), 1, "{first:?}");
    assert_eq!(first.sends[0].2, None);
    h.graph.script([Send::Error {
        status: 400,
        code: 131050,
    }]);
    let second = handle_batch(&h.deps, event.clone()).await;
    assert!(second.failures.is_empty());
    assert_eq!(second.sends[0].2, Some(SendOutcome::Failed(Some(131050))));
    let contact = h.contact(AGENT_CONTACT).await;
    assert_eq!(
        contact.value.consent.marketing,
        mizan_shared::domain::consent::Decision::Withdrawn,
        "the person stopped marketing messages in WhatsApp"
    );
    let stored = h
        .store()
        .message_by_id(&h.tenant.id, &contact.value.id, &id, &h.tenant.retention())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, mizan_shared::domain::message::Status::Failed);
    assert_eq!(stored.errors[0].code, 131050);
    let third = handle_batch(&h.deps, event).await;
    assert_eq!(
        third.sends[0].2,
        Some(SendOutcome::AlreadyHandled),
        "never sent again"
    );
}

#[tokio::test]
async fn the_single_message_event_gets_the_faq_answer_quoting_it_after_a_read_receipt() {
    let h = harness().await;
    seed_scenario(&h, "single-message").await;
    let response = handle(&h.deps, load_event("single-message")).await.unwrap();
    assert!(response.batch_item_failures.is_empty());

    let receipts = h.graph.read_receipts();
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0]["typing_indicator"]["type"], "text");
    let wamid = "wamid.HBgMMjEyNjAwMDAwMDAxFQIAEhgUM0EwMDAwMDAwMDAwMDAwMDAwMDEA";
    assert_eq!(receipts[0]["message_id"], wamid);
    let texts = h.graph.text_attempts();
    assert_eq!(texts.len(), 1);
    assert_eq!(texts[0]["to"], "212600000001");
    assert_eq!(texts[0]["context"]["message_id"], wamid);
    assert_eq!(
        texts[0]["text"]["body"],
        format!("{HOURS_ANSWER}\n\n{}", opt_out_hint(Language::English))
    );
    let requests = h.graph.requests();
    assert!(requests
        .iter()
        .all(|r| r.path == format!("/v24.0/{PHONE}/messages")));
    assert!(requests
        .iter()
        .all(|r| r.authorization.as_deref() == Some("Bearer EAAG-test-token")));

    // The reply is stored sealed under the id WhatsApp returned, so its statuses find it.
    let contact = h.contact_id("212600000001");
    let stored = h
        .store()
        .message(
            &h.tenant.id,
            &contact,
            &Wamid::new("wamid.FAKE0001"),
            &h.tenant.retention(),
        )
        .await
        .unwrap()
        .expect("the reply is stored");
    assert_eq!(stored.direction, Direction::Outbound);
    let claim = h
        .store()
        .reply_claim(&h.tenant.id, &contact, &h.message_id(wamid))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        claim.state,
        ClaimState::Sent {
            reply: stored.id,
            kind: ReplyKind::Answer
        }
    );
    assert_eq!(
        noted_sends(&h).await,
        1,
        "the AI's reply is noted for the campaign sender's pacing; the read receipt is not"
    );
}

#[tokio::test]
async fn the_burst_event_gets_one_reply_to_its_newest_message() {
    let h = harness().await;
    seed_scenario(&h, "burst").await;
    let report = handle_batch(&h.deps, load_event("burst")).await;
    assert_eq!(
        Harness::outcomes(&report),
        vec![Outcome::Replied(ReplyKind::Answer)]
    );
    let texts = h.graph.text_attempts();
    assert_eq!(texts.len(), 1);
    assert_eq!(
        texts[0]["context"]["message_id"],
        "wamid.HBgMMjEyNjAwMDAwMDAyFQIAEhgUM0EwMDAwMDAwMDAwMDAwMDAwMD2A"
    );
    assert!(texts[0]["text"]["body"]
        .as_str()
        .unwrap()
        .starts_with("We deliver in Casablanca and Rabat"));
}

#[tokio::test]
async fn the_mixed_batch_event_answers_its_message_and_ignores_the_other_records() {
    let h = harness().await;
    seed_scenario(&h, "mixed-batch").await;
    let event = load_event("mixed-batch");
    let records = event.records.len();
    assert!(
        records > 1,
        "the contact and alias records come with the message"
    );
    let report = handle_batch(&h.deps, event).await;
    assert_eq!(report.ignored, records - 1);
    assert_eq!(
        Harness::outcomes(&report),
        vec![Outcome::Replied(ReplyKind::Answer)]
    );
    let texts = h.graph.text_attempts();
    // French question, French hint; no French FAQ entry, so the polite hand-off.
    assert_eq!(
        texts[0]["text"]["body"],
        format!(
            "Merci pour votre message. Un membre de notre équipe vous répondra dès que possible.\n\n{}",
            opt_out_hint(Language::French)
        )
    );
}

// ---------------------------------------------------------------------------------------------
// Exactly once

#[tokio::test]
async fn a_retried_stream_record_produces_one_reply() {
    let h = harness().await;
    h.customer_says(
        "212600000010",
        "wamid.RETRY1",
        "What are your opening hours?",
    )
    .await;
    let event = h.stream_event().await;
    handle(&h.deps, event.clone()).await.unwrap();
    let report = handle_batch(&h.deps, event).await;
    assert_eq!(
        Harness::outcomes(&report),
        vec![Outcome::Skipped(SkipReason::AlreadyClaimed)]
    );
    assert_eq!(h.graph.text_attempts().len(), 1);
}

#[tokio::test]
async fn a_duplicated_record_and_concurrent_invocations_produce_one_reply() {
    let h = harness().await;
    h.customer_says("212600000011", "wamid.DUP1", "What are your opening hours?")
        .await;
    let mut event = h.stream_event().await;
    let again = event.records.clone();
    event.records.extend(again);
    let (a, b, c) = tokio::join!(
        handle_batch(&h.deps, event.clone()),
        handle_batch(&h.deps, event.clone()),
        handle_batch(&h.deps, event)
    );
    let replied = [a, b, c]
        .iter()
        .flat_map(Harness::outcomes)
        .filter(|o| matches!(o, Outcome::Replied(_)))
        .count();
    assert_eq!(replied, 1);
    assert_eq!(h.graph.text_attempts().len(), 1);
}

#[tokio::test]
async fn a_message_delivered_twice_by_meta_is_answered_once() {
    let h = harness().await;
    h.customer_says(
        "212600000012",
        "wamid.TWICE",
        "What are your opening hours?",
    )
    .await;
    h.customer_says(
        "212600000012",
        "wamid.TWICE",
        "What are your opening hours?",
    )
    .await;
    handle(&h.deps, h.stream_event().await).await.unwrap();
    assert_eq!(h.graph.text_attempts().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Who gets nothing

#[tokio::test]
async fn opted_out_blocked_restricted_taken_over_and_out_of_window_contacts_get_no_reply() {
    let h = harness().await;
    let store = h.store();
    for wa_id in [
        "212600000030",
        "212600000031",
        "212600000032",
        "212600000033",
    ] {
        h.customer_says(wa_id, &format!("wamid.A{wa_id}"), "hi")
            .await;
    }
    h.stream_event().await;
    for (wa_id, action) in [
        ("212600000030", ConsentAction::OptOut),
        ("212600000031", ConsentAction::Block),
    ] {
        store
            .record_consent(
                &ConsentEvent {
                    tenant: h.tenant.id.clone(),
                    contact: h.contact_id(wa_id),
                    at: store.now(),
                    purpose: Purpose::All,
                    action,
                    source: ConsentSource::Api,
                    evidence: format!("req-{wa_id}"),
                    actor: "key_test".into(),
                },
                None,
            )
            .await
            .unwrap();
    }
    let mut restricted = h.contact("212600000032").await;
    restricted.value.restricted = true;
    store.save_contact(&restricted, None).await.unwrap();
    let mut taken = h.contact("212600000033").await;
    taken.value.taken_over = true;
    store.save_contact(&taken, None).await.unwrap();
    h.later(Duration::from_secs(5));
    let expected = [
        ("212600000030", SkipReason::OptedOut),
        ("212600000031", SkipReason::Blocked),
        ("212600000032", SkipReason::Restricted),
        ("212600000033", SkipReason::TakenOver),
    ];
    for (wa_id, reason) in expected {
        h.customer_says(
            wa_id,
            &format!("wamid.B{wa_id}"),
            "What are your opening hours?",
        )
        .await;
        let report = handle_batch(&h.deps, h.stream_event().await).await;
        assert_eq!(
            Harness::outcomes(&report),
            vec![Outcome::Skipped(reason)],
            "{wa_id}"
        );
    }
    h.customer_says("212600000034", "wamid.LATE", "What are your opening hours?")
        .await;
    let event = h.stream_event().await;
    h.later(Duration::from_secs(24 * 3600));
    let report = handle_batch(&h.deps, event.clone()).await;
    assert_eq!(
        Harness::outcomes(&report),
        vec![Outcome::Skipped(SkipReason::WindowClosed)]
    );
    assert!(h.graph.text_attempts().is_empty());

    // Usage analytics count each skipped message once, by reason, a retried batch included.
    handle_batch(&h.deps, event).await;
    let mut skipped = mizan_shared::domain::analytics::Counts::new();
    for counts in store
        .analytics_days(&h.tenant.id, "2000-01-01", "2100-01-01")
        .await
        .unwrap()
        .values()
    {
        mizan_shared::domain::analytics::add(&mut skipped, counts);
    }
    skipped.retain(|name, _| name.starts_with("replies.skipped."));
    let expected: Vec<(&str, u64)> = vec![
        ("replies.skipped.blocked", 1),
        ("replies.skipped.opted_out", 1),
        ("replies.skipped.restricted", 1),
        ("replies.skipped.taken_over", 1),
        ("replies.skipped.window_closed", 1),
    ];
    assert_eq!(
        skipped
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect::<Vec<_>>(),
        expected
    );
}

#[tokio::test]
async fn automation_off_gets_no_reply() {
    let settings = TenantSettings {
        automation_enabled: false,
        ..demo_settings()
    };
    let h = harness_with(None, settings).await;
    h.customer_says("212600000040", "wamid.OFF", "What are your opening hours?")
        .await;
    let report = handle_batch(&h.deps, h.stream_event().await).await;
    assert_eq!(
        Harness::outcomes(&report),
        vec![Outcome::Skipped(SkipReason::AutomationOff)]
    );
    assert!(h.graph.requests().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Keywords, hint, hand-off

#[tokio::test]
async fn an_opt_out_gets_the_confirmation_and_nothing_afterwards() {
    let h = harness().await;
    h.customer_says("212600000050", "wamid.Q1", "What are your opening hours?")
        .await;
    handle(&h.deps, h.stream_event().await).await.unwrap();
    h.later(Duration::from_secs(60));
    h.customer_says("212600000050", "wamid.STOP", "Arrêt").await;
    let report = handle_batch(&h.deps, h.stream_event().await).await;
    assert_eq!(
        Harness::outcomes(&report),
        vec![Outcome::Replied(ReplyKind::OptOutConfirmation)]
    );
    let texts = h.graph.text_attempts();
    assert_eq!(texts.len(), 2);
    assert!(texts[1]["text"]["body"]
        .as_str()
        .unwrap()
        .starts_with("Vous êtes désabonné(e)"));
    h.later(Duration::from_secs(60));
    h.customer_says("212600000050", "wamid.Q2", "Are you there?")
        .await;
    let report = handle_batch(&h.deps, h.stream_event().await).await;
    assert_eq!(
        Harness::outcomes(&report),
        vec![Outcome::Skipped(SkipReason::OptedOut)]
    );
    assert_eq!(h.graph.text_attempts().len(), 2);

    // START resumes: its confirmation, then answers again.
    h.later(Duration::from_secs(60));
    h.customer_says("212600000050", "wamid.START", "START")
        .await;
    let report = handle_batch(&h.deps, h.stream_event().await).await;
    assert_eq!(
        Harness::outcomes(&report),
        vec![Outcome::Replied(ReplyKind::OptInConfirmation)]
    );
    let confirmation = h.graph.text_attempts()[2]["text"]["body"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        confirmation.starts_with("Automated replies are on")
            && confirmation.contains("does not sign you up for marketing"),
        "the answer says exactly what START granted: {confirmation}"
    );
}

#[tokio::test]
async fn help_in_arabic_gets_the_arabic_help_text() {
    let h = harness().await;
    h.customer_says("212600000051", "wamid.HELP", "مساعدة")
        .await;
    let report = handle_batch(&h.deps, h.stream_event().await).await;
    assert_eq!(
        Harness::outcomes(&report),
        vec![Outcome::Replied(ReplyKind::Help)]
    );
    let body = h.graph.text_attempts()[0]["text"]["body"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        body.contains("Atlas Tea") && body.contains("«إيقاف»"),
        "{body}"
    );
}

#[tokio::test]
async fn the_opt_out_hint_goes_once_per_24_hours() {
    let h = harness().await;
    let hint = opt_out_hint(Language::English);
    h.customer_says("212600000052", "wamid.H1", "What are your opening hours?")
        .await;
    handle(&h.deps, h.stream_event().await).await.unwrap();
    h.later(Duration::from_secs(3600));
    h.customer_says("212600000052", "wamid.H2", "Do you deliver?")
        .await;
    handle(&h.deps, h.stream_event().await).await.unwrap();
    h.later(Duration::from_secs(23 * 3600));
    h.customer_says("212600000052", "wamid.H3", "What are your opening hours?")
        .await;
    handle(&h.deps, h.stream_event().await).await.unwrap();
    let bodies: Vec<String> = h
        .graph
        .text_attempts()
        .iter()
        .map(|b| b["text"]["body"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(bodies.len(), 3);
    assert!(bodies[0].ends_with(hint));
    assert!(!bodies[1].contains(hint));
    assert!(
        bodies[2].ends_with(hint),
        "24 hours later the hint goes again"
    );
}

#[tokio::test]
async fn asking_for_a_human_hands_off_and_takes_the_conversation_over() {
    let h = harness().await;
    h.customer_says(
        "212600000053",
        "wamid.HUMAN",
        "Can I talk to a human please?",
    )
    .await;
    let report = handle_batch(&h.deps, h.stream_event().await).await;
    assert_eq!(
        Harness::outcomes(&report),
        vec![Outcome::Replied(ReplyKind::HandOff)]
    );
    assert!(h.contact("212600000053").await.value.taken_over);
    h.later(Duration::from_secs(30));
    h.customer_says(
        "212600000053",
        "wamid.AFTER",
        "What are your opening hours?",
    )
    .await;
    let report = handle_batch(&h.deps, h.stream_event().await).await;
    assert_eq!(
        Harness::outcomes(&report),
        vec![Outcome::Skipped(SkipReason::TakenOver)]
    );
    assert_eq!(h.graph.text_attempts().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// The model

#[tokio::test]
async fn the_model_gets_instructions_faq_and_the_burst_but_no_phone_number_wamid_or_name() {
    let model = FakeModel::start().await;
    let h = harness_with(Some(&model), demo_settings()).await;
    for (i, text) in ["Salam", "is the shop open on Sunday?"].iter().enumerate() {
        h.customer_says("212600000060", &format!("wamid.HBgMMjEyNjAw{i}"), text)
            .await;
        h.later(Duration::from_secs(1));
    }
    let report = handle_batch(&h.deps, h.stream_event().await).await;
    assert_eq!(
        Harness::outcomes(&report),
        vec![Outcome::Replied(ReplyKind::Answer)]
    );
    let requests = model.requests();
    assert_eq!(requests.len(), 1);
    let sent = requests[0].to_string();
    for personal in ["212600000060", "HBgMMjEyNjAw", "Amina", "Benali"] {
        assert!(
            !sent.contains(personal),
            "{personal} was sent to the model: {sent}"
        );
    }
    let messages = requests[0]["messages"].as_array().unwrap();
    assert!(messages[0]["content"]
        .as_str()
        .unwrap()
        .contains("friendly tea merchant"));
    assert!(messages[0]["content"]
        .as_str()
        .unwrap()
        .contains(HOURS_ANSWER));
    assert_eq!(messages[1]["content"], "Salam");
    assert_eq!(messages[2]["content"], "is the shop open on Sunday?");
    assert!(h.graph.text_attempts()[0]["text"]["body"]
        .as_str()
        .unwrap()
        .starts_with(DEFAULT_ANSWER));
}

#[tokio::test]
async fn identifiers_the_customer_types_are_redacted_for_the_model_but_stored_as_written() {
    let typed = "Call me on +212 6 61 23 45 67 or write to amina@example.ma, \
                 card 4111 1111 1111 1111, IBAN GB82 WEST 1234 5698 7654 32, order 5521";
    for (redaction, expect_redacted) in [(true, true), (false, false)] {
        let model = FakeModel::start().await;
        let settings = TenantSettings {
            model_redaction: redaction,
            ..demo_settings()
        };
        let h = harness_with(Some(&model), settings).await;
        h.customer_says("212600000062", "wamid.PII", typed).await;
        handle(&h.deps, h.stream_event().await).await.unwrap();
        let sent = model.requests()[0]["messages"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()["content"]
            .as_str()
            .unwrap()
            .to_owned();
        if expect_redacted {
            assert_eq!(
                sent,
                "Call me on [phone number] or write to [email], card [card number], \
                 IBAN [IBAN], order 5521"
            );
        } else {
            assert_eq!(sent, typed, "the tenant turned redaction off");
        }
        // The stored message is the customer's, word for word.
        let stored = h
            .store()
            .message(
                &h.tenant.id,
                &h.contact_id("212600000062"),
                &Wamid::new("wamid.PII"),
                &h.tenant.retention(),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.content.unwrap().0.expose()["text"]["body"], typed);
    }
}

#[tokio::test]
async fn a_rate_limited_model_is_retried_then_answers() {
    let model = FakeModel::start().await;
    model.script([Completion::RateLimited]);
    let h = harness_with(Some(&model), demo_settings()).await;
    h.customer_says("212600000061", "wamid.M429", "Is the shop open on Sunday?")
        .await;
    handle(&h.deps, h.stream_event().await).await.unwrap();
    assert_eq!(model.requests().len(), 2);
    assert!(h.graph.text_attempts()[0]["text"]["body"]
        .as_str()
        .unwrap()
        .starts_with(DEFAULT_ANSWER));
}

/// An erasure or an opt-out lands while the model is thinking: nothing is sent, and nothing is
/// written for the contact after it.
#[tokio::test]
async fn what_lands_while_the_model_thinks_stops_the_reply() {
    let model = FakeModel::start().await;
    let h = harness_with(Some(&model), demo_settings()).await;
    for (wa_id, change, expected) in [
        ("212600000070", "erasure", SkipReason::Restricted),
        ("212600000071", "opt_out", SkipReason::OptedOut),
    ] {
        // The model holds its answer until the change has landed; should the client give up
        // waiting first, the hand-off text is due instead, which must be dropped the same way.
        let release = Arc::new(tokio::sync::Notify::new());
        model.script([Completion::Held(release.clone(), "We open at 9.".into())]);
        let asked_before = model.requests().len();
        h.customer_says(wa_id, &format!("wamid.T{wa_id}"), "When do you open?")
            .await;
        let event = h.stream_event().await;
        let meanwhile = async {
            while model.requests().len() == asked_before {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            let contact = h.contact(wa_id).await;
            let store = h.store();
            if change == "erasure" {
                let audit = AuditEvent::new(
                    h.tenant.id.clone(),
                    Actor::Admin,
                    "contact.erasure_requested",
                    Some(contact.value.id.clone()),
                    store.now(),
                );
                store
                    .request_erasure(&contact, ErasureReason::Request, &audit)
                    .await
                    .unwrap();
            } else {
                let opt_out = ConsentEvent {
                    tenant: h.tenant.id.clone(),
                    contact: contact.value.id.clone(),
                    at: store.now(),
                    purpose: Purpose::All,
                    action: ConsentAction::OptOut,
                    source: ConsentSource::Api,
                    evidence: "req-1".into(),
                    actor: "key_test".into(),
                };
                store.record_consent(&opt_out, None).await.unwrap();
            }
            release.notify_one();
        };
        let (report, ()) = tokio::join!(handle_batch(&h.deps, event), meanwhile);
        assert_eq!(
            Harness::outcomes(&report),
            vec![Outcome::Skipped(expected)],
            "{change}"
        );
        assert!(h.graph.text_attempts().is_empty(), "{change}: nothing sent");
        let written = h.system.embedded.changes_after(0, 100_000).await.unwrap();
        assert!(
            !written
                .iter()
                .any(|c| c.new.as_ref().is_some_and(|r| r.kind == "message_out")),
            "{change}: no reply recorded"
        );
    }
}

#[tokio::test]
async fn model_failures_fall_back_to_the_hand_off_message() {
    let hand_off = "Thank you for your message. A member of our team will get back to you as soon as possible.";
    let cases = [
        vec![Completion::RateLimited, Completion::RateLimited],
        vec![Completion::ServerError, Completion::ServerError],
        vec![
            Completion::Hang(Duration::from_secs(2)),
            Completion::Hang(Duration::from_secs(2)),
        ],
        vec![Completion::Answer("   ".into())],
        vec![Completion::Answer("HANDOFF".into())],
    ];
    for (i, script) in cases.into_iter().enumerate() {
        let model = FakeModel::start().await;
        model.script(script.clone());
        let h = harness_with(Some(&model), demo_settings()).await;
        h.customer_says(
            "212600000062",
            &format!("wamid.FAIL{i}"),
            "Is the shop open on Sunday?",
        )
        .await;
        let report = handle_batch(&h.deps, h.stream_event().await).await;
        assert_eq!(
            Harness::outcomes(&report),
            vec![Outcome::Replied(ReplyKind::Answer)],
            "{script:?}"
        );
        let body = h.graph.text_attempts()[0]["text"]["body"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(body.starts_with(hand_off), "{script:?}: {body}");
        assert!(
            !h.contact("212600000062").await.value.taken_over,
            "a fallback is not a hand-over"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Graph API errors

#[tokio::test]
async fn throttling_and_server_errors_are_retried_with_backoff_then_sent_once() {
    for script in [
        vec![Send::Error {
            status: 400,
            code: 130429,
        }],
        vec![Send::Error {
            status: 400,
            code: 131056,
        }],
        vec![
            Send::Error {
                status: 500,
                code: 131000,
            },
            Send::Error {
                status: 503,
                code: 2,
            },
        ],
    ] {
        let h = harness().await;
        h.graph.script(script.clone());
        h.customer_says(
            "212600000070",
            "wamid.THROTTLED",
            "What are your opening hours?",
        )
        .await;
        let report = handle_batch(&h.deps, h.stream_event().await).await;
        assert_eq!(
            Harness::outcomes(&report),
            vec![Outcome::Replied(ReplyKind::Answer)],
            "{script:?}"
        );
        assert_eq!(h.graph.text_attempts().len(), script.len() + 1);
        assert_eq!(h.graph.sent(), 1);
    }
}

#[tokio::test]
async fn permanent_graph_errors_are_not_retried_and_are_recorded() {
    for code in [131047, 131026, 131050, 131051] {
        let h = harness().await;
        h.graph.script([Send::Error { status: 400, code }]);
        h.customer_says("212600000071", "wamid.PERM", "What are your opening hours?")
            .await;
        let event = h.stream_event().await;
        let report = handle_batch(&h.deps, event.clone()).await;
        assert_eq!(
            Harness::outcomes(&report),
            vec![Outcome::Refused(Some(code))]
        );
        assert!(report.failures.is_empty(), "{code}: retrying cannot help");
        assert_eq!(h.graph.text_attempts().len(), 1, "{code}");
        let claim = h
            .store()
            .reply_claim(
                &h.tenant.id,
                &h.contact_id("212600000071"),
                &h.message_id("wamid.PERM"),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(claim.state, ClaimState::Failed { code: Some(code) });
        // A retried record does not try again.
        handle_batch(&h.deps, event).await;
        assert_eq!(h.graph.text_attempts().len(), 1, "{code}");
    }
}

#[tokio::test]
async fn persistent_throttling_reports_the_records_and_the_stream_retry_answers_once() {
    let h = harness().await;
    h.graph.script(vec![
        Send::Error {
            status: 400,
            code: 130429
        };
        3
    ]);
    h.customer_says(
        "212600000072",
        "wamid.RETRYLATER",
        "What are your opening hours?",
    )
    .await;
    let event = h.stream_event().await;
    let message_sequences: Vec<String> = event
        .records
        .iter()
        .filter(|r| matches!(new_inbound_message(r), Ok(Some(_))))
        .map(|r| r.change.sequence_number.clone().unwrap())
        .collect();
    let response = handle(&h.deps, event.clone()).await.unwrap();
    let failed: Vec<String> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone().unwrap())
        .collect();
    assert_eq!(
        failed, message_sequences,
        "only the message's record is retried"
    );
    assert_eq!(h.graph.sent(), 0);
    // Lambda retries the record: the claim was released, so it is answered, once.
    let response = handle(&h.deps, event.clone()).await.unwrap();
    assert!(response.batch_item_failures.is_empty());
    handle(&h.deps, event).await.unwrap();
    assert_eq!(h.graph.sent(), 1);
}

#[tokio::test]
async fn a_timed_out_send_is_not_sent_again() {
    let h = harness().await;
    h.graph.script([Send::Hang(Duration::from_secs(2))]);
    h.customer_says("212600000073", "wamid.SLOW", "What are your opening hours?")
        .await;
    let event = h.stream_event().await;
    let report = handle_batch(&h.deps, event.clone()).await;
    assert_eq!(Harness::outcomes(&report), vec![Outcome::Refused(None)]);
    handle_batch(&h.deps, event).await;
    assert_eq!(
        h.graph.text_attempts().len(),
        1,
        "the first may have gone out"
    );
}

// ---------------------------------------------------------------------------------------------
// Logs (P10)

#[tokio::test]
async fn logs_carry_no_message_text_phone_number_name_or_wamid() {
    let logs = captured_logs();
    let model = FakeModel::start().await;
    model.script([
        Completion::RateLimited,
        Completion::Answer("Votre commande secrète arrive demain".into()),
    ]);
    let h = harness_with(Some(&model), demo_settings()).await;
    h.graph.script([Send::Error {
        status: 400,
        code: 130429,
    }]);
    h.customer_says(
        "212699999999",
        "wamid.HBgMMjEyNjk5OTk5OTk5",
        "ma commande secrète numéro 77",
    )
    .await;
    let report = handle_batch(&h.deps, h.stream_event().await).await;
    assert_eq!(
        Harness::outcomes(&report),
        vec![Outcome::Replied(ReplyKind::Answer)]
    );
    h.later(Duration::from_secs(5));
    h.customer_says("212699999999", "wamid.HBgMMjEyNjk5OTk5OTk5AA", "STOP")
        .await;
    h.later(Duration::from_secs(5));
    h.customer_says(
        "212699999999",
        "wamid.HBgMMjEyNjk5OTk5OTk5BB",
        "encore secrète",
    )
    .await;
    handle_batch(&h.deps, h.stream_event().await).await;

    let written = logs.text();
    assert!(
        written.contains("automated reply sent"),
        "replies are logged: {written}"
    );
    assert!(
        written.contains("skip_reason"),
        "skips are logged with their reason"
    );
    for personal in [
        "212699999999",
        "Amina",
        "Benali",
        "commande",
        "secrète",
        "HBgMMjEyNjk5OTk5OTk5",
    ] {
        assert!(
            !written.contains(personal),
            "{personal} appears in the logs:\n{written}"
        );
    }
}

#[tokio::test]
async fn two_questions_within_one_second_are_ordered_as_they_arrived() {
    // WhatsApp's timestamps have whole seconds; the runner answers faster than that.
    let h = harness().await;
    h.later(Duration::from_millis(100));
    h.customer_says("212600000080", "wamid.ZZZ", "Do you deliver?")
        .await;
    handle(&h.deps, h.stream_event().await).await.unwrap();
    h.later(Duration::from_millis(500));
    h.customer_says("212600000080", "wamid.AAA", "What are your opening hours?")
        .await;
    let report = handle_batch(&h.deps, h.stream_event().await).await;
    assert_eq!(
        Harness::outcomes(&report),
        vec![Outcome::Replied(ReplyKind::Answer)]
    );
    let texts = h.graph.text_attempts();
    assert_eq!(texts[1]["context"]["message_id"], "wamid.AAA");
    assert!(texts[1]["text"]["body"]
        .as_str()
        .unwrap()
        .starts_with(HOURS_ANSWER));
}

#[tokio::test]
async fn a_late_retry_by_meta_and_a_reaction_get_no_reply() {
    let h = harness().await;
    // Meta delivers a message 20 minutes after it was sent: intake stores it as late.
    let sent = h.store().now().minus(Duration::from_secs(20 * 60));
    let body = text_delivery(
        "wamid.LATE.RETRY",
        "212600000090",
        "What are your opening hours?",
        sent,
    );
    intake::ingest(h.store(), &parse_delivery(&body).unwrap())
        .await
        .unwrap();
    let report = handle_batch(&h.deps, h.stream_event().await).await;
    assert_eq!(
        Harness::outcomes(&report),
        vec![Outcome::Skipped(SkipReason::LateRetry)]
    );

    let reaction = serde_json::to_vec(&serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100000", "phone_number_id": PHONE},
            "contacts": [{"profile": {"name": "Amina"}, "wa_id": "212600000091"}],
            "messages": [{"from": "212600000091", "id": "wamid.REACTION",
                          "timestamp": h.store().now().as_unix_seconds().to_string(),
                          "type": "reaction",
                          "reaction": {"message_id": "wamid.FAKE0001", "emoji": "👍"}}]
        }}]}]
    }))
    .unwrap();
    intake::ingest(h.store(), &parse_delivery(&reaction).unwrap())
        .await
        .unwrap();
    let report = handle_batch(&h.deps, h.stream_event().await).await;
    assert_eq!(
        Harness::outcomes(&report),
        vec![Outcome::Skipped(SkipReason::NotAnswerable)]
    );
    assert!(h.graph.requests().is_empty());
}

#[tokio::test]
async fn a_plain_greeting_gets_the_greeting_and_the_business_chooses_its_words() {
    let mut settings = demo_settings();
    settings
        .greetings
        .insert("fr".into(), "Bonjour et bienvenue chez Atlas Tea !".into());
    settings.handoff_texts.insert(
        "en".into(),
        "Samir from our shop will answer you shortly.".into(),
    );
    let h = harness_with(None, settings).await;
    let body = |i: usize| {
        h.graph.text_attempts()[i]["text"]["body"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    h.customer_says("212600000061", "wamid.GREET1", "Bonjour")
        .await;
    let report = handle_batch(&h.deps, h.stream_event().await).await;
    assert_eq!(
        Harness::outcomes(&report),
        vec![Outcome::Replied(ReplyKind::Greeting)]
    );
    assert!(
        body(0).starts_with("Bonjour et bienvenue chez Atlas Tea !"),
        "{}",
        body(0)
    );
    assert!(
        !h.contact("212600000061").await.value.taken_over,
        "a greeting is no hand-off"
    );

    // A language the business set nothing for gets Mizan's greeting.
    h.customer_says("212600000062", "wamid.GREET2", "Hello!")
        .await;
    handle_batch(&h.deps, h.stream_event().await).await;
    assert!(
        body(1).starts_with("Hello! This is the assistant of Atlas Tea."),
        "{}",
        body(1)
    );

    h.customer_says(
        "212600000063",
        "wamid.HUMAN2",
        "Can I talk to a human please?",
    )
    .await;
    handle_batch(&h.deps, h.stream_event().await).await;
    assert!(
        body(2).starts_with("Samir from our shop will answer you shortly."),
        "{}",
        body(2)
    );
}
