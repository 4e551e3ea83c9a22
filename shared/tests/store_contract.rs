//! The storage contract: every case runs unchanged against the embedded backend and DynamoDB Local.

use mizan_test_support::on_both_backends;
use mizan_test_support::store as support;

use mizan_shared::domain::audit::{Actor, AuditEvent};
use mizan_shared::domain::consent::{
    ConsentAction, ConsentEvent, ConsentSource, Decision, Purpose,
};
use mizan_shared::domain::contact::ContactProfile;
use mizan_shared::domain::contact_change::ContactChange;
use mizan_shared::domain::export::{ExportJob, ExportScope, ExportState};
use mizan_shared::domain::identity_hash::{IdentifierKind, IdentityHasher};
use mizan_shared::domain::ids::{ContactId, ExportId, PhoneNumberId, TenantId, Wamid};
use mizan_shared::domain::message::{Direction, Message, MessageContent, MessageKind, Status};
use mizan_shared::domain::retention::{Category, RetentionPolicy, MAX_CHAT_RETENTION_DAYS};
use mizan_shared::domain::tenant::Tenant;
use mizan_shared::domain::time::{days, Timestamp};
use mizan_shared::ports::records::{
    Condition, Cursor, Due, Key, Page, Query, Range, Record, RecordStore, StoreError, Write,
};
use mizan_shared::store::{
    layout, ChangeOutcome, DataError, ErasureReason, PutOutcome, SenderOutcome, StatusFields,
    StatusOutcome, Store,
};
use secrecy::{ExposeSecret, SecretString};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::Harness;

async fn tenant(h: &Harness) -> Tenant {
    let tenant = Tenant::new("Atlas Tea", h.now());
    h.store.create_tenant(&tenant).await.unwrap();
    tenant
}

fn profile(wa_id: &str) -> ContactProfile {
    ContactProfile {
        wa_id: Some(wa_id.into()),
        name: Some("Amina".into()),
        ..ContactProfile::default()
    }
}

async fn contact(h: &Harness, t: &Tenant, wa_id: &str) -> ContactId {
    h.store
        .upsert_contact(&t.id, &profile(wa_id))
        .await
        .unwrap()
        .contact
        .value
        .id
}

fn message(
    h: &Harness,
    t: &Tenant,
    c: &ContactId,
    wamid: &str,
    sent_at: Timestamp,
    direction: Direction,
) -> Message {
    let make = match direction {
        Direction::Inbound => Message::inbound,
        Direction::Outbound => Message::outbound,
    };
    make(
        t.id.clone(),
        c.clone(),
        h.store.message_id(&t.id, &Wamid::new(wamid)),
        Wamid::new(wamid),
        MessageKind::Text,
        MessageContent::text(&format!("hello {wamid}")),
        sent_at,
    )
}

/// Stores an inbound text message sent at `at`.
async fn store_inbound(h: &Harness, t: &Tenant, c: &ContactId, wamid: &str, at: Timestamp) {
    let m = message(h, t, c, wamid, at, Direction::Inbound);
    h.store.put_message(&m).await.unwrap();
}

fn report(status: Status, at: Timestamp) -> StatusFields {
    StatusFields {
        status,
        at,
        errors: vec![],
        billing: None,
    }
}

fn minutes(n: i64) -> Duration {
    Duration::from_secs(60 * n as u64)
}

async fn idempotent_message_put(h: Harness) {
    let t = tenant(&h).await;
    let c = contact(&h, &t, "212600000001").await;
    let policy = t.retention();
    let m = message(&h, &t, &c, "wamid.A", h.now(), Direction::Inbound);
    assert_eq!(h.store.put_message(&m).await.unwrap(), PutOutcome::Stored);
    assert_eq!(
        h.store.put_message(&m).await.unwrap(),
        PutOutcome::Duplicate
    );
    let page = h
        .store
        .conversation(&t.id, &c, &policy, 10, None)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].content, m.content);
}

async fn status_only_moves_forward(h: Harness) {
    let t = tenant(&h).await;
    let c = contact(&h, &t, "212600000002").await;
    let policy = t.retention();
    let m = message(&h, &t, &c, "wamid.OUT", h.now(), Direction::Outbound);
    h.store.put_message(&m).await.unwrap();
    let at = h.now();
    let apply = |s: Status| {
        h.store
            .apply_status(&t.id, &c, m.wamid.as_ref().unwrap(), s, at, vec![])
    };
    assert_eq!(
        apply(Status::Delivered).await.unwrap(),
        StatusOutcome::Advanced(Status::Delivered)
    );
    assert_eq!(
        apply(Status::Sent).await.unwrap(),
        StatusOutcome::Unchanged(Status::Delivered)
    );
    assert_eq!(
        apply(Status::Read).await.unwrap(),
        StatusOutcome::Advanced(Status::Read)
    );
    assert_eq!(
        apply(Status::Read).await.unwrap(),
        StatusOutcome::Unchanged(Status::Read)
    );
    assert_eq!(
        apply(Status::Failed).await.unwrap(),
        StatusOutcome::Advanced(Status::Failed)
    );
    assert_eq!(
        apply(Status::Played).await.unwrap(),
        StatusOutcome::Unchanged(Status::Failed)
    );
    let stored = h
        .store
        .message(&t.id, &c, m.wamid.as_ref().unwrap(), &policy)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, Status::Failed);
    let unknown = h
        .store
        .apply_status(
            &t.id,
            &c,
            &Wamid::new("wamid.NOPE"),
            Status::Read,
            at,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(unknown, StatusOutcome::UnknownMessage);
}

async fn keyword_message_and_its_consent_commit_together_once(h: Harness) {
    let t = tenant(&h).await;
    let c = contact(&h, &t, "212600000012").await;
    let policy = t.retention();
    let mut m = message(&h, &t, &c, "wamid.STOP1", h.now(), Direction::Inbound);
    m.content = Some(MessageContent::text("STOP"));
    let stop = ConsentEvent {
        tenant: t.id.clone(),
        contact: c.clone(),
        at: m.sent_at,
        purpose: Purpose::All,
        action: ConsentAction::OptOut,
        source: ConsentSource::Keyword,
        evidence: m.id.to_string(),
        actor: "contact".into(),
    };
    for expected in [
        PutOutcome::Stored,
        PutOutcome::Duplicate,
        PutOutcome::Duplicate,
    ] {
        let outcome = h.store.ingest_message(&m, Some(&stop)).await.unwrap();
        assert_eq!(outcome, expected);
    }
    assert_eq!(
        h.store.consent_history(&t.id, &c).await.unwrap(),
        vec![stop]
    );
    let contact = h.store.contact(&t.id, &c).await.unwrap().unwrap().value;
    assert!(!contact.consent.allows(Purpose::AutomatedReplies));
    let page = h
        .store
        .conversation(&t.id, &c, &policy, 10, None)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
}

async fn a_status_before_its_message_is_kept_then_applied(h: Harness) {
    let t = tenant(&h).await;
    let c = contact(&h, &t, "212600000013").await;
    let policy = t.retention();
    let m = message(&h, &t, &c, "wamid.EARLY", h.now(), Direction::Outbound);
    let wamid = m.wamid.clone().unwrap();
    let at = h.now();
    let delivered = h
        .store
        .record_status(&t.id, Some(&c), &wamid, report(Status::Delivered, at))
        .await
        .unwrap();
    assert_eq!(delivered, StatusOutcome::Pending);
    let read = h
        .store
        .record_status(&t.id, None, &wamid, report(Status::Read, at))
        .await
        .unwrap();
    assert_eq!(read, StatusOutcome::Pending);

    h.store.put_message(&m).await.unwrap();
    let stored = h
        .store
        .message(&t.id, &c, &wamid, &policy)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, Status::Read);
    let left = h
        .records
        .query(
            &Query::prefix(format!("T#{}#W#{}", t.id, m.id), ""),
            h.now(),
        )
        .await
        .unwrap();
    assert!(left.items.is_empty(), "applied reports are not kept");
    let later = h
        .store
        .record_status(&t.id, Some(&c), &wamid, report(Status::Delivered, at))
        .await
        .unwrap();
    assert_eq!(later, StatusOutcome::Unchanged(Status::Read));
}

