//! Lambda entry point: configuration and clients built once, then the runtime.

use lambda_runtime::{run, service_fn, Error};
use mizan_retention_purge::{handle, Deps};

#[tokio::main]
async fn main() -> Result<(), Error> {
    mizan_shared::telemetry::init();
    let deps = mizan_shared::startup::start::<Deps>()?;
    run(service_fn(|event| deps.serve(|deps| handle(deps, event)))).await
}
