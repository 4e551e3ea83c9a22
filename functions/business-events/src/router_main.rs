//! Lambda entry point of the change router: the data table's stream, routed.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use mizan_business_events::{router, RouterDeps};

#[tokio::main]
async fn main() -> Result<(), Error> {
    mizan_shared::telemetry::init();
    let deps = mizan_shared::startup::start::<RouterDeps>()?;
    run(service_fn(|event: LambdaEvent<_>| {
        deps.serve(|deps| router::handle(deps, event.payload))
    }))
    .await
}
