//! Campaigns end to end in the store, against a fake Graph API that answers as Meta does:
//! every skip reason decided by the gate at sending time and counted; an opt-out between two
//! turns stops the next send; each of Meta's error classes; a template Meta paused pauses the
//! campaign; pause, resume and cancel; exact counters under redelivered status webhooks; erasure
//! removes a person's recipient records. Every case runs against the embedded backend and
//! DynamoDB Local.

use mizan_test_support::fakes::graph::{FakeGraph, Send};
use mizan_test_support::on_both_backends;
use mizan_test_support::seed;
use mizan_test_support::store as support;

use mizan_shared::adapters::backoff::RetryPolicy;
use mizan_shared::adapters::graph::{GraphMessenger, GraphSettings};
use mizan_shared::domain::audit::{Actor, AuditEvent};
use mizan_shared::domain::campaign::{
    Campaign, CampaignRequest, CampaignState, Control, RecipientState, Skip,
};
use mizan_shared::domain::consent::{ConsentAction, ConsentEvent, Purpose};
use mizan_shared::domain::contact_change::ContactChange;
use mizan_shared::domain::ids::{ApiKeyId, CampaignId, ContactId, Wamid};
use mizan_shared::domain::message::Status;
use mizan_shared::domain::template::{
    AppliedAt, LanguageCode, ParameterFormat, Template, TemplateCategory, TemplateName,
};
use mizan_shared::domain::tenant::Tenant;
use mizan_shared::store::{ErasureReason, StatusFields};
use mizan_shared::workflows::campaign_send::{CampaignSender, Pacer, TurnReport};
use mizan_shared::workflows::campaigns;
use serde_json::json;
use std::time::Duration;
use support::Harness;

const KEY: &str = "key_0123456789ab";
/// Each decision its own evidence (decisions with the same time and evidence are one).
static EVIDENCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

struct World {
    h: Harness,
    tenant: Tenant,
    graph: FakeGraph,
    messenger: GraphMessenger,
    pacer: Pacer,
}

async fn world(h: Harness) -> World {
    let tenant = seed::tenant(&h.store, "Atlas Tea", None, Some("100000000000001")).await;
    let graph = FakeGraph::start().await;
    let messenger = GraphMessenger::new(GraphSettings {
        base_url: graph.base_url.clone(),
        version: "v24.0".into(),
        access_token: "EAAG-test".into(),
        timeout: Duration::from_secs(2),
        retry: RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        },
    });
    let w = World {
        h,
        tenant,
        graph,
        messenger,
        pacer: Pacer::default(),
    };
    w.template(TemplateCategory::Marketing, "APPROVED").await;
    w
}

impl World {
    async fn template(&self, category: TemplateCategory, status: &str) {
        let template = Template {
            tenant: self.tenant.id.clone(),
            name: TemplateName::parse("spring_sale").unwrap(),
            language: LanguageCode::parse("en").unwrap(),
            meta_id: Some("1".into()),
            category,
            status: status.into(),
            quality: "GREEN".into(),
            reason: None,
            parameter_format: ParameterFormat::Positional,
            components: Some(vec![
                json!({"type": "BODY", "text": "Hi {{1}}, 20% off today"}),
                json!({"type": "FOOTER", "text": "Reply STOP to opt out"}),
            ]),
            updated_at: self.h.now(),
            applied: AppliedAt::default(),
        };
        let audit = AuditEvent::new(
            self.tenant.id.clone(),
            Actor::Admin,
            "template.synced",
            None,
            self.h.now(),
        );
        self.h.store.save_template(&template, &audit).await.unwrap();
    }

    async fn contact(&self, wa_id: &str) -> ContactId {
        seed::contact(&self.h.store, &self.tenant.id, wa_id).await
    }

    async fn decide(&self, contact: &ContactId, purpose: Purpose, action: ConsentAction) {
        let event = ConsentEvent::from_api(
            self.tenant.id.clone(),
            contact.clone(),
            self.h.now(),
            purpose,
            action,
            format!(
                "test:{}",
                EVIDENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ),
            &ApiKeyId::new(KEY),
        );
        self.h.store.record_consent(&event, None).await.unwrap();
    }

