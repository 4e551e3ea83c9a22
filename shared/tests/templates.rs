//! The template registry: template webhooks applied in order and audited, stale ones ignored,
//! an unknown template created from its webhook (not sendable until synced), a sync that keeps
//! what a later webhook said, tenant isolation, and removal. Every case runs against the
//! embedded backend and DynamoDB Local; the sync reads a fake Graph API that pages like Meta.

use mizan_test_support::on_both_backends;
use mizan_test_support::store as support;

use mizan_shared::adapters::backoff::RetryPolicy;
use mizan_shared::adapters::graph::GraphSettings;
use mizan_shared::adapters::graph_templates::GraphTemplates;
use mizan_shared::domain::audit::{Actor, AuditEvent};
use mizan_shared::domain::ids::{TenantId, WabaId};
use mizan_shared::domain::template::{
    fill, LanguageCode, ParameterFormat, Template, TemplateCategory, TemplateName,
};
use mizan_shared::domain::tenant::Tenant;
use mizan_shared::domain::time::Timestamp;
use mizan_shared::domain::whatsapp::parse_delivery;
use mizan_shared::workflows::{intake, templates};
use mizan_test_support::fakes::graph::FakeGraph;
use serde_json::json;
use support::Harness;

async fn tenant_with_account(h: &Harness, account: &str) -> Tenant {
    let tenant = Tenant::new("Atlas Tea", h.now());
    h.store.create_tenant(&tenant).await.unwrap();
    h.store
        .attach_business_account(&tenant.id, &WabaId::new(account))
        .await
        .unwrap()
}

fn webhook(account: &str, at: i64, field: &str, value: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": account, "time": at, "changes": [{"field": field, "value": value}]}]
    }))
    .unwrap()
}

fn status(account: &str, at: i64, event: &str, reason: &str) -> Vec<u8> {
    webhook(
        account,
        at,
        "message_template_status_update",
        json!({"event": event, "message_template_id": 1000000000000001u64,
               "message_template_name": "order_update", "message_template_language": "en_US",
               "reason": reason, "message_template_category": "UTILITY"}),
    )
}

async fn deliver(h: &Harness, body: &[u8]) -> intake::IntakeReport {
    intake::ingest(&h.store, &parse_delivery(body).unwrap())
        .await
        .unwrap()
}

fn name() -> TemplateName {
    TemplateName::parse("order_update").unwrap()
}

fn en_us() -> LanguageCode {
    LanguageCode::parse("en_US").unwrap()
}

async fn stored(h: &Harness, tenant: &TenantId) -> Template {
    h.store
        .template(tenant, &name(), &en_us())
        .await
        .unwrap()
        .expect("the template is in the registry")
}

async fn audit_actions(h: &Harness, tenant: &TenantId) -> Vec<String> {
    let page = h.store.audit_events(tenant, 100, None).await.unwrap();
    page.items.into_iter().map(|e| e.action).collect()
}

