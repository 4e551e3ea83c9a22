//! The one place configuration is read from the environment. Every error names its variable.

mod secrets;

pub use secrets::{layered, secret_ids, SecretValues, SecretsError, SECRETS_VAR, SECRET_VARS};

use crate::crypto::envelope::CacheSettings;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("environment variable {var} is required{context}")]
    Missing { var: &'static str, context: String },
    #[error("environment variable {var} is invalid: {reason}")]
    Invalid { var: &'static str, reason: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite files, a local master key and a local hash key in one directory.
    Embedded { data_dir: PathBuf },
    /// DynamoDB tables and a KMS key; endpoints follow the AWS SDK's own settings
    /// (`AWS_REGION`, `AWS_ENDPOINT_URL`, …).
    Aws {
        data_table: String,
        key_table: String,
        kms_key_id: String,
        /// `MIZAN_EXPORT_BUCKET`: where export archives live (the purge and erasure delete them).
        export_bucket: String,
    },
}

#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    pub backend: Backend,
    /// `MIZAN_HASH_KEY`; the embedded backend falls back to a key file in its data directory.
    pub hash_key: Option<[u8; 32]>,
    pub key_cache_capacity: usize,
    pub key_cache_ttl: Duration,
    /// `MIZAN_EMBEDDED_DURABILITY`: `full` (fsync per commit batch) or `normal`.
    pub embedded_durability: crate::adapters::embedded::Durability,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("backend", &self.backend)
            .field("hash_key", &self.hash_key.map(|_| "<secret>"))
            .field("key_cache_capacity", &self.key_cache_capacity)
            .field("key_cache_ttl", &self.key_cache_ttl)
            .field("embedded_durability", &self.embedded_durability)
            .finish()
    }
}

pub const DEFAULT_DATA_DIR: &str = ".mizan";

/// Meta webhook deliveries larger than this are refused with 413. Meta's batches are far smaller
/// (a text delivery is ~1 KB; a 1,000-message batch would be ~1 MB); API Gateway's own cap is 10 MB.
pub const DEFAULT_WEBHOOK_MAX_BODY_BYTES: usize = 1024 * 1024;

/// What the WhatsApp webhook needs: the Meta app secret(s) and the subscription verify token.
#[derive(Clone)]
pub struct WebhookConfig {
    /// `MIZAN_WHATSAPP_APP_SECRETS`: comma-separated, so a secret can be rotated without downtime.
    pub app_secrets: crate::domain::signature::AppSecrets,
    /// `MIZAN_WHATSAPP_VERIFY_TOKEN`: what Meta echoes in the subscription handshake.
    pub verify_token: secrecy::SecretString,
    /// `MIZAN_WEBHOOK_MAX_BODY_BYTES`.
    pub max_body_bytes: usize,
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("app_secrets", &self.app_secrets)
            .field("verify_token", &"<secret>")
            .field("max_body_bytes", &self.max_body_bytes)
            .finish()
    }
}

impl WebhookConfig {
    pub fn from_env() -> Result<WebhookConfig, ConfigError> {
        WebhookConfig::from_lookup(|var| std::env::var(var).ok())
    }

    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<WebhookConfig, ConfigError> {
        let env = Env(lookup);
        let secrets = env.required("MIZAN_WHATSAPP_APP_SECRETS", "")?;
        let app_secrets =
            crate::domain::signature::AppSecrets::parse_list(&secrets).map_err(|e| {
                ConfigError::Invalid {
                    var: "MIZAN_WHATSAPP_APP_SECRETS",
                    reason: e.to_string(),
                }
            })?;
        Ok(WebhookConfig {
            app_secrets,
            verify_token: secrecy::SecretString::from(
                env.required("MIZAN_WHATSAPP_VERIFY_TOKEN", "")?,
            ),
            max_body_bytes: env.number(
                "MIZAN_WEBHOOK_MAX_BODY_BYTES",
                DEFAULT_WEBHOOK_MAX_BODY_BYTES,
                1024,
            )?,
        })
    }
}

