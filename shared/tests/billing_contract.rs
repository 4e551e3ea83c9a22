//! Monthly usage statements: Meta's pricing on a status counted once (billable or free, by
//! category and country calling code); the statement of a month issued by the purge after the
//! month's end, once, never changed; kept seven years after its month, through the account's
//! closure and removal, then gone with the tenant's last traces. On both backends.

use mizan_shared::adapters::local_archives::LocalArchives;
use mizan_shared::domain::analytics::{day_of, Counts};
use mizan_shared::domain::ids::{ContactId, MessageId, Wamid};
use mizan_shared::domain::message::{Message, MessageContent, MessageKind, Status};
use mizan_shared::domain::retention::RetentionPolicy;
use mizan_shared::domain::tenant::{Tenant, TenantStatus};
use mizan_shared::domain::time::Timestamp;
use mizan_shared::ports::records::Record;
use mizan_shared::store::layout;
use mizan_shared::workflows::analytics::count_changes;
use mizan_shared::workflows::purge::{self, PurgeOptions};
use mizan_test_support::events::stream_record;
use mizan_test_support::on_both_backends;
use mizan_test_support::store::Harness;
use std::time::Duration;

fn at(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).unwrap()
}

async fn purge_at(h: &Harness, when: Timestamp) -> purge::PurgeReport {
    h.clock.set(when);
    let dir = tempfile::tempdir().unwrap();
    let archives = LocalArchives::new(dir.path());
    purge::run(&h.store, &archives, PurgeOptions::at(when))
        .await
        .unwrap()
}

async fn pricing_on_a_status_counts_once_by_category_and_country(h: Harness) {
    let tenant = Tenant::new("Atlas Tea", h.now());
    h.store.create_tenant(&tenant).await.unwrap();
    let sent = h.now();
    let mut message = Message::outbound(
        tenant.id.clone(),
        ContactId::new("c0123456789abcdef0123456789abcdef"),
        MessageId::new("m0123456789abcdef0123456789abcdef"),
        Wamid::new("wamid.PRICED"),
        MessageKind::Template,
        MessageContent::text("Soldes !"),
        sent,
    );
    message.status = Status::Sent;
    let key = layout::message(&tenant.id, &message.contact, &message.id);
    let old = Record::new(
        key.clone(),
        layout::kind::MESSAGE_OUT,
        serde_json::to_value(&message).unwrap(),
    );
    message.status = Status::Delivered;
    message.status_at = sent.plus(Duration::from_secs(2));
    message.billing = Some(serde_json::json!({
        "pricing": {"billable": true, "pricing_model": "PMP", "category": "marketing"},
        "country_code": "212"
    }));
    let mut new = Record::new(
        key,
        layout::kind::MESSAGE_OUT,
        serde_json::to_value(&message).unwrap(),
    );
    new.version = 2;
    let change = stream_record(Some(&old), Some(&new), 4_000_001);
    for _ in 0..2 {
        count_changes(&h.store, std::slice::from_ref(&change))
            .await
            .unwrap();
    }
    let day = day_of(message.status_at);
    let counts = h
        .store
        .analytics_days(&tenant.id, &day, &day)
        .await
        .unwrap()
        .remove(&day)
        .unwrap();
    assert_eq!(counts.get("billable.marketing.212"), Some(&1), "{counts:?}");
}

