//! A person answers a contact through `POST /v1/contacts/{contact}/messages`: each rule of the
//! outbound gate as the API answers it, templates from the registry with their parameters
//! checked, idempotency keys, the take-over, tenant isolation; then the sender (the shared send
//! workflow, with the local outbox for the Graph API) sends the accepted message once, with the
//! gate asked again, and the status webhook of its wamid reaches it.

mod support;

use mizan_shared::adapters::outbox::Outbox;
use mizan_shared::domain::audit::{Actor, AuditEvent};
use mizan_shared::domain::contact::Contact;
use mizan_shared::domain::ids::MessageId;
use mizan_shared::domain::template::{
    AppliedAt, LanguageCode, ParameterFormat, Template, TemplateCategory, TemplateName,
};
use mizan_shared::domain::tenant::Tenant;
use mizan_shared::workflows::outbound_send::{send_order, SendOutcome};
use serde_json::{json, Value};
use support::{api_request, harness, Answer, Harness, WA_ID};

const TEXT: &str = "Your order left our shop today; it arrives tomorrow.";

fn messages_path(contact: &str) -> String {
    format!("/v1/contacts/{contact}/messages")
}

async fn send(h: &Harness, body: Value, key: Option<&str>) -> Answer {
    send_as(h, &h.a.token, WA_ID, body, key).await
}

async fn send_as(
    h: &Harness,
    token: &str,
    contact: &str,
    body: Value,
    key: Option<&str>,
) -> Answer {
    let mut request = api_request(
        "POST",
        &messages_path(contact),
        &[],
        Some(token),
        Some(body.to_string()),
    );
    if let Some(key) = key {
        request
            .headers_mut()
            .insert("idempotency-key", key.parse().unwrap());
    }
    h.call(request).await
}

/// Tenant A's contact who wrote a moment ago: the window is open.
async fn contact_who_wrote(h: &Harness) -> Contact {
    assert_eq!(
        h.whatsapp_text("wamid.IN1", WA_ID, "Where is my order?")
            .await,
        200
    );
    h.find(&h.a, WA_ID).await.unwrap()
}

async fn conversation(h: &Harness) -> Vec<Value> {
    let answer = h.as_a("GET", &messages_path(WA_ID), None).await;
    assert_eq!(answer.status, 200);
    answer.body["messages"].as_array().unwrap().clone()
}

async fn template(h: &Harness, tenant: &Tenant, category: TemplateCategory, status: &str) {
    let template = Template {
        tenant: tenant.id.clone(),
        name: TemplateName::parse("order_update").unwrap(),
        language: LanguageCode::parse("en_US").unwrap(),
        meta_id: Some("1000000000000001".into()),
        category,
        status: status.into(),
        quality: "GREEN".into(),
        reason: None,
        parameter_format: ParameterFormat::Positional,
        components: Some(vec![
            json!({"type": "BODY", "text": "Hi {{1}}, your order ships on {{2}}."}),
            json!({"type": "FOOTER", "text": "Reply STOP to opt out"}),
        ]),
        updated_at: h.store().now(),
        applied: AppliedAt::default(),
    };
    let audit = AuditEvent::new(
        tenant.id.clone(),
        Actor::Admin,
        "template.synced",
        None,
        h.store().now(),
    );
    h.store().save_template(&template, &audit).await.unwrap();
}

fn order_update(first: &str, second: &str) -> Value {
    json!({"template": {"name": "order_update", "language": "en_US",
                        "parameters": {"body": {"1": first, "2": second}}}})
}

/// Runs the sender for the message the API accepted, through an outbox.
async fn run_sender(
    h: &Harness,
    contact: &Contact,
    accepted: &Answer,
    outbox: &Outbox,
) -> SendOutcome {
    let id = MessageId::new(accepted.body["id"].as_str().unwrap());
    let order = h
        .store()
        .outbound_order(&h.a.tenant.id, &contact.id, &id)
        .await
        .unwrap()
        .expect("the order is stored with the message");
    send_order(h.store(), outbox, &order).await.unwrap()
}

