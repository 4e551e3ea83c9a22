//! The configuration a command runs with: `mizan_shared::config::Config` read from the
//! environment, with the backend the command line chose in place of `MIZAN_BACKEND`.

use crate::error::CliError;
use mizan_shared::config::{Backend, Config, WebhookConfig};
use std::path::{Path, PathBuf};

/// The embedded backend in `data_dir`, else `MIZAN_DATA_DIR`, else `.mizan`.
pub fn embedded(data_dir: Option<PathBuf>) -> Result<Config, CliError> {
    let mut config = Config::from_lookup(|var| overriding(var, "embedded"))?;
    if let Some(dir) = data_dir {
        config.backend = Backend::Embedded { data_dir: dir };
    }
    Ok(config)
}

/// DynamoDB and KMS, configured exactly as the functions are (`MIZAN_BACKEND=aws`).
pub fn aws(data_dir: Option<PathBuf>) -> Result<Config, CliError> {
    if data_dir.is_some() {
        return Err(CliError::Usage(
            "--data-dir applies to the embedded backend only".into(),
        ));
    }
    Ok(Config::from_lookup(|var| overriding(var, "aws"))?)
}

fn overriding(var: &str, backend: &str) -> Option<String> {
    if var == "MIZAN_BACKEND" {
        Some(backend.to_owned())
    } else {
        std::env::var(var).ok()
    }
}

/// The data directory of an embedded configuration.
pub fn data_dir(config: &Config) -> Option<&Path> {
    match &config.backend {
        Backend::Embedded { data_dir } => Some(data_dir),
        Backend::Aws { .. } => None,
    }
}

/// Creates a missing embedded data directory readable by its owner only: it holds the master
/// key, the hash key and demo.json. An existing directory keeps its permissions.
pub fn create_private_dir(dir: &Path) -> Result<(), CliError> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| CliError::Failed(format!("cannot create {}: {e}", dir.display())))
}

/// The webhook's configuration: `MIZAN_WHATSAPP_*` when set, else the demo tenant's app secret
/// and verify token, so the runner works out of the box.
pub fn webhook(demo: &crate::demo::DemoCredentials) -> Result<WebhookConfig, CliError> {
    let app_secret = demo.app_secret.clone();
    let verify_token = demo.verify_token.clone();
    Ok(WebhookConfig::from_lookup(|var| {
        std::env::var(var).ok().or_else(|| match var {
            "MIZAN_WHATSAPP_APP_SECRETS" => Some(app_secret.clone()),
            "MIZAN_WHATSAPP_VERIFY_TOKEN" => Some(verify_token.clone()),
            _ => None,
        })
    })?)
}

/// How long a client has to send a request's headers, and then its body, before the runner
/// drops it (408 for a body): `MIZAN_LOCAL_READ_TIMEOUT_SECONDS`, 1–300, default 10. API
/// Gateway enforces its own in production; loopback clients need far less.
pub fn read_timeout() -> Result<std::time::Duration, CliError> {
    const VAR: &str = "MIZAN_LOCAL_READ_TIMEOUT_SECONDS";
    match std::env::var(VAR).ok().filter(|v| !v.trim().is_empty()) {
        None => Ok(std::time::Duration::from_secs(10)),
        Some(text) => match text.trim().parse::<u64>() {
            Ok(seconds) if (1..=300).contains(&seconds) => {
                Ok(std::time::Duration::from_secs(seconds))
            }
            _ => Err(CliError::Usage(format!(
                "{VAR} must be a whole number of seconds from 1 to 300, got {text:?}"
            ))),
        },
    }
}