async fn a_month_s_statement_is_issued_once_and_kept_seven_years_through_closure(h: Harness) {
    h.clock.set(at("2026-10-15T09:00:00Z"));
    let tenant = Tenant::new("Atlas Tea", h.now());
    h.store.create_tenant(&tenant).await.unwrap();
    let november: Counts = [
        ("billable.marketing.212", 40),
        ("billable.utility.33", 3),
        ("free.service.212", 12),
        ("messages.in.text", 80),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    h.store
        .count_once(&tenant.id, "2026-11-03", &[("nov-1".into(), november)])
        .await
        .unwrap();
    // A run in November issues October's (the account opened mid-October); November's after
    // its end, once.
    assert_eq!(
        purge_at(&h, at("2026-11-30T23:00:00Z"))
            .await
            .statements_issued,
        1
    );
    assert!(h
        .store
        .statement(&tenant.id, "2026-11")
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        purge_at(&h, at("2026-12-01T00:30:00Z"))
            .await
            .statements_issued,
        1
    );
    let issued = h
        .store
        .statement(&tenant.id, "2026-11")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((issued.billable, issued.free), (43, 12));
    assert_eq!(issued.lines.len(), 3);
    // A late status counted into November afterwards changes no issued statement.
    let late: Counts = [("billable.marketing.212".to_owned(), 5)].into();
    h.store
        .count_once(&tenant.id, "2026-11-30", &[("nov-late".into(), late)])
        .await
        .unwrap();
    assert_eq!(
        purge_at(&h, at("2026-12-01T02:00:00Z"))
            .await
            .statements_issued,
        0
    );
    assert_eq!(
        h.store
            .statement(&tenant.id, "2026-11")
            .await
            .unwrap()
            .unwrap(),
        issued
    );
    // A run issues the month before its own (hourly runs issue each in its first hour); the
    // account did not exist in September.
    assert!(h
        .store
        .statement(&tenant.id, "2026-09")
        .await
        .unwrap()
        .is_none());
    let listed = h.store.statements(&tenant.id).await.unwrap();
    assert_eq!(
        listed.iter().map(|s| s.month.as_str()).collect::<Vec<_>>(),
        ["2026-11", "2026-10"]
    );
    assert_eq!(
        listed[1].billable, 0,
        "an empty month has its statement too"
    );

    // The account closes in December and is removed two years on: the statement stays.
    let mut closing = h.store.tenant_versioned(&tenant.id).await.unwrap().unwrap();
    let closed_at = at("2026-12-05T10:00:00Z");
    closing.value.status = TenantStatus::Closed { at: closed_at };
    h.store.save_tenant(&closing, None).await.unwrap();
    let removed = closed_at.plus(RetentionPolicy::default().account_after_closure);
    purge_at(&h, removed.plus(Duration::from_secs(3600))).await;
    assert!(
        h.store.tenant(&tenant.id).await.unwrap().is_none(),
        "the account is gone"
    );
    assert_eq!(
        h.store
            .statement(&tenant.id, "2026-11")
            .await
            .unwrap()
            .as_ref(),
        Some(&issued),
        "its statements stay for tax"
    );
    // Seven years after each month's end, to the millisecond.
    let october_due = at("2026-11-01T00:00:00Z").plus(RetentionPolicy::default().payment);
    purge_at(&h, october_due.minus(Duration::from_millis(1))).await;
    assert!(h
        .store
        .statement(&tenant.id, "2026-10")
        .await
        .unwrap()
        .is_some());
    purge_at(&h, october_due).await;
    assert!(h
        .store
        .statement(&tenant.id, "2026-10")
        .await
        .unwrap()
        .is_none());
    let due = at("2026-12-01T00:00:00Z").plus(RetentionPolicy::default().payment);
    purge_at(&h, due.minus(Duration::from_millis(1))).await;
    assert!(h
        .store
        .statement(&tenant.id, "2026-11")
        .await
        .unwrap()
        .is_some());
    purge_at(&h, due).await;
    assert!(h
        .store
        .statement(&tenant.id, "2026-11")
        .await
        .unwrap()
        .is_none());
    assert!(
        h.records
            .get(&layout::tenant_directory_entry(&tenant.id), h.now())
            .await
            .unwrap()
            .is_none(),
        "nothing of the tenant is left"
    );
}

on_both_backends!(
    pricing_on_a_status_counts_once_by_category_and_country,
    a_month_s_statement_is_issued_once_and_kept_seven_years_through_closure,
);