async fn wamids_and_content_are_never_stored_in_the_clear(h: Harness) {
    let t = tenant(&h).await;
    let c = contact(&h, &t, "212600000014").await;
    let m = message(
        &h,
        &t,
        &c,
        "wamid.HBgLMjEyNjAwMDAwMDE0",
        h.now(),
        Direction::Inbound,
    );
    h.store.put_message(&m).await.unwrap();
    let everything = h
        .records
        .query(
            &Query::prefix(format!("T#{}#C#{}", t.id, c), ""),
            Timestamp::EPOCH,
        )
        .await
        .unwrap();
    assert_eq!(everything.items.len(), 2, "profile and message");
    for record in &everything.items {
        let visible = format!("{} {} {}", record.key.pk, record.key.sk, record.doc);
        for secret in ["HBgLMjEyNjAwMDAwMDE0", "212600000014", "Amina", "hello"] {
            assert!(!visible.contains(secret), "{secret} in {}", record.kind);
        }
        assert!(record.sealed.is_some());
    }
}

async fn conversation_is_newest_first_with_a_limit(h: Harness) {
    let t = tenant(&h).await;
    let c = contact(&h, &t, "212600000003").await;
    let other = contact(&h, &t, "212600000004").await;
    let policy = t.retention();
    let start = h.now();
    for i in 0..5 {
        let m = message(
            &h,
            &t,
            &c,
            &format!("wamid.{i}"),
            start.plus(minutes(i)),
            Direction::Inbound,
        );
        h.store.put_message(&m).await.unwrap();
    }
    let noise = message(
        &h,
        &t,
        &other,
        "wamid.other",
        start.plus(minutes(9)),
        Direction::Inbound,
    );
    h.store.put_message(&noise).await.unwrap();
    h.clock.advance(minutes(10));

    let first = h
        .store
        .conversation(&t.id, &c, &policy, 3, None)
        .await
        .unwrap();
    let ids: Vec<&str> = first
        .items
        .iter()
        .map(|m| m.wamid.as_ref().unwrap().as_str())
        .collect();
    assert_eq!(ids, ["wamid.4", "wamid.3", "wamid.2"]);
    let rest = h
        .store
        .conversation(&t.id, &c, &policy, 3, first.next)
        .await
        .unwrap();
    let ids: Vec<&str> = rest
        .items
        .iter()
        .map(|m| m.wamid.as_ref().unwrap().as_str())
        .collect();
    assert_eq!(ids, ["wamid.1", "wamid.0"]);
    assert!(rest.next.is_none());
}

async fn retention_range_is_exact_per_tenant_and_category(h: Harness) {
    let a = tenant(&h).await;
    let b = tenant(&h).await;
    let ca = contact(&h, &a, "212600000005").await;
    let cb = contact(&h, &b, "212600000005").await;
    let start = h.now();
    for i in 0..40 {
        let at = start.plus(minutes(i));
        store_inbound(&h, &a, &ca, &format!("wamid.a{i}"), at).await;
        store_inbound(&h, &b, &cb, &format!("wamid.b{i}"), at).await;
    }
    let up_to = start.plus(minutes(9));
    let due = h
        .store
        .all_due(&a.id, Category::ChatContent, up_to)
        .await
        .unwrap();
    assert_eq!(
        due.len(),
        10,
        "exactly the messages at or before the cutoff"
    );
    assert!(due
        .iter()
        .all(|d| d.at <= up_to && d.key.pk.contains(a.id.as_str())));
    assert!(h
        .store
        .all_due(&a.id, Category::Audit, up_to)
        .await
        .unwrap()
        .is_empty());
    let shards: std::collections::HashSet<String> = h
        .store
        .all_due(&a.id, Category::ChatContent, start.plus(minutes(40)))
        .await
        .unwrap()
        .iter()
        .map(|d| d.key.sk.clone())
        .collect();
    assert_eq!(shards.len(), 40);
}

/// Entries of all shards interleave in time; one read over a category's shards pages through
/// exactly its due entries, each once, whatever page size (pages break between equal times).
async fn a_category_pages_through_its_due_entries_across_shards_each_once(h: Harness) {
    use mizan_shared::domain::retention::retention_shard;
    use std::collections::HashSet;
    let t = tenant(&h).await;
    let c = contact(&h, &t, "212600000015").await;
    let start = h.now();
    for i in 0..48 {
        // Two messages share each minute, so pages also break between equal times.
        let at = start.plus(minutes(i / 2));
        store_inbound(&h, &t, &c, &format!("wamid.s{i}"), at).await;
    }
    let everything = h
        .store
        .all_due(&t.id, Category::ChatContent, Timestamp::MAX)
        .await
        .unwrap();
    assert_eq!(everything.len(), 48);
    let shards: HashSet<u8> = everything
        .iter()
        .map(|d| retention_shard(&d.key.pk, &d.key.sk))
        .collect();
    assert!(
        shards.len() > 4,
        "the entries spread over shards: {shards:?}"
    );
    let up_to = start.plus(minutes(11));
    let mut expected: Vec<_> = everything
        .iter()
        .filter(|d| d.at <= up_to)
        .map(|d| (d.at, d.key.pk.clone(), d.key.sk.clone()))
        .collect();
    expected.sort();
    assert_eq!(expected.len(), 24);
    for page_size in [1, 2, 7, 100] {
        let mut paged = Vec::new();
        let mut after = None;
        loop {
            let page = h
                .store
                .due_in_category(&t.id, Category::ChatContent, up_to, page_size, after)
                .await
                .unwrap();
            assert!(page.items.len() <= page_size);
            paged.extend(page.items.into_iter().map(|d| (d.at, d.key.pk, d.key.sk)));
            after = page.next;
            if after.is_none() {
                break;
            }
        }
        paged.sort();
        assert_eq!(paged, expected, "pages of {page_size}: each due entry once");
    }
    // Another category of the same tenant reads none of them.
    let audit = h
        .store
        .due_in_category(&t.id, Category::Audit, Timestamp::MAX, 100, None)
        .await
        .unwrap();
    assert!(audit
        .items
        .iter()
        .all(|d| !everything.iter().any(|e| e.key == d.key)));
}

async fn expired_data_is_never_read(h: Harness) {
    let t = tenant(&h).await;
    let c = contact(&h, &t, "212600000006").await;
    let policy = t.retention();
    let start = h.now();
    let old = message(&h, &t, &c, "wamid.old", start, Direction::Inbound);
    h.store.put_message(&old).await.unwrap();

    h.clock.advance(days(31));
    let m = h
        .store
        .message(&t.id, &c, old.wamid.as_ref().unwrap(), &policy)
        .await
        .unwrap()
        .unwrap();
    assert!(
        m.content.is_none(),
        "content is unreadable after the chat retention (P1)"
    );
    assert_eq!(m.status, Status::Received, "metadata outlives content (P2)");

    h.clock.advance(days(60));
    assert!(h
        .store
        .message(&t.id, &c, old.wamid.as_ref().unwrap(), &policy)
        .await
        .unwrap()
        .is_none());
    let page = h
        .store
        .conversation(&t.id, &c, &policy, 10, None)
        .await
        .unwrap();
    assert!(page.items.is_empty());

    // The port itself hides a record from the second its expiry falls in.
    let now = h.now();
    let mut record = Record::new(Key::new("T#x", "EPHEMERAL"), "test", serde_json::json!({}));
    record.expires_at = Some(now.minus(Duration::from_millis(1)));
    h.records
        .write(Write::Put {
            record,
            condition: Condition::Always,
        })
        .await
        .unwrap();
    assert!(h
        .records
        .get(&Key::new("T#x", "EPHEMERAL"), now)
        .await
        .unwrap()
        .is_none());
    let listed = h
        .records
        .query(&Query::prefix("T#x", ""), now)
        .await
        .unwrap();
    assert!(listed.items.is_empty());
}

