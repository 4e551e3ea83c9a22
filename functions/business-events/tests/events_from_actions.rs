//! Each event type is made by the action it tells of, through the functions that do them:
//! webhook-intake (a message, Meta's stop, a template's review), ai-reply (a hand-off),
//! consent-api (a take-over and its end, a consent, an erasure and its rights request, a
//! template, a campaign), the export worker's job and the campaign sender. Every change the
//! system made is routed as the stream delivers it, every delivery sent to an endpoint that
//! wants everything, and the receiver gets each type, signed, with nothing personal in it.

mod support;

use lambda_http::Request;
use mizan_business_events::Wiring;
use mizan_shared::adapters::local_templates::LocalTemplates;
use mizan_shared::adapters::outbox::Outbox;
use mizan_shared::config::{ReplyConfig, WebhookConfig};
use mizan_shared::domain::business_event::EventType;
use mizan_shared::domain::export::{ExportJob, ExportScope, ExportState};
use mizan_shared::domain::ids::{ExportId, WabaId};
use mizan_shared::domain::signature::{sign, AppSecret, AppSecrets};
use mizan_shared::domain::time::{days, Timestamp};
use mizan_shared::ports::messenger::Messenger;
use mizan_shared::workflows::campaign_send::{CampaignSender, Pacer};
use mizan_shared::workflows::export::run_job;
use mizan_shared::workflows::webhooks::{Router, Sender, Turn};
use mizan_test_support::receiver::{RecordingQueue, WebhookReceiver};
use mizan_test_support::system::TestSystem;
use mizan_test_support::{events, seed};
use secrecy::SecretString;
use serde_json::{json, Value};
use std::sync::Arc;
use support::LOOPBACK;

const APP_SECRET: &str = "mizan-events-app-secret";
const PHONE: &str = "100000000000001";
/// The account the sample template webhooks name.
const BUSINESS_ACCOUNT: &str = "100000000000900";
const WA_ID: &str = "212600000001";
const SECOND: &str = "212600000002";

struct World {
    system: TestSystem,
    intake: mizan_webhook_intake::Deps,
    api: mizan_consent_api::Deps,
    reply: mizan_ai_reply::Deps,
    token: String,
}

impl World {
    async fn deliver(&self, body: Vec<u8>) {
        let signature = sign(&body, &AppSecret::new(APP_SECRET));
        let request = lambda_http::http::Request::builder()
            .method("POST")
            .uri("https://mizanapi.execute-api.us-east-1.amazonaws.com/webhooks/whatsapp")
            .header("content-type", "application/json")
            .header("x-hub-signature-256", signature)
            .body(lambda_http::Body::Binary(body))
            .unwrap();
        let answer = mizan_webhook_intake::handle(&self.intake, request)
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
    }

    /// A text of `wa_id`, sent now.
    async fn text(&self, wamid: &str, wa_id: &str, text: &str) {
        let body = json!({
            "object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550100000", "phone_number_id": PHONE},
                "contacts": [{"profile": {"name": "Amina"}, "wa_id": wa_id}],
                "messages": [{"from": wa_id, "id": wamid,
                              "timestamp": self.system.store().now().as_unix_seconds().to_string(),
                              "type": "text", "text": {"body": text}}]
            }}]}]
        });
        self.deliver(serde_json::to_vec(&body).unwrap()).await;
    }

    async fn sample_webhook(&self, name: &str) {
        let sample: Value = serde_json::from_str(&events::text("webhook-intake", name)).unwrap();
        self.deliver(sample["body"].as_str().unwrap().as_bytes().to_vec())
            .await;
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let request: Request = lambda_http::request::from_str(
            &json!({
                "version": "2.0",
                "routeKey": format!("{method} {path}"),
                "rawPath": path,
                "rawQueryString": "",
                "headers": {
                    "content-type": "application/json",
                    "authorization": format!("Bearer {}", self.token),
                },
                "requestContext": {
                    "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                             "sourceIp": "203.0.113.10", "userAgent": "tests"},
                    "accountId": "123456789012", "apiId": "mizanapi", "requestId": "r",
                    "routeKey": format!("{method} {path}"), "stage": "$default",
                    "time": "01/Jan/2026:00:00:00 +0000", "timeEpoch": 1767225600000u64,
                    "domainName": "mizanapi.execute-api.us-east-1.amazonaws.com",
                    "domainPrefix": "mizanapi"
                },
                "isBase64Encoded": false,
                "body": body.map(|b| b.to_string()),
            })
            .to_string(),
        )
        .unwrap();
        let answer = mizan_consent_api::handle(&self.api, request).await.unwrap();
        let status = answer.status().as_u16();
        let bytes: &[u8] = answer.body().as_ref();
        (status, serde_json::from_slice(bytes).unwrap_or(Value::Null))
    }

    /// What changed since the last look, as the stream delivers it: ai-reply answers it, the
    /// change router makes its deliveries, and the sender sends them.
    async fn stream(&self, queue: &RecordingQueue) {
        let changes = self.system.stream_event().await;
        mizan_ai_reply::handle_batch(&self.reply, changes.clone()).await;
        let store = self.system.store();
        let mut router = Router::new(store, queue);
        for record in &changes.records {
            router.route(record).await.unwrap();
        }
        let poster = mizan_shared::adapters::webhook_http::HttpWebhookPoster::new(LOOPBACK);
        let sender = Sender {
            store,
            poster: &poster,
        };
        for queued in queue.take() {
            assert_eq!(sender.turn(&queued).await, Turn::Finished);
        }
    }
}

