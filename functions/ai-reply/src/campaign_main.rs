//! Lambda entry point of the campaign sender (scheduled; one instance at a time).

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use mizan_ai_reply::{campaigns, Deps};
use mizan_shared::domain::time::Timestamp;
use mizan_shared::workflows::campaign_send::Pacer;

#[tokio::main]
async fn main() -> Result<(), Error> {
    mizan_shared::telemetry::init();
    let started_at = Timestamp::now();
    let deps = mizan_shared::startup::start::<Deps>()?;
    // The instance's pacer, made with its dependencies: it keeps the pace across invocations.
    let pacer = tokio::sync::OnceCell::new();
    run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        deps.serve(|deps| async {
            let pacer = pacer
                .get_or_init(|| async {
                    Pacer::default().leaving_room_for(deps.pace_ledger.clone())
                })
                .await;
            campaigns::handle(deps, pacer, started_at, event).await
        })
    }))
    .await
}
