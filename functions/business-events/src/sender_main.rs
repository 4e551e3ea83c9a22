//! Lambda entry point of the webhook sender: deliveries from their SQS FIFO queue.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use mizan_business_events::{sender, SenderDeps};

#[tokio::main]
async fn main() -> Result<(), Error> {
    mizan_shared::telemetry::init();
    let deps = mizan_shared::startup::start::<SenderDeps>()?;
    run(service_fn(|event: LambdaEvent<_>| {
        deps.serve(|deps| sender::handle(deps, event.payload))
    }))
    .await
}
