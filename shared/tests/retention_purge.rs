//! The retention purge, with a clock the tests move: each category's rule, two-phase message
//! retention, tenant overrides, legal holds, erasure completion, suppression, resumption and
//! concurrent runs. Every case runs against the embedded backend and DynamoDB Local.

use mizan_test_support::on_both_backends;
use mizan_test_support::store as support;

use mizan_shared::adapters::local_archives::LocalArchives;
use mizan_shared::crypto::envelope::{CacheSettings, Envelope};
use mizan_shared::domain::audit::{Actor, AuditEvent};
use mizan_shared::domain::consent::{ConsentAction, ConsentEvent, ConsentSource, Purpose};
use mizan_shared::domain::contact::ContactProfile;
use mizan_shared::domain::export::{ExportJob, ExportScope, ExportState};
use mizan_shared::domain::identity_hash::IdentifierKind;
use mizan_shared::domain::identity_hash::IdentityHasher;
use mizan_shared::domain::ids::{ContactId, ExportId, TenantId, Wamid};
use mizan_shared::domain::message::{Message, MessageContent, MessageKind};
use mizan_shared::domain::retention::Category;
use mizan_shared::domain::tenant::{Tenant, TenantStatus};
use mizan_shared::domain::time::{days, Timestamp};
use mizan_shared::ports::archives::ArchiveStore;
use mizan_shared::ports::clock::Clock;
use mizan_shared::ports::keys::{KeyContext, KeyStore, KeyStoreError};
use mizan_shared::ports::records::{Condition, Key, Query, Record, Write};
use mizan_shared::store::Store;
use mizan_shared::store::{layout, ErasureReason, Versioned};
use mizan_shared::workflows::purge::{self, PurgeOptions, PurgeReport};
use mizan_test_support::counting::CountingReads;
use std::sync::Arc;
use support::Harness;

struct World {
    h: Harness,
    archives: LocalArchives,
    _archive_dir: tempfile::TempDir,
}

impl World {
    fn new(h: Harness) -> Self {
        let dir = tempfile::tempdir().unwrap();
        World {
            archives: LocalArchives::new(dir.path()),
            _archive_dir: dir,
            h,
        }
    }

    fn now(&self) -> Timestamp {
        self.h.clock.now()
    }

    async fn tenant(&self, chat_days: u32) -> Tenant {
        let mut tenant = Tenant::new("Atlas Tea", self.now());
        tenant.settings.chat_retention_days = chat_days;
        self.h.store.create_tenant(&tenant).await.unwrap();
        tenant
    }

    async fn contact(&self, t: &Tenant, wa_id: &str) -> ContactId {
        let profile = ContactProfile {
            wa_id: Some(wa_id.into()),
            name: Some("Amina".into()),
            ..ContactProfile::default()
        };
        let upsert = self.h.store.upsert_contact(&t.id, &profile).await.unwrap();
        upsert.contact.value.id
    }

    async fn message(&self, t: &Tenant, c: &ContactId, wamid: &str) -> Key {
        let wamid = Wamid::new(wamid);
        let id = self.h.store.message_id(&t.id, &wamid);
        let now = self.now();
        let message = Message::inbound(
            t.id.clone(),
            c.clone(),
            id.clone(),
            wamid,
            MessageKind::Text,
            MessageContent::text("hello"),
            now,
        );
        self.h.store.put_message(&message).await.unwrap();
        layout::message(&t.id, c, &id)
    }

    async fn stored(&self, key: &Key) -> Option<Record> {
        self.h.store.stored_record(key).await.unwrap()
    }

    async fn purge(&self) -> PurgeReport {
        purge::run(&self.h.store, &self.archives, PurgeOptions::at(self.now()))
            .await
            .unwrap()
    }

    fn advance_days(&self, n: u64) {
        self.h.clock.advance(days(n));
    }

