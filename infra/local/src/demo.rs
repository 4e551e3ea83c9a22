//! The demo tenant the runner seeds on first start, and `demo.json`, the file (mode 0600) that
//! holds its credentials across restarts.

use crate::error::CliError;
use mizan_shared::domain::audit::Actor;
use mizan_shared::domain::ids::{PhoneNumberId, TenantId};
use mizan_shared::domain::tenant::{FaqEntry, Tenant};
use mizan_shared::store::Store;
use rand::RngCore;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const DEMO_FILE: &str = "demo.json";
pub const DEMO_TENANT_NAME: &str = "Mizan Demo";
/// Meta's test phone number ids look like this; it is an id, not a phone number.
pub const DEMO_PHONE_NUMBER_ID: &str = "100000000000001";
pub const DEMO_KEY_LABEL: &str = "demo";

/// Exactly the fields of `demo.json`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoCredentials {
    pub tenant_id: TenantId,
    pub phone_number_id: PhoneNumberId,
    pub api_key: String,
    /// The Meta app secret deliveries to the demo tenant are signed with.
    pub app_secret: String,
    /// The token of Meta's webhook verification handshake.
    pub verify_token: String,
    pub base_url: String,
}

impl fmt::Debug for DemoCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DemoCredentials")
            .field("tenant_id", &self.tenant_id)
            .field("phone_number_id", &self.phone_number_id)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seeding {
    /// First start: a demo tenant was created.
    Created,
    /// `demo.json` and its tenant were there already.
    Reused,
}

pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(DEMO_FILE)
}

/// The demo tenant's credentials, seeding it first if `demo.json` is missing (or names a tenant
/// the store no longer holds). `base_url` is rewritten to the current address either way.
pub async fn ensure(
    store: &Store,
    data_dir: &Path,
    base_url: &str,
) -> Result<(DemoCredentials, Seeding), CliError> {
    let file = path(data_dir);
    if let Some(mut credentials) = read(&file)? {
        if store.tenant(&credentials.tenant_id).await?.is_some() {
            credentials.base_url = base_url.to_owned();
            write(&file, &credentials)?;
            return Ok((credentials, Seeding::Reused));
        }
        tracing::warn!(
            "demo.json names a tenant the store does not hold; seeding a new demo tenant"
        );
    }
    let credentials = seed(store, base_url).await?;
    write(&file, &credentials)?;
    Ok((credentials, Seeding::Created))
}

async fn seed(store: &Store, base_url: &str) -> Result<DemoCredentials, CliError> {
    let phone = PhoneNumberId::new(DEMO_PHONE_NUMBER_ID);
    // A start that stopped after creating the tenant but before writing demo.json left the demo
    // number attached to it: adopt that tenant rather than fail on the number.
    let tenant = match store.tenant_by_phone_number(&phone).await? {
        Some(tenant) => Arc::unwrap_or_clone(tenant),
        None => {
            let mut tenant = Tenant::new(DEMO_TENANT_NAME, store.now());
            tenant.settings.faq = demo_faq();
            store.create_tenant(&tenant).await?;
            store.attach_phone_number(&tenant.id, &phone).await?
        }
    };
    let (_key, token) = store
        .issue_api_key(&tenant.id, DEMO_KEY_LABEL, Actor::Admin)
        .await?;
    tracing::info!(tenant = %tenant.id, "demo tenant seeded");
    Ok(DemoCredentials {
        tenant_id: tenant.id,
        phone_number_id: phone,
        api_key: token.expose_secret().to_owned(),
        app_secret: random_hex(32),
        verify_token: random_hex(16),
        base_url: base_url.to_owned(),
    })
}

/// The demo tenant's knowledge base: what ai-reply's built-in responder answers from.
pub fn demo_faq() -> Vec<FaqEntry> {
    [
        (
            "What are your opening hours? When are you open?",
            "We are open Monday to Saturday from 9:00 to 19:00, and on Sunday from 10:00 to 14:00.",
        ),
        (
            "Quels sont vos horaires d'ouverture ? Êtes-vous ouverts le dimanche ?",
            "Nous sommes ouverts du lundi au samedi de 9 h à 19 h, et le dimanche de 10 h à 14 h.",
        ),
        (
            "ما هي ساعات العمل؟ متى تفتحون؟",
            "نحن مفتوحون من الاثنين إلى السبت من 9:00 إلى 19:00، ويوم الأحد من 10:00 إلى 14:00.",
        ),
        (
            "Do you deliver? How much is delivery?",
            "We deliver within the city in 24 hours; delivery is free above 300 MAD.",
        ),
    ]
    .into_iter()
    .map(|(question, answer)| FaqEntry::new(question.into(), answer.into()))
    .collect()
}

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    hex::encode(buffer)
}

pub fn read(file: &Path) -> Result<Option<DemoCredentials>, CliError> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(CliError::Failed(format!(
                "cannot read {}: {e}",
                file.display()
            )))
        }
    };
    serde_json::from_str(&text).map(Some).map_err(|e| {
        CliError::Failed(format!(
            "{} is not a demo credentials file ({e}); move it away to seed a new demo tenant",
            file.display()
        ))
    })
}

/// Replaces the file atomically, readable by its owner only.
fn write(file: &Path, credentials: &DemoCredentials) -> Result<(), CliError> {
    let fail =
        |e: std::io::Error| CliError::Failed(format!("cannot write {}: {e}", file.display()));
    let temporary = file.with_extension("json.tmp");
    let mut text = serde_json::to_string_pretty(credentials)
        .map_err(|e| CliError::Failed(format!("demo credentials do not serialize: {e}")))?;
    text.push('\n');
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)
        .map_err(fail)?;
    // `mode` only applies to a new file; a leftover temporary keeps its own.
    out.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(fail)?;
    out.write_all(text.as_bytes())
        .and_then(|()| out.sync_all())
        .map_err(fail)?;
    std::fs::rename(&temporary, file).map_err(fail)
}