#[tokio::test]
async fn a_text_inside_the_window_is_accepted_sent_once_and_followed_by_its_statuses() {
    let h = harness().await;
    let contact = contact_who_wrote(&h).await;
    let accepted = send(&h, json!({ "text": TEXT }), Some("order-1-shipped")).await;
    assert_eq!(accepted.status, 202, "{:?}", accepted.body);
    assert_eq!(accepted.body["status"], "accepted");
    assert_eq!(accepted.body["sender"], "agent");
    assert_eq!(accepted.body["direction"], "outbound");
    assert_eq!(accepted.body["text"], TEXT);
    assert!(accepted.body["agent"].as_str().unwrap().starts_with("key_"));

    // Stored sealed as an outbound message of the conversation, and audited.
    let messages = conversation(&h).await;
    assert_eq!(messages[0]["id"], accepted.body["id"]);
    assert_eq!(messages[0]["sender"], "agent");
    let audit = h.audit_of_a().await;
    assert!(audit.iter().any(|e| e.action == "message.accepted"
        && e.subject.as_ref() == Some(&contact.id)
        && matches!(e.actor, Actor::ApiKey(_))));
    // Automation was on: the person took the conversation over.
    let now = h.find(&h.a, WA_ID).await.unwrap();
    assert!(now.is_taken_over(h.store().now()));
    assert!(
        audit.iter().any(|e| e.action == "contact.taken_over"),
        "{:?}",
        audit.iter().map(|e| &e.action).collect::<Vec<_>>()
    );

    // The sender sends it once: the exact Graph API body, to the contact, not quoting anything.
    let outbox = Outbox::new("v24.0");
    assert_eq!(
        run_sender(&h, &contact, &accepted, &outbox).await,
        SendOutcome::Sent
    );
    assert_eq!(
        run_sender(&h, &contact, &accepted, &outbox).await,
        SendOutcome::AlreadyHandled
    );
    let sent = outbox.entries();
    assert_eq!(sent.len(), 1, "sent exactly once");
    assert_eq!(
        sent[0].body,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": WA_ID,
               "type": "text", "text": {"preview_url": false, "body": TEXT}})
    );
    // Its status webhook finds it through the wamid WhatsApp gave it.
    let wamid = sent[0].wamid.clone().unwrap();
    assert_eq!(
        h.whatsapp_status(&wamid, WA_ID, "delivered", Value::Null)
            .await,
        200
    );
    let messages = conversation(&h).await;
    let mine = messages
        .iter()
        .find(|m| m["id"] == accepted.body["id"])
        .unwrap();
    assert_eq!(mine["status"], "delivered");
}

#[tokio::test]
async fn statuses_of_a_persons_message_only_move_forward() {
    let h = harness().await;
    let contact = contact_who_wrote(&h).await;
    let accepted = send(&h, json!({ "text": TEXT }), None).await;
    assert_eq!(accepted.status, 202);
    let outbox = Outbox::new("v24.0");
    run_sender(&h, &contact, &accepted, &outbox).await;
    let wamid = outbox.entries()[0].wamid.clone().unwrap();
    assert_eq!(
        h.whatsapp_status(&wamid, WA_ID, "read", Value::Null).await,
        200
    );
    assert_eq!(
        h.whatsapp_status(&wamid, WA_ID, "delivered", Value::Null)
            .await,
        200
    );
    let messages = conversation(&h).await;
    let mine = messages
        .iter()
        .find(|m| m["id"] == accepted.body["id"])
        .unwrap();
    assert_eq!(mine["status"], "read", "statuses only move forward");
}

#[tokio::test]
async fn free_text_outside_the_window_needs_a_template() {
    let h = harness().await;
    h.contact_of(&h.a, WA_ID, None).await; // known, but never wrote
    let refused = send(&h, json!({ "text": TEXT }), None).await;
    assert_eq!(refused.status, 422);
    assert_eq!(refused.error_code(), "window_closed");
    assert!(refused.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("template"));
    assert!(conversation(&h).await.is_empty(), "nothing stored");
    // A utility template goes out of the window.
    template(&h, &h.a.tenant, TemplateCategory::Utility, "APPROVED").await;
    let accepted = send(&h, order_update("Amina", "Monday"), None).await;
    assert_eq!(accepted.status, 202, "{:?}", accepted.body);
    assert_eq!(
        accepted.body["template"],
        json!({"name": "order_update", "language": "en_US"})
    );
    assert_eq!(
        accepted.body["text"],
        "Hi Amina, your order ships on Monday."
    );
}

