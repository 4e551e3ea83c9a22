//! API keys: stored hashed under two keys, by hash for authentication and by tenant for listing.

use super::{audit_write, from_doc, layout, to_doc, DataError, Store};
use crate::domain::api_key::{ApiKey, ApiKeyHash, Scope};
use crate::domain::audit::{Actor, AuditEvent};
use crate::domain::ids::{ApiKeyId, TenantId};
use crate::domain::time::Timestamp;
use crate::ports::records::{Condition, Query, Record, Write};
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeSet;

impl Store {
    fn api_key_writes(key: &ApiKey, condition: Condition) -> Result<Vec<Write>, DataError> {
        let doc = to_doc(key)?;
        Ok(vec![
            Write::Put {
                record: Record::new(
                    layout::api_key_lookup(&key.hash),
                    layout::kind::API_KEY_LOOKUP,
                    doc.clone(),
                ),
                condition: condition.clone(),
            },
            Write::Put {
                record: Record::new(
                    layout::api_key_listing(&key.tenant, &key.id),
                    layout::kind::API_KEY,
                    doc,
                ),
                condition,
            },
        ])
    }

    /// A new key for the tenant with every scope and no expiry; see `issue_scoped_api_key`.
    pub async fn issue_api_key(
        &self,
        tenant: &TenantId,
        label: &str,
        actor: Actor,
    ) -> Result<(ApiKey, SecretString), DataError> {
        self.issue_scoped_api_key(tenant, label, Scope::all(), None, actor)
            .await
    }

    /// A new key for the tenant that may do `scopes` until `expires_at`; the token is returned
    /// once and only its hash is stored. The audit event (`api_key.issued` by `actor`, with the
    /// scopes) commits with it.
    pub async fn issue_scoped_api_key(
        &self,
        tenant: &TenantId,
        label: &str,
        scopes: BTreeSet<Scope>,
        expires_at: Option<Timestamp>,
        actor: Actor,
    ) -> Result<(ApiKey, SecretString), DataError> {
        if self.tenant(tenant).await?.is_none() {
            return Err(DataError::NotFound("tenant"));
        }
        if scopes.is_empty() {
            return Err(DataError::Invalid("a key needs at least one scope".into()));
        }
        let now = self.now();
        let (key, token) = ApiKey::issue_scoped(tenant.clone(), label, scopes, expires_at, now);
        let mut writes = Self::api_key_writes(&key, Condition::Absent)?;
        let audit = AuditEvent::new(tenant.clone(), actor, "api_key.issued", None, now)
            .with_detail(serde_json::json!({
                "key_id": key.id,
                "scopes": key.scopes,
                "expires_at": key.expires_at.map(Timestamp::to_rfc3339),
            }));
        writes.push(audit_write(&audit)?);
        self.records.transact(writes).await?;
        Ok((key, token))
    }

    pub async fn api_key_by_hash(&self, hash: &ApiKeyHash) -> Result<Option<ApiKey>, DataError> {
        let record = self
            .records
            .get(&layout::api_key_lookup(hash), self.now())
            .await?;
        record.map(|r| from_doc(&r, "api key")).transpose()
    }

    /// The active key a bearer token belongs to, or `None` for unknown, revoked and expired
    /// tokens.
    pub async fn authenticate(&self, token: &SecretString) -> Result<Option<ApiKey>, DataError> {
        let hash = ApiKeyHash::of(token.expose_secret());
        let now = self.now();
        Ok(self
            .api_key_by_hash(&hash)
            .await?
            .filter(|key| key.verifies(token, now)))
    }

    pub async fn api_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKey>, DataError> {
        let query = Query::prefix(layout::tenant_partition(tenant), layout::API_KEY_PREFIX);
        self.query_all(query, self.now())
            .await?
            .iter()
            .map(|r| from_doc(r, "api key"))
            .collect()
    }

    /// Revokes a key of the tenant, audited (`api_key.revoked` by `actor`); revoking twice keeps
    /// the first revocation time and writes nothing.
    pub async fn revoke_api_key(
        &self,
        tenant: &TenantId,
        id: &ApiKeyId,
        actor: Actor,
    ) -> Result<ApiKey, DataError> {
        let at = self.now();
        let record = self
            .records
            .get(&layout::api_key_listing(tenant, id), self.now())
            .await?
            .ok_or(DataError::NotFound("api key"))?;
        let mut key: ApiKey = from_doc(&record, "api key")?;
        if key.revoked_at.is_none() {
            key.revoked_at = Some(at);
            let mut writes = Self::api_key_writes(&key, Condition::Exists)?;
            let audit = AuditEvent::new(tenant.clone(), actor, "api_key.revoked", None, at)
                .with_detail(serde_json::json!({ "key_id": key.id }));
            writes.push(audit_write(&audit)?);
            self.records.transact(writes).await?;
        }
        Ok(key)
    }
}
