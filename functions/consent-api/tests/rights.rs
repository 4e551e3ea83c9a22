//! Each right end to end: a request to consent-api, its effect on the stored data, on what the
//! other functions do next (webhook-intake handling the person's next WhatsApp message, the
//! `may_send` / `may_process` rules ai-reply obeys), and its audit event.

mod support;

use mizan_shared::domain::audit::Actor;
use mizan_shared::domain::consent::{ConsentSource, Decision, Purpose};
use serde_json::json;
use support::{harness, WA_ID};

fn consent(purpose: &str, action: &str, evidence: &str) -> Option<serde_json::Value> {
    Some(json!({"purpose": purpose, "action": action, "source": "web_form", "evidence": evidence}))
}

#[tokio::test]
async fn opt_out_by_api_is_honoured_at_once_and_stays_after_the_persons_next_message() {
    let h = harness().await;
    // Given a person who wrote in on WhatsApp,
    assert_eq!(
        h.whatsapp_text("wamid.A1", WA_ID, "Salam, vous livrez ?")
            .await,
        200
    );
    let before = h.find(&h.a, WA_ID).await.unwrap();
    assert!(before.may_send(Purpose::AutomatedReplies));
    // when the business records their opt-out through the API,
    let answer = h
        .as_a(
            "POST",
            &format!("/v1/contacts/{WA_ID}/consent"),
            consent("all", "opt_out", "call-77"),
        )
        .await;
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    assert_eq!(answer.body["state"]["automated_replies"], "withdrawn");
    // then nothing may be sent to them any more,
    let contact = h.find(&h.a, WA_ID).await.unwrap();
    assert!(!contact.may_send(Purpose::AutomatedReplies));
    assert!(!contact.may_send(Purpose::Marketing));
    // and their next message is stored without undoing the opt-out.
    assert_eq!(
        h.whatsapp_text("wamid.A2", WA_ID, "Vous êtes là ?").await,
        200
    );
    let after = h.find(&h.a, WA_ID).await.unwrap();
    assert_eq!(after.id, contact.id);
    assert!(!after.may_send(Purpose::AutomatedReplies));
    let conversation = h
        .store()
        .conversation(&h.a.tenant.id, &after.id, &h.a.tenant.retention(), 10, None)
        .await
        .unwrap();
    assert_eq!(conversation.items.len(), 2);
    // The decision is provable: what, when, how, evidence, who.
    let history = h
        .store()
        .consent_history(&h.a.tenant.id, &after.id)
        .await
        .unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].source, ConsentSource::Api);
    assert_eq!(history[0].evidence, "web_form:call-77");
    let key = h.store().api_keys(&h.a.tenant.id).await.unwrap().remove(0);
    assert_eq!(history[0].actor, key.id.to_string());
    let audit = h.audit_of_a().await.remove(0);
    assert_eq!(audit.action, "consent.recorded");
    assert_eq!(audit.actor, Actor::ApiKey(key.id));
    assert_eq!(audit.subject, Some(after.id));
}