/// The TTL backstop follows the longest retention a tenant may set, not the one in force when
/// the message was written: a tenant who raises its chat retention keeps what is stored.
async fn raising_the_chat_retention_keeps_messages_already_stored(h: Harness) {
    let t = tenant(&h).await;
    let c = contact(&h, &t, "212600000026").await;
    let stored = message(&h, &t, &c, "wamid.kept", h.now(), Direction::Inbound);
    h.store.put_message(&stored).await.unwrap();
    let mut tenant = h.store.tenant_versioned(&t.id).await.unwrap().unwrap();
    tenant.value.settings.chat_retention_days = MAX_CHAT_RETENTION_DAYS;
    h.store.save_tenant(&tenant, None).await.unwrap();
    let raised = tenant.value.retention();

    h.clock.advance(days(200));
    let read = h
        .store
        .message(&t.id, &c, stored.wamid.as_ref().unwrap(), &raised)
        .await
        .unwrap()
        .expect("kept past the 90 days of the old setting");
    assert!(read.content.is_some(), "and its content with it");
    let raw = h
        .records
        .get(&layout::message(&t.id, &c, &stored.id), Timestamp::EPOCH)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        raw.expires_at,
        Some(
            stored
                .sent_at
                .plus(days(u64::from(MAX_CHAT_RETENTION_DAYS)))
        )
    );
}

async fn audit_events_past_their_two_years_are_never_read(h: Harness) {
    let t = tenant(&h).await;
    let old = AuditEvent::new(
        t.id.clone(),
        Actor::Admin,
        "settings.updated",
        None,
        h.now(),
    );
    h.store.append_audit(&old).await.unwrap();
    h.clock.advance(days(365));
    let recent = AuditEvent::new(t.id.clone(), Actor::Admin, "api_key.issued", None, h.now());
    h.store.append_audit(&recent).await.unwrap();
    let trail = h.store.audit_events(&t.id, 10, None).await.unwrap();
    assert_eq!(trail.items, vec![recent.clone(), old]);
    h.clock.advance(days(366));
    let trail = h.store.audit_events(&t.id, 10, None).await.unwrap();
    assert_eq!(
        trail.items,
        vec![recent],
        "the purge has not run, yet it is gone"
    );
}

/// An idle contact's profile and consent history are not shown once its retention has ended,
/// before the purge removes them; activity (a reply too) keeps it, and so does a legal hold.
async fn an_idle_contact_past_its_retention_is_never_read(h: Harness) {
    use mizan_shared::domain::api_key::Scope;
    use mizan_shared::http_api::{callers_contact, Caller};
    let t = tenant(&h).await;
    let idle = contact(&h, &t, "212600000027").await;
    let answered = contact(&h, &t, "212600000028").await;
    let caller = Caller {
        tenant: t.id.clone(),
        key: mizan_shared::domain::ids::ApiKeyId::new("key_0123456789ab"),
        scopes: Scope::all(),
        access: mizan_shared::domain::tenant::AccountAccess::Open,
        country: None,
    };
    h.clock.advance(days(60));
    // The business wrote to one of them meanwhile.
    h.store
        .put_message(&message(
            &h,
            &t,
            &answered,
            "wamid.reply",
            h.now(),
            Direction::Outbound,
        ))
        .await
        .unwrap();
    h.clock.advance(days(31)); // 91 days after both were last seen
    let policy = t.retention();
    let idle_contact = h.store.contact(&t.id, &idle).await.unwrap().unwrap().value;
    assert!(h
        .store
        .contact_retired(&idle_contact, &policy)
        .await
        .unwrap());
    let refused = callers_contact(&h.store, &caller, "%2B212600000027").await;
    assert_eq!(refused.unwrap_err().status, 404);
    assert!(callers_contact(&h.store, &caller, "%2B212600000028")
        .await
        .is_ok());

    let mut held = h.store.contact(&t.id, &idle).await.unwrap().unwrap();
    held.value.legal_hold = true;
    h.store.save_contact(&held, None).await.unwrap();
    assert!(callers_contact(&h.store, &caller, "%2B212600000027")
        .await
        .is_ok());
}

async fn consent_history_is_appended_and_read(h: Harness) {
    let t = tenant(&h).await;
    let c = contact(&h, &t, "212600000007").await;
    let opt_out = ConsentEvent {
        tenant: t.id.clone(),
        contact: c.clone(),
        at: h.now(),
        purpose: Purpose::AutomatedReplies,
        action: ConsentAction::OptOut,
        source: ConsentSource::Keyword,
        evidence: "wamid.STOP".into(),
        actor: "contact".into(),
    };
    let state = h.store.record_consent(&opt_out, None).await.unwrap();
    assert!(!state.allows(Purpose::AutomatedReplies));
    // A replayed delivery of the same STOP records nothing new.
    h.store.record_consent(&opt_out, None).await.unwrap();
    h.clock.advance(minutes(5));
    let opt_in = ConsentEvent {
        at: h.now(),
        action: ConsentAction::OptIn,
        evidence: "req_1".into(),
        source: ConsentSource::Api,
        actor: "key_1".into(),
        ..opt_out.clone()
    };
    let audit = AuditEvent::new(
        t.id.clone(),
        Actor::Admin,
        "consent.recorded",
        Some(c.clone()),
        h.now(),
    );
    h.store.record_consent(&opt_in, Some(&audit)).await.unwrap();

    let history = h.store.consent_history(&t.id, &c).await.unwrap();
    assert_eq!(history, vec![opt_out, opt_in]);
    let contact = h.store.contact(&t.id, &c).await.unwrap().unwrap();
    assert_eq!(contact.value.consent.automated_replies, Decision::Granted);
    let trail = h.store.audit_events(&t.id, 10, None).await.unwrap();
    assert_eq!(trail.items, vec![audit]);
}

async fn tenant_is_found_by_phone_number_id(h: Harness) {
    let a = tenant(&h).await;
    let b = tenant(&h).await;
    let phone = PhoneNumberId::new(format!("1065{}", &a.id.as_str()[4..12]));
    h.store.attach_phone_number(&a.id, &phone).await.unwrap();
    h.store.attach_phone_number(&a.id, &phone).await.unwrap();
    let found = h
        .store
        .tenant_by_phone_number(&phone)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, a.id);
    assert_eq!(found.phone_numbers, vec![phone.clone()]);
    assert!(matches!(
        h.store.attach_phone_number(&b.id, &phone).await,
        Err(DataError::Conflict(_))
    ));
    assert!(h
        .store
        .tenant_by_phone_number(&PhoneNumberId::new("999"))
        .await
        .unwrap()
        .is_none());
}

