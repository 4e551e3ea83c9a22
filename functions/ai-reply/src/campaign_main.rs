//! Lambda entry point of the campaign sender (scheduled; one instance at a time).

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use mizan_ai_reply::{campaigns, Deps};
use mizan_shared::workflows::campaign_send::Pacer;

#[tokio::main]
async fn main() -> Result<(), Error> {
    mizan_shared::telemetry::init();
    let deps: Deps = mizan_shared::startup::from_env().await?;
    let started_at = deps.store.now();
    let pacer = Pacer::default().leaving_room_for(deps.pace_ledger.clone());
    run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        campaigns::handle(&deps, &pacer, started_at, event)
    }))
    .await
}
