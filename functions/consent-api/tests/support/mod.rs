//! What the consent-api tests share: an embedded system with two tenants, requests shaped
//! exactly as API Gateway (HTTP API, payload 2.0) delivers them, and webhook deliveries signed as
//! Meta signs them, handled by the real webhook-intake function.
#![allow(dead_code)]

use lambda_http::Request;
use mizan_consent_api::{handle, Deps, Wiring};
use mizan_shared::config::WebhookConfig;
use mizan_shared::domain::audit::AuditEvent;
use mizan_shared::domain::contact::{Contact, ContactProfile};
use mizan_shared::domain::identity_hash::IdentifierKind;
use mizan_shared::domain::ids::WabaId;
use mizan_shared::domain::signature::{sign, AppSecret, AppSecrets};
use mizan_shared::domain::tenant::Tenant;
use mizan_shared::domain::time::Timestamp;
use mizan_shared::store::Store;
use mizan_test_support::seed;
use mizan_test_support::system::TestSystem;
use secrecy::SecretString;
use serde_json::{json, Value};
use std::path::PathBuf;

pub const APP_SECRET: &str = "mizan-events-app-secret";
pub const PHONE: &str = "100000000000001";
pub const OTHER_PHONE: &str = "100000000000002";
/// Their WhatsApp Business Accounts (the owners of their templates).
pub const BUSINESS_ACCOUNT: &str = "100000000000901";
pub const OTHER_BUSINESS_ACCOUNT: &str = "100000000000902";
/// The contact the sample events name.
pub const WA_ID: &str = "15550100001";
pub const USER_ID: &str = "US.10000000000000000001";
/// The placeholder key in `events/consent-api/`, swapped for an issued one.
pub const PLACEHOLDER_KEY: &str = "mzn_key_000000000000_replace-with-an-api-key-of-your-tenant";

pub struct Party {
    pub tenant: Tenant,
    pub token: String,
}

pub struct Harness {
    pub system: TestSystem,
    pub deps: Deps,
    pub intake: mizan_webhook_intake::Deps,
    pub a: Party,
    pub b: Party,
}

async fn party(store: &Store, name: &str, phone: &str, account: &str) -> Party {
    let tenant = seed::tenant(store, name, None, Some(phone)).await;
    let tenant = store
        .attach_business_account(&tenant.id, &WabaId::new(account))
        .await
        .unwrap();
    let token = seed::api_key(store, &tenant.id).await;
    Party { tenant, token }
}

pub async fn harness() -> Harness {
    let system = TestSystem::start_in_real_time().await;
    let a = party(system.store(), "Atlas Tea", PHONE, BUSINESS_ACCOUNT).await;
    let b = party(
        system.store(),
        "Baraka Bakery",
        OTHER_PHONE,
        OTHER_BUSINESS_ACCOUNT,
    )
    .await;
    let webhook = WebhookConfig {
        app_secrets: AppSecrets::from(AppSecret::new(APP_SECRET)),
        verify_token: SecretString::from("mizan-events-verify-token"),
        max_body_bytes: 1024 * 1024,
    };
    Harness {
        deps: Deps::with_catalog(
            &system.services,
            std::sync::Arc::new(mizan_shared::adapters::local_templates::LocalTemplates::default()),
        ),
        intake: mizan_webhook_intake::Deps::new(&system.services, &system.config, &webhook)
            .unwrap(),
        a,
        b,
        system,
    }
}

/// A JSON answer: status and body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// The JSON body (`null` for an empty one or a text document).
    pub body: Value,
    raw: String,
    headers: Vec<(String, String)>,
}

impl Answer {
    /// An answer made of a JSON body (for handlers called another way).
    pub fn json(status: u16, body: Value) -> Answer {
        Answer {
            status,
            raw: body.to_string(),
            body,
            headers: Vec::new(),
        }
    }

    /// The body as text (a CSV or HTML document).
    pub fn text(&self) -> String {
        self.raw.clone()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn error_field(&self) -> Option<&str> {
        self.body["error"]["field"].as_str()
    }

    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }
}

impl Harness {
    pub fn store(&self) -> &Store {
        &self.deps.store
    }

    pub async fn call(&self, request: Request) -> Answer {
        let response = handle(&self.deps, request).await.unwrap();
        let status = response.status().as_u16();
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        // Every answer is JSON but a document asked for (CSV, HTML, Markdown); errors always.
        let document = status < 300 && content_type.starts_with("text/");
        if status != 204 && !document {
            assert_eq!(content_type, "application/json", "every answer is JSON");
        }
        let bytes: &[u8] = response.body().as_ref();
        let raw = String::from_utf8_lossy(bytes).into_owned();
        let body = if bytes.is_empty() || document {
            Value::Null
        } else {
            serde_json::from_slice(bytes).expect("the body is JSON")
        };
        Answer {
            status,
            body,
            raw,
            headers,
        }
    }

    /// A request from tenant A's key.
    pub async fn as_a(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        self.call(api_request(
            method,
            path,
            &[],
            Some(&self.a.token),
            body.map(|b| b.to_string()),
        ))
        .await
    }

    /// A request from tenant B's key.
    pub async fn as_b(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        self.call(api_request(
            method,
            path,
            &[],
            Some(&self.b.token),
            body.map(|b| b.to_string()),
        ))
        .await
    }

    /// A contact of `party`'s tenant, as intake creates it.
    pub async fn contact_of(&self, party: &Party, wa_id: &str, user_id: Option<&str>) -> Contact {
        let profile = ContactProfile {
            wa_id: Some(wa_id.into()),
            user_id: user_id.map(Into::into),
            name: Some("Amina".into()),
            ..ContactProfile::default()
        };
        self.store()
            .upsert_contact(&party.tenant.id, &profile)
            .await
            .unwrap()
            .contact
            .value
    }

