//! The webhook-intake handler, driven by the API Gateway events in `events/webhook-intake/` and
//! by deliveries built here, against the embedded store.

use lambda_http::{Body, Request, Response};
use mizan_shared::config::WebhookConfig;
use mizan_shared::domain::consent::{ConsentAction, ConsentSource, Decision, Purpose};
use mizan_shared::domain::contact::ContactProfile;
use mizan_shared::domain::identity_hash::IdentifierKind;
use mizan_shared::domain::ids::{PhoneNumberId, WabaId, Wamid};
use mizan_shared::domain::message::{Message, MessageContent, MessageKind, Status};
use mizan_shared::domain::signature::{sign, AppSecret, AppSecrets};
use mizan_shared::domain::tenant::Tenant;
use mizan_shared::domain::time::Timestamp;
use mizan_shared::ports::records::{
    Cursor, Due, Key, Page, Query, Record, RecordStore, StoreError, Write,
};
use mizan_shared::store::Store;
use mizan_shared::workflows::intake;
use mizan_test_support::logs::captured_logs;
use mizan_test_support::seed;
use mizan_test_support::system::TestSystem;
use mizan_webhook_intake::{handle, Deps, Wiring};
use secrecy::SecretString;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

const APP_SECRET: &str = "mizan-events-app-secret";
const VERIFY_TOKEN: &str = "mizan-events-verify-token";
const PHONE: &str = "100000000000001";
const SAMPLE_BUSINESS_ACCOUNT: &str = "100000000000900";

struct Harness {
    system: TestSystem,
    deps: Deps,
    tenant: Tenant,
}

fn webhook_config(max_body_bytes: usize) -> WebhookConfig {
    WebhookConfig {
        app_secrets: AppSecrets::from(AppSecret::new(APP_SECRET)),
        verify_token: SecretString::from(VERIFY_TOKEN),
        max_body_bytes,
    }
}

async fn harness() -> Harness {
    let system = TestSystem::start_in_real_time().await;
    let tenant = seed::tenant(system.store(), "Atlas Tea", None, Some(PHONE)).await;
    // The business account the sample template webhooks are for.
    let tenant = system
        .store()
        .attach_business_account(&tenant.id, &WabaId::new(SAMPLE_BUSINESS_ACCOUNT))
        .await
        .unwrap();
    let embedded = &system.embedded;
    let position = embedded
        .changes_after(0, 1000)
        .await
        .unwrap()
        .last()
        .map_or(0, |c| c.seq);
    embedded.set_feed_position("test", position).await.unwrap();
    Harness {
        deps: Deps::new(
            &system.services,
            &system.config,
            &webhook_config(1024 * 1024),
        )
        .unwrap(),
        tenant,
        system,
    }
}

impl Harness {
    /// Kinds of the records inserted since the harness was set up.
    async fn inserted_kinds(&self) -> Vec<String> {
        let from = self.system.embedded.feed_position("test").await.unwrap();
        self.system
            .embedded
            .changes_after(from, 10_000)
            .await
            .unwrap()
            .into_iter()
            .filter_map(|c| c.new.filter(|_| c.old.is_none()).map(|r| r.kind))
            .collect()
    }

    async fn post(&self, body: &[u8]) -> Response<Body> {
        let signature = sign(body, &AppSecret::new(APP_SECRET));
        handle(&self.deps, post_request(body, Some(&signature)))
            .await
            .unwrap()
    }
}

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events/webhook-intake")
}

fn event(name: &str) -> Request {
    let text = std::fs::read_to_string(events_dir().join(format!("{name}.json")))
        .unwrap_or_else(|e| panic!("events/webhook-intake/{name}.json: {e}"));
    lambda_http::request::from_str(&text).unwrap()
}

fn post_request(body: &[u8], signature: Option<&str>) -> Request {
    let mut builder = lambda_http::http::Request::builder()
        .method("POST")
        .uri("https://mizanapi.execute-api.us-east-1.amazonaws.com/webhooks/whatsapp")
        .header("content-type", "application/json");
    if let Some(signature) = signature {
        builder = builder.header("x-hub-signature-256", signature);
    }
    builder.body(Body::Binary(body.to_vec())).unwrap()
}