/// Reads variables through `lookup`, so tests need not touch the process environment.
pub struct Env<F: Fn(&str) -> Option<String>>(pub F);

impl<F: Fn(&str) -> Option<String>> Env<F> {
    fn optional(&self, var: &'static str) -> Option<String> {
        (self.0)(var)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn required(&self, var: &'static str, context: &str) -> Result<String, ConfigError> {
        self.optional(var).ok_or_else(|| ConfigError::Missing {
            var,
            context: context.to_owned(),
        })
    }

    fn number<T>(&self, var: &'static str, default: T, min: T) -> Result<T, ConfigError>
    where
        T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        match self.optional(var) {
            None => Ok(default),
            Some(text) => match text.parse::<T>() {
                Ok(value) if value >= min => Ok(value),
                _ => Err(ConfigError::Invalid {
                    var,
                    reason: format!("expected a whole number of at least {min}, got {text:?}"),
                }),
            },
        }
    }
}

pub fn parse_hash_key(var: &'static str, text: &str) -> Result<[u8; 32], ConfigError> {
    let bytes = hex::decode(text.trim()).map_err(|_| ConfigError::Invalid {
        var,
        reason: "expected 64 hexadecimal characters (32 bytes)".into(),
    })?;
    bytes.try_into().map_err(|_| ConfigError::Invalid {
        var,
        reason: "expected 64 hexadecimal characters (32 bytes)".into(),
    })
}

impl Config {
    /// The embedded backend in `data_dir` with `hash_key`, the default key cache and full
    /// durability: what tests, benches and tools build without reading the environment.
    pub fn embedded(data_dir: impl Into<PathBuf>, hash_key: [u8; 32]) -> Config {
        let cache = CacheSettings::default();
        Config {
            backend: Backend::Embedded {
                data_dir: data_dir.into(),
            },
            hash_key: Some(hash_key),
            key_cache_capacity: cache.capacity,
            key_cache_ttl: cache.ttl,
            embedded_durability: Default::default(),
        }
    }

    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|var| std::env::var(var).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        Config::read(lookup, false)
    }

    /// Checks every core variable that does not come from a secret, while the secrets are
    /// still being read: the hash key may be missing then (it comes with them).
    pub fn check_before_secrets(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        Config::read(lookup, true)
    }