#[tokio::test]
async fn each_refusal_is_a_409_naming_its_reason_and_stores_nothing() {
    let cases: [(&str, Value, &str); 3] = [
        (
            "blocked",
            json!({"purpose": "all", "action": "block", "source": "phone_call", "evidence": "t-1"}),
            "blocked",
        ),
        (
            "opted_out",
            json!({"purpose": "all", "action": "opt_out", "source": "phone_call", "evidence": "t-2"}),
            "opted_out",
        ),
        ("restricted", Value::Null, "restricted"),
    ];
    for (name, consent, code) in cases {
        let h = harness().await;
        contact_who_wrote(&h).await;
        if consent.is_null() {
            assert_eq!(
                h.as_a("POST", &format!("/v1/contacts/{WA_ID}/restriction"), None)
                    .await
                    .status,
                200
            );
        } else {
            assert_eq!(
                h.as_a(
                    "POST",
                    &format!("/v1/contacts/{WA_ID}/consent"),
                    Some(consent)
                )
                .await
                .status,
                201
            );
        }
        let refused = send(&h, json!({ "text": TEXT }), None).await;
        assert_eq!(refused.status, 409, "{name}: {:?}", refused.body);
        assert_eq!(refused.error_code(), code, "{name}");
        let stored = h
            .store()
            .conversation(
                &h.a.tenant.id,
                &h.find(&h.a, WA_ID).await.unwrap().id,
                &Default::default(),
                50,
                None,
            )
            .await
            .unwrap()
            .items;
        assert_eq!(stored.len(), 1, "{name}: only the customer's message");
    }
    // A minor or a contact being erased: the erasure starts at once, and nothing is sent.
    for route in ["minor", "erasure"] {
        let h = harness().await;
        contact_who_wrote(&h).await;
        assert_eq!(
            h.as_a("POST", &format!("/v1/contacts/{WA_ID}/{route}"), None)
                .await
                .status,
            202
        );
        let refused = send(&h, json!({ "text": TEXT }), None).await;
        assert!(
            refused.status == 409 || refused.status == 404,
            "{route}: {:?}",
            refused.body
        );
    }
}

#[tokio::test]
async fn an_automated_replies_opt_out_does_not_stop_a_person_answering() {
    let h = harness().await;
    contact_who_wrote(&h).await;
    let opt_out = json!({"purpose": "automated_replies", "action": "opt_out", "source": "phone_call", "evidence": "t-3"});
    assert_eq!(
        h.as_a(
            "POST",
            &format!("/v1/contacts/{WA_ID}/consent"),
            Some(opt_out)
        )
        .await
        .status,
        201
    );
    assert_eq!(send(&h, json!({ "text": TEXT }), None).await.status, 202);
}

#[tokio::test]
async fn marketing_templates_need_an_opt_in_and_parameters_must_fit() {
    let h = harness().await;
    let contact = contact_who_wrote(&h).await;
    template(&h, &h.a.tenant, TemplateCategory::Marketing, "APPROVED").await;
    let refused = send(&h, order_update("Amina", "Monday"), None).await;
    assert_eq!(
        (refused.status, refused.error_code()),
        (409, "no_marketing_opt_in")
    );
    let opt_in = json!({"purpose": "marketing", "action": "opt_in", "source": "web_form", "evidence": "form-1"});
    assert_eq!(
        h.as_a(
            "POST",
            &format!("/v1/contacts/{WA_ID}/consent"),
            Some(opt_in)
        )
        .await
        .status,
        201
    );

    let missing = send(
        &h,
        json!({"template": {"name": "order_update", "language": "en_US",
                                                "parameters": {"body": {"1": "Amina"}}}}),
        None,
    )
    .await;
    assert_eq!(
        (missing.status, missing.error_code()),
        (422, "invalid_parameters")
    );
    assert_eq!(missing.error_field(), Some("template.parameters.body.2"));
    let extra = send(&h, json!({"template": {"name": "order_update", "language": "en_US",
                                              "parameters": {"body": {"1": "A", "2": "B", "3": "C"}}}}), None).await;
    assert_eq!(extra.error_field(), Some("template.parameters.body.3"));
    let unknown = send(
        &h,
        json!({"template": {"name": "spring_sale", "language": "en_US"}}),
        None,
    )
    .await;
    assert_eq!(
        (unknown.status, unknown.error_code()),
        (404, "template_not_found")
    );

    let accepted = send(&h, order_update("Amina", "Monday"), None).await;
    assert_eq!(accepted.status, 202, "{:?}", accepted.body);
    let outbox = Outbox::new("v24.0");
    assert_eq!(
        run_sender(&h, &contact, &accepted, &outbox).await,
        SendOutcome::Sent
    );
    assert_eq!(
        outbox.entries()[0].body,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": WA_ID,
               "type": "template",
               "template": {"name": "order_update", "language": {"policy": "deterministic", "code": "en_US"},
                            "components": [{"type": "body", "parameters": [
                                {"type": "text", "text": "Amina"}, {"type": "text", "text": "Monday"}]}]}}),
        "the Graph API's template object exactly"
    );
}