    async fn export(&self, t: &Tenant, c: &ContactId, link_days: u64) -> (ExportJob, String) {
        let object_key = format!("{}/{}.zip", t.id, ExportId::generate());
        let file = self.archives.path_of(&object_key).unwrap();
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, b"zip").unwrap();
        let mut job = ExportJob {
            id: ExportId::generate(),
            tenant: t.id.clone(),
            scope: ExportScope::Contact { contact: c.clone() },
            state: ExportState::Pending,
            requested_at: self.now(),
            expires_at: self.now().plus(days(link_days)),
            requested_by: "key_1".into(),
            downloads: 0,
            last_audited_download_at: None,
            chat_request: None,
            download_limit: None,
        };
        job.mark_ready(object_key.clone(), 3).unwrap();
        self.h.store.create_export(&job).await.unwrap();
        (job, object_key)
    }

    async fn opt_out(&self, t: &Tenant, c: &ContactId) {
        let event = ConsentEvent {
            tenant: t.id.clone(),
            contact: c.clone(),
            at: self.now(),
            purpose: Purpose::All,
            action: ConsentAction::OptOut,
            source: ConsentSource::Keyword,
            evidence: format!("wamid.stop.{c}"),
            actor: "contact".into(),
        };
        self.h.store.record_consent(&event, None).await.unwrap();
    }

    async fn partition_is_empty(&self, t: &Tenant, c: &ContactId) -> bool {
        self.h
            .records
            .query(
                &Query::prefix(layout::contact_partition(&t.id, c), ""),
                Timestamp::EPOCH,
            )
            .await
            .unwrap()
            .items
            .is_empty()
    }

    async fn key_exists(&self, t: &Tenant, c: &ContactId) -> bool {
        self.h
            .keys
            .get(&KeyContext::new(t.id.clone(), c.clone()))
            .await
            .unwrap()
            .is_some()
    }
}

async fn messages_lose_content_at_chat_retention_then_metadata_at_90_days(h: Harness) {
    let w = World::new(h);
    let t = w.tenant(30).await;
    let c = w.contact(&t, "212600000001").await;
    let key = w.message(&t, &c, "wamid.P1").await;

    w.advance_days(29);
    let report = w.purge().await;
    assert_eq!(report.total().due, 0, "nothing is due before 30 days");
    assert!(w.stored(&key).await.unwrap().sealed.is_some());

    w.advance_days(1);
    let report = w.purge().await;
    assert_eq!(
        report.counts(&t.id, Category::ChatContent).content_removed,
        1
    );
    let stripped = w.stored(&key).await.expect("metadata outlives the content");
    assert!(stripped.sealed.is_none(), "content removed at 30 days (P1)");
    let message =
        w.h.store
            .conversation(&t.id, &c, &t.retention(), 10, None)
            .await
            .unwrap();
    assert_eq!(message.items.len(), 1, "metadata still readable (P2)");
    assert!(message.items[0].content.is_none());

    w.advance_days(59);
    w.purge().await;
    assert!(w.stored(&key).await.is_some(), "kept until 90 days");
    w.advance_days(1);
    let report = w.purge().await;
    assert_eq!(report.counts(&t.id, Category::MessageMetadata).removed, 1);
    assert!(w.stored(&key).await.is_none(), "metadata gone at 90 days");
}

async fn tenant_chat_retention_overrides_the_default(h: Harness) {
    let w = World::new(h);
    let short = w.tenant(7).await;
    let long = w.tenant(180).await;
    let a = w.contact(&short, "212600000002").await;
    let b = w.contact(&long, "212600000002").await;
    let short_key = w.message(&short, &a, "wamid.S").await;
    let long_key = w.message(&long, &b, "wamid.L").await;

    w.advance_days(7);
    w.purge().await;
    assert!(w.stored(&short_key).await.unwrap().sealed.is_none());
    assert!(w.stored(&long_key).await.unwrap().sealed.is_some());

    w.advance_days(172); // day 179: the 180-day tenant still has everything
    w.purge().await;
    assert!(w.stored(&long_key).await.unwrap().sealed.is_some());
    assert!(
        w.stored(&short_key).await.is_none(),
        "7-day tenant: metadata gone at 90"
    );

    w.advance_days(1); // day 180: content and metadata go together
    let report = w.purge().await;
    assert_eq!(report.counts(&long.id, Category::ChatContent).removed, 1);
    assert!(w.stored(&long_key).await.is_none());
}