    fn read(
        lookup: impl Fn(&str) -> Option<String>,
        secrets_pending: bool,
    ) -> Result<Config, ConfigError> {
        let env = Env(lookup);
        let backend = match env.optional("MIZAN_BACKEND").as_deref() {
            None | Some("embedded") => Backend::Embedded {
                data_dir: PathBuf::from(
                    env.optional("MIZAN_DATA_DIR")
                        .unwrap_or_else(|| DEFAULT_DATA_DIR.to_owned()),
                ),
            },
            Some("aws") => {
                let context = " when MIZAN_BACKEND=aws";
                Backend::Aws {
                    data_table: env.required("MIZAN_DATA_TABLE", context)?,
                    key_table: env.required("MIZAN_KEY_TABLE", context)?,
                    kms_key_id: env.required("MIZAN_KMS_KEY_ID", context)?,
                    export_bucket: env.required("MIZAN_EXPORT_BUCKET", context)?,
                }
            }
            Some(other) => {
                return Err(ConfigError::Invalid {
                    var: "MIZAN_BACKEND",
                    reason: format!("expected \"embedded\" or \"aws\", got {other:?}"),
                })
            }
        };
        let hash_key = match (env.optional("MIZAN_HASH_KEY"), &backend) {
            (Some(text), _) => Some(parse_hash_key("MIZAN_HASH_KEY", &text)?),
            (None, Backend::Aws { .. }) if secrets_pending => None,
            (None, Backend::Aws { .. }) => {
                return Err(ConfigError::Missing {
                    var: "MIZAN_HASH_KEY",
                    context: " when MIZAN_BACKEND=aws".into(),
                })
            }
            (None, Backend::Embedded { .. }) => None,
        };
        let embedded_durability = match env.optional("MIZAN_EMBEDDED_DURABILITY").as_deref() {
            None | Some("full") => crate::adapters::embedded::Durability::Full,
            Some("normal") => crate::adapters::embedded::Durability::Normal,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    var: "MIZAN_EMBEDDED_DURABILITY",
                    reason: format!("expected \"full\" or \"normal\", got {other:?}"),
                })
            }
        };
        let defaults = CacheSettings::default();
        Ok(Config {
            embedded_durability,
            backend,
            hash_key,
            key_cache_capacity: env.number("MIZAN_KEY_CACHE_CAPACITY", defaults.capacity, 1)?,
            key_cache_ttl: Duration::from_secs(env.number(
                "MIZAN_KEY_CACHE_SECONDS",
                defaults.ttl.as_secs(),
                0,
            )?),
        })
    }

    pub fn key_cache(&self) -> CacheSettings {
        CacheSettings {
            capacity: self.key_cache_capacity,
            ttl: self.key_cache_ttl,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn embedded_is_the_default() {
        let c = config(&[]).unwrap();
        assert_eq!(
            c.backend,
            Backend::Embedded {
                data_dir: PathBuf::from(".mizan")
            }
        );
        assert_eq!(c.hash_key, None);
    }

    #[test]
    fn aws_backend_names_the_missing_variable() {
        let err = config(&[("MIZAN_BACKEND", "aws"), ("MIZAN_DATA_TABLE", "d")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable MIZAN_KEY_TABLE is required when MIZAN_BACKEND=aws"
        );
    }

    #[test]
    fn wrong_values_name_their_variable() {
        let err = config(&[("MIZAN_BACKEND", "cloud")]).unwrap_err();
        assert!(err.to_string().contains("MIZAN_BACKEND"));
        let err = config(&[("MIZAN_HASH_KEY", "abc")]).unwrap_err();
        assert!(err.to_string().contains("MIZAN_HASH_KEY"));
        let err = config(&[("MIZAN_KEY_CACHE_SECONDS", "soon")]).unwrap_err();
        assert!(err.to_string().contains("MIZAN_KEY_CACHE_SECONDS"));
    }

    #[test]
    fn webhook_config_names_what_is_missing_and_hides_secrets() {
        let map: HashMap<&str, &str> = HashMap::from([("MIZAN_WHATSAPP_APP_SECRETS", "old,new")]);
        let err = WebhookConfig::from_lookup(|k| map.get(k).map(|v| (*v).to_owned())).unwrap_err();
        assert!(err.to_string().contains("MIZAN_WHATSAPP_VERIFY_TOKEN"));
        let map: HashMap<&str, &str> = HashMap::from([
            ("MIZAN_WHATSAPP_APP_SECRETS", "s3cret-old,s3cret-new"),
            ("MIZAN_WHATSAPP_VERIFY_TOKEN", "v3rify"),
        ]);
        let config = WebhookConfig::from_lookup(|k| map.get(k).map(|v| (*v).to_owned())).unwrap();
        assert_eq!(config.max_body_bytes, DEFAULT_WEBHOOK_MAX_BODY_BYTES);
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret") && !shown.contains("v3rify"));
        let map: HashMap<&str, &str> = HashMap::from([
            ("MIZAN_WHATSAPP_APP_SECRETS", "a,,b"),
            ("MIZAN_WHATSAPP_VERIFY_TOKEN", "tok"),
        ]);
        let err = WebhookConfig::from_lookup(|k| map.get(k).map(|v| (*v).to_owned())).unwrap_err();
        assert!(err.to_string().contains("MIZAN_WHATSAPP_APP_SECRETS"));
    }

    #[test]
    fn full_aws_config_parses_and_hides_the_key() {
        let key = "ab".repeat(32);
        let c = config(&[
            ("MIZAN_BACKEND", "aws"),
            ("MIZAN_DATA_TABLE", "d"),
            ("MIZAN_KEY_TABLE", "k"),
            ("MIZAN_KMS_KEY_ID", "alias/x"),
            ("MIZAN_EXPORT_BUCKET", "exports"),
            ("MIZAN_HASH_KEY", &key),
        ])
        .unwrap();
        assert_eq!(c.hash_key, Some([0xab; 32]));
        assert!(!format!("{c:?}").contains("abab"));
    }
}

// ai-reply: the responder (an OpenAI-compatible model, or the built-in FAQ responder) and the
// WhatsApp Graph API sender.

pub const DEFAULT_GRAPH_BASE_URL: &str = "https://graph.facebook.com";
pub const DEFAULT_GRAPH_API_VERSION: &str = "v24.0";
pub const DEFAULT_GRAPH_TIMEOUT_SECONDS: u64 = 10;
pub const DEFAULT_AI_TIMEOUT_SECONDS: u64 = 20;
pub const DEFAULT_AI_MAX_ATTEMPTS: u32 = 3;
pub const DEFAULT_REPLY_HISTORY: usize = 20;

/// The model behind automated replies: `None` in [`ReplyConfig::model`] means the built-in FAQ
/// responder.
#[derive(Clone)]
pub struct ModelConfig {
    /// `MIZAN_AI_BASE_URL`, e.g. `https://api.openai.com/v1`.
    pub base_url: String,
    /// `MIZAN_AI_MODEL`.
    pub model: String,
    /// `MIZAN_AI_API_KEY` (optional: local servers often need none).
    pub api_key: Option<secrecy::SecretString>,
    /// `MIZAN_AI_TIMEOUT_SECONDS`.
    pub timeout: Duration,
    /// `MIZAN_AI_MAX_ATTEMPTS`.
    pub max_attempts: u32,
}

/// The WhatsApp Cloud API (Graph API): where it is and the token for it. ai-reply sends with it;
/// consent-api manages message templates with it.
#[derive(Clone)]
pub struct GraphConfig {
    /// `MIZAN_WHATSAPP_ACCESS_TOKEN`: `None` only where a local stand-in serves (the runner).
    pub access_token: Option<secrecy::SecretString>,
    /// `MIZAN_GRAPH_BASE_URL`.
    pub base_url: String,
    /// `MIZAN_GRAPH_API_VERSION`.
    pub version: String,
    /// `MIZAN_GRAPH_TIMEOUT_SECONDS`.
    pub timeout: Duration,
}

impl std::fmt::Debug for GraphConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphConfig")
            .field(
                "access_token",
                &self.access_token.as_ref().map(|_| "<secret>"),
            )
            .field("base_url", &self.base_url)
            .field("version", &self.version)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl GraphConfig {
    pub fn from_env() -> Result<GraphConfig, ConfigError> {
        GraphConfig::from_lookup(|var| std::env::var(var).ok())
    }

    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<GraphConfig, ConfigError> {
        let env = Env(lookup);
        let base_url = env
            .optional("MIZAN_GRAPH_BASE_URL")
            .unwrap_or_else(|| DEFAULT_GRAPH_BASE_URL.to_owned());
        if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
            return Err(ConfigError::Invalid {
                var: "MIZAN_GRAPH_BASE_URL",
                reason: format!("expected an http(s) URL, got {base_url:?}"),
            });
        }
        Ok(GraphConfig {
            access_token: env
                .optional("MIZAN_WHATSAPP_ACCESS_TOKEN")
                .map(secrecy::SecretString::from),
            base_url,
            version: env
                .optional("MIZAN_GRAPH_API_VERSION")
                .unwrap_or_else(|| DEFAULT_GRAPH_API_VERSION.to_owned()),
            timeout: Duration::from_secs(env.number(
                "MIZAN_GRAPH_TIMEOUT_SECONDS",
                DEFAULT_GRAPH_TIMEOUT_SECONDS,
                1,
            )?),
        })
    }

    /// The token, where the real Graph API is required (a Lambda function); `purpose` says
    /// what it is needed for.
    pub fn require_token(&self, purpose: &str) -> Result<secrecy::SecretString, ConfigError> {
        self.access_token
            .clone()
            .ok_or_else(|| ConfigError::Missing {
                var: "MIZAN_WHATSAPP_ACCESS_TOKEN",
                context: format!(" {purpose}"),
            })
    }
}

#[derive(Clone)]
pub struct ReplyConfig {
    pub model: Option<ModelConfig>,
    pub graph: GraphConfig,
    /// `MIZAN_REPLY_HISTORY`: how many recent messages of the conversation the responder sees.
    pub history: usize,
}

impl std::fmt::Debug for ReplyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplyConfig")
            .field(
                "model",
                &self.model.as_ref().map(|m| (&m.base_url, &m.model)),
            )
            .field("graph", &self.graph)
            .field("history", &self.history)
            .finish()
    }
}

