//! Usage analytics counted from the data table's changes: each change exactly once however
//! often the stream delivers it (duplicates, a retried batch, a batch split in two, batches
//! counted at once), response times measured from the first message a reply answers, one
//! write per tenant's day and batch, nothing personal in a counter, and the counters kept
//! through a contact's erasure and for 25 months. On the embedded backend and DynamoDB Local.

use aws_lambda_events::event::dynamodb::EventRecord;
use mizan_shared::domain::analytics::Counts;
use mizan_shared::domain::contact::ContactProfile;
use mizan_shared::domain::ids::{ApiKeyId, ContactId, Wamid};
use mizan_shared::domain::message::{Message, MessageContent, MessageKind};
use mizan_shared::domain::retention::RetentionPolicy;
use mizan_shared::domain::tenant::Tenant;
use mizan_shared::domain::time::{days, Timestamp};
use mizan_shared::ports::records::Query;
use mizan_shared::store::{layout, ErasureReason, Store};
use mizan_shared::workflows::analytics::count_changes;
use mizan_test_support::events::stream_insert;
use mizan_test_support::on_both_backends;
use mizan_test_support::store::Harness;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Stream sequence numbers, unique in the process as they are in a stream.
static SEQUENCE: AtomicU64 = AtomicU64::new(1_000);

fn next_sequence() -> u64 {
    SEQUENCE.fetch_add(1, Ordering::SeqCst)
}

struct World {
    h: Harness,
    tenant: Tenant,
}

impl World {
    async fn new(h: Harness) -> World {
        let tenant = Tenant::new("Atlas Tea", h.now());
        h.store.create_tenant(&tenant).await.unwrap();
        World { h, tenant }
    }

    fn store(&self) -> &Store {
        &self.h.store
    }

    async fn contact(&self, wa_id: &str) -> ContactId {
        let profile = ContactProfile {
            wa_id: Some(wa_id.into()),
            name: Some("Amina".into()),
            ..ContactProfile::default()
        };
        let upsert = self.store().upsert_contact(&self.tenant.id, &profile);
        upsert.await.unwrap().contact.value.id
    }

    /// Stores a message and gives the stream record of its insertion.
    async fn message(
        &self,
        contact: &ContactId,
        wamid: &str,
        inbound: bool,
        agent: bool,
        at: Timestamp,
    ) -> EventRecord {
        let wamid = Wamid::new(wamid);
        let id = self.store().message_id(&self.tenant.id, &wamid);
        let make = if inbound {
            Message::inbound
        } else {
            Message::outbound
        };
        let mut message = make(
            self.tenant.id.clone(),
            contact.clone(),
            id.clone(),
            wamid,
            MessageKind::Text,
            MessageContent::text("Bonjour, vous livrez à Rabat ?"),
            at,
        );
        if agent {
            message.agent = Some(ApiKeyId::new("key_0123456789ab"));
        }
        self.store().put_message(&message).await.unwrap();
        let key = layout::message(&self.tenant.id, contact, &id);
        stream_insert(self.store(), key, next_sequence()).await
    }

    async fn inbound(&self, contact: &ContactId, n: usize, at: Timestamp) -> Vec<EventRecord> {
        let mut records = Vec::new();
        for i in 0..n {
            let wamid = format!("wamid.{contact}.{}.{i}", at.as_millis());
            records.push(self.message(contact, &wamid, true, false, at).await);
        }
        records
    }

    async fn day(&self, at: Timestamp) -> Counts {
        let day = mizan_shared::domain::analytics::day_of(at);
        let days = self
            .store()
            .analytics_days(&self.tenant.id, &day, &day)
            .await
            .unwrap();
        days.get(&day).cloned().unwrap_or_default()
    }
}

async fn each_change_counts_once_however_often_it_is_delivered(h: Harness) {
    let w = World::new(h).await;
    let amina = w.contact("212600000001").await;
    let at = w.h.now();
    let first = w.inbound(&amina, 120, at).await;

    let report = count_changes(w.store(), &first).await.unwrap();
    assert_eq!(report.counted.counted, 120);
    assert_eq!(report.counted.writes, 2, "99 changes and a shard per write");
    assert_eq!(w.day(at).await.get("messages.in.text"), Some(&120));

    // The same batch again (Lambda's retry), then split in two (bisected), then with new
    // changes among the old: only the new ones count.
    let again = count_changes(w.store(), &first).await.unwrap();
    assert_eq!(
        (again.counted.counted, again.counted.already_counted),
        (0, 120)
    );
    count_changes(w.store(), &first[..60]).await.unwrap();
    count_changes(w.store(), &first[60..]).await.unwrap();
    let mut mixed = first[..10].to_vec();
    mixed.extend(w.inbound(&amina, 5, at).await);
    let report = count_changes(w.store(), &mixed).await.unwrap();
    assert_eq!(
        (report.counted.counted, report.counted.already_counted),
        (5, 10)
    );
    assert_eq!(w.day(at).await.get("messages.in.text"), Some(&125));

    // Batches counted at the same time add up exactly.
    let more_a = w.inbound(&amina, 40, at).await;
    let more_b = w.inbound(&amina, 40, at).await;
    let (a, b) = tokio::join!(
        count_changes(w.store(), &more_a),
        count_changes(w.store(), &more_b)
    );
    assert_eq!(a.unwrap().counted.counted + b.unwrap().counted.counted, 80);
    assert_eq!(w.day(at).await.get("messages.in.text"), Some(&205));
}