#[tokio::test]
async fn consent_history_is_appended_never_overwritten_whatever_the_channel() {
    let h = harness().await;
    assert_eq!(h.whatsapp_text("wamid.B1", WA_ID, "Bonjour").await, 200);
    let path = format!("/v1/contacts/{WA_ID}/consent");
    assert_eq!(
        h.as_a("POST", &path, consent("marketing", "opt_in", "form-1"))
            .await
            .status,
        201
    );
    assert_eq!(
        h.as_a("POST", &path, consent("marketing", "opt_out", "form-2"))
            .await
            .status,
        201
    );
    // A STOP keyword the person sends afterwards lands in the same history.
    let later = h.store().now().plus(std::time::Duration::from_secs(2));
    assert_eq!(
        h.whatsapp_text_at("wamid.B2", WA_ID, "STOP", later).await,
        200
    );
    let answer = h.as_a("GET", &path, None).await;
    assert_eq!(answer.status, 200);
    let history = answer.body["history"].as_array().unwrap();
    let summary: Vec<(String, String, String)> = history
        .iter()
        .map(|e| {
            (
                e["source"].as_str().unwrap().to_owned(),
                e["purpose"].as_str().unwrap().to_owned(),
                e["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("api".into(), "marketing".into(), "opt_in".into()),
            ("api".into(), "marketing".into(), "opt_out".into()),
            ("keyword".into(), "all".into(), "opt_out".into()),
        ]
    );
    assert_eq!(answer.body["state"]["marketing"], "withdrawn");
    assert_eq!(answer.body["state"]["automated_replies"], "withdrawn");
}

#[tokio::test]
async fn marketing_opt_in_by_api_allows_marketing_and_block_stops_everything_until_unblocked() {
    let h = harness().await;
    h.contact_of(&h.a, WA_ID, None).await;
    let path = format!("/v1/contacts/{WA_ID}/consent");
    assert!(!h
        .find(&h.a, WA_ID)
        .await
        .unwrap()
        .may_send(Purpose::Marketing));
    assert_eq!(
        h.as_a("POST", &path, consent("marketing", "opt_in", "f-1"))
            .await
            .status,
        201
    );
    assert!(h
        .find(&h.a, WA_ID)
        .await
        .unwrap()
        .may_send(Purpose::Marketing));
    assert_eq!(
        h.as_a("POST", &path, consent("all", "block", "f-2"))
            .await
            .status,
        201
    );
    let blocked = h.find(&h.a, WA_ID).await.unwrap();
    assert!(!blocked.may_send(Purpose::Marketing) && !blocked.may_send(Purpose::AutomatedReplies));
    assert!(blocked.consent.needs_suppression());
    assert_eq!(
        h.as_a("POST", &path, consent("all", "unblock", "f-3"))
            .await
            .status,
        201
    );
    let unblocked = h.find(&h.a, WA_ID).await.unwrap();
    assert!(unblocked.may_send(Purpose::Marketing));
    assert_eq!(unblocked.consent.marketing, Decision::Granted);
}

#[tokio::test]
async fn restriction_stops_all_processing_but_storage_until_lifted() {
    let h = harness().await;
    assert_eq!(h.whatsapp_text("wamid.C1", WA_ID, "Hello").await, 200);
    let path = format!("/v1/contacts/{WA_ID}/restriction");
    let answer = h.as_a("POST", &path, None).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["restricted"], true);
    assert_eq!(answer.body["may_send"]["automated_replies"], false);
    let contact = h.find(&h.a, WA_ID).await.unwrap();
    assert!(!contact.may_process());
    assert!(!contact.may_send(Purpose::AutomatedReplies));
    // Storage continues: the next message is kept, the restriction stays.
    assert_eq!(h.whatsapp_text("wamid.C2", WA_ID, "Anyone?").await, 200);
    let still = h.find(&h.a, WA_ID).await.unwrap();
    assert!(still.restricted && !still.may_process());
    let conversation = h
        .store()
        .conversation(&h.a.tenant.id, &still.id, &h.a.tenant.retention(), 10, None)
        .await
        .unwrap();
    assert_eq!(conversation.items.len(), 2);
    assert_eq!(h.audit_of_a().await[0].action, "contact.restricted");
    // Lifting it restores processing.
    assert_eq!(h.as_a("DELETE", &path, None).await.status, 200);
    assert!(h.find(&h.a, WA_ID).await.unwrap().may_process());
    assert_eq!(h.audit_of_a().await[0].action, "contact.restriction_lifted");
}

#[tokio::test]
async fn a_human_takeover_holds_across_new_messages_until_handed_back() {
    let h = harness().await;
    assert_eq!(
        h.whatsapp_text("wamid.D1", WA_ID, "I need a person").await,
        200
    );
    let path = format!("/v1/contacts/{WA_ID}/takeover");
    assert_eq!(h.as_a("POST", &path, None).await.status, 200);
    assert_eq!(h.whatsapp_text("wamid.D2", WA_ID, "Hello?").await, 200);
    assert!(h.find(&h.a, WA_ID).await.unwrap().taken_over);
    assert_eq!(h.as_a("DELETE", &path, None).await.status, 200);
    assert!(!h.find(&h.a, WA_ID).await.unwrap().taken_over);
    let actions: Vec<String> = h.audit_of_a().await.into_iter().map(|e| e.action).collect();
    assert_eq!(actions[..2], ["contact.handed_back", "contact.taken_over"]);
}

#[tokio::test]
async fn rectification_corrects_the_profile_and_later_whatsapp_profiles_do_not_undo_it() {
    let h = harness().await;
    assert_eq!(h.whatsapp_text("wamid.E1", WA_ID, "Bonjour").await, 200);
    let path = format!("/v1/contacts/{WA_ID}");
    let answer = h
        .as_a("PATCH", &path, Some(json!({"name": "Amina Benali"})))
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["profile"]["name"], "Amina Benali");
    // The same WhatsApp profile arriving again does not undo the correction.
    assert_eq!(h.whatsapp_text("wamid.E2", WA_ID, "Merci").await, 200);
    let read = h.as_a("GET", &path, None).await;
    assert_eq!(read.body["profile"]["name"], "Amina Benali");
    assert_eq!(read.body["profile"]["wa_id"], WA_ID);
    // Nor does a new name in their WhatsApp profile: the correction stands.
    assert_eq!(
        h.whatsapp_text_from("wamid.E3", WA_ID, "Mina", "Salut")
            .await,
        200
    );
    let read = h.as_a("GET", &path, None).await;
    assert_eq!(read.body["profile"]["name"], "Amina Benali");
    let audit = h.audit_of_a().await.remove(0);
    assert_eq!(audit.action, "contact.rectified");
    assert_eq!(audit.detail, json!({"fields": ["name"]}));
}

