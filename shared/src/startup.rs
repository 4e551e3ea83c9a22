//! What can stop a function (or the local runner) from starting: its configuration, its
//! backend, an HTTP client it builds. One type for every function, mapped once at each edge:
//! a function's `main` hands it to the Lambda runtime (an init error), the runner reports it as
//! a usage error naming what is wrong.

use crate::backend::BackendError;
use crate::config::ConfigError;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
}