async fn legal_hold_suspends_deletion_and_is_reported(h: Harness) {
    let w = World::new(h);
    let mut held_tenant = w.tenant(30).await;
    let t = w.tenant(30).await;
    let c1 = w.contact(&held_tenant, "212600000003").await;
    let k1 = w.message(&held_tenant, &c1, "wamid.H1").await;
    let held_contact = w.contact(&t, "212600000004").await;
    let free_contact = w.contact(&t, "212600000005").await;
    let k2 = w.message(&t, &held_contact, "wamid.H2").await;
    let k3 = w.message(&t, &free_contact, "wamid.H3").await;

    let version =
        w.h.store
            .tenant_versioned(&held_tenant.id)
            .await
            .unwrap()
            .unwrap();
    held_tenant.settings.legal_hold = true;
    w.h.store
        .save_tenant(
            &Versioned {
                value: held_tenant.clone(),
                version: version.version,
            },
            None,
        )
        .await
        .unwrap();
    let contact =
        w.h.store
            .contact(&t.id, &held_contact)
            .await
            .unwrap()
            .unwrap();
    let audit = AuditEvent::new(
        t.id.clone(),
        Actor::Admin,
        "contact.legal_hold_set",
        Some(held_contact.clone()),
        w.now(),
    );
    w.h.store
        .set_contact_legal_hold(&contact, true, &audit)
        .await
        .unwrap();

    w.advance_days(100);
    let report = w.purge().await;
    assert!(
        w.stored(&k1).await.unwrap().sealed.is_some(),
        "tenant hold keeps content"
    );
    assert!(
        w.stored(&k2).await.unwrap().sealed.is_some(),
        "contact hold keeps content"
    );
    assert!(w.stored(&k3).await.is_none(), "others are purged");
    let held = report
        .tenants
        .iter()
        .find(|r| r.tenant == held_tenant.id)
        .unwrap();
    assert!(held.legal_hold);
    assert!(report.counts(&held_tenant.id, Category::ChatContent).held >= 1);
    assert_eq!(report.counts(&t.id, Category::ChatContent).held, 1);

    // Lifting the hold lets the next run catch up.
    let lifted = AuditEvent::new(
        t.id.clone(),
        Actor::Admin,
        "contact.legal_hold_lifted",
        Some(held_contact.clone()),
        w.now(),
    );
    let contact =
        w.h.store
            .contact(&t.id, &held_contact)
            .await
            .unwrap()
            .unwrap();
    w.h.store
        .set_contact_legal_hold(&contact, false, &lifted)
        .await
        .unwrap();
    w.purge().await;
    assert!(w.stored(&k2).await.is_none());
}