    async fn opted_in(&self, wa_id: &str) -> ContactId {
        let id = self.contact(wa_id).await;
        self.decide(&id, Purpose::Marketing, ConsentAction::OptIn)
            .await;
        id
    }

    async fn campaign(&self, wa_ids: &[&str]) -> CampaignId {
        let contacts: Vec<_> = wa_ids
            .iter()
            .map(|w| json!({"contact": w, "parameters": {"body": {"1": format!("name-{w}")}}}))
            .collect();
        self.create(json!({
            "name": "Spring", "template": {"name": "spring_sale", "language": "en"},
            "audience": {"contacts": contacts}
        }))
        .await
    }

    async fn turn(&self) -> TurnReport {
        self.turn_of_a_sender_started_at(mizan_shared::domain::time::Timestamp::EPOCH)
            .await
    }

    async fn turn_of_a_sender_started_at(
        &self,
        started_at: mizan_shared::domain::time::Timestamp,
    ) -> TurnReport {
        CampaignSender {
            store: &self.h.store,
            messenger: &self.messenger,
            pacer: &self.pacer,
            batch: 1_000,
            started_at,
        }
        .turn()
        .await
        .unwrap()
    }

    async fn stored(&self, id: &CampaignId) -> Campaign {
        self.h
            .store
            .campaign(&self.tenant.id, id)
            .await
            .unwrap()
            .unwrap()
            .value
    }

    async fn state(&self, id: &CampaignId) -> CampaignState {
        self.stored(id).await.state
    }

    async fn counts(&self, id: &CampaignId) -> std::collections::BTreeMap<String, i64> {
        self.h
            .store
            .campaign_counts(&self.tenant.id, id)
            .await
            .unwrap()
    }

    async fn recipient(&self, id: &CampaignId, ordinal: u32) -> RecipientState {
        self.h
            .store
            .campaign_recipient(&self.tenant.id, id, ordinal)
            .await
            .unwrap()
            .unwrap()
            .value
            .state
    }

    async fn erase(&self, contact: &ContactId) {
        let versioned = self
            .h
            .store
            .contact(&self.tenant.id, contact)
            .await
            .unwrap()
            .unwrap();
        let audit = AuditEvent::new(
            self.tenant.id.clone(),
            Actor::Admin,
            "contact.erasure_requested",
            Some(contact.clone()),
            self.h.now(),
        );
        self.h
            .store
            .request_erasure(&versioned, ErasureReason::Request, &audit)
            .await
            .unwrap();
        self.h
            .store
            .erase_contact(&self.tenant.id, contact)
            .await
            .unwrap();
    }

    async fn create(&self, request: serde_json::Value) -> CampaignId {
        let request: CampaignRequest = serde_json::from_value(request).unwrap();
        let tenant = self.h.store.tenant(&self.tenant.id).await.unwrap().unwrap();
        campaigns::create(
            &self.h.store,
            &tenant,
            &ApiKeyId::new(KEY),
            request.check().unwrap(),
        )
        .await
        .unwrap()
        .id
    }

    fn sends_to(&self, wa_id: &str) -> usize {
        self.graph
            .requests()
            .iter()
            .filter(|r| r.body["type"] == "template" && r.body["to"] == wa_id)
            .count()
    }
}

fn count(counts: &std::collections::BTreeMap<String, i64>, label: &str) -> i64 {
    counts.get(label).copied().unwrap_or(0)
}

