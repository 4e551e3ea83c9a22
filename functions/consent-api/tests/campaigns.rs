//! Campaigns through the API: made against the template registry (approved, an opt-out on a
//! marketing template, every recipient's parameters fitting), sent by the campaign sender (the
//! shared workflow, through the local outbox), read back with exact counts and per-recipient
//! outcomes without personal data, steered by pause, resume and cancel; another tenant sees
//! none of it.

mod support;

use mizan_shared::adapters::outbox::Outbox;
use mizan_shared::domain::template::TemplateCategory;
use mizan_shared::domain::tenant::Tenant;
use mizan_shared::workflows::campaign_send::{CampaignSender, Pacer};
use serde_json::{json, Value};
use support::{harness, Harness};

async fn template(h: &Harness, tenant: &Tenant, name: &str, footer: Option<&str>) {
    let mut components =
        vec![json!({"type": "BODY", "text": "Hi {{1}}, our spring sale starts {{2}}"})];
    if let Some(footer) = footer {
        components.push(json!({"type": "FOOTER", "text": footer}));
    }
    mizan_test_support::seed::template(
        h.store(),
        &tenant.id,
        (name, "en"),
        TemplateCategory::Marketing,
        "APPROVED",
        components,
    )
    .await;
}

fn request(template: &str, contacts: &[(&str, Option<&str>)]) -> Value {
    json!({
        "name": "Spring sale",
        "template": {"name": template, "language": "en"},
        "parameters": {"body": {"2": "Monday"}},
        "audience": {"contacts": contacts.iter().map(|(c, name)| match name {
            Some(n) => json!({"contact": c, "parameters": {"body": {"1": n}}}),
            None => json!({"contact": c}),
        }).collect::<Vec<_>>()}
    })
}

async fn opt_in(h: &Harness, wa_id: &str) {
    assert_eq!(
        h.whatsapp_text(&format!("wamid.{wa_id}"), wa_id, "hello")
            .await,
        200
    );
    let body = json!({"purpose": "marketing", "action": "opt_in", "source": "web_form", "evidence": format!("form-{wa_id}")});
    assert_eq!(
        h.as_a("POST", &format!("/v1/contacts/{wa_id}/consent"), Some(body))
            .await
            .status,
        201
    );
}

async fn send_turn(h: &Harness, outbox: &Outbox) {
    let pacer = Pacer::default();
    CampaignSender {
        store: h.store(),
        messenger: outbox,
        pacer: &pacer,
        batch: 100,
        started_at: mizan_shared::domain::time::Timestamp::EPOCH,
    }
    .turn()
    .await
    .unwrap();
}

#[tokio::test]
async fn a_campaign_reaches_only_consenting_contacts_and_reports_exactly() {
    let h = harness().await;
    template(
        &h,
        &h.a.tenant,
        "spring_sale",
        Some("Reply STOP to opt out"),
    )
    .await;
    opt_in(&h, "15550300001").await;
    opt_in(&h, "15550300002").await;
    assert_eq!(h.whatsapp_text("wamid.N3", "15550300003", "hi").await, 200); // no opt-in
    let created = h
        .as_a(
            "POST",
            "/v1/campaigns",
            Some(request(
                "spring_sale",
                &[
                    ("15550300001", Some("Amina")),
                    ("15550300002", Some("Omar")),
                    ("15550300003", Some("Lina")),
                    ("15550300009", Some("Nobody")),
                ],
            )),
        )
        .await;
    assert_eq!(created.status, 202, "{:?}", created.body);
    assert_eq!(created.body["state"], "scheduled");
    let id = created.body["id"].as_str().unwrap().to_owned();

    let outbox = Outbox::new("v24.0");
    send_turn(&h, &outbox).await;
    let sent: Vec<_> = outbox
        .entries()
        .into_iter()
        .filter(|e| e.body["type"] == "template")
        .collect();
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().any(|e| e.body["to"] == "15550300001"
        && e.body["template"]["components"][0]["parameters"][0]["text"] == "Amina"));
    let campaign = h.as_a("GET", &format!("/v1/campaigns/{id}"), None).await;
    assert_eq!(campaign.status, 200);
    assert_eq!(campaign.body["state"], "completed");
    let counts = &campaign.body["counts"];
    assert_eq!(
        (counts["eligible"].as_i64(), counts["sent"].as_i64()),
        (Some(2), Some(2))
    );
    assert_eq!(
        counts["skipped"],
        json!({"no_marketing_opt_in": 1, "unknown_contact": 1})
    );

    let skipped = h
        .call(support::api_request(
            "GET",
            &format!("/v1/campaigns/{id}/recipients"),
            &[("state", "skipped")],
            Some(&h.a.token),
            None,
        ))
        .await;
    assert_eq!(skipped.status, 200);
    let rows = skipped.body["recipients"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let text = skipped.body.to_string();
    for personal in ["15550300003", "Lina", "Nobody", "15550300009"] {
        assert!(
            !text.contains(personal),
            "no personal data in outcomes: {text}"
        );
    }
    // Another tenant sees nothing of it.
    let b = h.as_b("GET", &format!("/v1/campaigns/{id}"), None).await;
    assert_eq!(
        (b.status, b.body["error"]["code"].as_str()),
        (404, Some("campaign_not_found"))
    );
    let audit: Vec<String> = h.audit_of_a().await.into_iter().map(|e| e.action).collect();
    assert!(audit.contains(&"campaign.created".to_owned()));
}

