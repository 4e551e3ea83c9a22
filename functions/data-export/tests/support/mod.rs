//! What the data-export tests share: an embedded system with a clock the test controls and two
//! tenants, API Gateway events from `events/data-export/` with their placeholders filled in, and
//! the worker fed from the embedded change feed exactly as the runner (and Lambda) feed it.
#![allow(dead_code)]

use lambda_http::Request;
use mizan_data_export::{handle, worker, Deps, Wiring};
use mizan_shared::adapters::embedded::stream_event::to_stream_event;
use mizan_shared::adapters::embedded::EmbeddedStore;
use mizan_shared::backend;
use mizan_shared::config::{Config, ExportConfig};
use mizan_shared::domain::audit::Actor;
use mizan_shared::domain::contact::ContactProfile;
use mizan_shared::domain::ids::{ContactId, TenantId, Wamid};
use mizan_shared::domain::message::{Message, MessageContent, MessageKind};
use mizan_shared::domain::personal::Personal;
use mizan_shared::domain::tenant::Tenant;
use mizan_shared::domain::time::Timestamp;
use mizan_shared::ports::clock::ManualClock;
use mizan_shared::store::Store;
use secrecy::ExposeSecret;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Tenant A's id: the worker's sample stream event names it.
pub const TENANT: &str = "ten_0123456789abcdef0123456789abcdef";
pub const HASH_KEY: [u8; 32] = [9; 32];
pub const TOKEN_KEY: [u8; 32] = [7; 32];
/// The contact the sample events name.
pub const WA_ID: &str = "15550100001";
/// 2026-01-01T00:00:00Z
pub const START: i64 = 1_767_225_600_000;
pub const PLACEHOLDER_KEY: &str = "mzn_key_000000000000_replace-with-an-api-key-of-your-tenant";
pub const PLACEHOLDER_EXPORT: &str = "exp_00000000000000000000000000000000";
pub const PLACEHOLDER_TOKEN: &str = "TOKEN";

pub struct Party {
    pub tenant: Tenant,
    pub token: String,
}

pub struct Harness {
    pub deps: Deps,
    pub embedded: EmbeddedStore,
    pub clock: Arc<ManualClock>,
    pub a: Party,
    pub b: Party,
    position: Mutex<i64>,
    _dir: tempfile::TempDir,
}

/// A response: status, headers and raw body.
pub struct Answer {
    pub status: u16,
    pub headers: lambda_http::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

pub async fn party(store: &Store, name: &str, id: Option<&str>) -> Party {
    let mut tenant = Tenant::new(name, store.now());
    if let Some(id) = id {
        tenant.id = TenantId::new(id);
    }
    store.create_tenant(&tenant).await.unwrap();
    let (_, token) = store
        .issue_api_key(&tenant.id, "tests", Actor::Admin)
        .await
        .unwrap();
    Party {
        tenant,
        token: token.expose_secret().to_owned(),
    }
}

pub fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events/data-export")
}

pub async fn harness() -> Harness {
    harness_with_limit(None).await
}

pub async fn harness_with_limit(download_limit: Option<u32>) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::embedded(dir.path().to_owned(), HASH_KEY);
    let clock = Arc::new(ManualClock::at(Timestamp::from_millis(START)));
    let services = backend::connect_with_clock(&config, clock.clone())
        .await
        .unwrap();
    let store = services.store.clone();
    let a = party(&store, "Atlas Tea", Some(TENANT)).await;
    let b = party(&store, "Baraka Bakery", None).await;
    let embedded = services.embedded.clone().unwrap();
    let h = Harness {
        deps: Deps::new(
            &services,
            &config,
            &ExportConfig {
                token_secret: Some(TOKEN_KEY),
                link_days: 7,
                download_limit,
                public_base_url: None,
            },
        )
        .unwrap(),
        embedded,
        clock,
        a,
        b,
        position: Mutex::new(0),
        _dir: dir,
    };
    // The worker sees only what happens from here on.
    h.stream_event().await;
    h
}

