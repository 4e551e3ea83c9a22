//! How a function starts: one wiring pattern and one error type for every function.
//!
//! Each function's `Deps` implements [`Wiring`]: made from the connected [`Services`], the core
//! [`Config`] and the function's own settings. A Lambda `main` calls [`start`] and serves
//! through the [`Starting`] it returns; the local runner and the tests call [`Wiring::new`]
//! with what they built. What can stop a function from starting is a [`StartupError`], mapped
//! once at each edge: found before the secrets are read, a function's `main` hands it to the
//! Lambda runtime (an init error); found after, it fails the invocation as `NotStarted`; the
//! runner reports it as a usage error naming what is wrong.

use crate::adapters::{lambda_sdk_config, secrets_manager};
use crate::backend::{self, BackendError, Services};
use crate::config::{self, Config, ConfigError, SecretValues, SecretsError};
use crate::ports::clock::SystemClock;
use lambda_http::lambda_runtime::Diagnostic;
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
    /// The task building the function stopped before it finished (it panicked).
    #[error("the start was interrupted: {0}")]
    Interrupted(String),
}

impl StartupError {
    /// Whether trying again may succeed: a secret read that failed in passing.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            StartupError::Secrets(SecretsError::Unreadable {
                retryable: true,
                ..
            })
        )
    }
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

/// A function's dependencies as its Lambda builds them, in the background. At start, every
/// variable that no secret gives is checked (a bad one stops the start, as Lambda's init error);
/// then the process starts polling for events at once while the secrets `MIZAN_SECRETS` names
/// are read (one request) and the function is wired from them. The read overlaps the runtime's
/// start instead of holding init up; the first invocation waits for it. A failure then fails
/// that invocation, saying why, and the next one tries again (a throttled read may pass).
pub fn start<D>() -> Result<Starting<D>, StartupError>
where
    D: Wiring + Send + Sync + 'static,
    D::Settings: Send,
{
    precheck().inspect_err(|e| tracing::error!(error = %e, "the function cannot start"))?;
    Ok(Starting {
        wired: tokio::sync::OnceCell::new(),
        first: tokio::sync::Mutex::new(Some(tokio::spawn(wire_from_env::<D>()))),
    })
}

/// What can be checked before the secrets are read: that they are not also in the environment,
/// and the core configuration without them (a Lambda binary runs on the aws backend only).
fn precheck() -> Result<(), StartupError> {
    let env = |var: &str| std::env::var(var).ok();
    let ids = config::secret_ids(&env);
    let none = SecretValues::default();
    let lookup = config::layered(&env, &none, !ids.is_empty())?;
    let config = if ids.is_empty() {
        Config::from_lookup(&lookup)?
    } else {
        Config::check_before_secrets(&lookup)?
    };
    match config.backend {
        config::Backend::Aws { .. } => Ok(()),
        config::Backend::Embedded { .. } => Err(BackendError::NotAws.into()),
    }
}

/// A function's dependencies while they are being built, then built (see [`start`]).
pub struct Starting<D> {
    wired: tokio::sync::OnceCell<D>,
    first: tokio::sync::Mutex<Option<tokio::task::JoinHandle<Result<D, StartupError>>>>,
}

impl<D> Starting<D>
where
    D: Wiring + Send + Sync + 'static,
    D::Settings: Send,
{
    /// The dependencies, waiting for them on the first call.
    pub async fn ready(&self) -> Result<&D, StartupError> {
        self.wired
            .get_or_try_init(|| async {
                let started = self.first.lock().await.take();
                let wired = match started {
                    Some(task) => match task
                        .await
                        .unwrap_or_else(|e| Err(StartupError::Interrupted(e.to_string())))
                    {
                        // Read before any invocation, it may have been cut by the instance's
                        // freeze (provisioned concurrency): once more, now.
                        Err(e) if e.is_retryable() => wire_from_env::<D>().await,
                        wired => wired,
                    },
                    None => wire_from_env::<D>().await,
                };
                // Said in the structured log too: the invocation's error shows only its message.
                wired.inspect_err(|e| tracing::error!(error = %e, "the function cannot start"))
            })
            .await
    }

    /// Runs `handler` on the dependencies once they are ready.
    pub async fn serve<'a, R, E, Fut>(
        &'a self,
        handler: impl FnOnce(&'a D) -> Fut,
    ) -> Result<R, Invocation<E>>
    where
        Fut: std::future::Future<Output = Result<R, E>>,
    {
        let deps = self.ready().await.map_err(Invocation::NotStarted)?;
        handler(deps).await.map_err(Invocation::Failed)
    }
}

/// Why an invocation failed: the function could not start, or its handler failed.
#[derive(Debug)]
pub enum Invocation<E> {
    NotStarted(StartupError),
    Failed(E),
}

/// The handler's own failures keep their error types; a start that failed is `NotStarted`.
impl<E: Into<Diagnostic>> From<Invocation<E>> for Diagnostic {
    fn from(invocation: Invocation<E>) -> Diagnostic {
        match invocation {
            Invocation::NotStarted(e) => Diagnostic {
                error_type: "NotStarted".into(),
                error_message: e.to_string(),
            },
            Invocation::Failed(e) => e.into(),
        }
    }
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
    let (config, settings) = {
        let lookup = config::layered(&env, &secrets, !ids.is_empty())?;
        (Config::from_lookup(&lookup)?, D::settings(&lookup)?)
    };
    let services =
        backend::connect_aws(&config, Arc::new(SystemClock), &sdk, D::AWS_ARCHIVES).await?;
    D::new(&services, &config, &settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_secret_read_that_failed_in_passing_is_worth_another_try() {
        let unreadable = |retryable| {
            StartupError::Secrets(SecretsError::Unreadable {
                secret: "arn:aws:secretsmanager:…:secret:core".into(),
                reason: "ThrottlingException".into(),
                retryable,
            })
        };
        assert!(unreadable(true).is_retryable());
        assert!(!unreadable(false).is_retryable());
        let missing = ConfigError::Missing {
            var: "MIZAN_DATA_TABLE",
            context: String::new(),
        };
        assert!(!StartupError::Config(missing).is_retryable());
        assert!(!StartupError::Backend(BackendError::NotAws).is_retryable());
    }
}