#[tokio::test]
async fn only_an_approved_template_of_the_callers_tenant_is_sent() {
    let h = harness().await;
    contact_who_wrote(&h).await;
    template(&h, &h.a.tenant, TemplateCategory::Utility, "PAUSED").await;
    let paused = send(&h, order_update("Amina", "Monday"), None).await;
    assert_eq!(
        (paused.status, paused.error_code()),
        (422, "template_not_approved")
    );
    // Tenant B has the template approved; A still cannot use it, and B cannot reach A's contact.
    template(&h, &h.b.tenant, TemplateCategory::Utility, "APPROVED").await;
    let still = send(&h, order_update("Amina", "Monday"), None).await;
    assert_eq!(still.error_code(), "template_not_approved");
    let across = send_as(&h, &h.b.token, WA_ID, json!({ "text": TEXT }), None).await;
    assert_eq!(
        (across.status, across.error_code()),
        (404, "contact_not_found")
    );
}

#[tokio::test]
async fn the_same_idempotency_key_replays_the_first_answer_and_another_body_is_refused() {
    let h = harness().await;
    contact_who_wrote(&h).await;
    let first = send(&h, json!({ "text": TEXT }), Some("order-7-shipped")).await;
    assert_eq!(first.status, 202);
    // The same request, its JSON spaced differently.
    let mut again = api_request(
        "POST",
        &messages_path(WA_ID),
        &[],
        Some(&h.a.token),
        Some(format!("{{ \"text\" :  \"{TEXT}\" }}")),
    );
    again
        .headers_mut()
        .insert("idempotency-key", "order-7-shipped".parse().unwrap());
    let replay = h.call(again).await;
    assert_eq!(replay.status, 202);
    assert_eq!(replay.body["id"], first.body["id"], "the first answer");
    let outbound: Vec<Value> = conversation(&h)
        .await
        .into_iter()
        .filter(|m| m["direction"] == "outbound")
        .collect();
    assert_eq!(outbound.len(), 1, "nothing accepted twice");
    let other = send(
        &h,
        json!({ "text": "Something else" }),
        Some("order-7-shipped"),
    )
    .await;
    assert_eq!(
        (other.status, other.error_code()),
        (422, "idempotency_key_reused")
    );
    assert_eq!(other.error_field(), Some("Idempotency-Key"));
    // Another tenant's identical key is its own.
    let b_contact = "15550100077";
    let delivery = support::text_delivery(
        support::OTHER_PHONE,
        "wamid.IN2",
        b_contact,
        "hi",
        h.store().now(),
    );
    assert_eq!(h.post_delivery(delivery).await, 200);
    let b = send_as(
        &h,
        &h.b.token,
        b_contact,
        json!({ "text": TEXT }),
        Some("order-7-shipped"),
    )
    .await;
    assert_eq!(b.status, 202, "{:?}", b.body);
    assert_ne!(b.body["id"], first.body["id"]);
}

#[tokio::test]
async fn a_contact_that_opts_out_after_acceptance_gets_nothing() {
    let h = harness().await;
    let contact = contact_who_wrote(&h).await;
    let accepted = send(&h, json!({ "text": TEXT }), None).await;
    assert_eq!(accepted.status, 202);
    let stop =
        json!({"purpose": "all", "action": "opt_out", "source": "phone_call", "evidence": "t-9"});
    assert_eq!(
        h.as_a("POST", &format!("/v1/contacts/{WA_ID}/consent"), Some(stop))
            .await
            .status,
        201
    );
    let outbox = Outbox::new("v24.0");
    let outcome = run_sender(&h, &contact, &accepted, &outbox).await;
    assert!(matches!(outcome, SendOutcome::Refused(_)), "{outcome:?}");
    assert!(
        outbox.entries().is_empty(),
        "the gate is asked again right before the call"
    );
    let messages = conversation(&h).await;
    let mine = messages
        .iter()
        .find(|m| m["id"] == accepted.body["id"])
        .unwrap();
    assert_eq!(mine["status"], "failed");
    assert_eq!(mine["not_sent"], "opted_out");
}

#[tokio::test]
async fn a_message_accepted_before_the_account_closed_is_not_sent_after() {
    use mizan_shared::domain::audit::Actor;
    use mizan_shared::domain::outbound::Refusal;
    use mizan_shared::workflows::account::{change_account, AccountChange};
    let h = harness().await;
    let contact = contact_who_wrote(&h).await;
    let accepted = send(&h, json!({ "text": TEXT }), None).await;
    assert_eq!(accepted.status, 202);
    change_account(
        h.store(),
        &h.a.tenant.id,
        AccountChange::Close,
        Actor::Admin,
    )
    .await
    .unwrap();
    let outbox = Outbox::new("v24.0");
    let outcome = run_sender(&h, &contact, &accepted, &outbox).await;
    assert_eq!(outcome, SendOutcome::Refused(Refusal::AccountClosed));
    assert!(outbox.entries().is_empty());
}
