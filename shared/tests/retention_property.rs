//! Property: whatever the messages' ages, the tenant's chat retention and the moment the purge
//! runs, nothing within its retention is ever deleted, and everything past it is.

use mizan_test_support::store as support;

use mizan_shared::adapters::local_archives::LocalArchives;
use mizan_shared::domain::contact::ContactProfile;
use mizan_shared::domain::ids::Wamid;
use mizan_shared::domain::message::{Message, MessageContent, MessageKind};
use mizan_shared::domain::retention::Category;
use mizan_shared::domain::tenant::Tenant;
use mizan_shared::ports::clock::Clock;
use mizan_shared::store::layout;
use mizan_shared::workflows::purge::{self, PurgeOptions};
use proptest::prelude::*;
use std::time::Duration;

const HOUR: u64 = 3_600_000;

/// Messages `ages` hours before the purge runs, on a tenant keeping chats `chat_days`.
async fn check(chat_days: u32, ages_hours: Vec<u64>, contacts: usize) {
    let h = support::embedded().await;
    let archive_dir = tempfile::tempdir().unwrap();
    let archives = LocalArchives::new(archive_dir.path());
    let mut tenant = Tenant::new("Prop", h.clock.now());
    tenant.settings.chat_retention_days = chat_days;
    h.store.create_tenant(&tenant).await.unwrap();
    let policy = tenant.retention();
    let start = h.clock.now();
    let run_at = start.plus(Duration::from_millis(400 * 24 * HOUR));
    let mut stored = Vec::new();
    for (i, age) in ages_hours.iter().enumerate() {
        let sent_at = run_at.minus(Duration::from_millis(age * HOUR + (i as u64 % 7) * 1_000));
        h.clock.set(sent_at);
        let profile = ContactProfile {
            wa_id: Some(format!("2126{:08}", i % contacts).into()),
            ..ContactProfile::default()
        };
        let contact = h.store.upsert_contact(&tenant.id, &profile).await.unwrap();
        let wamid = Wamid::new(format!("wamid.prop.{i}"));
        let id = h.store.message_id(&tenant.id, &wamid);
        let message = Message::inbound(
            tenant.id.clone(),
            contact.contact.value.id.clone(),
            id.clone(),
            wamid,
            MessageKind::Text,
            MessageContent::text("x"),
            sent_at,
        );
        h.store.put_message(&message).await.unwrap();
        stored.push((
            layout::message(&tenant.id, &contact.contact.value.id, &id),
            sent_at,
        ));
    }
    h.clock.set(run_at);
    let report = purge::run(&h.store, &archives, PurgeOptions::at(run_at))
        .await
        .unwrap();
    assert_eq!(report.failures(), 0);
    for (key, sent_at) in stored {
        let record = h.store.stored_record(&key).await.unwrap();
        let content_due = policy.is_due(Category::ChatContent, sent_at, run_at);
        let metadata_due = policy.is_due(Category::MessageMetadata, sent_at, run_at);
        match record {
            None => assert!(metadata_due, "a message within its retention was deleted"),
            Some(r) => {
                assert!(!metadata_due, "a message past its retention was kept");
                assert_eq!(
                    r.sealed.is_none(),
                    content_due,
                    "content kept past, or removed within, the chat retention"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn nothing_within_retention_is_ever_deleted(
        chat_days in 1u32..=365,
        ages in proptest::collection::vec(0u64..(400 * 24), 1..40),
        contacts in 1usize..5,
    ) {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(check(chat_days, ages, contacts));
    }
}