/// Another warm instance (another `Store` over the same tables) attaches a number: the next
/// delivery here is routed, not dropped for a remembered "no tenant".
async fn a_number_attached_by_another_instance_routes_the_next_delivery(h: Harness) {
    let t = tenant(&h).await;
    let phone = PhoneNumberId::new(format!("1066{}", &t.id.as_str()[4..12]));
    assert!(h
        .store
        .tenant_by_phone_number(&phone)
        .await
        .unwrap()
        .is_none());
    let other_instance = Store::new(
        h.records.clone(),
        h.envelope.clone(),
        Arc::new(IdentityHasher::new(support::HASH_KEY)),
        h.clock.clone(),
    );
    other_instance
        .attach_phone_number(&t.id, &phone)
        .await
        .unwrap();
    let found = h.store.tenant_by_phone_number(&phone).await.unwrap();
    assert_eq!(found.map(|t| t.id.clone()), Some(t.id));
}

async fn tenant_settings_save_with_audit_and_refuse_stale_writes(h: Harness) {
    let t = tenant(&h).await;
    let mut read = h.store.tenant_versioned(&t.id).await.unwrap().unwrap();
    let stale = read.clone();
    read.value.settings.chat_retention_days = 90;
    let audit = AuditEvent::new(
        t.id.clone(),
        Actor::Admin,
        "settings.updated",
        None,
        h.now(),
    );
    h.store.save_tenant(&read, Some(&audit)).await.unwrap();
    let saved = h.store.tenant(&t.id).await.unwrap().unwrap();
    assert_eq!(saved.settings.chat_retention_days, 90);
    assert!(matches!(
        h.store.save_tenant(&stale, None).await,
        Err(DataError::Conflict(_))
    ));
    let mut invalid = h.store.tenant_versioned(&t.id).await.unwrap().unwrap();
    invalid.value.settings.chat_retention_days = 0;
    match h.store.save_tenant(&invalid, None).await {
        Err(DataError::Settings(e)) => assert_eq!(e.field(), "chat_retention_days"),
        other => panic!("expected a settings error, got {other:?}"),
    }
    assert_eq!(
        h.store.audit_events(&t.id, 10, None).await.unwrap().items,
        vec![audit]
    );
}

async fn api_keys_are_found_by_hash_and_revocable(h: Harness) {
    let t = tenant(&h).await;
    let (key, token) = h
        .store
        .issue_api_key(&t.id, "dashboard", Actor::Admin)
        .await
        .unwrap();
    let found = h.store.authenticate(&token).await.unwrap().unwrap();
    assert_eq!(found.tenant, t.id);
    assert_eq!(
        h.store
            .api_key_by_hash(&key.hash)
            .await
            .unwrap()
            .unwrap()
            .id,
        key.id
    );
    let forged = SecretString::from(format!("{}0", token.expose_secret()));
    assert!(h.store.authenticate(&forged).await.unwrap().is_none());
    h.clock.advance(minutes(1));
    h.store
        .revoke_api_key(&t.id, &key.id, Actor::Admin)
        .await
        .unwrap();
    let trail = h.store.audit_events(&t.id, 10, None).await.unwrap();
    let actions: Vec<&str> = trail.items.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["api_key.revoked", "api_key.issued"],
        "key changes are audited"
    );
    assert!(h.store.authenticate(&token).await.unwrap().is_none());
    let listed = h.store.api_keys(&t.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].revoked_at.is_some());
}

async fn export_jobs_move_forward_only(h: Harness) {
    let t = tenant(&h).await;
    let c = contact(&h, &t, "212600000008").await;
    let job = ExportJob {
        id: ExportId::generate(),
        tenant: t.id.clone(),
        scope: ExportScope::Contact { contact: c.clone() },
        state: ExportState::Pending,
        requested_at: h.now(),
        expires_at: h.now().plus(days(7)),
        requested_by: "key_1".into(),
        downloads: 0,
        last_audited_download_at: None,
        chat_request: None,
        download_limit: None,
    };
    h.store.create_export(&job).await.unwrap();
    assert!(matches!(
        h.store.create_export(&job).await,
        Err(DataError::Conflict(_))
    ));
    let mut read = h.store.export(&t.id, &job.id).await.unwrap().unwrap();
    let stale = read.clone();
    read.value.mark_ready("exports/abc.zip".into(), 42).unwrap();
    read.version = h.store.save_export(&read).await.unwrap();
    assert!(matches!(
        h.store.save_export(&stale).await,
        Err(DataError::Conflict(_))
    ));
    let now = h.store.export(&t.id, &job.id).await.unwrap().unwrap();
    assert_eq!(
        now.value.state,
        ExportState::Ready {
            object_key: "exports/abc.zip".into(),
            size_bytes: 42
        }
    );
    assert_eq!(
        h.store.exports_of_contact(&t.id, &c).await.unwrap().len(),
        1
    );
    h.clock.advance(days(9));
    assert!(
        h.store.export(&t.id, &job.id).await.unwrap().is_none(),
        "gone a day after expiry"
    );
}

async fn audit_events_page_newest_first(h: Harness) {
    let t = tenant(&h).await;
    let mut written = Vec::new();
    for i in 0..3 {
        h.clock.advance(minutes(1));
        let e = AuditEvent::new(
            t.id.clone(),
            Actor::Admin,
            format!("test.{i}"),
            None,
            h.now(),
        );
        h.store.append_audit(&e).await.unwrap();
        written.push(e);
    }
    let first = h.store.audit_events(&t.id, 2, None).await.unwrap();
    assert_eq!(first.items, vec![written[2].clone(), written[1].clone()]);
    let rest = h.store.audit_events(&t.id, 2, first.next).await.unwrap();
    assert_eq!(rest.items, vec![written[0].clone()]);
}

async fn contacts_are_linked_by_any_identifier(h: Harness) {
    let t = tenant(&h).await;
    let first = h
        .store
        .upsert_contact(
            &t.id,
            &ContactProfile {
                user_id: Some("MA.1".into()),
                ..ContactProfile::default()
            },
        )
        .await
        .unwrap();
    assert!(first.created);
    let both = ContactProfile {
        user_id: Some("MA.1".into()),
        wa_id: Some("212600000009".into()),
        name: Some("Yassine".into()),
        ..ContactProfile::default()
    };
    let second = h.store.upsert_contact(&t.id, &both).await.unwrap();
    assert!(!second.created);
    assert_eq!(second.contact.value.id, first.contact.value.id);
    let by_phone = h
        .store
        .find_contact(&t.id, IdentifierKind::WaId, "+212600000009")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_phone.value.id, first.contact.value.id);
    assert_eq!(by_phone.value.profile.unwrap().name, Some("Yassine".into()));
    assert!(!first.contact.value.id.as_str().contains("MA.1"));
}

async fn a_contact_first_known_by_phone_is_found_when_its_user_id_comes_first(h: Harness) {
    let t = tenant(&h).await;
    let by_phone = contact(&h, &t, "212600000013").await;
    let both = ContactProfile {
        user_id: Some("MA.13".into()),
        ..profile("212600000013")
    };
    let found = h.store.upsert_contact(&t.id, &both).await.unwrap();
    assert!(!found.created);
    assert_eq!(found.contact.value.id, by_phone);
    let by_user_id = ContactProfile {
        user_id: Some("MA.13".into()),
        ..ContactProfile::default()
    };
    let again = h.store.upsert_contact(&t.id, &by_user_id).await.unwrap();
    assert_eq!(again.contact.value.id, by_phone);
}

async fn erasures_due(h: &Harness, t: &Tenant) -> usize {
    h.store
        .all_due(&t.id, Category::Erasure, h.now())
        .await
        .unwrap()
        .len()
}

