//! Every entity Mizan stores, on top of the storage port: the single-table layout, sealing of
//! personal data, retention-aware reads and idempotent writes are written here once, for both
//! backends.

mod account_details;
mod analytics;
mod api_keys;
mod audit;
mod billing;
mod campaigns;
mod consent;
mod contact_changes;
mod contact_list;
mod contacts;
mod erasure;
mod exports;
pub mod layout;
mod messages;
mod outbound;
mod raw_payloads;
mod replies;
mod retention;
mod retention_marks;
mod rights;
mod templates;
mod tenants;
mod webhooks;

pub use analytics::{CountedOnce, ANALYTICS_SHARDS, MARKS_PER_WRITE};
pub use campaigns::{CampaignCounts, AUDIENCE_CHUNK, COUNTER_SHARDS};
pub use contact_changes::ChangeOutcome;
pub use contact_list::ContactFilter;
pub use contacts::{ContactUpsert, SenderOutcome};
pub use erasure::{ErasureReason, ErasureReport};
pub use messages::{PutOutcome, StatusFields, StatusOutcome};
pub use outbound::{Acceptance, IdempotencyClaim, OrderState, OutboundOrder, IDEMPOTENCY_WINDOW};
pub use raw_payloads::{RawPayloadInfo, UnroutedItem, PLATFORM_TENANT};
pub use replies::{ClaimOutcome, ClaimState, ReplyClaim};
pub use retention::ContactActivity;
pub use retention_marks::{is_marked, RetainedCategories};
pub use rights::{ChatExportOutcome, ExportNotice};
pub use templates::TemplateUpdateOutcome;
pub use webhooks::DeliveryRef;