async fn erasure_requests_and_minor_flags_are_completed(h: Harness) {
    let w = World::new(h);
    let t = w.tenant(30).await;
    let c = w.contact(&t, "212600000006").await;
    let minor = w.contact(&t, "212600000007").await;
    w.message(&t, &c, "wamid.E1").await;
    w.message(&t, &minor, "wamid.E2").await;
    w.opt_out(&t, &c).await;
    let (_, object_key) = w.export(&t, &c, 7).await;

    for (id, reason) in [(&c, ErasureReason::Request), (&minor, ErasureReason::Minor)] {
        let contact = w.h.store.contact(&t.id, id).await.unwrap().unwrap();
        let audit = AuditEvent::new(
            t.id.clone(),
            Actor::Admin,
            "contact.erasure_requested",
            Some(id.clone()),
            w.now(),
        );
        // The request commits; its completion is left to the purge (as after a crash).
        w.h.store
            .request_erasure(&contact, reason, &audit)
            .await
            .unwrap();
    }
    assert!(!w.key_exists(&t, &c).await, "the key goes with the request");

    let report = w.purge().await;
    assert!(report.counts(&t.id, Category::Erasure).removed >= 4);
    assert_eq!(report.counts(&t.id, Category::Erasure).archives_removed, 1);
    for id in [&c, &minor] {
        assert!(w.partition_is_empty(&t, id).await, "every item removed");
        assert!(!w.key_exists(&t, id).await);
    }
    assert!(
        !w.archives.exists(&object_key).await.unwrap(),
        "export object removed"
    );
    // The opted-out contact leaves a suppression hash (P12), and so does the minor (P11: the
    // mark keeps automation from engaging them again), nothing else of either.
    for wa_id in ["212600000006", "212600000007"] {
        assert!(w
            .h
            .store
            .is_suppressed(&t.id, IdentifierKind::WaId, wa_id)
            .await
            .unwrap());
    }
    assert_eq!(w.purge().await.total().due, 0, "nothing left to do");
}

async fn idle_contacts_go_with_their_consent_history_leaving_suppression(h: Harness) {
    let w = World::new(h);
    let t = w.tenant(30).await;
    let idle = w.contact(&t, "212600000008").await;
    let active = w.contact(&t, "212600000009").await;
    w.message(&t, &idle, "wamid.I1").await;
    w.opt_out(&t, &idle).await;
    w.message(&t, &active, "wamid.A1").await;

    w.advance_days(60);
    w.message(&t, &active, "wamid.A2").await; // active since
    w.advance_days(30); // day 90
    let report = w.purge().await;
    let contacts = report.counts(&t.id, Category::Contact);
    assert_eq!(
        contacts.refiled, 1,
        "the active contact is re-filed, not removed"
    );
    assert!(
        w.partition_is_empty(&t, &idle).await,
        "idle contact and its consent history gone"
    );
    assert!(w
        .h
        .store
        .is_suppressed(&t.id, IdentifierKind::WaId, "212600000008")
        .await
        .unwrap());
    assert!(w.h.store.contact(&t.id, &active).await.unwrap().is_some());

    w.advance_days(60); // day 150: 90 days after the active contact's last message
    w.purge().await;
    assert!(w.partition_is_empty(&t, &active).await);
    assert!(!w
        .h
        .store
        .is_suppressed(&t.id, IdentifierKind::WaId, "212600000009")
        .await
        .unwrap());
}

/// Raw payloads no tenant owns are the platform's: the platform marks what it files, so a
/// swept platform is read for its quarantine alone, and a payload kept after the sweep is still
/// removed at 14 days.
async fn the_platforms_raw_payloads_expire_though_it_is_read_for_its_marks_only(h: Harness) {
    let w = World::new(h);
    w.purge().await; // sweeps the platform, which holds nothing yet
    let platform = TenantId::new(mizan_shared::store::PLATFORM_TENANT);
    let marks = w.h.store.retained_categories(&platform).await.unwrap();
    assert!(
        marks.swept && marks.to_visit(&platform).is_empty(),
        "{marks:?}"
    );
    let raw = w.h.store.keep_raw(None, "unroutable", b"{}").await.unwrap();
    let marks = w.h.store.retained_categories(&platform).await.unwrap();
    assert_eq!(marks.to_visit(&platform), [Category::Quarantine]);
    w.advance_days(13);
    w.purge().await;
    assert!(w.stored(&raw).await.is_some(), "kept 14 days");
    w.advance_days(1);
    w.purge().await;
    assert!(w.stored(&raw).await.is_none(), "gone at 14 days");
}

