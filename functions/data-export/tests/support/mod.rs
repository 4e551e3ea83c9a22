//! What the data-export tests share: an embedded system with a clock the test controls and two
//! tenants, API Gateway events from `events/data-export/` with their placeholders filled in, and
//! the worker fed from the embedded change feed exactly as the runner (and Lambda) feed it.
#![allow(dead_code)]

use lambda_http::Request;
use mizan_data_export::{handle, worker, Deps, Wiring};
use mizan_shared::config::ExportConfig;
use mizan_shared::domain::ids::ContactId;
use mizan_shared::domain::tenant::Tenant;
use mizan_shared::store::Store;
use mizan_test_support::seed;
use mizan_test_support::system::TestSystem;
use std::path::PathBuf;

/// Tenant A's id: the worker's sample stream event names it.
pub const TENANT: &str = "ten_0123456789abcdef0123456789abcdef";
pub const HASH_KEY: [u8; 32] = mizan_test_support::system::SYSTEM_HASH_KEY;
pub const TOKEN_KEY: [u8; 32] = [7; 32];
/// The contact the sample events name.
pub const WA_ID: &str = "15550100001";
pub const PLACEHOLDER_KEY: &str = "mzn_key_000000000000_replace-with-an-api-key-of-your-tenant";
pub const PLACEHOLDER_EXPORT: &str = "exp_00000000000000000000000000000000";
pub const PLACEHOLDER_TOKEN: &str = "TOKEN";

pub struct Party {
    pub tenant: Tenant,
    pub token: String,
}

pub struct Harness {
    pub system: TestSystem,
    pub deps: Deps,
    pub a: Party,
    pub b: Party,
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
    let tenant = seed::tenant(store, name, id, None).await;
    let token = seed::api_key(store, &tenant.id).await;
    Party { tenant, token }
}

pub fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events/data-export")
}

pub async fn harness() -> Harness {
    harness_with_limit(None).await
}

pub async fn harness_with_limit(download_limit: Option<u32>) -> Harness {
    let system = TestSystem::start().await;
    let a = party(system.store(), "Atlas Tea", Some(TENANT)).await;
    let b = party(system.store(), "Baraka Bakery", None).await;
    let deps = Deps::new(
        &system.services,
        &system.config,
        &ExportConfig {
            token_secret: Some(TOKEN_KEY),
            link_days: 7,
            download_limit,
            public_base_url: None,
        },
    )
    .unwrap();
    // The worker sees only what happens from here on.
    system.skip_changes().await;
    Harness { system, deps, a, b }
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
        self.system.stream_event().await
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
    seed::contact_with_messages(store, &tenant.id, wa_id, count).await
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