fn text_delivery(phone: &str, wamid: &str, wa_id: &str, text: &str, sent_at: Timestamp) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100000", "phone_number_id": phone},
            "contacts": [{"profile": {"name": "Amina"}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": wamid, "timestamp": sent_at.as_unix_seconds().to_string(),
                          "type": "text", "text": {"body": text}}]
        }}]}]
    }))
    .unwrap()
}

fn status_delivery(wamid: &str, wa_id: &str, status: &str, at: i64) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100000", "phone_number_id": PHONE},
            "statuses": [{"id": wamid, "status": status, "timestamp": at.to_string(), "recipient_id": wa_id}]
        }}]}]
    }))
    .unwrap()
}

/// A contact of the test tenant known by its phone number only.
async fn contact_with_wa_id(h: &Harness, wa_id: &str) -> mizan_shared::domain::contact::Contact {
    let profile = ContactProfile {
        wa_id: Some(wa_id.into()),
        ..ContactProfile::default()
    };
    h.deps
        .store
        .upsert_contact(&h.tenant.id, &profile)
        .await
        .unwrap()
        .contact
        .value
}

/// An outbound message the business sent to `contact`, as ai-reply stores it.
fn outbound(
    h: &Harness,
    contact: &mizan_shared::domain::ids::ContactId,
    wamid: &Wamid,
    text: &str,
) -> Message {
    let now = h.deps.store.now();
    Message::outbound(
        h.tenant.id.clone(),
        contact.clone(),
        h.deps.store.message_id(&h.tenant.id, wamid),
        wamid.clone(),
        MessageKind::Text,
        MessageContent::text(text),
        now,
    )
}

/// The record kind each sample delivery must leave behind.
fn expected_kind(name: &str) -> Option<&'static str> {
    let kind = if name.starts_with("post-messages-")
        || name.starts_with("post-callback_")
        || name.starts_with("post-flow_completion-")
        || name.starts_with("post-edited_message-")
        || name.starts_with("post-deleted_message-")
        || name.starts_with("post-system-")
        || name == "post-text_arabic_escaped"
        || name == "post-multi_entry"
        || name == "post-signed-escaped-delivered-unescaped"
        || name == "post-base64-encoded-body"
    {
        "message_in"
    } else if name == "post-statuses-unknown_status" || name == "post-user_preferences-signup" {
        "raw_payload"
    } else if name.starts_with("post-statuses-") {
        "pending_status"
    } else if name.starts_with("post-user_preferences-") {
        "consent"
    } else if name == "post-template_updates-status_without_template_name"
        || name == "post-template_updates-category_update_with_a_name_meta_does_not_allow"
    {
        "raw_payload"
    } else if name.starts_with("post-template_updates-") {
        "template"
    } else if name.starts_with("post-other_fields-") || name == "post-unparseable" {
        "raw_payload"
    } else {
        return None;
    };
    Some(kind)
}

#[tokio::test]
async fn every_sample_delivery_is_acknowledged_and_stored_as_its_kind() {
    let names: Vec<String> = mizan_test_support::events::names("webhook-intake")
        .into_iter()
        .filter(|n| n.starts_with("post-") && !n.contains("signature"))
        .collect();
    assert!(names.len() > 60, "the sample events are there");
    for name in names {
        let h = harness().await;
        let answer = handle(&h.deps, event(&name)).await.unwrap();
        assert_eq!(answer.status(), 200, "{name}");
        let kinds = h.inserted_kinds().await;
        let expected = expected_kind(&name).unwrap_or_else(|| panic!("no expectation for {name}"));
        assert!(
            kinds.iter().any(|k| k == expected),
            "{name}: expected a {expected} record, got {kinds:?}"
        );
    }
}

