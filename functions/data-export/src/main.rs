//! Lambda entry point of the API: configuration and clients built once, then the runtime.

use lambda_http::{run, service_fn, Error};
use mizan_data_export::{handle, Deps};

#[tokio::main]
async fn main() -> Result<(), Error> {
    mizan_shared::telemetry::init();
    let deps = mizan_shared::startup::start::<Deps>()?;
    run(service_fn(|request| {
        deps.serve(|deps| handle(deps, request))
    }))
    .await
}
