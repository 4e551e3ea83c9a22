//! Lambda entry point of the analytics counter: changes from the router's analytics queue.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use mizan_business_events::{counter, CounterDeps};

#[tokio::main]
async fn main() -> Result<(), Error> {
    mizan_shared::telemetry::init();
    let deps = mizan_shared::startup::start::<CounterDeps>()?;
    run(service_fn(|event: LambdaEvent<_>| {
        deps.serve(|deps| counter::handle(deps, event.payload))
    }))
    .await
}