impl Harness {
    pub fn store(&self) -> &Store {
        &self.deps.store
    }

    pub async fn call(&self, request: Request) -> Answer {
        let response = handle(&self.deps, request).await.unwrap();
        let (parts, body) = response.into_parts();
        Answer {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: body.to_vec(),
        }
    }

    /// `events/data-export/{name}.json` with tenant A's key (or `key`), `export` and `token` in
    /// place of the placeholders.
    pub fn event(&self, name: &str, key: Option<&str>, export: &str, token: &str) -> Request {
        api_event(name, key.unwrap_or(&self.a.token), export, token)
    }

    /// The change feed since the last call, as the stream delivers it.
    pub async fn stream_event(&self) -> aws_lambda_events::event::dynamodb::Event {
        let from = *self.position.lock().unwrap();
        let changes = self.embedded.changes_after(from, 10_000).await.unwrap();
        if let Some(last) = changes.last() {
            *self.position.lock().unwrap() = last.seq;
        }
        to_stream_event(&changes).unwrap()
    }

    /// Delivers what changed to the worker, as the stream would.
    pub async fn run_worker(&self) -> worker::BatchReport {
        worker::handle_batch(&self.deps, self.stream_event().await).await
    }

    /// A contact of `party`'s tenant with `count` text messages, as intake stores them.
    pub async fn contact_with_messages(
        &self,
        party: &Party,
        wa_id: &str,
        count: usize,
    ) -> ContactId {
        contact_with_messages(self.store(), &party.tenant, wa_id, count).await
    }
}

/// `events/data-export/{name}.json` with `key`, `export` and `token` in place of the placeholders.
pub fn api_event(name: &str, key: &str, export: &str, token: &str) -> Request {
    let path = events_dir().join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let text = text
        .replace(PLACEHOLDER_KEY, key)
        .replace(PLACEHOLDER_EXPORT, export)
        .replace(&format!("={PLACEHOLDER_TOKEN}"), &format!("={token}"))
        .replace(&format!("\"{PLACEHOLDER_TOKEN}\""), &format!("\"{token}\""));
    lambda_http::request::from_str(&text).expect("a valid API Gateway event")
}

/// A contact of `tenant` with `count` text messages, as intake stores them.
pub async fn contact_with_messages(
    store: &Store,
    tenant: &Tenant,
    wa_id: &str,
    count: usize,
) -> ContactId {
    let profile = ContactProfile {
        wa_id: Some(wa_id.to_owned().into()),
        name: Some("Amina".to_owned().into()),
        ..ContactProfile::default()
    };
    let contact = store
        .upsert_contact(&tenant.id, &profile)
        .await
        .unwrap()
        .contact
        .value
        .id;
    for i in 0..count {
        let now = store.now();
        let wamid = Wamid::new(format!("wamid.{wa_id}.{i}"));
        let message = Message::inbound(
            tenant.id.clone(),
            contact.clone(),
            store.message_id(&tenant.id, &wamid),
            wamid,
            MessageKind::Text,
            MessageContent(Personal::new(
                serde_json::json!({ "text": { "body": format!("message {i} from {wa_id}") } }),
            )),
            now,
        );
        store.put_message(&message).await.unwrap();
    }
    contact
}

/// The files of a zip archive, by name.
pub fn unzip(bytes: &[u8]) -> std::collections::BTreeMap<String, String> {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip archive");
    let mut files = std::collections::BTreeMap::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let mut text = String::new();
        file.read_to_string(&mut text).unwrap();
        files.insert(file.name().unwrap().into_owned(), text);
    }
    files
}

/// `token` with one character of its signature changed. A middle character: the last one of an
/// unpadded base64 tag carries spare bits, so changing it may not change the tag.
pub fn tamper(token: &str) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    let at = chars.len() - 5;
    chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}