async fn every_skip_reason_is_decided_at_sending_time_and_counted(h: Harness) {
    let w = world(h).await;
    w.opted_in("15550200001").await;
    w.contact("15550200002").await; // no opt-in on record
    let out = w.opted_in("15550200003").await;
    w.decide(&out, Purpose::Marketing, ConsentAction::OptOut)
        .await;
    let blocked = w.opted_in("15550200004").await;
    w.decide(&blocked, Purpose::All, ConsentAction::Block).await;
    let restricted = w.opted_in("15550200005").await;
    w.h.store
        .change_contact(
            &w.tenant.id,
            &restricted,
            &ContactChange::Restrict,
            &Actor::Admin,
        )
        .await
        .unwrap();
    let minor = w.opted_in("15550200006").await;
    let mut flagged =
        w.h.store
            .contact(&w.tenant.id, &minor)
            .await
            .unwrap()
            .unwrap();
    flagged.value.known_minor = true;
    w.h.store.save_contact(&flagged, None).await.unwrap();
    let id = w
        .campaign(&[
            "15550200001",
            "15550200002",
            "15550200003",
            "15550200004",
            "15550200005",
            "15550200006",
            "15550200007",
        ])
        .await;
    let report = w.turn().await;
    assert_eq!(
        (report.sent, report.skipped, report.completed),
        (1, 6, 1),
        "{report:?}"
    );
    assert_eq!(w.state(&id).await, CampaignState::Completed);
    let counts = w.counts(&id).await;
    for (label, n) in [
        ("eligible", 1),
        ("sent", 1),
        ("skipped.no_marketing_opt_in", 1),
        ("skipped.opted_out", 1),
        ("skipped.blocked", 1),
        ("skipped.restricted", 1),
        ("skipped.minor", 1),
        ("skipped.unknown_contact", 1),
    ] {
        assert_eq!(count(&counts, label), n, "{label}: {counts:?}");
    }
    // Only the consenting contact got anything, exactly once.
    assert_eq!(w.sends_to("15550200001"), 1);
    let total = w
        .graph
        .requests()
        .iter()
        .filter(|r| r.body["type"] == "template")
        .count();
    assert_eq!(total, 1);
    // Another turn sends nothing more.
    w.turn().await;
    assert_eq!(w.sends_to("15550200001"), 1);
}

async fn an_opt_out_between_turns_stops_the_next_send_and_controls_steer_it(h: Harness) {
    let w = world(h).await;
    let a = w.opted_in("15550200011").await;
    let b = w.opted_in("15550200012").await;
    let id = w.campaign(&["15550200011", "15550200012"]).await;
    let tenant = w.h.store.tenant(&w.tenant.id).await.unwrap().unwrap();
    let paused = campaigns::control(&w.h.store, &tenant, &id, Control::Pause, &Actor::Admin)
        .await
        .unwrap();
    assert_eq!(paused.state, CampaignState::Paused);
    assert_eq!(w.turn().await.sent, 0, "a paused campaign sends nothing");
    // The person stops marketing while the campaign waits.
    w.decide(&b, Purpose::Marketing, ConsentAction::OptOut)
        .await;
    campaigns::control(&w.h.store, &tenant, &id, Control::Resume, &Actor::Admin)
        .await
        .unwrap();
    let report = w.turn().await;
    assert_eq!((report.sent, report.skipped), (1, 1));
    assert_eq!(w.sends_to("15550200012"), 0, "the opt-out stopped it");
    let _ = a;
    let cancelled =
        campaigns::control(&w.h.store, &tenant, &id, Control::Cancel, &Actor::Admin).await;
    assert!(
        cancelled.is_err(),
        "a completed campaign cannot be cancelled"
    );
    let actions: Vec<String> =
        w.h.store
            .audit_events(&w.tenant.id, 50, None)
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|e| e.action)
            .collect();
    for action in [
        "campaign.created",
        "campaign.paused",
        "campaign.resumed",
        "campaign.completed",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}

