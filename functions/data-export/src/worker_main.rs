//! Lambda entry point of the worker that builds archives from the stream of new export jobs.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use mizan_data_export::{worker, Deps};

#[tokio::main]
async fn main() -> Result<(), Error> {
    mizan_shared::telemetry::init();
    let deps = mizan_shared::startup::start::<Deps>()?;
    run(service_fn(|event: LambdaEvent<_>| {
        deps.serve(|deps| worker::handle(deps, event.payload))
    }))
    .await
}