async fn webhooks_apply_in_order_and_are_audited(h: Harness) {
    let t = tenant_with_account(&h, "100000000000901").await;
    let first = deliver(&h, &status("100000000000901", 1_000, "APPROVED", "NONE")).await;
    assert_eq!(first.templates_updated, 1);
    let known_from_webhook = stored(&h, &t.id).await;
    assert!(known_from_webhook.is_approved());
    assert_eq!(
        known_from_webhook.meta_id.as_deref(),
        Some("1000000000000001")
    );
    assert_eq!(known_from_webhook.components, None, "not synced yet");
    assert_eq!(
        fill(&known_from_webhook, &json!({})).unwrap_err().field,
        "template",
        "a template known only from a webhook cannot be sent"
    );

    deliver(
        &h,
        &status("100000000000901", 3_000, "PAUSED", "FIRST_PAUSE"),
    )
    .await;
    // The approval delivered again, late: older than the pause, so nothing changes.
    let late = deliver(&h, &status("100000000000901", 1_000, "APPROVED", "NONE")).await;
    assert_eq!((late.templates_updated, late.templates_stale), (0, 1));
    let paused = stored(&h, &t.id).await;
    assert_eq!(
        (paused.status.as_str(), paused.reason.as_deref()),
        ("PAUSED", Some("FIRST_PAUSE"))
    );

    deliver(
        &h,
        &webhook(
            "100000000000901",
            2_000,
            "template_category_update",
            json!({"message_template_id": 1000000000000001u64, "message_template_name": "order_update",
                   "message_template_language": "en_US", "previous_category": "UTILITY",
                   "new_category": "MARKETING"}),
        ),
    )
    .await;
    deliver(
        &h,
        &webhook(
            "100000000000901",
            2_500,
            "message_template_quality_update",
            json!({"previous_quality_score": "GREEN", "new_quality_score": "RED",
                   "message_template_id": 1000000000000001u64, "message_template_name": "order_update",
                   "message_template_language": "en_US"}),
        ),
    )
    .await;
    let now = stored(&h, &t.id).await;
    assert_eq!(
        now.category,
        TemplateCategory::Marketing,
        "category has its own order"
    );
    assert_eq!(now.quality, "RED");
    assert_eq!(now.status, "PAUSED");
    let actions = audit_actions(&h, &t.id).await;
    for action in [
        "template.status_changed",
        "template.category_changed",
        "template.quality_changed",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "template.status_changed")
            .count(),
        2,
        "the stale report is not audited"
    );
}

async fn an_account_no_tenant_names_is_kept_raw_and_other_tenants_see_nothing(h: Harness) {
    let owner = tenant_with_account(&h, "100000000000902").await;
    let other = tenant_with_account(&h, "100000000000903").await;
    let unrouted = deliver(&h, &status("100000000000999", 1_000, "APPROVED", "NONE")).await;
    assert_eq!((unrouted.templates_updated, unrouted.kept_raw), (0, 1));
    deliver(&h, &status("100000000000902", 1_000, "APPROVED", "NONE")).await;
    assert_eq!(h.store.templates(&owner.id).await.unwrap().len(), 1);
    assert!(h.store.templates(&other.id).await.unwrap().is_empty());
    assert!(h
        .store
        .template(&other.id, &name(), &en_us())
        .await
        .unwrap()
        .is_none());
    let taken = h
        .store
        .attach_business_account(&other.id, &WabaId::new("100000000000902"))
        .await;
    assert!(taken.is_err(), "an account belongs to one tenant");
}

fn synced(tenant: &TenantId, read_at: Timestamp) -> Template {
    Template {
        tenant: tenant.clone(),
        name: name(),
        language: en_us(),
        meta_id: Some("1000000000000001".into()),
        category: TemplateCategory::Utility,
        status: "APPROVED".into(),
        quality: "GREEN".into(),
        reason: None,
        parameter_format: ParameterFormat::Positional,
        components: Some(vec![
            json!({"type": "BODY", "text": "Hi {{1}}, your order ships on {{2}}."}),
        ]),
        updated_at: read_at,
        applied: Default::default(),
    }
}

fn admin_audit(tenant: &TenantId, at: Timestamp) -> AuditEvent {
    AuditEvent::new(tenant.clone(), Actor::Admin, "template.synced", None, at)
}