/// Fails every `delete_many` after the first: an erasure that removed the contact's records and
/// aliases, then stopped before its profile record.
struct StopsBeforeTheProfile {
    inner: Arc<dyn RecordStore>,
    deletes: AtomicUsize,
}

#[async_trait::async_trait]
impl RecordStore for StopsBeforeTheProfile {
    async fn get(&self, key: &Key, now: Timestamp) -> Result<Option<Record>, StoreError> {
        self.inner.get(key, now).await
    }
    async fn query(&self, query: &Query, now: Timestamp) -> Result<Page<Record>, StoreError> {
        self.inner.query(query, now).await
    }
    async fn due(
        &self,
        partitions: &[String],
        up_to: Timestamp,
        limit: usize,
        after: Option<Cursor>,
    ) -> Result<Page<Due>, StoreError> {
        self.inner.due(partitions, up_to, limit, after).await
    }
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.inner.transact(writes).await
    }
    async fn delete_many(&self, keys: Vec<Key>) -> Result<(), StoreError> {
        if self.deletes.fetch_add(1, Ordering::SeqCst) > 0 {
            return Err(StoreError::Unavailable("injected failure".into()));
        }
        self.inner.delete_many(keys).await
    }
}

async fn a_contact_whose_erasure_stopped_halfway_takes_no_new_messages(h: Harness) {
    let t = tenant(&h).await;
    let c = contact(&h, &t, "212600000012").await;
    let stopping = Store::new(
        Arc::new(StopsBeforeTheProfile {
            inner: h.records.clone(),
            deletes: AtomicUsize::new(0),
        }),
        h.envelope.clone(),
        Arc::new(IdentityHasher::new(support::HASH_KEY)),
        h.clock.clone(),
    );
    assert!(stopping.erase_contact(&t.id, &c).await.is_err());

    // An idle contact is not flagged when the purge retires it: the erasure flags it before
    // anything goes, and files it as due so the purge finishes it.
    let left = h.store.contact(&t.id, &c).await.unwrap().unwrap();
    assert!(left.value.is_erasure_due());
    assert_eq!(erasures_due(&h, &t).await, 1);

    // The person writes meanwhile: refused as worth a retry (Meta retries for days), not
    // attached to the contact whose aliases are gone.
    let during = h
        .store
        .upsert_contact(&t.id, &profile("212600000012"))
        .await;
    assert!(
        matches!(&during, Err(DataError::Store(e)) if e.is_retryable()),
        "{during:?}"
    );

    // Once the erasure is finished, the same person starts afresh.
    h.store.erase_contact(&t.id, &c).await.unwrap();
    let again = h
        .store
        .upsert_contact(&t.id, &profile("212600000012"))
        .await
        .unwrap();
    assert!(again.created);
    assert!(!again.contact.value.is_erasure_due());
}

async fn request_erasure_of(h: &Harness, t: &Tenant, c: &ContactId, reason: ErasureReason) {
    let found = h.store.contact(&t.id, c).await.unwrap().unwrap();
    let audit = AuditEvent::new(
        t.id.clone(),
        Actor::Admin,
        "contact.erasure_requested",
        Some(c.clone()),
        h.now(),
    );
    h.store
        .request_erasure(&found, reason, &audit)
        .await
        .unwrap();
}

fn both_ids(wa_id: &str, user_id: &str) -> ContactProfile {
    ContactProfile {
        user_id: Some(user_id.into()),
        ..profile(wa_id)
    }
}

/// Flagged, aliases still in place: whichever identifier a delivery names, nothing attaches
/// to the contact and no new data key is made for it.
async fn a_contact_being_erased_takes_nothing_new_whatever_its_aliases(h: Harness) {
    let t = tenant(&h).await;
    let both = both_ids("212600000014", "MA.14");
    let c = h
        .store
        .upsert_contact(&t.id, &both)
        .await
        .unwrap()
        .contact
        .value
        .id;
    request_erasure_of(&h, &t, &c, ErasureReason::Request).await;
    let by_phone_only = profile("212600000014");
    for named in [&both, &by_phone_only] {
        let refused = h.store.upsert_sender(&t.id, named, h.now()).await;
        assert!(
            matches!(&refused, Err(DataError::BeingErased { .. })),
            "{refused:?}"
        );
        assert!(refused.unwrap_err().is_retryable());
    }
    let still = h.store.contact(&t.id, &c).await.unwrap().unwrap();
    assert!(
        still.value.profile.is_none(),
        "no fresh data key: the profile stays unreadable"
    );
}

/// Meta redelivers for days, and a captured signed body can be posted again: what was sent
/// before the erasure is not stored as a new contact; what is sent after starts one.
async fn a_delivery_sent_before_an_erasure_does_not_bring_the_contact_back(h: Harness) {
    let t = tenant(&h).await;
    let sent = h.now();
    let person = both_ids("212600000015", "MA.15");
    let SenderOutcome::Contact(first) = h.store.upsert_sender(&t.id, &person, sent).await.unwrap()
    else {
        panic!("a new sender is a contact")
    };
    let c = first.contact.value.id;
    h.clock.advance(Duration::from_secs(60));
    request_erasure_of(&h, &t, &c, ErasureReason::Request).await;
    h.store.erase_contact(&t.id, &c).await.unwrap();
    h.clock.advance(Duration::from_secs(3600));

    for replayed_as in [person.clone(), profile("212600000015")] {
        let outcome = h
            .store
            .upsert_sender(&t.id, &replayed_as, sent)
            .await
            .unwrap();
        assert!(
            matches!(outcome, SenderOutcome::ErasedAfterSending { .. }),
            "{outcome:?}"
        );
    }
    assert!(h.store.contact(&t.id, &c).await.unwrap().is_none());

    // Written after the erasure: a new contact, and an old replay still changes nothing.
    let later = h
        .store
        .upsert_sender(&t.id, &person, h.now())
        .await
        .unwrap();
    assert!(matches!(&later, SenderOutcome::Contact(u) if u.created));
    let replay = h.store.upsert_sender(&t.id, &person, sent).await.unwrap();
    assert!(
        matches!(replay, SenderOutcome::ErasedAfterSending { .. }),
        "{replay:?}"
    );

    // The tombstone is a retention category of its own, due after 30 days.
    let due = |now| {
        let store = h.store.clone();
        let tenant = t.id.clone();
        let up_to = RetentionPolicy::default().cutoff(Category::ErasureTombstone, now);
        async move {
            store
                .all_due(&tenant, Category::ErasureTombstone, up_to)
                .await
                .unwrap()
                .len()
        }
    };
    assert_eq!(due(h.now()).await, 0);
    assert_eq!(due(h.now().plus(days(31))).await, 2, "one per identifier");
}

/// P11 after erasure: the minor mark outlives the data as a keyed hash, so nothing automated
/// engages the person again, and the business sees why.
async fn a_minor_who_writes_again_is_known_and_never_engaged(h: Harness) {
    let t = tenant(&h).await;
    let c = contact(&h, &t, "212600000016").await;
    request_erasure_of(&h, &t, &c, ErasureReason::Minor).await;
    let report = h.store.erase_contact(&t.id, &c).await.unwrap();
    assert!(report.suppressed);
    assert!(h
        .store
        .is_suppressed(&t.id, IdentifierKind::WaId, "212600000016")
        .await
        .unwrap());
    let again = h
        .store
        .upsert_contact(&t.id, &profile("212600000016"))
        .await
        .unwrap();
    assert!(again.created);
    let contact = again.contact.value;
    assert!(contact.known_minor && !contact.minor);
    assert!(!contact.may_process());
    assert!(!contact.may_send(Purpose::AutomatedReplies));
    assert!(!contact.is_erasure_due(), "kept until the business decides");
}