async fn exports_quarantine_audit_payment_and_analytics_expire_on_their_own_clocks(h: Harness) {
    let w = World::new(h);
    let t = w.tenant(30).await;
    let c = w.contact(&t, "212600000010").await;
    let (job, object) = w.export(&t, &c, 7).await;
    let (long_job, long_object) = w.export(&t, &c, 10).await;
    let raw =
        w.h.store
            .keep_raw(Some(&t.id), "unparseable", b"{")
            .await
            .unwrap();
    w.h.store
        .append_audit(&AuditEvent::new(
            t.id.clone(),
            Actor::Admin,
            "settings.changed",
            None,
            w.now(),
        ))
        .await
        .unwrap();
    let mut generic = Vec::new();
    for (category, sk) in [
        (Category::Payment, "PAY#1"),
        (Category::Analytics, "STATS#1"),
    ] {
        let key = Key::new(format!("T#{}#X", t.id), sk);
        let mut record = Record::new(key.clone(), "test", serde_json::json!({}));
        record.retention = Some(layout::retention_entry(&t.id, category, &key, w.now()));
        w.h.records
            .write(Write::Put {
                record,
                condition: Condition::Absent,
            })
            .await
            .unwrap();
        generic.push((category, key));
    }

    w.advance_days(7);
    w.purge().await;
    assert!(w
        .h
        .store
        .stored_export(&layout::export(&t.id, &job.id))
        .await
        .unwrap()
        .is_none());
    assert!(
        !w.archives.exists(&object).await.unwrap(),
        "archive gone at 7 days"
    );
    assert!(
        w.archives.exists(&long_object).await.unwrap(),
        "a 10-day link lasts 10 days"
    );
    w.advance_days(3);
    w.purge().await;
    assert!(w
        .h
        .store
        .stored_export(&layout::export(&t.id, &long_job.id))
        .await
        .unwrap()
        .is_none());
    assert!(!w.archives.exists(&long_object).await.unwrap());

    let day_key = KeyContext::new(
        t.id.clone(),
        ContactId::new(format!("raw-{}", &raw.pk[raw.pk.len() - 10..])),
    );
    assert!(w.h.keys.get(&day_key).await.unwrap().is_some());
    w.advance_days(4); // day 14
    w.purge().await;
    assert!(w.stored(&raw).await.is_none(), "quarantine: 14 days");
    w.advance_days(1); // the day's last payload is due too: its key is shredded
    w.purge().await;
    assert!(
        w.h.keys.get(&day_key).await.unwrap().is_none(),
        "the day's data key is destroyed, so backups of the payload cannot be read"
    );

    w.advance_days(2 * 365 - 15); // two years
    w.purge().await;
    assert!(w
        .h
        .store
        .audit_events(&t.id, 10, None)
        .await
        .unwrap()
        .items
        .is_empty());
    assert!(
        w.stored(&generic[1].1).await.is_some(),
        "analytics: 25 months"
    );
    w.advance_days(31);
    w.purge().await;
    assert!(w.stored(&generic[1].1).await.is_none());
    assert!(w.stored(&generic[0].1).await.is_some(), "payment: 7 years");
    w.advance_days(5 * 365);
    w.purge().await;
    assert!(w.stored(&generic[0].1).await.is_none());
}

async fn a_closed_account_goes_two_years_after_closure(h: Harness) {
    let w = World::new(h);
    let t = w.tenant(30).await;
    let other = w.tenant(30).await;
    let c = w.contact(&t, "212600000011").await;
    w.message(&t, &c, "wamid.C1").await;
    w.opt_out(&t, &c).await;
    w.h.store
        .issue_api_key(&t.id, "dashboard", Actor::Admin)
        .await
        .unwrap();
    let phone = mizan_shared::domain::ids::PhoneNumberId::parse("100000000000099").unwrap();
    w.h.store.attach_phone_number(&t.id, &phone).await.unwrap();

    let mut closed = w.h.store.tenant_versioned(&t.id).await.unwrap().unwrap();
    closed.value.status = TenantStatus::Closed { at: w.now() };
    w.h.store.save_tenant(&closed, None).await.unwrap();

    w.advance_days(729);
    w.purge().await;
    assert!(
        w.h.store.tenant(&t.id).await.unwrap().is_some(),
        "kept 2 years"
    );
    w.advance_days(1);
    let report = w.purge().await;
    assert!(report.counts(&t.id, Category::AccountData).removed > 0);
    assert!(w.h.store.tenant(&t.id).await.unwrap().is_none());
    assert!(w.partition_is_empty(&t, &c).await);
    let tenant_partition =
        w.h.records
            .query(
                &Query::prefix(layout::tenant_partition(&t.id), ""),
                Timestamp::EPOCH,
            )
            .await
            .unwrap();
    assert!(tenant_partition.items.is_empty(), "api keys gone");
    assert!(w
        .h
        .store
        .tenant_by_phone_number(&phone)
        .await
        .unwrap()
        .is_none());
    assert!(!w.h.store.tenant_ids().await.unwrap().contains(&t.id));
    assert!(!w
        .h
        .store
        .is_suppressed(&t.id, IdentifierKind::WaId, "212600000011")
        .await
        .unwrap());
    assert!(
        w.h.store.tenant(&other.id).await.unwrap().is_some(),
        "other tenants untouched"
    );
}