impl ReplyConfig {
    pub fn from_env() -> Result<ReplyConfig, ConfigError> {
        ReplyConfig::from_lookup(|var| std::env::var(var).ok())
    }

    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<ReplyConfig, ConfigError> {
        let env = Env(&lookup);
        let model = match env.optional("MIZAN_AI_BASE_URL") {
            None => None,
            Some(base_url) => {
                if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
                    return Err(ConfigError::Invalid {
                        var: "MIZAN_AI_BASE_URL",
                        reason: format!("expected an http(s) URL, got {base_url:?}"),
                    });
                }
                Some(ModelConfig {
                    base_url,
                    model: env.required("MIZAN_AI_MODEL", " when MIZAN_AI_BASE_URL is set")?,
                    api_key: env
                        .optional("MIZAN_AI_API_KEY")
                        .map(secrecy::SecretString::from),
                    timeout: Duration::from_secs(env.number(
                        "MIZAN_AI_TIMEOUT_SECONDS",
                        DEFAULT_AI_TIMEOUT_SECONDS,
                        1,
                    )?),
                    max_attempts: env.number(
                        "MIZAN_AI_MAX_ATTEMPTS",
                        DEFAULT_AI_MAX_ATTEMPTS,
                        1,
                    )?,
                })
            }
        };
        Ok(ReplyConfig {
            model,
            graph: GraphConfig::from_lookup(&lookup)?,
            history: env.number("MIZAN_REPLY_HISTORY", DEFAULT_REPLY_HISTORY, 1)?,
        })
    }

    /// The Graph API token, where a real sender is required (the Lambda function).
    pub fn require_graph_token(&self) -> Result<secrecy::SecretString, ConfigError> {
        self.graph
            .require_token("by ai-reply to send WhatsApp messages")
    }
}