async fn replies_are_counted_by_sender_with_their_response_time(h: Harness) {
    let w = World::new(h).await;
    let amina = w.contact("212600000001").await;
    let start = w.h.now();
    let at = |seconds: u64| start.plus(Duration::from_secs(seconds));
    let mut records = Vec::new();
    // Two questions, the assistant answers 45 s after the first; a person 20 min later
    // (answering nothing new: no response time), then the customer again and a person 3 s on.
    records.extend(w.inbound(&amina, 1, at(0)).await);
    records.extend(w.inbound(&amina, 1, at(10)).await);
    records.push(w.message(&amina, "wamid.ai1", false, false, at(45)).await);
    records.push(w.message(&amina, "wamid.ag1", false, true, at(1_245)).await);
    records.extend(w.inbound(&amina, 1, at(1_300)).await);
    records.push(w.message(&amina, "wamid.ag2", false, true, at(1_303)).await);
    count_changes(w.store(), &records).await.unwrap();

    let day = w.day(start).await;
    assert_eq!(day.get("messages.in.text"), Some(&3));
    assert_eq!(day.get("messages.out.ai.text"), Some(&1));
    assert_eq!(day.get("messages.out.agent.text"), Some(&2));
    assert_eq!(day.get("response.le_60"), Some(&1), "{day:?}");
    assert_eq!(day.get("response.le_10"), Some(&1), "{day:?}");
    assert_eq!(
        day.keys().filter(|k| k.starts_with("response.")).count(),
        2,
        "{day:?}"
    );
}

async fn counters_hold_nothing_personal_survive_erasure_and_last_25_months(h: Harness) {
    let w = World::new(h).await;
    let amina = w.contact("212600000001").await;
    let at = w.h.now();
    let records = w.inbound(&amina, 3, at).await;
    count_changes(w.store(), &records).await.unwrap();

    let stored =
        w.h.records
            .query(
                &Query::prefix(layout::analytics_partition(&w.tenant.id), ""),
                w.h.now(),
            )
            .await
            .unwrap()
            .items;
    assert!(!stored.is_empty());
    for record in &stored {
        let text = format!("{} {}", record.key.sk, record.doc);
        for personal in [amina.as_str(), "212600000001", "Amina", "Rabat"] {
            assert!(!text.contains(personal), "{personal} in {text}");
        }
    }

    // The contact is erased: the counters stay.
    let found = w
        .store()
        .contact(&w.tenant.id, &amina)
        .await
        .unwrap()
        .unwrap();
    let audit = mizan_shared::domain::audit::AuditEvent::new(
        w.tenant.id.clone(),
        mizan_shared::domain::audit::Actor::Admin,
        "contact.erasure_requested",
        Some(amina.clone()),
        w.h.now(),
    );
    w.store()
        .request_erasure(&found, ErasureReason::Request, &audit)
        .await
        .unwrap();
    w.store().erase_contact(&w.tenant.id, &amina).await.unwrap();
    assert_eq!(w.day(at).await.get("messages.in.text"), Some(&3));

    // Kept to the last millisecond of their 25 months, gone at them.
    let day_start = Timestamp::parse_rfc3339(&format!(
        "{}T00:00:00Z",
        mizan_shared::domain::analytics::day_of(at)
    ))
    .unwrap();
    let period = RetentionPolicy::default().analytics;
    let dir = tempfile::tempdir().unwrap();
    let archives = mizan_shared::adapters::local_archives::LocalArchives::new(dir.path());
    w.h.clock
        .set(day_start.plus(period).minus(Duration::from_millis(1)));
    let options = mizan_shared::workflows::purge::PurgeOptions::at(w.h.now());
    mizan_shared::workflows::purge::run(w.store(), &archives, options)
        .await
        .unwrap();
    assert_eq!(w.day(at).await.get("messages.in.text"), Some(&3));
    w.h.clock.set(day_start.plus(period));
    let options = mizan_shared::workflows::purge::PurgeOptions::at(w.h.now());
    mizan_shared::workflows::purge::run(w.store(), &archives, options)
        .await
        .unwrap();
    assert!(w.day(at).await.is_empty());
    assert!(period >= days(760));
}

on_both_backends!(
    each_change_counts_once_however_often_it_is_delivered,
    replies_are_counted_by_sender_with_their_response_time,
    counters_hold_nothing_personal_survive_erasure_and_last_25_months,
);