#[tokio::test]
async fn every_event_type_is_made_by_its_action_and_reaches_the_endpoint_signed() {
    let system = TestSystem::start_in_real_time().await;
    let store = system.store().clone();
    let tenant = seed::tenant(&store, "Atlas Tea", None, Some(PHONE)).await;
    store
        .attach_business_account(&tenant.id, &WabaId::new(BUSINESS_ACCOUNT))
        .await
        .unwrap();
    let token = seed::api_key(&store, &tenant.id).await;
    let webhook = WebhookConfig {
        app_secrets: AppSecrets::from(AppSecret::new(APP_SECRET)),
        verify_token: SecretString::from("verify"),
        max_body_bytes: 1024 * 1024,
    };
    let outbox: Arc<dyn Messenger> = Arc::new(Outbox::new("v23.0"));
    let world = World {
        intake: mizan_webhook_intake::Deps::new(&system.services, &system.config, &webhook)
            .unwrap(),
        api: mizan_consent_api::Deps::with_catalog(
            &system.services,
            Arc::new(LocalTemplates::default()),
        )
        .with_webhook_urls(LOOPBACK),
        reply: mizan_ai_reply::Deps::sending_through(
            &system.services,
            &ReplyConfig::from_lookup(|_| None).unwrap(),
            outbox.clone(),
        )
        .unwrap(),
        token,
        system,
    };
    let receiver = WebhookReceiver::start().await;
    let all: Vec<&str> = EventType::ALL
        .iter()
        .filter(|t| **t != EventType::EndpointDisabled)
        .map(|t| t.as_str())
        .collect();
    let (status, added) = world
        .call(
            "POST",
            "/v1/webhooks",
            Some(json!({"url": receiver.url, "events": all})),
        )
        .await;
    assert_eq!(status, 201, "{added}");
    let secret = SecretString::from(added["secret"].as_str().unwrap().to_owned());
    let queue = RecordingQueue::default();
    world.stream(&queue).await;

    // message.received; handoff.requested (ai-reply hands the conversation to a person).
    world
        .text("wamid.E1", WA_ID, "I want to talk to a human")
        .await;
    world.stream(&queue).await;
    // conversation.handed_back and conversation.taken_over, by the business.
    let contact = format!("/v1/contacts/{WA_ID}");
    assert_eq!(
        world
            .call("DELETE", &format!("{contact}/takeover"), None)
            .await
            .0,
        200
    );
    assert_eq!(
        world
            .call("POST", &format!("{contact}/takeover"), None)
            .await
            .0,
        200
    );
    // consent.changed: the business records an opt-in, Meta reports a stop.
    let (status, body) = world
        .call(
            "POST",
            &format!("{contact}/consent"),
            Some(json!({"purpose": "marketing", "action": "opt_in", "source": "web_form", "evidence": "form-1"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    world.sample_webhook("post-user_preferences-stop").await;
    world.stream(&queue).await;
    // template.status_changed: Meta's review of a template the business submitted.
    let (status, body) = world
        .call(
            "POST",
            "/v1/templates",
            Some(
                json!({"name": "order_update", "language": "en_US", "category": "utility",
                        "components": [{"type": "BODY", "text": "Your order ships today."}]}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    world
        .sample_webhook("post-template_updates-status_rejected")
        .await;
    // campaign.completed: a campaign of one recipient, sent by the campaign sender.
    let (status, body) = world
        .call(
            "POST",
            "/v1/campaigns",
            Some(
                json!({"name": "Orders", "template": {"name": "order_update", "language": "en_US"},
                        "audience": {"contacts": [{"contact": WA_ID}]}}),
            ),
        )
        .await;
    assert!(status == 201 || status == 202, "{status} {body}");
    let pacer = Pacer::default();
    for _ in 0..5 {
        CampaignSender {
            store: &store,
            messenger: outbox.as_ref(),
            pacer: &pacer,
            batch: 100,
            started_at: Timestamp::EPOCH,
        }
        .turn()
        .await
        .unwrap();
    }
    world.stream(&queue).await;
    // export.ready: the worker builds a contact's export.
    world.text("wamid.E2", SECOND, "Bonjour").await;
    let second = store
        .find_contact(
            &tenant.id,
            mizan_shared::domain::identity_hash::IdentifierKind::WaId,
            SECOND,
        )
        .await
        .unwrap()
        .unwrap()
        .value
        .id;
    let now = store.now();
    let job = ExportJob {
        id: ExportId::generate(),
        tenant: tenant.id.clone(),
        scope: ExportScope::Contact {
            contact: second.clone(),
        },
        state: ExportState::Pending,
        requested_at: now,
        expires_at: now.plus(days(7)),
        requested_by: "admin".into(),
        downloads: 0,
        last_audited_download_at: None,
        chat_request: None,
        download_limit: None,
    };
    store.create_export(&job).await.unwrap();
    run_job(
        &store,
        world.system.services.archives.as_ref(),
        &tenant.id,
        &job.id,
    )
    .await
    .unwrap();
    // rights_request.received and .completed, contact.erased: the business erases a contact.
    let (status, body) = world
        .call("POST", &format!("{contact}/erasure"), None)
        .await;
    assert_eq!(status, 202, "{body}");
    world.stream(&queue).await;

    let received = receiver.accepted();
    let mut types: Vec<String> = received
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_owned())
        .collect();
    types.sort();
    types.dedup();
    let mut expected: Vec<String> = all.iter().map(|t| t.to_string()).collect();
    expected.sort();
    assert_eq!(types, expected);
    for delivery in &received {
        assert!(delivery.verified(&secret));
        let text = String::from_utf8_lossy(&delivery.body);
        for personal in [WA_ID, SECOND, "33639980001", "Amina", "human", "Bonjour"] {
            assert!(!text.contains(personal), "{personal} in {text}");
        }
    }
}