async fn metas_error_classes_each_do_what_they_must(h: Harness) {
    let w = world(h).await;
    for n in 21..=25 {
        w.opted_in(&format!("155502000{n}")).await;
    }
    let id = w
        .campaign(&[
            "15550200021",
            "15550200022",
            "15550200023",
            "15550200024",
            "15550200025",
        ])
        .await;
    w.graph.script([
        Send::Error {
            status: 400,
            code: 131049,
        }, // per-user marketing limit: deferred
        Send::Error {
            status: 400,
            code: 131026,
        }, // undeliverable: final
        Send::Error {
            status: 400,
            code: 131050,
        }, // stopped marketing in WhatsApp: opt-out
        Send::Error {
            status: 429,
            code: 130429,
        }, // throughput: released, turn stops
    ]);
    let first = w.turn().await;
    assert_eq!(
        (first.deferred, first.failed, first.released),
        (1, 2, 1),
        "{first:?}"
    );
    assert_eq!(w.recipient(&id, 0).await, RecipientState::Deferred);
    assert_eq!(
        w.recipient(&id, 1).await,
        RecipientState::Failed { code: Some(131026) }
    );
    assert_eq!(
        w.recipient(&id, 3).await,
        RecipientState::Pending,
        "given back, not failed"
    );
    let opted_out =
        w.h.store
            .contact_state(&w.tenant.id, &w.contact("15550200023").await)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(
        opted_out.value.consent.marketing,
        mizan_shared::domain::consent::Decision::Withdrawn
    );
    // Meta refuses the template: the campaign pauses with the reason, the recipient waits.
    w.graph.script([Send::Error {
        status: 400,
        code: 132015,
    }]);
    let second = w.turn().await;
    assert_eq!(second.paused, 1);
    let campaign = w.stored(&id).await;
    assert_eq!(campaign.state, CampaignState::Paused);
    assert!(campaign.reason.unwrap().contains("132015"));
    assert_eq!(w.recipient(&id, 3).await, RecipientState::Pending);
    let tenant = w.h.store.tenant(&w.tenant.id).await.unwrap().unwrap();
    campaigns::control(&w.h.store, &tenant, &id, Control::Resume, &Actor::Admin)
        .await
        .unwrap();
    let third = w.turn().await;
    assert_eq!(third.sent, 2, "{third:?}");
    assert_eq!(
        w.state(&id).await,
        CampaignState::Running,
        "the deferred one still waits"
    );
    let resting = w.stored(&id).await;
    assert!(
        resting.look_again_at.unwrap() > w.h.now().plus(Duration::from_secs(23 * 3600)),
        "the campaign rests until the deferred recipient's day has passed"
    );
    // A day later the deferred recipient gets its one more try.
    w.h.clock.advance(Duration::from_secs(24 * 3600 + 1));
    let later = w.turn().await;
    assert_eq!((later.sent, later.completed), (1, 1), "{later:?}");
    let counts = w.counts(&id).await;
    assert_eq!(count(&counts, "sent"), 3);
    assert_eq!(count(&counts, "failed.131026"), 1);
    assert_eq!(count(&counts, "failed.131050"), 1);
    assert_eq!(count(&counts, "deferred"), 0);
    assert_eq!(count(&counts, "eligible"), 5);
    assert_eq!(
        w.sends_to("15550200021"),
        2,
        "the deferred one: tried, then once more"
    );
}

async fn a_template_meta_paused_pauses_the_campaign(h: Harness) {
    let w = world(h).await;
    w.opted_in("15550200031").await;
    let id = w.campaign(&["15550200031"]).await;
    w.template(TemplateCategory::Marketing, "PAUSED").await;
    let report = w.turn().await;
    assert_eq!((report.sent, report.paused), (0, 1));
    let campaign = w.stored(&id).await;
    assert_eq!(campaign.state, CampaignState::Paused);
    assert!(campaign.reason.unwrap().contains("paused"));
}

