//! The webhook routes: an endpoint added with its secret shown once, listed without it, kept to
//! its tenant and to admin keys; its delivery log read and a delivery replayed (and the change
//! of its record queued again by the router); a disabled endpoint enabled again.

mod support;

use mizan_shared::domain::webhook::{DeliveryState, EndpointId};
use mizan_shared::workflows::webhooks::Router;
use mizan_test_support::receiver::RecordingQueue;
use serde_json::json;
use support::{api_request, harness, WA_ID};

#[tokio::test]
async fn an_endpoint_is_added_once_with_its_secret_and_kept_to_its_tenant_and_admins() {
    let h = harness().await;
    let added = h
        .as_a(
            "POST",
            "/v1/webhooks",
            Some(json!({
                "url": "https://helpdesk.example.com/mizan",
                "events": ["handoff.requested", "message.received"],
                "description": "Helpdesk",
            })),
        )
        .await;
    assert_eq!(added.status, 201, "{:?}", added.body);
    let id = added.body["id"].as_str().unwrap().to_owned();
    assert!(EndpointId::parse(&id).is_some());
    let secret = added.body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(added.body["signature"]["header"], "Mizan-Signature");
    assert_eq!(added.body["state"], "enabled");

    let listed = h.as_a("GET", "/v1/webhooks", None).await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["webhooks"].as_array().unwrap().len(), 1);
    assert_eq!(
        listed.body["webhooks"][0]["events"],
        json!(["handoff.requested", "message.received"])
    );
    assert!(
        !listed.body.to_string().contains(&secret),
        "never shown again"
    );

    // Another tenant sees none and reaches none of it.
    let theirs = h.as_b("GET", "/v1/webhooks", None).await;
    assert_eq!(theirs.body["webhooks"], json!([]));
    for (method, path) in [
        ("DELETE", format!("/v1/webhooks/{id}")),
        ("POST", format!("/v1/webhooks/{id}/enable")),
        ("GET", format!("/v1/webhooks/{id}/deliveries")),
    ] {
        let answer = h.as_b(method, &path, None).await;
        assert_eq!(answer.status, 404, "{method} {path}");
        assert_eq!(answer.error_code(), "webhook_not_found");
    }

    // A key without the admin scope may not touch them.
    let issued = h
        .as_a(
            "POST",
            "/v1/api-keys",
            Some(json!({"label": "dashboard", "scopes": ["read", "messages"]})),
        )
        .await;
    let reader = issued.body["api_key"].as_str().unwrap().to_owned();
    let refused = h
        .call(api_request("GET", "/v1/webhooks", &[], Some(&reader), None))
        .await;
    assert_eq!(refused.status, 403);

    // Bad input says which field.
    for (body, field) in [
        (
            json!({"url": "http://helpdesk.example.com/", "events": ["export.ready"]}),
            "url",
        ),
        (
            json!({"url": "https://10.0.0.8/", "events": ["export.ready"]}),
            "url",
        ),
        (
            json!({"url": "https://helpdesk.example.com/", "events": []}),
            "events",
        ),
        (
            json!({"url": "https://helpdesk.example.com/", "events": ["message.sent"]}),
            "events",
        ),
        (
            json!({"url": "https://helpdesk.example.com/", "events": ["export.ready"], "secret": "x"}),
            "secret",
        ),
    ] {
        let answer = h.as_a("POST", "/v1/webhooks", Some(body.clone())).await;
        assert_eq!(answer.status, 400, "{body}: {:?}", answer.body);
        assert_eq!(answer.error_field(), Some(field), "{body}");
    }

    let removed = h.as_a("DELETE", &format!("/v1/webhooks/{id}"), None).await;
    assert_eq!(removed.status, 200);
    let again = h.as_a("DELETE", &format!("/v1/webhooks/{id}"), None).await;
    assert_eq!(again.status, 404);
    let actions: Vec<String> = h
        .audit_of_a()
        .await
        .into_iter()
        .map(|e| e.action)
        .filter(|a| a.starts_with("webhook."))
        .collect();
    assert_eq!(
        actions,
        ["webhook.endpoint_removed", "webhook.endpoint_added"]
    );
}

#[tokio::test]
async fn the_delivery_log_is_read_and_a_delivery_replayed_once_it_is_done() {
    let h = harness().await;
    let added = h
        .as_a(
            "POST",
            "/v1/webhooks",
            Some(json!({"url": "https://helpdesk.example.com/mizan", "events": ["message.received"]})),
        )
        .await;
    let id = added.body["id"].as_str().unwrap().to_owned();
    h.system.skip_changes().await;
    // A customer writes: the router makes its delivery from the stream.
    assert_eq!(h.whatsapp_text("wamid.W1", WA_ID, "Bonjour").await, 200);
    let queue = RecordingQueue::default();
    let mut router = Router::new(h.store(), &queue);
    for record in h.system.stream_event().await.records {
        router.route(&record).await.unwrap();
    }
    let queued = queue.take();
    assert_eq!(queued.len(), 1);

    let log = h
        .as_a("GET", &format!("/v1/webhooks/{id}/deliveries"), None)
        .await;
    assert_eq!(log.status, 200, "{:?}", log.body);
    let delivery = &log.body["deliveries"][0];
    assert_eq!(delivery["state"], "pending");
    assert_eq!(delivery["event"]["type"], "message.received");
    assert!(!log.body.to_string().contains(WA_ID));
    let delivery_id = delivery["id"].as_str().unwrap().to_owned();
    let replay_path = format!("/v1/webhooks/{id}/deliveries/{delivery_id}/replay");
    let pending = h.as_a("POST", &replay_path, None).await;
    assert_eq!(
        (pending.status, pending.error_code()),
        (409, "delivery_pending")
    );

    // Once it has failed for good, a replay queues it again.
    let endpoint = EndpointId::parse(&id).unwrap();
    let mut stored = h
        .store()
        .webhook_delivery(&h.a.tenant.id, &endpoint, &delivery_id)
        .await
        .unwrap()
        .unwrap();
    stored.value.state = DeliveryState::Failed;
    h.store()
        .save_webhook_delivery(&stored, None)
        .await
        .unwrap();
    h.system.skip_changes().await;
    let replayed = h.as_a("POST", &replay_path, None).await;
    assert_eq!(replayed.status, 202, "{:?}", replayed.body);
    assert_eq!(replayed.body["state"], "pending");
    assert_eq!(replayed.body["replays"], 1);
    let mut router = Router::new(h.store(), &queue);
    let mut replays = 0;
    for record in h.system.stream_event().await.records {
        replays += router.route(&record).await.unwrap().replays;
    }
    assert_eq!(replays, 1);
    let queued = queue.take();
    assert_eq!(
        (queued[0].delivery.as_str(), queued[0].replay),
        (delivery_id.as_str(), 1)
    );

    let unknown = h
        .as_a(
            "POST",
            &format!("/v1/webhooks/{id}/deliveries/dlv_0000000000000_00000000000000000000000000000000/replay"),
            None,
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.error_code()),
        (404, "delivery_not_found")
    );
    let enabled = h
        .as_a("POST", &format!("/v1/webhooks/{id}/enable"), None)
        .await;
    assert_eq!(
        (enabled.status, &enabled.body["state"]),
        (200, &json!("enabled"))
    );
}