async fn erasing_a_contact_leaves_only_a_suppression_hash(h: Harness) {
    let t = tenant(&h).await;
    let c = contact(&h, &t, "212600000010").await;
    store_inbound(&h, &t, &c, "wamid.E1", h.now()).await;
    h.store
        .put_message(&message(
            &h,
            &t,
            &c,
            "wamid.E2",
            h.now(),
            Direction::Outbound,
        ))
        .await
        .unwrap();
    let stop = ConsentEvent {
        tenant: t.id.clone(),
        contact: c.clone(),
        at: h.now(),
        purpose: Purpose::Marketing,
        action: ConsentAction::OptOut,
        source: ConsentSource::Webhook,
        evidence: "pref_1".into(),
        actor: "meta".into(),
    };
    h.store.record_consent(&stop, None).await.unwrap();
    let job = ExportJob {
        id: ExportId::generate(),
        tenant: t.id.clone(),
        scope: ExportScope::Contact { contact: c.clone() },
        state: ExportState::Pending,
        requested_at: h.now(),
        expires_at: h.now().plus(days(7)),
        requested_by: "key_1".into(),
        downloads: 0,
        last_audited_download_at: None,
        chat_request: None,
        download_limit: None,
    };
    h.store.create_export(&job).await.unwrap();
    let untouched = contact(&h, &t, "212600000011").await;

    let report = h.store.erase_contact(&t.id, &c).await.unwrap();
    assert!(report.suppressed);
    assert_eq!(report.exports.len(), 1);

    assert!(h.store.contact(&t.id, &c).await.unwrap().is_none());
    assert!(h
        .store
        .find_contact(&t.id, IdentifierKind::WaId, "212600000010")
        .await
        .unwrap()
        .is_none());
    assert!(h.store.consent_history(&t.id, &c).await.unwrap().is_empty());
    assert!(h.store.export(&t.id, &job.id).await.unwrap().is_none());
    let partition = h
        .records
        .query(
            &Query::prefix(format!("T#{}#C#{}", t.id, c), ""),
            Timestamp::EPOCH,
        )
        .await
        .unwrap();
    assert!(
        partition.items.is_empty(),
        "no item of the contact survives"
    );
    assert!(h
        .store
        .is_suppressed(&t.id, IdentifierKind::WaId, "212600000010")
        .await
        .unwrap());
    assert!(h.store.contact(&t.id, &untouched).await.unwrap().is_some());

    // The same person writing again starts opted out: the suppression entry is honoured (P12).
    let again = h
        .store
        .upsert_contact(&t.id, &profile("212600000010"))
        .await
        .unwrap();
    assert!(again.created);
    assert_eq!(again.contact.value.consent.marketing, Decision::Withdrawn);
    // Erasing twice is harmless.
    h.store.erase_contact(&t.id, &c).await.unwrap();
}

async fn a_reply_is_claimed_once_per_inbound_message(h: Harness) {
    use mizan_shared::domain::reply::ReplyKind;
    use mizan_shared::store::{ClaimOutcome, ClaimState};
    let t = tenant(&h).await;
    let c = contact(&h, &t, "212600000090").await;
    let inbound = h.store.message_id(&t.id, &Wamid::new("wamid.CLAIM"));
    let first = h.store.claim_reply(&t.id, &c, &inbound).await.unwrap();
    let ClaimOutcome::Claimed(claim) = first else {
        panic!("the first claim wins: {first:?}");
    };
    // A retry or a concurrent invocation finds it claimed.
    let again = h.store.claim_reply(&t.id, &c, &inbound).await.unwrap();
    assert!(
        matches!(again, ClaimOutcome::AlreadyClaimed(ref existing) if existing.state == ClaimState::Claimed)
    );
    // Released after a retryable failure: the retry can claim it.
    h.store.release_reply(&claim).await.unwrap();
    let ClaimOutcome::Claimed(claim) = h.store.claim_reply(&t.id, &c, &inbound).await.unwrap()
    else {
        panic!("a released claim can be claimed again");
    };
    let reply = h.store.message_id(&t.id, &Wamid::new("wamid.REPLY"));
    let sent = ClaimState::Sent {
        reply: reply.clone(),
        kind: ReplyKind::Answer,
    };
    h.store.finish_reply(&claim, sent.clone()).await.unwrap();
    // Finished claims are neither released nor finished twice.
    h.store.release_reply(&claim).await.unwrap();
    assert!(matches!(
        h.store
            .finish_reply(&claim, ClaimState::Failed { code: None })
            .await,
        Err(DataError::Conflict(_))
    ));
    let stored = h
        .store
        .reply_claim(&t.id, &c, &inbound)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.state, sent);
    assert!(matches!(
        h.store.claim_reply(&t.id, &c, &inbound).await.unwrap(),
        ClaimOutcome::AlreadyClaimed(_)
    ));
}

async fn concurrent_claims_of_one_message_have_one_winner(h: Harness) {
    use mizan_shared::store::ClaimOutcome;
    let t = tenant(&h).await;
    let c = contact(&h, &t, "212600000091").await;
    let inbound = h.store.message_id(&t.id, &Wamid::new("wamid.RACE"));
    let claims = join_handles(
        (0..8)
            .map(|_| {
                let store = h.store.clone();
                let (t, c, m) = (t.id.clone(), c.clone(), inbound.clone());
                tokio::spawn(async move { store.claim_reply(&t, &c, &m).await.unwrap() })
            })
            .collect(),
    )
    .await;
    let winners = claims
        .iter()
        .filter(|o| matches!(o, ClaimOutcome::Claimed(_)))
        .count();
    assert_eq!(winners, 1);
}

async fn join_handles<T: Send + 'static>(handles: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

async fn the_opt_out_hint_time_only_moves_forward_and_is_erased_with_the_contact(h: Harness) {
    let t = tenant(&h).await;
    let c = contact(&h, &t, "212600000092").await;
    assert_eq!(h.store.last_opt_out_hint(&t.id, &c).await.unwrap(), None);
    let now = h.now();
    h.store.record_opt_out_hint(&t.id, &c, now).await.unwrap();
    h.store
        .record_opt_out_hint(&t.id, &c, now.minus(minutes(5)))
        .await
        .unwrap();
    assert_eq!(
        h.store.last_opt_out_hint(&t.id, &c).await.unwrap(),
        Some(now)
    );
    let inbound = h.store.message_id(&t.id, &Wamid::new("wamid.ERASED"));
    h.store.claim_reply(&t.id, &c, &inbound).await.unwrap();
    h.store.erase_contact(&t.id, &c).await.unwrap();
    assert_eq!(h.store.last_opt_out_hint(&t.id, &c).await.unwrap(), None);
    assert_eq!(
        h.store.reply_claim(&t.id, &c, &inbound).await.unwrap(),
        None
    );
}