#[tokio::test]
async fn bad_signatures_get_401_and_store_nothing() {
    for name in [
        "post-bad-signature",
        "post-malformed-signature",
        "post-missing-signature",
    ] {
        let h = harness().await;
        let answer = handle(&h.deps, event(name)).await.unwrap();
        assert_eq!(answer.status(), 401, "{name}");
        let body: serde_json::Value = serde_json::from_slice(answer.body().as_ref()).unwrap();
        assert_eq!(body["error"]["code"], "invalid_signature");
        assert!(
            h.inserted_kinds().await.is_empty(),
            "{name} stored something"
        );
    }
}

#[tokio::test]
async fn the_handshake_echoes_the_challenge_only_for_our_token() {
    let h = harness().await;
    let ok = handle(&h.deps, event("get-handshake")).await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.body().as_ref(), b"1158201444");
    let refused = handle(&h.deps, event("get-handshake-wrong-token"))
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
}

#[tokio::test]
async fn duplicate_deliveries_store_one_message() {
    let h = harness().await;
    let body = text_delivery(
        PHONE,
        "wamid.DUP1",
        "15550100007",
        "Salam",
        h.deps.store.now(),
    );
    for _ in 0..3 {
        assert_eq!(h.post(&body).await.status(), 200);
    }
    let kinds = h.inserted_kinds().await;
    assert_eq!(kinds.iter().filter(|k| *k == "message_in").count(), 1);
    let contact = h
        .deps
        .store
        .find_contact(&h.tenant.id, IdentifierKind::WaId, "15550100007")
        .await
        .unwrap()
        .unwrap();
    let page = h
        .deps
        .store
        .conversation(
            &h.tenant.id,
            &contact.value.id,
            &h.tenant.retention(),
            10,
            None,
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert!(!page.items[0].late, "a fresh message is not late");
    assert_eq!(page.items[0].kind, MessageKind::Text);
}

#[tokio::test]
async fn statuses_in_any_order_end_at_the_furthest() {
    let h = harness().await;
    let store = &h.deps.store;
    let contact = contact_with_wa_id(&h, "15550100008").await;
    let wamid = Wamid::new("wamid.OUT.ORDER");
    let at = store.now().as_unix_seconds();
    // A read report before the message itself is stored (the send and the webhook race).
    assert_eq!(
        h.post(&status_delivery(
            "wamid.OUT.ORDER",
            "15550100008",
            "read",
            at
        ))
        .await
        .status(),
        200
    );
    let outbound = outbound(&h, &contact.id, &wamid, "Welcome!");
    store.put_message(&outbound).await.unwrap();
    for status in ["sent", "delivered", "sent"] {
        assert_eq!(
            h.post(&status_delivery(
                "wamid.OUT.ORDER",
                "15550100008",
                status,
                at - 60
            ))
            .await
            .status(),
            200
        );
    }
    let stored = store
        .message(&h.tenant.id, &contact.id, &wamid, &h.tenant.retention())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, Status::Read);
}

#[tokio::test]
async fn an_escaped_unicode_signature_is_accepted() {
    let h = harness().await;
    let answer = handle(&h.deps, event("post-signed-escaped-delivered-unescaped"))
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
}

#[tokio::test]
async fn oversize_bodies_get_413_and_store_nothing() {
    let mut h = harness().await;
    h.deps.webhook = webhook_config(2048);
    let body = text_delivery(
        PHONE,
        "wamid.BIG",
        "15550100009",
        &"x".repeat(4096),
        h.deps.store.now(),
    );
    let answer = h.post(&body).await;
    assert_eq!(answer.status(), 413);
    assert!(h.inserted_kinds().await.is_empty());
}

#[tokio::test]
async fn unparseable_signed_bodies_are_kept_and_acknowledged() {
    let h = harness().await;
    let answer = handle(&h.deps, event("post-unparseable")).await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(
        h.inserted_kinds().await,
        vec![
            "retained_category".to_owned(),
            "raw_payload".to_owned(),
            "raw_day_key".to_owned()
        ],
        "kept sealed under the day's key, whose marker the purge shreds it by (the tenant's \
         quarantine marked first, so the purge queries it)"
    );
}