#[cfg(test)]
mod reply_config_tests {
    use super::*;
    use std::collections::HashMap;

    fn reply(vars: &[(&str, &str)]) -> Result<ReplyConfig, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ReplyConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn no_model_means_the_built_in_responder_and_defaults_apply() {
        let c = reply(&[]).unwrap();
        assert!(c.model.is_none());
        assert!(c.graph.access_token.is_none());
        assert_eq!(c.graph.base_url, DEFAULT_GRAPH_BASE_URL);
        assert_eq!(c.graph.version, DEFAULT_GRAPH_API_VERSION);
        let err = c.require_graph_token().unwrap_err();
        assert!(err.to_string().contains("MIZAN_WHATSAPP_ACCESS_TOKEN"));
    }

    #[test]
    fn a_model_needs_its_name_and_errors_name_their_variable() {
        let err = reply(&[("MIZAN_AI_BASE_URL", "https://api.openai.com/v1")]).unwrap_err();
        assert!(err.to_string().contains("MIZAN_AI_MODEL"));
        let err = reply(&[("MIZAN_AI_BASE_URL", "api.openai.com")]).unwrap_err();
        assert!(err.to_string().contains("MIZAN_AI_BASE_URL"));
        let err = reply(&[("MIZAN_GRAPH_TIMEOUT_SECONDS", "soon")]).unwrap_err();
        assert!(err.to_string().contains("MIZAN_GRAPH_TIMEOUT_SECONDS"));
        let c = reply(&[
            ("MIZAN_AI_BASE_URL", "http://127.0.0.1:8080/v1"),
            ("MIZAN_AI_MODEL", "llama"),
            ("MIZAN_AI_API_KEY", "sk-s3cret"),
            ("MIZAN_WHATSAPP_ACCESS_TOKEN", "EAAt0ken"),
        ])
        .unwrap();
        assert_eq!(c.model.as_ref().unwrap().model, "llama");
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cret") && !shown.contains("t0ken"));
    }
}