async fn a_sent_reply_is_stored_with_its_claim_and_hint_at_once(h: Harness) {
    use mizan_shared::domain::reply::ReplyKind;
    use mizan_shared::store::{ClaimOutcome, ClaimState};
    let t = tenant(&h).await;
    let c = contact(&h, &t, "212600000093").await;
    let policy = t.retention();
    let inbound = h.store.message_id(&t.id, &Wamid::new("wamid.ASKED"));
    let ClaimOutcome::Claimed(claim) = h.store.claim_reply(&t.id, &c, &inbound).await.unwrap()
    else {
        panic!("claimed");
    };
    // A status of the reply overtakes it (Meta is fast): kept until the reply is stored.
    let now = h.now();
    h.store
        .record_status(
            &t.id,
            Some(&c),
            &Wamid::new("wamid.ANSWER"),
            report(Status::Delivered, now),
        )
        .await
        .unwrap();
    let reply = message(&h, &t, &c, "wamid.ANSWER", now, Direction::Outbound);
    h.store
        .record_sent_reply(&claim, &reply, ReplyKind::Answer, Some(now))
        .await
        .unwrap();
    let stored = h
        .store
        .message(&t.id, &c, &Wamid::new("wamid.ANSWER"), &policy)
        .await
        .unwrap()
        .expect("the reply is stored under its wamid");
    assert_eq!(stored.content, reply.content);
    assert_eq!(stored.status, Status::Delivered);
    let claim_now = h
        .store
        .reply_claim(&t.id, &c, &inbound)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        claim_now.state,
        ClaimState::Sent {
            reply: reply.id.clone(),
            kind: ReplyKind::Answer
        }
    );
    assert_eq!(
        h.store.last_opt_out_hint(&t.id, &c).await.unwrap(),
        Some(now)
    );
    // Recording it again changes nothing and says so.
    assert!(matches!(
        h.store
            .record_sent_reply(&claim, &reply, ReplyKind::Answer, None)
            .await,
        Err(DataError::Conflict(_))
    ));
}

async fn an_erasure_request_shreds_at_once_and_completion_removes_archives(h: Harness) {
    use mizan_shared::adapters::local_archives::LocalArchives;
    use mizan_shared::ports::archives::ArchiveStore;

    let t = tenant(&h).await;
    let c = contact(&h, &t, "212600000020").await;
    store_inbound(&h, &t, &c, "wamid.R1", h.now()).await;
    let dir = tempfile::tempdir().unwrap();
    let archives = LocalArchives::new(dir.path());
    let object_key = format!("{}/archive-1.zip", t.id);
    let file = archives.path_of(&object_key).unwrap();
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, b"zip").unwrap();
    let mut job = ExportJob {
        id: ExportId::generate(),
        tenant: t.id.clone(),
        scope: ExportScope::Contact { contact: c.clone() },
        state: ExportState::Pending,
        requested_at: h.now(),
        expires_at: h.now().plus(days(7)),
        requested_by: "key_1".into(),
        downloads: 0,
        last_audited_download_at: None,
        chat_request: None,
        download_limit: None,
    };
    job.mark_ready(object_key.clone(), 3).unwrap();
    h.store.create_export(&job).await.unwrap();

    let found = h.store.contact(&t.id, &c).await.unwrap().unwrap();
    let audit = AuditEvent::new(
        t.id.clone(),
        Actor::Admin,
        "contact.erasure_requested",
        Some(c.clone()),
        h.now(),
    );
    h.store
        .request_erasure(&found, ErasureReason::Minor, &audit)
        .await
        .unwrap();

    // At once: content unreadable, the contact flagged and due in the erasure category, audited.
    let flagged = h.store.contact(&t.id, &c).await.unwrap().unwrap().value;
    assert!(flagged.minor && flagged.erasure_requested_at.is_some());
    assert!(
        flagged.profile.is_none(),
        "the profile cannot be opened any more"
    );
    let conversation = h
        .store
        .conversation(&t.id, &c, &t.retention(), 10, None)
        .await
        .unwrap();
    assert!(conversation.items.iter().all(|m| m.content.is_none()));
    assert_eq!(erasures_due(&h, &t).await, 1);
    let trail = h.store.audit_events(&t.id, 10, None).await.unwrap();
    assert_eq!(trail.items[0].action, "contact.erasure_requested");
    // A second request from a stale read is refused rather than lost.
    assert!(matches!(
        h.store
            .request_erasure(&found, ErasureReason::Request, &audit)
            .await,
        Err(DataError::Conflict(_))
    ));

    let report = mizan_shared::workflows::erasure::complete_erasure(&h.store, &archives, &t.id, &c)
        .await
        .unwrap();
    assert_eq!(report.exports.len(), 1);
    assert!(!archives.exists(&object_key).await.unwrap());
    assert!(h.store.contact(&t.id, &c).await.unwrap().is_none());
    assert!(h
        .store
        .all_due(&t.id, Category::Erasure, h.now())
        .await
        .unwrap()
        .is_empty());
    // Completing twice is harmless.
    mizan_shared::workflows::erasure::complete_erasure(&h.store, &archives, &t.id, &c)
        .await
        .unwrap();
}

async fn corrected_profile_fields_outlive_later_whatsapp_profiles(h: Harness) {
    let t = tenant(&h).await;
    let c = contact(&h, &t, "212600000011").await;
    let mut found = h.store.contact(&t.id, &c).await.unwrap().unwrap();
    let mut corrected = found.value.profile.clone().unwrap();
    corrected.name = Some("Amina Benali".into());
    found.value.profile = Some(corrected);
    found.value.corrected = vec!["name".into()];
    h.store.save_contact(&found, None).await.unwrap();
    // WhatsApp reports another name (and a username) later: the correction stands, the rest merges.
    let later = ContactProfile {
        wa_id: Some("212600000011".into()),
        name: Some("Mina".into()),
        username: Some("@mina".into()),
        ..ContactProfile::default()
    };
    h.store.upsert_contact(&t.id, &later).await.unwrap();
    let read = h.store.contact(&t.id, &c).await.unwrap().unwrap().value;
    let profile = read.profile.unwrap();
    assert_eq!(profile.name, Some("Amina Benali".into()));
    assert_eq!(profile.username, Some("@mina".into()));
    assert_eq!(read.corrected, vec!["name".to_owned()]);
}

/// The one path a contact changes: the transition and its audit event in one transaction,
/// nothing written when already so, concurrent changes each applied (retried on conflict), and
/// nothing changed once the erasure is due.
async fn a_contact_changes_through_one_audited_transition(h: Harness) {
    let t = tenant(&h).await;
    let c = contact(&h, &t, "212600000012").await;
    let actor = Actor::System("tests".into());
    let actions = |h: &Harness| {
        let (h, t) = (h.store.clone(), t.id.clone());
        async move {
            h.audit_events(&t, 100, None)
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|e| e.action)
                .collect::<Vec<_>>()
        }
    };
    let take_over = h
        .store
        .change_contact(
            &t.id,
            &c,
            &ContactChange::TakeOver {
                until: h.now().plus(days(1)),
            },
            &actor,
        )
        .await
        .unwrap();
    let ChangeOutcome::Changed(changed) = take_over else {
        panic!("expected a change, got {take_over:?}");
    };
    assert!(changed.value.taken_over);
    let stored = h.store.contact(&t.id, &c).await.unwrap().unwrap();
    assert_eq!(
        stored.version, changed.version,
        "the answer carries the saved version"
    );
    assert_eq!(actions(&h).await, ["contact.taken_over"]);

    let again = h
        .store
        .change_contact(
            &t.id,
            &c,
            &ContactChange::TakeOver {
                until: h.now().plus(days(1)),
            },
            &actor,
        )
        .await
        .unwrap();
    assert!(matches!(again, ChangeOutcome::Unchanged(_)));
    assert_eq!(
        actions(&h).await.len(),
        1,
        "nothing audited when already so"
    );

    let (restrict, hand_back) = tokio::join!(
        h.store
            .change_contact(&t.id, &c, &ContactChange::Restrict, &actor),
        h.store
            .change_contact(&t.id, &c, &ContactChange::HandBack, &actor),
    );
    assert!(matches!(restrict.unwrap(), ChangeOutcome::Changed(_)));
    assert!(matches!(hand_back.unwrap(), ChangeOutcome::Changed(_)));
    let both = h.store.contact(&t.id, &c).await.unwrap().unwrap().value;
    assert!(
        both.restricted && !both.taken_over,
        "neither change lost the other"
    );
    assert_eq!(actions(&h).await.len(), 3);

    request_erasure_of(&h, &t, &c, ErasureReason::Request).await;
    let after = h
        .store
        .change_contact(&t.id, &c, &ContactChange::LiftRestriction, &actor)
        .await
        .unwrap();
    assert_eq!(after, ChangeOutcome::Gone);
}