async fn counters_stay_exact_under_redelivered_status_webhooks(h: Harness) {
    let w = world(h).await;
    let contact = w.opted_in("15550200041").await;
    let id = w.campaign(&["15550200041"]).await;
    w.turn().await;
    let wamid = Wamid::new("wamid.FAKE0001");
    for status in [
        Status::Delivered,
        Status::Delivered,
        Status::Read,
        Status::Delivered,
        Status::Read,
    ] {
        w.h.store
            .record_status(
                &w.tenant.id,
                Some(&contact),
                &wamid,
                StatusFields {
                    status,
                    at: w.h.now(),
                    errors: vec![],
                    billing: None,
                },
            )
            .await
            .unwrap();
    }
    let counts = w.counts(&id).await;
    assert_eq!(
        (
            count(&counts, "sent"),
            count(&counts, "delivered"),
            count(&counts, "read")
        ),
        (1, 1, 1),
        "{counts:?}"
    );
    assert_eq!(w.recipient(&id, 0).await, RecipientState::Read);
}

async fn erasure_removes_a_persons_recipient_records(h: Harness) {
    let w = world(h).await;
    let contact = w.opted_in("15550200051").await;
    w.opted_in("15550200052").await;
    let id = w.campaign(&["15550200051", "15550200052"]).await;
    w.turn().await;
    // Once every recipient has its record, the listed audience is not kept beside them.
    let audience =
        w.h.records
            .query(
                &mizan_shared::ports::records::Query::prefix(
                    mizan_shared::store::layout::campaign_partition(&w.tenant.id, &id),
                    mizan_shared::store::layout::CAMPAIGN_AUDIENCE_PREFIX,
                ),
                w.h.now(),
            )
            .await
            .unwrap();
    assert!(audience.items.is_empty());
    w.erase(&contact).await;
    assert!(w
        .h
        .store
        .campaign_recipient(&w.tenant.id, &id, 0)
        .await
        .unwrap()
        .is_none());
    assert!(
        w.h.store
            .campaign_recipient(&w.tenant.id, &id, 1)
            .await
            .unwrap()
            .is_some(),
        "others stay"
    );
}

/// A sender crashed after claiming two recipients: one before its Graph API call (never sent),
/// one after (it may have gone out). The next sender sends the first and reports the second
/// `unknown`, never sending it again.
async fn a_crashed_senders_claims_are_resent_only_when_they_never_reached_meta(h: Harness) {
    let w = world(h).await;
    for n in 61..=63 {
        w.opted_in(&format!("155502000{n}")).await;
    }
    let id = w
        .campaign(&["15550200061", "15550200062", "15550200063"])
        .await;
    // Prepare it without sending, as a sender that crashed after its claims would have.
    let mut prepared =
        w.h.store
            .campaign(&w.tenant.id, &id)
            .await
            .unwrap()
            .unwrap();
    w.h.store
        .prepare_recipients(&prepared.value, 0..1)
        .await
        .unwrap();
    prepared.value.prepared_chunks = 1;
    prepared.value.prepared = true;
    prepared.value.state = CampaignState::Running;
    assert!(w.h.store.save_campaign(&prepared, None).await.unwrap());
    for (ordinal, dispatched) in [(0u32, false), (1, true)] {
        let r =
            w.h.store
                .campaign_recipient(&w.tenant.id, &id, ordinal)
                .await
                .unwrap()
                .unwrap();
        let claimed = mizan_shared::domain::campaign::Recipient {
            state: RecipientState::Sending,
            dispatched,
            updated_at: w.h.now(),
            ..r.value.clone()
        };
        assert!(w.h.store.move_recipient(&r, &claimed).await.unwrap());
    }
    // The crashed sender's progress was never saved; a new one starts later.
    w.h.clock.advance(Duration::from_millis(5));
    let report = w.turn_of_a_sender_started_at(w.h.now()).await;
    assert_eq!(
        (report.sent, report.unknown, report.completed),
        (2, 1, 1),
        "{report:?}"
    );
    assert_eq!(w.sends_to("15550200061"), 1, "never reached Meta: sent now");
    assert_eq!(
        w.sends_to("15550200062"),
        0,
        "may have gone out: never sent again"
    );
    assert_eq!(w.recipient(&id, 1).await, RecipientState::Unknown);
    let counts = w.counts(&id).await;
    assert_eq!((count(&counts, "sent"), count(&counts, "unknown")), (2, 1));
}

