//! P10: the API's logs carry no phone number, user id, name or other personal data, whatever
//! the request and however it ends (including paths that hold a phone number).

mod support;

use mizan_test_support::logs::captured_logs;
use serde_json::json;
use support::{api_request, harness};

#[tokio::test]
async fn logs_carry_no_phone_number_user_id_or_name_on_any_route() {
    let logs = captured_logs();
    let h = harness().await;
    let wa_id = "15550177788";
    let user_id = "MA.47000000000000000047";
    h.contact_of(&h.a, wa_id, Some(user_id)).await;
    // What the conversation route answers with: the customer's words.
    h.whatsapp_text("wamid.LOGS1", wa_id, "deliver to 12 rue des Oudayas")
        .await;
    let c = format!("/v1/contacts/{wa_id}");
    let u = format!("/v1/contacts/{user_id}");
    let sends: Vec<(&str, String, Option<serde_json::Value>)> = vec![
        // A person answers, in text and with a template whose values are personal data.
        (
            "POST",
            "/v1/templates".into(),
            Some(
                json!({"name": "greeting", "language": "en", "category": "utility",
                        "components": [{"type": "BODY", "text": "Hello {{1}}"}]}),
            ),
        ),
        (
            "POST",
            format!("{c}/messages"),
            Some(json!({"text": "Yasmine, your parcel to 12 rue des Oudayas left"})),
        ),
        (
            "POST",
            format!("{c}/messages"),
            Some(json!({"template": {"name": "greeting", "language": "en",
                                     "parameters": {"body": {"1": "Yasmine Idrissi"}}}})),
        ),
        (
            "POST",
            format!("{c}/messages"),
            Some(json!({"template": {"name": "greeting", "language": "en",
                                     "parameters": {"body": {"1": "Yasmine\nIdrissi"}}}})),
        ),
    ];
    for (method, path, body) in sends {
        h.call(api_request(
            method,
            &path,
            &[],
            Some(&h.a.token),
            body.map(|b| b.to_string()),
        ))
        .await;
    }
    // The sender sends what was accepted.
    let outbox = mizan_shared::adapters::outbox::Outbox::new("v24.0");
    let contact = h.find(&h.a, wa_id).await;
    if let Some(contact) = contact {
        let page = h
            .store()
            .conversation(&h.a.tenant.id, &contact.id, &Default::default(), 50, None)
            .await
            .unwrap();
        for message in page.items.iter().filter(|m| m.agent.is_some()) {
            if let Some(order) = h
                .store()
                .outbound_order(&h.a.tenant.id, &contact.id, &message.id)
                .await
                .unwrap()
            {
                mizan_shared::workflows::outbound_send::send_order(h.store(), &outbox, &order)
                    .await
                    .unwrap();
            }
        }
    }

    let calls: Vec<(&str, String, Option<serde_json::Value>)> = vec![
        ("GET", c.clone(), None),
        ("GET", u.clone(), None),
        ("PATCH", c.clone(), Some(json!({"name": "Yasmine Idrissi"}))),
        (
            "PATCH",
            c.clone(),
            Some(json!({"name": 12, "nickname": "Yasmine Idrissi"})),
        ),
        (
            "POST",
            format!("{c}/consent"),
            Some(
                json!({"purpose": "all", "action": "opt_out", "source": "phone_call", "evidence": "t-1"}),
            ),
        ),
        (
            "POST",
            format!("{c}/consent"),
            Some(
                json!({"purpose": "all", "action": "opt_out", "source": "api", "evidence": "yasmine@example.com"}),
            ),
        ),
        ("GET", format!("{u}/consent"), None),
        ("GET", format!("{c}/messages"), None),
        ("GET", format!("{u}/messages"), None),
        ("POST", format!("{c}/restriction"), None),
        ("POST", format!("{c}/takeover"), None),
        ("GET", "/v1/contacts/15550177799".into(), None),
        ("GET", format!("/v1/contacts/{wa_id}%23x"), None),
        ("POST", format!("{c}/erasure"), None),
        ("GET", c.clone(), None),
    ];
    for (method, path, body) in calls {
        h.call(api_request(
            method,
            &path,
            &[],
            Some(&h.a.token),
            body.map(|b| b.to_string()),
        ))
        .await;
    }
    h.call(api_request("GET", &c, &[], Some("mzn_key_x_yasmine"), None))
        .await;
    h.call(api_request(
        "GET",
        &format!("{c}/messages"),
        &[("cursor", "Oudayas.0000"), ("limit", "Oudayas")],
        Some(&h.a.token),
        None,
    ))
    .await;

    let written = logs.text();
    assert!(
        written.contains("request answered"),
        "requests were logged: {written}"
    );
    assert!(written.contains("erasure completed"));
    assert!(written.contains("a person's message was sent"), "{written}");
    logs.assert_free_of(&[
        "15550177788",
        "15550177799",
        "47000000000000000047",
        "Yasmine",
        "Idrissi",
        "yasmine",
        "Oudayas",
    ]);
}