#[tokio::test]
async fn a_campaign_is_refused_when_it_cannot_be_sent_as_asked() {
    let h = harness().await;
    template(
        &h,
        &h.a.tenant,
        "spring_sale",
        Some("Reply STOP to opt out"),
    )
    .await;
    template(&h, &h.a.tenant, "no_way_out", None).await;
    let no_opt_out = h
        .as_a(
            "POST",
            "/v1/campaigns",
            Some(request("no_way_out", &[("15550300001", Some("A"))])),
        )
        .await;
    assert_eq!(
        (no_opt_out.status, no_opt_out.body["error"]["code"].as_str()),
        (422, Some("no_opt_out"))
    );
    let offenders = h
        .as_a(
            "POST",
            "/v1/campaigns",
            Some(request(
                "spring_sale",
                &[("15550300001", Some("A")), ("15550300002", None)],
            )),
        )
        .await;
    assert_eq!(offenders.status, 422);
    assert_eq!(offenders.body["error"]["code"], "invalid_recipients");
    assert_eq!(
        offenders.body["error"]["field"],
        "audience.contacts[1].parameters.body.1"
    );
    let segment = h
        .as_a(
            "POST",
            "/v1/campaigns",
            Some(
                json!({"name": "All", "template": {"name": "spring_sale", "language": "en"},
                        "parameters": {"body": {"1": "friend", "2": "Monday"}},
                        "audience": {"segment": "marketing_opted_in"}}),
            ),
        )
        .await;
    assert_eq!(segment.status, 202, "{}", segment.body);
    let unfit_segment = h
        .as_a(
            "POST",
            "/v1/campaigns",
            Some(
                json!({"name": "All", "template": {"name": "spring_sale", "language": "en"},
                        "audience": {"segment": "marketing_opted_in"}}),
            ),
        )
        .await;
    assert_eq!(unfit_segment.status, 422, "a segment's defaults must fit");
    assert_eq!(unfit_segment.body["error"]["code"], "invalid_recipients");
    let other_tenants = h
        .as_b(
            "POST",
            "/v1/campaigns",
            Some(request("spring_sale", &[("15550300001", Some("A"))])),
        )
        .await;
    assert_eq!(
        other_tenants.body["error"]["code"], "template_not_found",
        "B has no such template"
    );
}

#[tokio::test]
async fn pause_resume_and_cancel_steer_a_campaign() {
    let h = harness().await;
    template(
        &h,
        &h.a.tenant,
        "spring_sale",
        Some("Reply STOP to opt out"),
    )
    .await;
    opt_in(&h, "15550300011").await;
    let created = h
        .as_a(
            "POST",
            "/v1/campaigns",
            Some(request("spring_sale", &[("15550300011", Some("Amina"))])),
        )
        .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let paused = h
        .as_a("POST", &format!("/v1/campaigns/{id}/pause"), None)
        .await;
    assert_eq!(
        (paused.status, paused.body["state"].as_str()),
        (200, Some("paused"))
    );
    let outbox = Outbox::new("v24.0");
    send_turn(&h, &outbox).await;
    assert!(
        outbox.entries().is_empty(),
        "a paused campaign sends nothing"
    );
    let resumed = h
        .as_a("POST", &format!("/v1/campaigns/{id}/resume"), None)
        .await;
    assert_eq!(resumed.body["state"], "running");
    let cancelled = h
        .as_a("POST", &format!("/v1/campaigns/{id}/cancel"), None)
        .await;
    assert_eq!(cancelled.body["state"], "cancelled");
    send_turn(&h, &outbox).await;
    assert!(
        outbox.entries().is_empty(),
        "a cancelled campaign sends nothing"
    );
    let again = h
        .as_a("POST", &format!("/v1/campaigns/{id}/resume"), None)
        .await;
    assert_eq!(
        (again.status, again.body["error"]["code"].as_str()),
        (409, Some("invalid_state"))
    );
}

#[tokio::test]
async fn a_closed_accounts_campaign_is_paused_and_sends_nothing() {
    use mizan_shared::domain::audit::Actor;
    use mizan_shared::domain::ids::CampaignId;
    use mizan_shared::workflows::account::{change_account, AccountChange};
    let h = harness().await;
    template(
        &h,
        &h.a.tenant,
        "spring_sale",
        Some("Reply STOP to opt out"),
    )
    .await;
    opt_in(&h, "15550300012").await;
    let created = h
        .as_a(
            "POST",
            "/v1/campaigns",
            Some(request("spring_sale", &[("15550300012", Some("Amina"))])),
        )
        .await;
    assert_eq!(created.status, 202, "{:?}", created.body);
    let id = CampaignId::new(created.body["id"].as_str().unwrap());
    change_account(
        h.store(),
        &h.a.tenant.id,
        AccountChange::Close,
        Actor::Admin,
    )
    .await
    .unwrap();
    let outbox = Outbox::new("v24.0");
    send_turn(&h, &outbox).await;
    assert!(
        outbox.entries().is_empty(),
        "nothing is sent for a closed account"
    );
    let campaign = h
        .store()
        .campaign(&h.a.tenant.id, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(campaign.value.state.as_str(), "paused");
    assert_eq!(
        campaign.value.reason.as_deref(),
        Some("the account is closed")
    );
}