/// A send that times out may have gone out: `unknown`, never repeated. 130472 is final. A
/// number on the suppression list (an erased contact that had opted out, now known again) is
/// skipped as `suppressed`.
async fn timeouts_are_unknown_130472_is_final_and_suppressed_numbers_are_skipped(h: Harness) {
    let w = world(h).await;
    w.opted_in("15550200071").await;
    w.opted_in("15550200072").await;
    // An opted-out contact, erased: its number is suppressed; then the person is known again.
    let gone = w.opted_in("15550200073").await;
    w.decide(&gone, Purpose::Marketing, ConsentAction::OptOut)
        .await;
    let versioned =
        w.h.store
            .contact(&w.tenant.id, &gone)
            .await
            .unwrap()
            .unwrap();
    let audit = AuditEvent::new(
        w.tenant.id.clone(),
        Actor::Admin,
        "contact.erasure_requested",
        Some(gone.clone()),
        w.h.now(),
    );
    w.h.store
        .request_erasure(&versioned, ErasureReason::Request, &audit)
        .await
        .unwrap();
    w.h.store.erase_contact(&w.tenant.id, &gone).await.unwrap();
    let again = w.contact("15550200073").await;
    w.decide(&again, Purpose::Marketing, ConsentAction::OptIn)
        .await;
    let id = w
        .campaign(&["15550200071", "15550200072", "15550200073"])
        .await;
    w.graph.script([
        Send::Hang(Duration::from_secs(3)),
        Send::Error {
            status: 400,
            code: 130472,
        },
    ]);
    let report = w.turn().await;
    assert_eq!(
        (
            report.unknown,
            report.failed,
            report.skipped,
            report.completed
        ),
        (1, 1, 1, 1),
        "{report:?}"
    );
    assert_eq!(w.recipient(&id, 0).await, RecipientState::Unknown);
    assert_eq!(
        w.recipient(&id, 1).await,
        RecipientState::Failed { code: Some(130472) }
    );
    assert_eq!(
        w.recipient(&id, 2).await,
        RecipientState::Skipped {
            reason: Skip::Suppressed
        }
    );
    let counts = w.counts(&id).await;
    assert_eq!(count(&counts, "skipped.suppressed"), 1, "{counts:?}");
    // Another turn: the unknown one is not sent again.
    w.turn().await;
    assert_eq!(w.sends_to("15550200071"), 1);
}

/// Meta's status webhook pausing the template pauses its campaigns at once, through intake.
async fn a_template_webhook_pausing_the_template_pauses_its_campaigns_at_once(h: Harness) {
    let w = world(h).await;
    w.h.store
        .attach_business_account(
            &w.tenant.id,
            &mizan_shared::domain::ids::WabaId::new("100000000000909"),
        )
        .await
        .unwrap();
    w.opted_in("15550200081").await;
    let id = w.campaign(&["15550200081"]).await;
    let body = serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "100000000000909", "time": w.h.now().as_unix_seconds() + 1, "changes": [{
            "field": "message_template_status_update",
            "value": {"event": "PAUSED", "message_template_id": 1, "message_template_name": "spring_sale",
                      "message_template_language": "en", "reason": "FIRST_PAUSE"}
        }]}]
    }))
    .unwrap();
    let delivery = mizan_shared::domain::whatsapp::parse_delivery(&body).unwrap();
    let report = mizan_shared::workflows::intake::ingest(&w.h.store, &delivery)
        .await
        .unwrap();
    assert_eq!(report.campaigns_paused, 1, "{report:?}");
    let campaign = w.stored(&id).await;
    assert_eq!(campaign.state, CampaignState::Paused);
    assert!(campaign.reason.unwrap().contains("paused"));
    assert_eq!(w.turn().await.sent, 0);
}