/// A rare retention category is marked before anything is filed under it (so the purge never
/// skips a record), a frequent one is not, and the marks go with the tenant's partition.
async fn rare_categories_are_marked_before_anything_is_filed_under_them(h: Harness) {
    let t = tenant(&h).await;
    let c = contact(&h, &t, "212600000013").await;
    let none = h.store.retained_categories(&t.id).await.unwrap();
    assert!(none.rare.is_empty() && !none.swept);
    assert_eq!(
        none.to_visit(&t.id).len(),
        Category::ALL.len(),
        "unswept: every category"
    );
    let m = message(&h, &t, &c, "wamid.MARK1", h.now(), Direction::Inbound);
    h.store.put_message(&m).await.unwrap();
    h.store
        .keep_raw(Some(&t.id), "unparseable", b"{")
        .await
        .unwrap();
    let marked = h.store.retained_categories(&t.id).await.unwrap();
    assert_eq!(
        marked.rare.into_iter().collect::<Vec<_>>(),
        [Category::Quarantine],
        "a message files under frequent categories only"
    );
    h.store.mark_swept(&t.id).await.unwrap();
    let swept = h.store.retained_categories(&t.id).await.unwrap();
    assert!(swept.swept);
    let visited = swept.to_visit(&t.id);
    assert!(visited.contains(&Category::Quarantine) && visited.contains(&Category::ChatContent));
    assert!(!visited.contains(&Category::ExportArchive));
    // The platform (raw payloads no tenant owns) marks every category it files under, so once
    // swept the purge reads only those.
    let platform = TenantId::new(mizan_shared::store::PLATFORM_TENANT);
    h.store.keep_raw(None, "unroutable", b"{}").await.unwrap();
    h.store.mark_swept(&platform).await.unwrap();
    let platform_marks = h.store.retained_categories(&platform).await.unwrap();
    assert_eq!(platform_marks.to_visit(&platform), [Category::Quarantine]);
    assert!(h
        .store
        .files_any(&t.id, Category::Quarantine)
        .await
        .unwrap());
    assert!(!h.store.files_any(&t.id, Category::Payment).await.unwrap());
}

/// Pages of a time-ordered or prefix query, both ways: every record exactly once, in order,
/// whatever the page size (the cursor seeks, it never rescans). Records that share a time come in
/// an order DynamoDB leaves open, so only their times are compared.
async fn cursors_page_through_time_and_prefix_ranges_both_ways(h: Harness) {
    let pk = "T#t_pages#C#c1";
    for i in 0..7i64 {
        let mut record = Record::new(
            Key::new(pk, format!("MSG#{i}")),
            "message_in",
            serde_json::json!({ "i": i }),
        );
        // Two records share each time.
        record.time = Some(Timestamp::from_millis(1_000 + i / 2));
        h.records
            .write(Write::Put {
                record,
                condition: Condition::Absent,
            })
            .await
            .unwrap();
    }
    let now = h.store.now();
    let all_pages = |range: Range, newest_first: bool, limit: usize| {
        let h = &h;
        async move {
            let mut seen = Vec::new();
            let mut after = None;
            loop {
                let query = Query {
                    pk: pk.to_owned(),
                    range: range.clone(),
                    newest_first,
                    limit,
                    after,
                };
                let page = h.records.query(&query, now).await.unwrap();
                seen.extend(page.items.iter().map(|r| r.key.sk.clone()));
                match page.next {
                    Some(next) => after = Some(next),
                    None => return seen,
                }
            }
        }
    };
    let ascending: Vec<String> = (0..7).map(|i| format!("MSG#{i}")).collect();
    let descending: Vec<String> = ascending.iter().rev().cloned().collect();
    let time = Range::Time {
        from: Timestamp::from_millis(0),
        to: Timestamp::from_millis(i64::MAX),
    };
    // Each record once, and in time order.
    let times = |seen: Vec<String>| {
        let mut sorted = seen.clone();
        sorted.sort();
        assert_eq!(sorted, ascending);
        seen.iter()
            .map(|sk| sk[4..].parse::<i64>().unwrap() / 2)
            .collect::<Vec<_>>()
    };
    for limit in [1, 2, 3, 7, 10] {
        assert_eq!(
            times(all_pages(time.clone(), false, limit).await),
            [0, 0, 1, 1, 2, 2, 3],
            "{limit}"
        );
        assert_eq!(
            times(all_pages(time.clone(), true, limit).await),
            [3, 2, 2, 1, 1, 0, 0],
            "{limit}"
        );
        let prefix = Range::Prefix("MSG#".into());
        assert_eq!(
            all_pages(prefix.clone(), false, limit).await,
            ascending,
            "{limit}"
        );
        assert_eq!(all_pages(prefix, true, limit).await, descending, "{limit}");
    }
    let narrow = Range::Time {
        from: Timestamp::from_millis(1_001),
        to: Timestamp::from_millis(1_002),
    };
    let mut narrow_seen = all_pages(narrow.clone(), false, 2).await;
    narrow_seen.sort();
    assert_eq!(narrow_seen, ["MSG#2", "MSG#3", "MSG#4", "MSG#5"]);
    assert_eq!(all_pages(narrow, true, 3).await.len(), 4);
}

on_both_backends!(
    idempotent_message_put,
    status_only_moves_forward,
    keyword_message_and_its_consent_commit_together_once,
    a_status_before_its_message_is_kept_then_applied,
    wamids_and_content_are_never_stored_in_the_clear,
    conversation_is_newest_first_with_a_limit,
    retention_range_is_exact_per_tenant_and_category,
    a_category_pages_through_its_due_entries_across_shards_each_once,
    expired_data_is_never_read,
    raising_the_chat_retention_keeps_messages_already_stored,
    audit_events_past_their_two_years_are_never_read,
    an_idle_contact_past_its_retention_is_never_read,
    consent_history_is_appended_and_read,
    tenant_is_found_by_phone_number_id,
    a_number_attached_by_another_instance_routes_the_next_delivery,
    tenant_settings_save_with_audit_and_refuse_stale_writes,
    api_keys_are_found_by_hash_and_revocable,
    export_jobs_move_forward_only,
    audit_events_page_newest_first,
    contacts_are_linked_by_any_identifier,
    a_contact_first_known_by_phone_is_found_when_its_user_id_comes_first,
    a_contact_whose_erasure_stopped_halfway_takes_no_new_messages,
    erasing_a_contact_leaves_only_a_suppression_hash,
    a_contact_being_erased_takes_nothing_new_whatever_its_aliases,
    a_delivery_sent_before_an_erasure_does_not_bring_the_contact_back,
    a_minor_who_writes_again_is_known_and_never_engaged,
    an_erasure_request_shreds_at_once_and_completion_removes_archives,
    a_reply_is_claimed_once_per_inbound_message,
    concurrent_claims_of_one_message_have_one_winner,
    the_opt_out_hint_time_only_moves_forward_and_is_erased_with_the_contact,
    a_sent_reply_is_stored_with_its_claim_and_hint_at_once,
    corrected_profile_fields_outlive_later_whatsapp_profiles,
    a_contact_changes_through_one_audited_transition,
    rare_categories_are_marked_before_anything_is_filed_under_them,
    cursors_page_through_time_and_prefix_ranges_both_ways,
);