async fn a_dry_run_reports_without_changing_anything(h: Harness) {
    let w = World::new(h);
    let t = w.tenant(30).await;
    let c = w.contact(&t, "212600000012").await;
    let key = w.message(&t, &c, "wamid.D1").await;
    w.advance_days(30);
    let mut options = PurgeOptions::at(w.now());
    options.dry_run = true;
    let dry = purge::run(&w.h.store, &w.archives, options).await.unwrap();
    assert!(dry.dry_run);
    assert_eq!(dry.counts(&t.id, Category::ChatContent).content_removed, 1);
    assert!(
        w.stored(&key).await.unwrap().sealed.is_some(),
        "nothing changed"
    );
    // --as-of: in 60 more days (day 90) the whole message would go, content and metadata.
    let mut later = PurgeOptions::at(w.now().plus(days(60)));
    later.dry_run = true;
    let ahead = purge::run(&w.h.store, &w.archives, later).await.unwrap();
    assert_eq!(ahead.counts(&t.id, Category::ChatContent).removed, 1);
    assert_eq!(
        ahead.counts(&t.id, Category::ChatContent).content_removed,
        0
    );
    assert!(w.stored(&key).await.unwrap().sealed.is_some());
    let real = w.purge().await;
    assert_eq!(
        real.counts(&t.id, Category::ChatContent),
        dry.counts(&t.id, Category::ChatContent)
    );
}

async fn a_stopped_run_resumes_and_concurrent_runs_agree(h: Harness) {
    let w = World::new(h);
    let t = w.tenant(30).await;
    let mut keys = Vec::new();
    for i in 0..12 {
        let c = w.contact(&t, &format!("2126000001{i:02}")).await;
        keys.push(w.message(&t, &c, &format!("wamid.R{i}")).await);
    }
    w.advance_days(30);
    // A deadline already passed: the run stops cleanly at once and says so.
    let mut stopped = PurgeOptions::at(w.now());
    stopped.deadline = Some(std::time::Instant::now());
    let report = purge::run(&w.h.store, &w.archives, stopped).await.unwrap();
    assert!(!report.complete);
    // Page by page, stopping after the first page, resumes on the next run.
    let mut partial = PurgeOptions::at(w.now());
    partial.page_size = 1;
    partial.deadline = Some(std::time::Instant::now() + std::time::Duration::from_millis(1));
    let _ = purge::run(&w.h.store, &w.archives, partial).await.unwrap();
    let (a, b) = tokio::join!(w.purge(), w.purge());
    assert!(a.complete && b.complete);
    assert_eq!(a.failures() + b.failures(), 0);
    for key in &keys {
        let record = w.stored(key).await.expect("metadata kept");
        assert!(record.sealed.is_none());
    }
    assert_eq!(
        w.purge().await.total().due,
        0,
        "the same as one complete run"
    );
}

