//! Secrets read once at start-up from AWS Secrets Manager: each secret's value is a JSON object
//! of configuration variables (`{"MIZAN_HASH_KEY": "…"}`), so the function's configuration
//! shows only the secrets' ARNs (`MIZAN_SECRETS`), never a key or token.

use super::aws_errors::classify;
use crate::config::{SecretValues, SecretsError};
use aws_sdk_secretsmanager::Client;

/// Error codes of one secret in a batch that a later start may not meet again.
const RETRYABLE_CODES: [&str; 2] = ["InternalServiceError", "ThrottlingException"];

/// Reads every secret in `ids` (ARNs or names) in one request (`BatchGetSecretValue`: one round
/// trip and one TLS handshake at start-up, however many secrets) and merges their variables; a
/// variable given by two secrets is refused, and so is a secret the answer left out.
pub async fn read(client: &Client, ids: &[String]) -> Result<SecretValues, SecretsError> {
    if ids.is_empty() {
        return Ok(SecretValues::default());
    }
    let output = client
        .batch_get_secret_value()
        .set_secret_id_list(Some(ids.to_vec()))
        .send()
        .await
        .map_err(|e| {
            let failure = classify(&e);
            SecretsError::Unreadable {
                secret: ids.join(","),
                retryable: failure.is_retryable(),
                reason: failure.shown,
            }
        })?;
    if let Some(error) = output.errors().first() {
        let code = error.error_code().unwrap_or("unknown");
        return Err(SecretsError::Unreadable {
            secret: error.secret_id().unwrap_or_default().to_owned(),
            retryable: RETRYABLE_CODES.contains(&code),
            reason: format!("{code}: {}", error.message().unwrap_or_default()),
        });
    }
    let mut merged = SecretValues::default();
    for id in ids {
        let entry = output
            .secret_values()
            .iter()
            .find(|v| v.arn() == Some(id.as_str()) || v.name() == Some(id.as_str()))
            .ok_or_else(|| SecretsError::Unreadable {
                secret: id.clone(),
                retryable: false,
                reason: "Secrets Manager's answer left it out".into(),
            })?;
        let text = entry
            .secret_string()
            .ok_or_else(|| SecretsError::Malformed {
                secret: id.clone(),
                reason: "it holds binary data, not a JSON object".into(),
            })?;
        merged.merge(SecretValues::parse(id, text)?)?;
    }
    Ok(merged)
}