use crate::crypto::envelope::{CryptoError, Envelope};
use crate::domain::identity_hash::IdentityHasher;
use crate::domain::ids::{ContactId, TenantId};
use crate::ports::clock::Clock;
use crate::ports::keys::KeyContext;
use crate::ports::records::{Key, Record, RecordStore, StoreError, Write};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("a stored {kind} does not decode: {reason}")]
    Codec { kind: &'static str, reason: String },
    #[error("invalid: {0}")]
    Invalid(String),
    #[error("invalid settings: {0}")]
    Settings(#[from] crate::domain::tenant::SettingsError),
    /// The contact these identifiers belong to is being erased: nothing new is stored for it
    /// until the erasure completes (then the identity starts a new contact).
    #[error("the contact is being erased (since {since:?})")]
    BeingErased {
        since: crate::domain::time::Timestamp,
    },
}

impl DataError {
    pub fn is_retryable(&self) -> bool {
        match self {
            DataError::Store(e) => e.is_retryable(),
            DataError::Crypto(e) => e.is_retryable(),
            // An erasure completes within seconds (or on the purge's next run).
            DataError::BeingErased { .. } => true,
            _ => false,
        }
    }
}

/// A value with the version it was stored at, for optimistic updates.
#[derive(Clone, Debug, PartialEq)]
pub struct Versioned<T> {
    pub value: T,
    pub version: i64,
}

/// How many times an optimistic update is retried against concurrent writers.
const MAX_OPTIMISTIC_ATTEMPTS: usize = 5;

/// How long a phone number's tenant is remembered: every delivery needs it, and a change of
/// routing or settings made elsewhere reaches this process within this time.
pub const TENANT_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(30);

type TenantCache = quick_cache::sync::Cache<
    crate::domain::ids::PhoneNumberId,
    // Shared, not cloned per delivery: a tenant carries its whole FAQ. Only found tenants.
    (Arc<crate::domain::tenant::Tenant>, std::time::Instant),
>;

#[derive(Clone)]
pub struct Store {
    records: Arc<dyn RecordStore>,
    envelope: Arc<Envelope>,
    hasher: Arc<IdentityHasher>,
    clock: Arc<dyn Clock>,
    tenants_by_phone: Arc<TenantCache>,
}

impl Store {
    pub fn new(
        records: Arc<dyn RecordStore>,
        envelope: Arc<Envelope>,
        hasher: Arc<IdentityHasher>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Store {
            // Every write passes the marks, so the purge can skip what a tenant never filed.
            records: Arc::new(retention_marks::MarkingRecords::new(records)),
            envelope,
            hasher,
            clock,
            tenants_by_phone: Arc::new(TenantCache::new(1_000)),
        }
    }

    pub fn records(&self) -> &Arc<dyn RecordStore> {
        &self.records
    }

    pub fn envelope(&self) -> &Arc<Envelope> {
        &self.envelope
    }

    pub fn hasher(&self) -> &IdentityHasher {
        &self.hasher
    }

    pub fn now(&self) -> crate::domain::time::Timestamp {
        self.clock.now()
    }

    /// Every record a query matches, following pages to the end.
    async fn query_all(
        &self,
        mut query: crate::ports::records::Query,
        now: crate::domain::time::Timestamp,
    ) -> Result<Vec<Record>, DataError> {
        let mut records = Vec::new();
        loop {
            let page = self.records.query(&query, now).await?;
            records.extend(page.items);
            match page.next {
                Some(next) => query.after = Some(next),
                None => return Ok(records),
            }
        }
    }

    /// A page of the documents of kind `kind` in partition `pk`, newest (last sort key) first.
    async fn newest_page<T: DeserializeOwned>(
        &self,
        pk: String,
        kind: &'static str,
        limit: usize,
        after: Option<crate::ports::records::Cursor>,
    ) -> Result<crate::ports::records::Page<T>, DataError> {
        let page = self
            .records
            .query(
                &crate::ports::records::Query {
                    pk,
                    range: crate::ports::records::Range::Prefix(String::new()),
                    newest_first: true,
                    limit,
                    after,
                },
                self.now(),
            )
            .await?;
        Ok(crate::ports::records::Page {
            items: page
                .items
                .iter()
                .map(|r| from_doc(r, kind))
                .collect::<Result<_, _>>()?,
            next: page.next,
        })
    }

    fn key_context(tenant: &TenantId, contact: &ContactId) -> KeyContext {
        KeyContext::new(tenant.clone(), contact.clone())
    }

    async fn seal<T: Serialize>(
        &self,
        tenant: &TenantId,
        contact: &ContactId,
        key: &Key,
        value: &T,
    ) -> Result<Vec<u8>, DataError> {
        let plaintext = zeroize::Zeroizing::new(
            serde_json::to_vec(value)
                .map_err(|e| DataError::Invalid(format!("value does not serialize: {e}")))?,
        );
        Ok(self
            .envelope
            .seal(
                &Self::key_context(tenant, contact),
                &layout::aad(key),
                &plaintext,
            )
            .await?)
    }

    /// Opens sealed personal data; `None` when the contact's key is destroyed (crypto-shredded).
    async fn open<T: DeserializeOwned>(
        &self,
        tenant: &TenantId,
        contact: &ContactId,
        record: &Record,
        kind: &'static str,
    ) -> Result<Option<T>, DataError> {
        let Some(sealed) = &record.sealed else {
            return Ok(None);
        };
        let context = Self::key_context(tenant, contact);
        match self
            .envelope
            .open(&context, &layout::aad(&record.key), sealed)
            .await
        {
            Ok(plain) => {
                let plain = zeroize::Zeroizing::new(plain);
                serde_json::from_slice(&plain)
                    .map(Some)
                    .map_err(|e| codec(kind, e))
            }
            Err(CryptoError::KeyDestroyed) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

fn codec(kind: &'static str, e: impl std::fmt::Display) -> DataError {
    DataError::Codec {
        kind,
        reason: e.to_string(),
    }
}

fn to_doc<T: Serialize>(value: &T) -> Result<serde_json::Value, DataError> {
    serde_json::to_value(value).map_err(|e| DataError::Invalid(format!("does not serialize: {e}")))
}

fn from_doc<T: DeserializeOwned>(record: &Record, kind: &'static str) -> Result<T, DataError> {
    serde_json::from_value(record.doc.clone()).map_err(|e| codec(kind, e))
}

fn audit_write(event: &crate::domain::audit::AuditEvent) -> Result<Write, DataError> {
    audit::write_for(event)
}
