//! Lambda entry point of the change router: the data table's stream, routed.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use mizan_business_events::{router, RouterDeps};

#[tokio::main]
async fn main() -> Result<(), Error> {
    mizan_shared::telemetry::init();
    let deps: RouterDeps = mizan_shared::startup::from_env().await?;
    run(service_fn(|event: LambdaEvent<_>| {
        router::handle(&deps, event.payload)
    }))
    .await
}
