//! Secrets read once at start-up from AWS Secrets Manager: each secret's value is a JSON object
//! of configuration variables (`{"MIZAN_HASH_KEY": "…"}`), so the function's configuration
//! shows only the secrets' ARNs (`MIZAN_SECRETS`), never a key or token.

use super::aws_errors::classify;
use crate::config::{SecretValues, SecretsError};
use aws_sdk_secretsmanager::Client;
use futures_util::future::try_join_all;

/// Reads every secret in `ids` (ARNs or names) at once and merges their variables; a variable
/// given by two secrets is refused.
pub async fn read(client: &Client, ids: &[String]) -> Result<SecretValues, SecretsError> {
    let reads = ids.iter().map(|id| async move {
        let output = client
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|e| {
                let failure = classify(&e);
                SecretsError::Unreadable {
                    secret: id.clone(),
                    retryable: failure.is_retryable(),
                    reason: failure.shown,
                }
            })?;
        let text = output
            .secret_string()
            .ok_or_else(|| SecretsError::Malformed {
                secret: id.clone(),
                reason: "it holds binary data, not a JSON object".into(),
            })?;
        SecretValues::parse(id, text)
    });
    let mut merged = SecretValues::default();
    for values in try_join_all(reads).await? {
        merged.merge(values)?;
    }
    Ok(merged)
}
