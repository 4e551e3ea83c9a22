//! Lambda entry point: configuration and clients built once, then the runtime.

use lambda_runtime::{run, service_fn, Error};
use mizan_retention_purge::{handle, Deps};

#[tokio::main]
async fn main() -> Result<(), Error> {
    mizan_shared::telemetry::init();
    let deps: Deps = mizan_shared::startup::from_env().await?;
    run(service_fn(|event| handle(&deps, event))).await
}
