//! Lambda entry point: configuration and clients built once, then the runtime.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use mizan_ai_reply::{handle, Deps};

#[tokio::main]
async fn main() -> Result<(), Error> {
    mizan_shared::telemetry::init();
    let deps = mizan_shared::startup::start::<Deps>()?;
    run(service_fn(|event: LambdaEvent<_>| {
        deps.serve(|deps| handle(deps, event.payload))
    }))
    .await
}