/// Runs that cannot go through every tenant (a deadline, or a bounded run) resume where the
/// last one stopped, so later tenants are reached instead of starved.
async fn bounded_runs_resume_where_the_last_one_stopped_and_reach_every_tenant(h: Harness) {
    let w = World::new(h);
    let mut kept = Vec::new();
    for i in 0..3 {
        let t = w.tenant(30).await;
        let c = w.contact(&t, &format!("21260000020{i}")).await;
        kept.push(w.message(&t, &c, &format!("wamid.B{i}")).await);
    }
    w.advance_days(30);
    let bounded = || {
        let mut options = PurgeOptions::at(w.now());
        options.max_tenants = Some(2);
        options
    };
    // The directory also holds the platform's own entry (quarantine): four in all.
    let first = purge::run(&w.h.store, &w.archives, bounded())
        .await
        .unwrap();
    assert_eq!((first.complete, first.tenants_visited), (false, 2));
    assert_eq!(first.resumed_from, None);
    let second = purge::run(&w.h.store, &w.archives, bounded())
        .await
        .unwrap();
    assert_eq!(second.tenants_visited, 2);
    assert!(
        second.resumed_from.is_some(),
        "it started where the first stopped"
    );
    for key in &kept {
        assert!(
            w.stored(key).await.unwrap().sealed.is_none(),
            "every tenant's content went within two bounded runs"
        );
    }
    // A full run afterwards starts from the beginning again and finds nothing left.
    let full = w.purge().await;
    assert!(full.complete);
    assert_eq!(full.total().due, 0);
}

/// The purge's role may delete data keys but never read them (template.yaml: no key-table
/// GetItem, no KMS): a key store that refuses every read stands for it.
struct NoKeyReads(Arc<dyn KeyStore>);

#[async_trait::async_trait]
impl KeyStore for NoKeyReads {
    async fn get(&self, _context: &KeyContext) -> Result<Option<Vec<u8>>, KeyStoreError> {
        Err(KeyStoreError::Unavailable(
            "AccessDenied: the purge may not read data keys".into(),
        ))
    }
    async fn put_if_absent(
        &self,
        _context: &KeyContext,
        _wrapped: Vec<u8>,
    ) -> Result<Vec<u8>, KeyStoreError> {
        Err(KeyStoreError::Unavailable(
            "AccessDenied: the purge may not create data keys".into(),
        ))
    }
    async fn delete(&self, context: &KeyContext) -> Result<(), KeyStoreError> {
        self.0.delete(context).await
    }
}

/// Erasures, idle contacts and closures are completed with the purge's own permissions: no
/// data key is ever read or made (on AWS such a read is AccessDenied and the erasure would
/// never complete).
async fn the_purge_completes_erasures_without_reading_a_data_key(h: Harness) {
    let w = World::new(h);
    let t = w.tenant(30).await;
    let erased = w.contact(&t, "212600000301").await;
    let idle = w.contact(&t, "212600000302").await;
    w.message(&t, &erased, "wamid.K1").await;
    let contact = w.h.store.contact(&t.id, &erased).await.unwrap().unwrap();
    let audit = AuditEvent::new(
        t.id.clone(),
        Actor::Admin,
        "contact.erasure_requested",
        Some(erased.clone()),
        w.now(),
    );
    w.h.store
        .request_erasure(&contact, ErasureReason::Request, &audit)
        .await
        .unwrap();
    w.advance_days(91);
    let vault = mizan_shared::adapters::local_vault::LocalVault::open_or_create(
        &w._archive_dir.path().join("purge-master.key"),
    )
    .unwrap();
    let purge_store = Store::new(
        w.h.records.clone(),
        Arc::new(Envelope::new(
            Arc::new(vault),
            Arc::new(NoKeyReads(w.h.keys.clone())),
            CacheSettings::default(),
        )),
        Arc::new(IdentityHasher::new(support::HASH_KEY)),
        w.h.clock.clone(),
    );
    let report = purge::run(&purge_store, &w.archives, PurgeOptions::at(w.now()))
        .await
        .unwrap();
    assert_eq!(report.failures(), 0, "{report:?}");
    for id in [&erased, &idle] {
        assert!(w.partition_is_empty(&t, id).await, "every item removed");
        assert!(!w.key_exists(&t, id).await);
    }
}

