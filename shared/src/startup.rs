//! How a function starts: one wiring pattern and one error type for every function.
//!
//! Each function's `Deps` implements [`Wiring`]: made from the connected [`Services`], the core
//! [`Config`] and the function's own settings. A Lambda `main` calls [`from_env`]; the local
//! runner and the tests call [`Wiring::new`] with what they built. What can stop a function
//! from starting is a [`StartupError`], mapped once at each edge: a function's `main` hands it
//! to the Lambda runtime (an init error), the runner reports it as a usage error naming what is
//! wrong.

use crate::adapters::{lambda_sdk_config, secrets_manager};
use crate::backend::{self, BackendError, Services};
use crate::config::{self, Config, ConfigError, SecretValues, SecretsError};
use crate::ports::clock::SystemClock;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
}

/// The one way a function's dependencies are built.
pub trait Wiring: Sized {
    /// The function's own configuration beside the core one (`()` when it needs none).
    type Settings;

    /// How the function reaches export archives on AWS: none, unless it says otherwise (then
    /// [`backend::s3_archives`]); a function without them does not link the S3 client.
    const AWS_ARCHIVES: backend::AwsArchives = backend::no_archives;

    /// Reads the settings through `lookup` (the process environment in a Lambda).
    fn settings(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self::Settings, StartupError>;

    /// The dependencies over connected services, built once per Lambda instance (or once by the
    /// local runner).
    fn new(
        services: &Services,
        config: &Config,
        settings: &Self::Settings,
    ) -> Result<Self, StartupError>;
}

/// A function's dependencies as its Lambda builds them: the secrets `MIZAN_SECRETS` names (one
/// concurrent read of each, once per instance), then the configuration from them and the
/// environment (every variable checked before any connection is made), then the backend.
pub async fn from_env<D: Wiring>() -> Result<D, StartupError> {
    // Said in the structured log too (Lambda's init failure shows only the process's exit).
    wire_from_env()
        .await
        .inspect_err(|e| tracing::error!(error = %e, "the function cannot start"))
}

async fn wire_from_env<D: Wiring>() -> Result<D, StartupError> {
    let env = |var: &str| std::env::var(var).ok();
    let ids = config::secret_ids(&env);
    // Built once from Lambda's environment: the secrets' client and the backend's share it.
    let sdk = lambda_sdk_config::from_lambda_environment();
    let secrets = if ids.is_empty() {
        SecretValues::default()
    } else {
        secrets_manager::read(&aws_sdk_secretsmanager::Client::new(&sdk), &ids).await?
    };
    let lookup = config::layered(&env, &secrets, !ids.is_empty())?;
    let config = Config::from_lookup(&lookup)?;
    let settings = D::settings(&lookup)?;
    let services =
        backend::connect_aws(&config, Arc::new(SystemClock), &sdk, D::AWS_ARCHIVES).await?;
    D::new(&services, &config, &settings)
}