/// How long an export's download link lasts unless configured (DESIGN §6).
pub const DEFAULT_EXPORT_LINK_DAYS: u32 = 7;
/// Downloads an export's link allows unless configured: enough for a person to retry and keep
/// a copy, few enough that a forwarded or leaked link soon stops working.
pub const DEFAULT_EXPORT_DOWNLOAD_LIMIT: u32 = 5;
/// Longest link allowed: the bucket's lifecycle (`ExportLinkDays` in `template.yaml`) must keep
/// the archive as long as its link.
pub const MAX_EXPORT_LINK_DAYS: u32 = 30;

/// What the data-export function needs besides the backend.
#[derive(Clone)]
pub struct ExportConfig {
    /// `MIZAN_EXPORT_TOKEN_SECRET` (64 hex characters) signs download links; the embedded
    /// backend falls back to a key file in its data directory.
    pub token_secret: Option<[u8; 32]>,
    /// `MIZAN_EXPORT_LINK_DAYS`: how long a link (and its archive) lasts.
    pub link_days: u32,
    /// `MIZAN_EXPORT_DOWNLOAD_LIMIT`: downloads allowed per export (default
    /// `DEFAULT_EXPORT_DOWNLOAD_LIMIT`): a leaked link cannot be used without end.
    pub download_limit: Option<u32>,
    /// `MIZAN_PUBLIC_BASE_URL`: where the API is reached from (`https://api.example.com`), for
    /// the absolute download links it hands out. Unset: API Gateway's own domain from the
    /// request context. Never the request's `Host` header, which the client chooses.
    pub public_base_url: Option<String>,
}

impl std::fmt::Debug for ExportConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportConfig")
            .field("token_secret", &self.token_secret.map(|_| "<secret>"))
            .field("link_days", &self.link_days)
            .field("download_limit", &self.download_limit)
            .field("public_base_url", &self.public_base_url)
            .finish()
    }
}

impl ExportConfig {
    pub fn from_env() -> Result<ExportConfig, ConfigError> {
        ExportConfig::from_lookup(|var| std::env::var(var).ok())
    }

    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<ExportConfig, ConfigError> {
        let env = Env(lookup);
        let token_secret = env
            .optional("MIZAN_EXPORT_TOKEN_SECRET")
            .map(|text| parse_hash_key("MIZAN_EXPORT_TOKEN_SECRET", &text))
            .transpose()?;
        let link_days = env.number("MIZAN_EXPORT_LINK_DAYS", DEFAULT_EXPORT_LINK_DAYS, 1)?;
        if link_days > MAX_EXPORT_LINK_DAYS {
            return Err(ConfigError::Invalid {
                var: "MIZAN_EXPORT_LINK_DAYS",
                reason: format!("at most {MAX_EXPORT_LINK_DAYS} days, got {link_days}"),
            });
        }
        let download_limit = Some(env.number(
            "MIZAN_EXPORT_DOWNLOAD_LIMIT",
            DEFAULT_EXPORT_DOWNLOAD_LIMIT,
            1,
        )?);
        let public_base_url = env
            .optional("MIZAN_PUBLIC_BASE_URL")
            .map(|url| parse_public_base_url("MIZAN_PUBLIC_BASE_URL", &url))
            .transpose()?;
        Ok(ExportConfig {
            token_secret,
            link_days,
            download_limit,
            public_base_url,
        })
    }
}