/// A campaign purged while still listed as active (its retention ended) leaves the directory
/// at the sender's next turn.
async fn a_purged_campaign_leaves_the_active_directory(h: Harness) {
    let w = world(h).await;
    w.opted_in("15550200091").await;
    let id = w.campaign(&["15550200091"]).await;
    w.h.records
        .delete_many(vec![mizan_shared::store::layout::campaign(
            &w.tenant.id,
            &id,
        )])
        .await
        .unwrap();
    assert_eq!(w.h.store.active_campaigns(None).await.unwrap().len(), 1);
    let report = w.turn().await;
    assert_eq!(report.sent, 0);
    assert!(w.h.store.active_campaigns(None).await.unwrap().is_empty());
}

/// The `marketing_opted_in` segment is resolved when the campaign starts (not when it is
/// made): whoever opted in meanwhile is in, whoever opted out or was erased meanwhile is not,
/// and nobody without an opt-in is even a recipient. Its recipients get the defaults.
async fn a_segment_is_resolved_to_the_marketing_opted_in_when_the_campaign_starts(h: Harness) {
    let w = world(h).await;
    w.opted_in("15550200091").await;
    let leaves = w.opted_in("15550200092").await;
    let erased = w.opted_in("15550200093").await;
    w.contact("15550200094").await; // never opted in
    let send_at = w.h.now().plus(Duration::from_secs(3_600));
    let id = w
        .create(json!({
            "name": "Everyone", "template": {"name": "spring_sale", "language": "en"},
            "parameters": {"body": {"1": "friend"}},
            "audience": {"segment": "marketing_opted_in"},
            "send_at": send_at.to_rfc3339(),
        }))
        .await;
    w.decide(&leaves, Purpose::Marketing, ConsentAction::OptOut)
        .await;
    w.erase(&erased).await;
    w.opted_in("15550200095").await; // after the campaign was made
    assert_eq!(w.turn().await.prepared, 0, "not before send_at");
    w.h.clock.advance(Duration::from_secs(3_600));
    let report = w.turn().await;
    assert_eq!((report.sent, report.skipped), (2, 0), "{report:?}");
    for (wa_id, sends) in [
        ("15550200091", 1),
        ("15550200092", 0),
        ("15550200093", 0),
        ("15550200094", 0),
        ("15550200095", 1),
    ] {
        assert_eq!(w.sends_to(wa_id), sends, "{wa_id}");
    }
    let sent = w.graph.requests();
    let parameter = &sent.last().unwrap().body["template"]["components"][0]["parameters"][0];
    assert_eq!(parameter["text"], "friend", "the defaults: {parameter}");
    assert_eq!(w.stored(&id).await.recipients, 2);
    let counts = w.counts(&id).await;
    assert_eq!(count(&counts, "sent"), 2);
    assert_eq!(w.state(&id).await, CampaignState::Completed);
}

/// A person erased after being listed but before the campaign starts gets nothing, counts as
/// `erased`, and their parameters go with their turn (a recipient's parameters are kept only
/// until its message is made or it is skipped).
async fn a_person_erased_before_the_start_is_skipped_as_erased_and_their_parameters_go(h: Harness) {
    let w = world(h).await;
    let erased = w.opted_in("15550200101").await;
    w.opted_in("15550200102").await;
    let id = w.campaign(&["15550200101", "15550200102"]).await;
    w.erase(&erased).await;
    let report = w.turn().await;
    assert_eq!((report.sent, report.skipped), (1, 1), "{report:?}");
    assert_eq!(w.sends_to("15550200101"), 0);
    assert_eq!(
        w.recipient(&id, 0).await,
        RecipientState::Skipped {
            reason: Skip::Erased
        }
    );
    assert_eq!(count(&w.counts(&id).await, "skipped.erased"), 1);
    for ordinal in [0, 1] {
        let (_, record) =
            w.h.store
                .campaign_recipient_record(&w.tenant.id, &id, ordinal)
                .await
                .unwrap()
                .unwrap();
        assert!(
            record.sealed.is_none(),
            "recipient {ordinal}'s parameters kept"
        );
    }
}