#[tokio::test]
async fn deliveries_for_unknown_numbers_are_kept_sealed_and_replayed_once_the_number_is_attached() {
    let h = harness().await;
    let number = PhoneNumberId::new("100000000000999");
    let body = text_delivery(
        number.as_str(),
        "wamid.NOBODY",
        "15550100010",
        "Hello",
        h.deps.store.now(),
    );
    assert_eq!(h.post(&body).await.status(), 200);
    assert_eq!(
        h.inserted_kinds().await,
        vec![
            "retained_category".to_owned(),
            "raw_payload".to_owned(),
            "raw_day_key".to_owned()
        ],
        "no contact, no message: the item is kept sealed in the quarantine (marked first)"
    );
    let store = &h.deps.store;
    let early = intake::replay_unrouted(store, &number).await.unwrap();
    assert_eq!((early.replayed, early.still_unrouted), (0, 1));

    store
        .attach_phone_number(&h.tenant.id, &number)
        .await
        .unwrap();
    let replay = intake::replay_unrouted(store, &number).await.unwrap();
    assert_eq!((replay.replayed, replay.still_unrouted), (1, 0));
    assert_eq!(replay.intake.messages_stored, 1);
    let contact = store
        .find_contact(&h.tenant.id, IdentifierKind::WaId, "15550100010")
        .await
        .unwrap()
        .expect("the contact of the replayed message");
    let messages = store
        .conversation(
            &h.tenant.id,
            &contact.value.id,
            &h.tenant.retention(),
            10,
            None,
        )
        .await
        .unwrap()
        .items;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].wamid, Some(Wamid::new("wamid.NOBODY")));
    let again = intake::replay_unrouted(store, &number).await.unwrap();
    assert_eq!(again.replayed, 0, "replayed items leave the quarantine");
}

#[tokio::test]
async fn a_stop_keyword_records_the_opt_out_with_the_message() {
    let h = harness().await;
    let body = text_delivery(
        PHONE,
        "wamid.STOP",
        "15550100011",
        " Arrêt ! ",
        h.deps.store.now(),
    );
    assert_eq!(h.post(&body).await.status(), 200);
    let contact = h
        .deps
        .store
        .find_contact(&h.tenant.id, IdentifierKind::WaId, "15550100011")
        .await
        .unwrap()
        .unwrap();
    assert!(!contact.value.consent.allows(Purpose::AutomatedReplies));
    let history = h
        .deps
        .store
        .consent_history(&h.tenant.id, &contact.value.id)
        .await
        .unwrap();
    assert_eq!(history.len(), 1);
    let kinds: BTreeSet<String> = h.inserted_kinds().await.into_iter().collect();
    assert!(kinds.contains("message_in") && kinds.contains("consent"));
}

#[tokio::test]
async fn a_start_keyword_from_a_new_contact_grants_automated_replies_but_not_marketing() {
    let h = harness().await;
    let body = text_delivery(
        PHONE,
        "wamid.START1",
        "15550100012",
        "START",
        h.deps.store.now(),
    );
    assert_eq!(h.post(&body).await.status(), 200);
    let contact = h
        .deps
        .store
        .find_contact(&h.tenant.id, IdentifierKind::WaId, "15550100012")
        .await
        .unwrap()
        .unwrap()
        .value;
    assert_eq!(contact.consent.automated_replies, Decision::Granted);
    assert_eq!(contact.consent.marketing, Decision::Unset);
    assert!(!contact.consent.allows(Purpose::Marketing));
    let history = h
        .deps
        .store
        .consent_history(&h.tenant.id, &contact.id)
        .await
        .unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].purpose, Purpose::AutomatedReplies);
}