/// A purge run reads a rare category (one index read over its 16 shards) only for tenants that
/// filed under it. The first run sweeps the tenant once, marking the rare categories filled
/// before marks existed; from then on a run costs one read per frequent category and per marked
/// one, and what is marked, old or new, is still purged when due.
async fn a_swept_tenant_costs_only_its_frequent_and_marked_categories(h: Harness) {
    let w = World::new(h);
    let t = w.tenant(30).await;
    let c = w.contact(&t, "212600000401").await;
    // Filed before marks existed: written around the store, as an older version did.
    let legacy = Key::new(format!("T#{}#X", t.id), "PAY#legacy");
    let mut record = Record::new(legacy.clone(), "test", serde_json::json!({}));
    record.retention = Some(layout::retention_entry(
        &t.id,
        Category::Payment,
        &legacy,
        w.now(),
    ));
    w.h.records
        .write(Write::Put {
            record,
            condition: Condition::Absent,
        })
        .await
        .unwrap();
    let counting = Arc::new(CountingReads::new(w.h.records.clone()));
    let purge_store = Store::new(
        counting.clone(),
        w.h.envelope.clone(),
        Arc::new(IdentityHasher::new(support::HASH_KEY)),
        w.h.clock.clone(),
    );
    let run = || purge::run(&purge_store, &w.archives, PurgeOptions::at(w.now()));
    let frequent = Category::ALL.iter().filter(|c| !c.is_rare()).count() as u64;

    run().await.unwrap();
    let retained = w.h.store.retained_categories(&t.id).await.unwrap();
    assert!(retained.swept);
    assert_eq!(
        retained.rare.iter().copied().collect::<Vec<_>>(),
        [Category::Payment],
        "the sweep marked the category filed before marks"
    );

    // Every tenant visited costs a read per frequent category; this one also its mark's. The
    // platform, which marks whatever it files and files nothing here, costs none.
    counting.reset();
    let report = run().await.unwrap();
    assert_eq!(report.tenants_visited, 2, "the tenant and the platform");
    assert_eq!(
        counting.index_queries(),
        frequent + 1,
        "frequent categories and the marked one, instead of all {} per tenant",
        Category::ALL.len()
    );

    // Filing through the store marks the category first: the next run queries it too.
    let (job, _) = w.export(&t, &c, 7).await;
    counting.reset();
    run().await.unwrap();
    assert_eq!(counting.index_queries(), frequent + 2);
    w.advance_days(7);
    run().await.unwrap();
    assert!(w
        .h
        .store
        .stored_export(&layout::export(&t.id, &job.id))
        .await
        .unwrap()
        .is_none());
    w.advance_days(7 * 365);
    run().await.unwrap();
    assert!(
        w.stored(&legacy).await.is_none(),
        "payment records: 7 years"
    );
}

on_both_backends!(
    messages_lose_content_at_chat_retention_then_metadata_at_90_days,
    tenant_chat_retention_overrides_the_default,
    legal_hold_suspends_deletion_and_is_reported,
    erasure_requests_and_minor_flags_are_completed,
    idle_contacts_go_with_their_consent_history_leaving_suppression,
    exports_quarantine_audit_payment_and_analytics_expire_on_their_own_clocks,
    the_platforms_raw_payloads_expire_though_it_is_read_for_its_marks_only,
    a_closed_account_goes_two_years_after_closure,
    a_dry_run_reports_without_changing_anything,
    a_stopped_run_resumes_and_concurrent_runs_agree,
    bounded_runs_resume_where_the_last_one_stopped_and_reach_every_tenant,
    the_purge_completes_erasures_without_reading_a_data_key,
    a_swept_tenant_costs_only_its_frequent_and_marked_categories,
);