async fn a_sync_fills_components_and_keeps_what_a_later_webhook_said(h: Harness) {
    let t = tenant_with_account(&h, "100000000000904").await;
    let read_at = Timestamp::from_unix_seconds(5_000);
    // A pause reported after the Graph API answer was read.
    deliver(
        &h,
        &status("100000000000904", 6_000, "PAUSED", "FIRST_PAUSE"),
    )
    .await;
    let saved = h
        .store
        .save_template(&synced(&t.id, read_at), &admin_audit(&t.id, h.now()))
        .await
        .unwrap();
    assert_eq!(
        saved.status, "PAUSED",
        "the later webhook wins over the older answer"
    );
    assert!(saved.components.is_some());
    // A sync read after every webhook takes the Graph API's word.
    let later = synced(&t.id, Timestamp::from_unix_seconds(7_000));
    let saved = h
        .store
        .save_template(&later, &admin_audit(&t.id, h.now()))
        .await
        .unwrap();
    assert!(saved.is_approved());
    let filled = fill(&saved, &json!({"body": {"1": "Amina", "2": "Monday"}})).unwrap();
    assert_eq!(
        filled.text.expose(),
        "Hi Amina, your order ships on Monday."
    );

    let removed = h
        .store
        .delete_template(&t.id, &name(), &en_us(), &admin_audit(&t.id, h.now()))
        .await
        .unwrap();
    assert!(removed);
    assert!(h.store.templates(&t.id).await.unwrap().is_empty());
    let again = h
        .store
        .delete_template(&t.id, &name(), &en_us(), &admin_audit(&t.id, h.now()))
        .await
        .unwrap();
    assert!(!again, "removing twice says it was not there");
}

fn graph_catalog(fake: &FakeGraph) -> GraphTemplates {
    GraphTemplates::new(GraphSettings {
        base_url: fake.base_url.clone(),
        version: "v24.0".into(),
        access_token: "EAAG-test-token".into(),
        timeout: std::time::Duration::from_secs(2),
        retry: RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        },
    })
}

fn listed(i: usize) -> serde_json::Value {
    json!({"name": format!("notice_{i:03}"), "language": "fr", "status": "APPROVED",
           "category": "UTILITY", "id": format!("{}", 2_000_000 + i),
           "parameter_format": "POSITIONAL", "quality_score": {"score": "GREEN"},
           "components": [{"type": "BODY", "text": "Bonjour {{1}}"}]})
}

async fn a_sync_reads_every_page_skips_what_cannot_be_sent_and_removes_what_meta_dropped(
    h: Harness,
) {
    let t = tenant_with_account(&h, "100000000000905").await;
    let fake = FakeGraph::start().await;
    fake.seed_templates("100000000000905", (0..205).map(listed));
    fake.seed_templates(
        "100000000000905",
        [json!({"name": "winter_cards", "language": "fr", "status": "APPROVED", "category": "MARKETING",
                "id": "3000000", "components": [{"type": "CAROUSEL", "cards": []}]})],
    );
    // Known here from an old webhook, gone at Meta.
    deliver(&h, &status("100000000000905", 1_000, "APPROVED", "NONE")).await;
    let report = templates::sync(&h.store, &graph_catalog(&fake), &t, &Actor::Admin)
        .await
        .unwrap();
    assert_eq!(report.saved, 205, "three pages of 100");
    assert_eq!(report.removed, 1);
    assert_eq!(report.skipped.len(), 1);
    assert!(
        report.skipped[0].starts_with("winter_cards/fr"),
        "{:?}",
        report.skipped
    );
    let pages = fake
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("message_templates"))
        .count();
    assert_eq!(pages, 3);
    let all = h.store.templates(&t.id).await.unwrap();
    assert_eq!(all.len(), 205);
    assert!(all
        .iter()
        .all(|t| t.is_approved() && t.components.is_some()));
    // Again: the same registry, nothing removed.
    let again = templates::sync(&h.store, &graph_catalog(&fake), &t, &Actor::Admin)
        .await
        .unwrap();
    assert_eq!((again.saved, again.removed), (205, 0));
    // A tenant without a business account is told so.
    let bare = Tenant::new("Baraka", h.now());
    h.store.create_tenant(&bare).await.unwrap();
    let refused = templates::sync(&h.store, &graph_catalog(&fake), &bare, &Actor::Admin).await;
    assert!(matches!(
        refused,
        Err(templates::TemplatesError::NoBusinessAccount)
    ));
}

on_both_backends!(
    a_sync_reads_every_page_skips_what_cannot_be_sent_and_removes_what_meta_dropped,
    webhooks_apply_in_order_and_are_audited,
    an_account_no_tenant_names_is_kept_raw_and_other_tenants_see_nothing,
    a_sync_fills_components_and_keeps_what_a_later_webhook_said,
);