/// A base URL links are built on: `http(s)://host[:port][/path]`, without a trailing slash,
/// query or fragment.
pub fn parse_public_base_url(var: &'static str, text: &str) -> Result<String, ConfigError> {
    let invalid = |reason: &str| ConfigError::Invalid {
        var,
        reason: reason.to_owned(),
    };
    let url = text.trim().trim_end_matches('/');
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| invalid("must start with https:// (or http:// for a local server)"))?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Err(invalid("must name a host"));
    }
    if url.contains(['?', '#']) || url.contains(char::is_whitespace) {
        return Err(invalid("must not carry a query, a fragment or spaces"));
    }
    Ok(url.to_owned())
}

#[cfg(test)]
mod export_config_tests {
    use super::*;
    use std::collections::HashMap;

    fn export(vars: &[(&str, &str)]) -> Result<ExportConfig, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ExportConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn links_last_seven_days_and_five_downloads_by_default() {
        let c = export(&[]).unwrap();
        assert_eq!(
            (c.token_secret, c.link_days, c.download_limit),
            (None, 7, Some(5))
        );
        assert_eq!(c.public_base_url, None);
    }

    #[test]
    fn the_public_base_url_is_an_http_origin_without_query_or_trailing_slash() {
        let c = export(&[("MIZAN_PUBLIC_BASE_URL", "https://api.atlas-tea.ma/")]).unwrap();
        assert_eq!(
            c.public_base_url.as_deref(),
            Some("https://api.atlas-tea.ma")
        );
        for bad in [
            "api.atlas-tea.ma",
            "ftp://x",
            "https://",
            "https://x/?a=1",
            "https://x/#f",
        ] {
            let err = export(&[("MIZAN_PUBLIC_BASE_URL", bad)]).unwrap_err();
            assert!(
                err.to_string().contains("MIZAN_PUBLIC_BASE_URL"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn each_setting_is_checked_and_errors_name_their_variable() {
        let secret = "cd".repeat(32);
        let c = export(&[
            ("MIZAN_EXPORT_TOKEN_SECRET", &secret),
            ("MIZAN_EXPORT_LINK_DAYS", "2"),
            ("MIZAN_EXPORT_DOWNLOAD_LIMIT", "3"),
        ])
        .unwrap();
        assert_eq!(
            (c.token_secret, c.link_days, c.download_limit),
            (Some([0xcd; 32]), 2, Some(3))
        );
        assert!(!format!("{c:?}").contains("cdcd"));
        for (var, value) in [
            ("MIZAN_EXPORT_TOKEN_SECRET", "short"),
            ("MIZAN_EXPORT_LINK_DAYS", "0"),
            ("MIZAN_EXPORT_LINK_DAYS", "31"),
            ("MIZAN_EXPORT_DOWNLOAD_LIMIT", "0"),
            ("MIZAN_EXPORT_DOWNLOAD_LIMIT", "many"),
        ] {
            let err = export(&[(var, value)]).unwrap_err();
            assert!(err.to_string().contains(var), "{var}={value}: {err}");
        }
    }
}

/// What the record of processing says of this deployment: where data is stored (the backend,
/// `AWS_REGION`) and which model provider reads conversations (`MIZAN_AI_BASE_URL`'s host).
pub fn processing_deployment(
    config: &Config,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> crate::domain::record_of_processing::Deployment {
    use crate::domain::record_of_processing::{Deployment, Storage};
    let storage = match &config.backend {
        Backend::Aws { .. } => Storage::Aws {
            region: lookup("AWS_REGION")
                .filter(|r| !r.trim().is_empty())
                .unwrap_or_else(|| "(AWS_REGION unset)".into()),
        },
        Backend::Embedded { .. } => Storage::Embedded,
    };
    let model_provider = lookup("MIZAN_AI_BASE_URL")
        .map(|url| url.trim().to_owned())
        .filter(|url| !url.is_empty())
        .map(|url| {
            let rest = url
                .split_once("://")
                .map(|(_, rest)| rest.to_owned())
                .unwrap_or(url);
            rest.split(['/', '?', '#'])
                .next()
                .unwrap_or_default()
                .to_owned()
        });
    Deployment {
        storage,
        model_provider,
    }
}

#[cfg(test)]
mod processing_deployment_tests {
    use super::*;
    use crate::domain::record_of_processing::Storage;

    #[test]
    fn the_model_provider_is_named_by_its_host_and_storage_by_its_region() {
        let config = Config::from_lookup(|var| match var {
            "MIZAN_DATA_DIR" => Some("/tmp/x".into()),
            _ => None,
        })
        .unwrap();
        let facts = processing_deployment(&config, &|var| match var {
            "MIZAN_AI_BASE_URL" => Some("https://api.openai.com/v1".into()),
            _ => None,
        });
        assert_eq!(facts.model_provider.as_deref(), Some("api.openai.com"));
        assert_eq!(facts.storage, Storage::Embedded);
        assert_eq!(
            processing_deployment(&config, &|_| None).model_provider,
            None
        );
    }
}

/// The queues of the functions that carry events to the businesses' webhooks: where the
/// router queues deliveries (`MIZAN_WEBHOOK_QUEUE_URL`, an SQS FIFO queue), new export jobs
/// for the worker (`MIZAN_EXPORT_QUEUE_URL`) and countable changes for the analytics counter
/// (`MIZAN_ANALYTICS_QUEUE_URL`); the sender takes deliveries from the first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventQueues {
    pub webhook_queue_url: Option<String>,
    pub export_queue_url: Option<String>,
    pub analytics_queue_url: Option<String>,
}

impl EventQueues {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> EventQueues {
        let env = Env(lookup);
        EventQueues {
            webhook_queue_url: env.optional("MIZAN_WEBHOOK_QUEUE_URL"),
            export_queue_url: env.optional("MIZAN_EXPORT_QUEUE_URL"),
            analytics_queue_url: env.optional("MIZAN_ANALYTICS_QUEUE_URL"),
        }
    }

    /// The delivery queue's URL, required `for_what`.
    pub fn require_webhook_queue(&self, for_what: &str) -> Result<String, ConfigError> {
        self.webhook_queue_url
            .clone()
            .ok_or_else(|| ConfigError::Missing {
                var: "MIZAN_WEBHOOK_QUEUE_URL",
                context: for_what.to_owned(),
            })
    }

    /// The analytics queue's URL, required `for_what`.
    pub fn require_analytics_queue(&self, for_what: &str) -> Result<String, ConfigError> {
        self.analytics_queue_url
            .clone()
            .ok_or_else(|| ConfigError::Missing {
                var: "MIZAN_ANALYTICS_QUEUE_URL",
                context: for_what.to_owned(),
            })
    }

    /// The export job queue's URL, required `for_what`.
    pub fn require_export_queue(&self, for_what: &str) -> Result<String, ConfigError> {
        self.export_queue_url
            .clone()
            .ok_or_else(|| ConfigError::Missing {
                var: "MIZAN_EXPORT_QUEUE_URL",
                context: for_what.to_owned(),
            })
    }
}