/// A large audience is prepared a few chunks per turn (so each turn fits in one invocation of
/// the sender on AWS), and sending starts only once every recipient has its record.
async fn a_large_audience_is_prepared_over_several_turns_before_anything_is_sent(h: Harness) {
    use mizan_shared::store::AUDIENCE_CHUNK;
    use mizan_shared::workflows::campaign_send::PREPARE_CHUNKS_PER_TURN;
    let w = world(h).await;
    w.opted_in("15550200111").await;
    let listed = AUDIENCE_CHUNK * PREPARE_CHUNKS_PER_TURN as usize + 1;
    // One opted-in contact first, then numbers Mizan never heard from.
    let numbers: Vec<String> = std::iter::once("15550200111".to_owned())
        .chain((1..listed).map(|n| format!("1555030{n:04}")))
        .collect();
    let refs: Vec<&str> = numbers.iter().map(String::as_str).collect();
    let id = w.campaign(&refs).await;
    let sender = |batch| CampaignSender {
        store: &w.h.store,
        messenger: &w.messenger,
        pacer: &w.pacer,
        batch,
        started_at: mizan_shared::domain::time::Timestamp::EPOCH,
    };
    let first = sender(2).turn().await.unwrap();
    assert_eq!(
        (first.prepared as usize, first.sent, first.skipped),
        (AUDIENCE_CHUNK * PREPARE_CHUNKS_PER_TURN as usize, 0, 0)
    );
    assert_eq!(w.state(&id).await, CampaignState::Scheduled);
    let second = sender(2).turn().await.unwrap();
    assert!(second.prepared > 0);
    assert_eq!((second.sent, second.skipped), (1, 1), "{second:?}");
    assert_eq!(w.state(&id).await, CampaignState::Running);
    assert_eq!(w.sends_to("15550200111"), 1);
}

/// A campaign that cannot go on (its audience unreadable) fails, saying why, audited; the
/// other campaigns are sent as if nothing happened.
async fn a_campaign_that_cannot_go_on_fails_and_the_others_are_sent(h: Harness) {
    let w = world(h).await;
    w.opted_in("15550200121").await;
    w.opted_in("15550200122").await;
    let broken = w.campaign(&["15550200121"]).await;
    let fine = w.campaign(&["15550200122"]).await;
    w.h.records
        .delete_many(vec![mizan_shared::store::layout::campaign_audience(
            &w.tenant.id,
            &broken,
            0,
        )])
        .await
        .unwrap();
    let report = w.turn().await;
    assert_eq!((report.failed_campaigns, report.sent), (1, 1), "{report:?}");
    assert_eq!(w.state(&broken).await, CampaignState::Failed);
    assert_eq!(w.state(&fine).await, CampaignState::Completed);
    assert!(
        w.stored(&broken)
            .await
            .reason
            .unwrap()
            .contains("audience chunk 0"),
        "it says why"
    );
    assert_eq!(w.sends_to("15550200121"), 0);
    assert_eq!(
        w.turn().await.campaigns,
        0,
        "a failed campaign is not active"
    );
}

on_both_backends!(
    a_campaign_that_cannot_go_on_fails_and_the_others_are_sent,
    a_segment_is_resolved_to_the_marketing_opted_in_when_the_campaign_starts,
    a_person_erased_before_the_start_is_skipped_as_erased_and_their_parameters_go,
    a_large_audience_is_prepared_over_several_turns_before_anything_is_sent,
    a_purged_campaign_leaves_the_active_directory,
    a_template_webhook_pausing_the_template_pauses_its_campaigns_at_once,
    timeouts_are_unknown_130472_is_final_and_suppressed_numbers_are_skipped,
    a_crashed_senders_claims_are_resent_only_when_they_never_reached_meta,
    every_skip_reason_is_decided_at_sending_time_and_counted,
    an_opt_out_between_turns_stops_the_next_send_and_controls_steer_it,
    metas_error_classes_each_do_what_they_must,
    a_template_meta_paused_pauses_the_campaign,
    counters_stay_exact_under_redelivered_status_webhooks,
    erasure_removes_a_persons_recipient_records,
);