#[tokio::test]
async fn start_after_stop_restores_automated_replies_and_leaves_marketing_withdrawn() {
    let h = harness().await;
    let now = h.deps.store.now();
    let stop = text_delivery(PHONE, "wamid.S1", "15550100013", "STOP", now);
    assert_eq!(h.post(&stop).await.status(), 200);
    let later = Timestamp::from_millis(now.as_millis() + 60_000);
    let start = text_delivery(PHONE, "wamid.S2", "15550100013", "start", later);
    assert_eq!(h.post(&start).await.status(), 200);
    let contact = h
        .deps
        .store
        .find_contact(&h.tenant.id, IdentifierKind::WaId, "15550100013")
        .await
        .unwrap()
        .unwrap()
        .value;
    assert!(contact.consent.allows(Purpose::AutomatedReplies));
    assert_eq!(contact.consent.marketing, Decision::Withdrawn);
}

/// A store whose every write fails, as DynamoDB does when throttled or unreachable.
struct FailingWrites(Arc<dyn RecordStore>);

#[async_trait::async_trait]
impl RecordStore for FailingWrites {
    async fn get(&self, key: &Key, now: Timestamp) -> Result<Option<Record>, StoreError> {
        self.0.get(key, now).await
    }
    async fn query(&self, query: &Query, now: Timestamp) -> Result<Page<Record>, StoreError> {
        self.0.query(query, now).await
    }
    async fn due(
        &self,
        partitions: &[String],
        up_to: Timestamp,
        limit: usize,
        after: Option<Cursor>,
    ) -> Result<Page<Due>, StoreError> {
        self.0.due(partitions, up_to, limit, after).await
    }
    async fn transact(&self, _: Vec<Write>) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("injected failure".into()))
    }
    async fn delete_many(&self, _: Vec<Key>) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("injected failure".into()))
    }
}

#[tokio::test]
async fn a_failing_store_gets_a_5xx_so_meta_retries() {
    let h = harness().await;
    let store = &h.deps.store;
    let failing = Store::new(
        Arc::new(FailingWrites(store.records().clone())),
        store.envelope().clone(),
        Arc::new(mizan_shared::domain::identity_hash::IdentityHasher::new(
            [9; 32],
        )),
        Arc::new(mizan_shared::ports::clock::SystemClock),
    );
    let deps = Deps {
        store: failing,
        webhook: webhook_config(1024 * 1024),
    };
    let body = text_delivery(PHONE, "wamid.FAIL", "15550100012", "Hello", store.now());
    let signature = sign(&body, &AppSecret::new(APP_SECRET));
    let answer = handle(&deps, post_request(&body, Some(&signature)))
        .await
        .unwrap();
    assert_eq!(answer.status(), 503);
    // Meta's retry, once storage is back, stores it.
    assert_eq!(h.post(&body).await.status(), 200);
    assert!(h.inserted_kinds().await.iter().any(|k| k == "message_in"));
}

#[tokio::test]
async fn a_number_change_links_the_new_number_to_the_same_contact() {
    let h = harness().await;
    let answer = handle(&h.deps, event("post-system-phone_number_change"))
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let find = |wa_id: &'static str| {
        let store = h.deps.store.clone();
        let tenant = h.tenant.id.clone();
        async move {
            store
                .find_contact(&tenant, IdentifierKind::WaId, wa_id)
                .await
                .unwrap()
                .map(|c| c.value.id)
        }
    };
    let old = find("15550100002")
        .await
        .expect("the old number is a contact");
    let new = find("15550100003").await.expect("the new number is linked");
    assert_eq!(old, new);
}

#[tokio::test]
async fn logs_carry_no_message_text_phone_number_or_name() {
    let logs = captured_logs();
    let h = harness().await;

    let now = h.deps.store.now();
    let secret_text = "ma commande secrète numéro 77";
    let body = serde_json::to_vec(&serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100000", "phone_number_id": PHONE},
            "contacts": [{"profile": {"name": "Yasmine Idrissi"}, "wa_id": "15550100099"}],
            "messages": [{"from": "15550100099", "id": "wamid.HBgLMTU1NTAxMDAwOTk", "timestamp": now.as_unix_seconds().to_string(),
                          "type": "text", "text": {"body": secret_text}}]
        }}]}]
    }))
    .unwrap();
    assert_eq!(h.post(&body).await.status(), 200);
    assert_eq!(h.post(&body).await.status(), 200);
    let tampered = handle(&h.deps, post_request(&body, Some("sha256=00")))
        .await
        .unwrap();
    assert_eq!(tampered.status(), 401);
    assert_eq!(h.post(b"{not json").await.status(), 200);

    // Every test of this binary logs into the same buffer: none of them may leak either.
    let written = logs.text();
    assert!(
        written.contains("delivery stored"),
        "the deliveries were logged: {written}"
    );
    for personal in [
        "15550100099",
        "Yasmine",
        "Idrissi",
        "commande",
        "HBgLMTU1NTAxMDAwOTk",
    ] {
        assert!(
            !written.contains(personal),
            "{personal} appears in the logs:\n{written}"
        );
    }
}