/// A take-over lasts the tenant's `takeover_expires_hours` (default 24) unless handed back, so
/// no customer is left without answers; the setting takes 1 to 168 hours.
#[tokio::test]
async fn a_take_over_lasts_the_tenants_takeover_expiry() {
    let h = harness().await;
    h.contact_of(&h.a, WA_ID, None).await;
    let now = h.store().now();
    let taken = h
        .as_a("POST", &format!("/v1/contacts/{WA_ID}/takeover"), None)
        .await;
    assert_eq!(taken.status, 200, "{:?}", taken.body);
    assert_eq!(taken.body["taken_over"], true);
    let until = taken.body["taken_over_until"].as_str().unwrap().to_owned();
    let hours = |text: &str| {
        (mizan_shared::domain::time::Timestamp::parse_rfc3339(text)
            .unwrap()
            .since(now)
            .as_secs_f64()
            / 3600.0)
            .round()
    };
    assert_eq!(hours(&until), 24.0, "{until}");

    for bad in [0, 169] {
        let refused = h
            .as_a(
                "PATCH",
                "/v1/settings",
                Some(json!({ "takeover_expires_hours": bad })),
            )
            .await;
        assert_eq!(
            (refused.status, refused.error_field()),
            (400, Some("takeover_expires_hours")),
            "{bad}"
        );
    }
    let set = h
        .as_a(
            "PATCH",
            "/v1/settings",
            Some(json!({ "takeover_expires_hours": 2 })),
        )
        .await;
    assert_eq!(set.status, 200, "{:?}", set.body);
    assert_eq!(set.body["takeover_expires_hours"], 2);
    h.as_a("DELETE", &format!("/v1/contacts/{WA_ID}/takeover"), None)
        .await;
    let again = h
        .as_a("POST", &format!("/v1/contacts/{WA_ID}/takeover"), None)
        .await;
    assert_eq!(hours(again.body["taken_over_until"].as_str().unwrap()), 2.0);
    let handed = h
        .as_a("DELETE", &format!("/v1/contacts/{WA_ID}/takeover"), None)
        .await;
    assert_eq!(handed.body["taken_over"], false);
    assert!(handed.body["taken_over_until"].is_null());
}