    pub async fn find(&self, party: &Party, wa_id: &str) -> Option<Contact> {
        self.store()
            .find_contact(&party.tenant.id, IdentifierKind::WaId, wa_id)
            .await
            .unwrap()
            .map(|c| c.value)
    }

    /// A signed WhatsApp text from `wa_id` to tenant A's number, through webhook-intake.
    pub async fn whatsapp_text(&self, wamid: &str, wa_id: &str, text: &str) -> u16 {
        self.whatsapp_text_at(wamid, wa_id, text, self.store().now())
            .await
    }

    /// The same from a WhatsApp profile named `name`.
    pub async fn whatsapp_text_from(
        &self,
        wamid: &str,
        wa_id: &str,
        name: &str,
        text: &str,
    ) -> u16 {
        let body = text_delivery(PHONE, wamid, wa_id, text, self.store().now()).replace_name(name);
        self.post_delivery(body).await
    }

    /// The same, sent at `sent_at` (WhatsApp times have whole seconds).
    pub async fn whatsapp_text_at(
        &self,
        wamid: &str,
        wa_id: &str,
        text: &str,
        sent_at: Timestamp,
    ) -> u16 {
        let body = text_delivery(PHONE, wamid, wa_id, text, sent_at);
        self.post_delivery(body).await
    }

    /// A signed status webhook of a message tenant A sent to `wa_id`.
    pub async fn whatsapp_status(
        &self,
        wamid: &str,
        wa_id: &str,
        status: &str,
        errors: Value,
    ) -> u16 {
        let mut report = json!({
            "id": wamid, "status": status, "recipient_id": wa_id,
            "timestamp": self.store().now().as_unix_seconds().to_string(),
        });
        if errors.is_array() {
            report["errors"] = errors;
        }
        let body = serde_json::to_vec(&json!({
            "object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550100000", "phone_number_id": PHONE},
                "statuses": [report]
            }}]}]
        }))
        .unwrap();
        self.post_delivery(body).await
    }

    pub async fn post_delivery(&self, body: Vec<u8>) -> u16 {
        let signature = sign(&body, &AppSecret::new(APP_SECRET));
        let request = lambda_http::http::Request::builder()
            .method("POST")
            .uri("https://mizanapi.execute-api.us-east-1.amazonaws.com/webhooks/whatsapp")
            .header("content-type", "application/json")
            .header("x-hub-signature-256", signature)
            .body(lambda_http::Body::Binary(body))
            .unwrap();
        mizan_webhook_intake::handle(&self.intake, request)
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Tenant A's audit events, newest first.
    pub async fn audit_of_a(&self) -> Vec<AuditEvent> {
        self.store()
            .audit_events(&self.a.tenant.id, 100, None)
            .await
            .unwrap()
            .items
    }
}

/// Sets the WhatsApp profile name of a delivery built by `text_delivery`.
trait ProfileName {
    fn replace_name(self, name: &str) -> Vec<u8>;
}

impl ProfileName for Vec<u8> {
    fn replace_name(self, name: &str) -> Vec<u8> {
        let mut value: Value = serde_json::from_slice(&self).unwrap();
        value["entry"][0]["changes"][0]["value"]["contacts"][0]["profile"]["name"] = json!(name);
        serde_json::to_vec(&value).unwrap()
    }
}

pub fn text_delivery(
    phone: &str,
    wamid: &str,
    wa_id: &str,
    text: &str,
    sent_at: Timestamp,
) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100000", "phone_number_id": phone},
            "contacts": [{"profile": {"name": "Amina"}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": wamid, "timestamp": sent_at.as_unix_seconds().to_string(),
                          "type": "text", "text": {"body": text}}]
        }}]}]
    }))
    .unwrap()
}

/// A request as API Gateway (HTTP API, payload 2.0) hands it to Lambda.
/// A query string value as a client sends it: spaces, '+' and non-ASCII percent-encoded.
fn url_encoded(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b',' | b':' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

pub fn api_request(
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    token: Option<&str>,
    body: Option<String>,
) -> Request {
    let mut headers = json!({ "content-type": "application/json" });
    if let Some(token) = token {
        headers["authorization"] = json!(format!("Bearer {token}"));
    }
    let raw_query = query
        .iter()
        .map(|(k, v)| format!("{k}={}", url_encoded(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "mizanapi",
            "domainName": "mizanapi.execute-api.us-east-1.amazonaws.com",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.10", "userAgent": "tests"},
            "requestId": "test",
            "routeKey": "$default",
            "stage": "$default",
            "time": "01/Jan/2026:00:00:00 +0000",
            "timeEpoch": 1767225600000u64
        },
        "isBase64Encoded": false
    });
    if let Some(body) = body {
        event["body"] = json!(body);
    }
    lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway event")
}

pub fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events/consent-api")
}

/// A sample event, with the placeholder key swapped for `token` (when it carries one).
pub fn event(name: &str, token: &str) -> Request {
    let text = std::fs::read_to_string(events_dir().join(format!("{name}.json")))
        .unwrap_or_else(|e| panic!("events/consent-api/{name}.json: {e}"));
    lambda_http::request::from_str(&text.replace(PLACEHOLDER_KEY, token)).unwrap()
}

/// The names of the sample events in `events/consent-api/`, sorted.
pub fn sample_names() -> Vec<String> {
    mizan_test_support::events::names("consent-api")
}
