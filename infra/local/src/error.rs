//! The one error type of the commands, and the exit code each kind maps to.

use mizan_shared::backend::BackendError;
use mizan_shared::config::ConfigError;
use mizan_shared::startup::StartupError;
use mizan_shared::store::DataError;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad arguments or configuration: the caller can fix it. Exit 2.
    #[error("{0}")]
    Usage(String),
    /// What the command names does not exist. Exit 2.
    #[error("{0}")]
    NotFound(String),
    /// Storage, keys, network, files. Exit 1.
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) | CliError::NotFound(_) => 2,
            CliError::Failed(_) => 1,
        }
    }
}

impl From<ConfigError> for CliError {
    fn from(e: ConfigError) -> Self {
        CliError::Usage(e.to_string())
    }
}

/// One mapping for every function's start-up failure, as the runner starts them.
impl From<StartupError> for CliError {
    fn from(e: StartupError) -> Self {
        match e {
            StartupError::Config(e) => e.into(),
            StartupError::Backend(e) => e.into(),
            e @ (StartupError::Http(_) | StartupError::Secrets(_)) => {
                CliError::Usage(e.to_string())
            }
            e @ StartupError::Interrupted(_) => CliError::Failed(e.to_string()),
        }
    }
}

impl From<BackendError> for CliError {
    fn from(e: BackendError) -> Self {
        CliError::Failed(e.to_string())
    }
}

impl From<DataError> for CliError {
    fn from(e: DataError) -> Self {
        match e {
            DataError::NotFound(what) => CliError::NotFound(format!("{what} not found")),
            DataError::Invalid(_) | DataError::Settings(_) | DataError::Conflict(_) => {
                CliError::Usage(e.to_string())
            }
            DataError::Store(_)
            | DataError::Crypto(_)
            | DataError::Codec { .. }
            | DataError::BeingErased { .. } => CliError::Failed(e.to_string()),
        }
    }
}