#[tokio::test]
async fn pricing_and_conversation_of_statuses_are_kept_on_the_message() {
    let h = harness().await;
    let store = &h.deps.store;
    let contact = contact_with_wa_id(&h, "15550100013").await;
    let wamid = Wamid::new("wamid.OUT.PRICED");
    let now = store.now();
    let outbound = outbound(&h, &contact.id, &wamid, "Your order is ready");
    store.put_message(&outbound).await.unwrap();
    let body = serde_json::to_vec(&serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100000", "phone_number_id": PHONE},
            "statuses": [{"id": "wamid.OUT.PRICED", "status": "sent", "timestamp": now.as_unix_seconds().to_string(),
                          "recipient_id": "15550100013",
                          "conversation": {"id": "conv-1", "origin": {"type": "service"}},
                          "pricing": {"billable": true, "pricing_model": "PMP", "category": "service"}}]
        }}]}]
    }))
    .unwrap();
    assert_eq!(h.post(&body).await.status(), 200);
    let stored = store
        .message(&h.tenant.id, &contact.id, &wamid, &h.tenant.retention())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, Status::Sent);
    let billing = stored.billing.expect("billing kept");
    assert_eq!(billing["pricing"]["category"], "service");
    assert_eq!(billing["conversation"]["id"], "conv-1");
    // The recipient's country calling code, for the usage statements; never the number.
    assert_eq!(billing["country_code"], "1");
    assert!(!billing.to_string().contains("15550100013"));
}

/// Meta's 131050 (the person stopped marketing messages in WhatsApp) on a reply's failure is a
/// marketing opt-out by Meta with the error as evidence, recorded once however often Meta
/// delivers the status; automated replies stay allowed.
#[tokio::test]
async fn error_131050_records_a_marketing_opt_out_once() {
    let h = harness().await;
    let contact = contact_with_wa_id(&h, "15550100050").await;
    let wamid = Wamid::new("wamid.OUT.MKT");
    h.deps
        .store
        .put_message(&outbound(&h, &contact.id, &wamid, "Our new teas are in"))
        .await
        .unwrap();
    let at = h.deps.store.now().as_unix_seconds();
    let body = serde_json::to_vec(&serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100000", "phone_number_id": PHONE},
            "statuses": [{"id": wamid.as_str(), "status": "failed", "timestamp": at.to_string(),
                          "recipient_id": "15550100050",
                          "errors": [{"code": 131050, "title": "Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business."}]}]
        }}]}]
    }))
    .unwrap();
    for _ in 0..2 {
        assert_eq!(h.post(&body).await.status(), 200);
    }
    let history = h
        .deps
        .store
        .consent_history(&h.tenant.id, &contact.id)
        .await
        .unwrap();
    assert_eq!(history.len(), 1, "recorded once: {history:?}");
    let event = &history[0];
    assert_eq!(
        (event.purpose, event.action, event.source),
        (
            Purpose::Marketing,
            ConsentAction::OptOut,
            ConsentSource::Webhook
        )
    );
    assert!(event.evidence.starts_with("error:131050:"));
    let state = h
        .deps
        .store
        .contact(&h.tenant.id, &contact.id)
        .await
        .unwrap()
        .unwrap()
        .value
        .consent;
    assert_eq!(state.marketing, Decision::Withdrawn);
    assert_eq!(
        state.automated_replies,
        Decision::Unset,
        "replies stay allowed"
    );
}
