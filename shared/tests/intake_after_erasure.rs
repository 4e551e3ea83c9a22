//! What intake does with deliveries from a person whose contact is being erased or was erased:
//! a redelivered or replayed older message resurrects nothing, a message during the erasure
//! waits for it (retried, then quarantined), a message sent after it starts a new contact.
//! Every case runs against the embedded backend and DynamoDB Local.

use mizan_test_support::on_both_backends;
use mizan_test_support::store as support;

use mizan_shared::domain::audit::{Actor, AuditEvent};
use mizan_shared::domain::identity_hash::IdentifierKind;
use mizan_shared::domain::ids::PhoneNumberId;
use mizan_shared::domain::tenant::Tenant;
use mizan_shared::domain::time::Timestamp;
use mizan_shared::domain::whatsapp::parse_delivery;
use mizan_shared::ports::clock::Clock;
use mizan_shared::ports::records::Query;
use mizan_shared::store::{layout, DataError, ErasureReason};
use mizan_shared::workflows::intake::{self, ERASURE_RETRY_WINDOW};
use std::time::Duration;
use support::Harness;

const WA_ID: &str = "212600000090";

async fn tenant(h: &Harness) -> Tenant {
    let tenant = Tenant::new("Atlas Tea", h.clock.now());
    h.store.create_tenant(&tenant).await.unwrap();
    let phone = PhoneNumberId::new(format!("1067{}", &tenant.id.as_str()[4..12]));
    h.store
        .attach_phone_number(&tenant.id, &phone)
        .await
        .unwrap()
}

/// A signed-and-verified delivery of one text, as Meta sends it (and redelivers it).
fn delivery(t: &Tenant, wamid: &str, text: &str, sent_at: Timestamp) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100000",
                         "phone_number_id": t.phone_numbers[0].as_str()},
            "contacts": [{"profile": {"name": "Amina"}, "wa_id": WA_ID}],
            "messages": [{"from": WA_ID, "id": wamid,
                          "timestamp": sent_at.as_unix_seconds().to_string(),
                          "type": "text", "text": {"body": text}}]
        }}]}]
    }))
    .unwrap()
}

async fn deliver(h: &Harness, body: &[u8]) -> Result<intake::IntakeReport, DataError> {
    intake::ingest(&h.store, &parse_delivery(body).unwrap()).await
}

async fn request_erasure(h: &Harness, t: &Tenant) -> mizan_shared::domain::ids::ContactId {
    let contact = h
        .store
        .find_contact(&t.id, IdentifierKind::WaId, WA_ID)
        .await
        .unwrap()
        .unwrap();
    let audit = AuditEvent::new(
        t.id.clone(),
        Actor::Admin,
        "contact.erasure_requested",
        Some(contact.value.id.clone()),
        h.clock.now(),
    );
    h.store
        .request_erasure(&contact, ErasureReason::Request, &audit)
        .await
        .unwrap();
    contact.value.id
}

async fn a_replayed_delivery_after_an_erasure_is_acknowledged_and_stores_nothing(h: Harness) {
    let t = tenant(&h).await;
    let sent = Timestamp::from_unix_seconds(h.clock.now().as_unix_seconds());
    let body = delivery(
        &t,
        "wamid.REPLAY1",
        "my address is 12 rue des Oudayas",
        sent,
    );
    assert_eq!(deliver(&h, &body).await.unwrap().messages_stored, 1);
    h.clock.advance(Duration::from_secs(30));
    let erased = request_erasure(&h, &t).await;
    h.store.erase_contact(&t.id, &erased).await.unwrap();

    // Meta redelivers the same signed body days later.
    h.clock.advance(Duration::from_secs(3 * 24 * 3600));
    let report = deliver(&h, &body).await.unwrap();
    assert_eq!(report.dropped_after_erasure, 1, "{report:?}");
    assert_eq!(report.messages_stored, 0);
    assert!(h
        .store
        .find_contact(&t.id, IdentifierKind::WaId, WA_ID)
        .await
        .unwrap()
        .is_none());
    let partition = h
        .records
        .query(
            &Query::prefix(layout::contact_partition(&t.id, &erased), ""),
            Timestamp::EPOCH,
        )
        .await
        .unwrap();
    assert!(partition.items.is_empty(), "the erased text is not back");

    // The person writes again: a new contact, and the old replay still stores nothing.
    let again = delivery(&t, "wamid.NEW1", "hello again", h.clock.now());
    assert_eq!(deliver(&h, &again).await.unwrap().messages_stored, 1);
    let report = deliver(&h, &body).await.unwrap();
    assert_eq!(
        (report.dropped_after_erasure, report.messages_stored),
        (1, 0)
    );
    let contact = h
        .store
        .find_contact(&t.id, IdentifierKind::WaId, WA_ID)
        .await
        .unwrap()
        .unwrap();
    let conversation = h
        .store
        .conversation(&t.id, &contact.value.id, &t.retention(), 10, None)
        .await
        .unwrap();
    assert_eq!(conversation.items.len(), 1, "only the new message");
}

async fn a_message_during_an_erasure_is_retried_then_quarantined(h: Harness) {
    let t = tenant(&h).await;
    let first = delivery(&t, "wamid.D1", "hi", h.clock.now());
    deliver(&h, &first).await.unwrap();
    request_erasure(&h, &t).await;

    // Answered 5xx (retryable): Meta delivers it again once the erasure is done.
    h.clock.advance(Duration::from_secs(5));
    let during = delivery(&t, "wamid.D2", "are you there?", h.clock.now());
    let refused = deliver(&h, &during).await;
    assert!(
        matches!(&refused, Err(e @ DataError::BeingErased { .. }) if e.is_retryable()),
        "{refused:?}"
    );

    // An erasure held up past the window: the message waits sealed in the quarantine instead,
    // and so does a preference change of the same person.
    h.clock
        .advance(ERASURE_RETRY_WINDOW + Duration::from_secs(1));
    let report = deliver(&h, &during).await.unwrap();
    assert_eq!((report.kept_raw, report.messages_stored), (1, 0));
    let stop = preference(&t, "stop", h.clock.now());
    let report = deliver(&h, &stop).await.unwrap();
    assert_eq!((report.kept_raw, report.consent_recorded), (1, 0));
}

/// Meta's `user_preferences` change of the person (marketing messages stopped or resumed).
fn preference(t: &Tenant, value: &str, at: Timestamp) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "user_preferences", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100000",
                         "phone_number_id": t.phone_numbers[0].as_str()},
            "contacts": [{"profile": {"name": "Amina"}, "wa_id": WA_ID}],
            "user_preferences": [{"wa_id": WA_ID, "detail": "User requested to stop marketing messages",
                                  "category": "marketing_messages", "value": value,
                                  "timestamp": at.as_unix_seconds()}]
        }}]}]
    }))
    .unwrap()
}

on_both_backends!(
    a_replayed_delivery_after_an_erasure_is_acknowledged_and_stores_nothing,
    a_message_during_an_erasure_is_retried_then_quarantined,
);
