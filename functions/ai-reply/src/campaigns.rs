//! The campaign sender as a Lambda function: EventBridge invokes it every minute and it takes
//! turns (every active campaign, a batch of recipients each, paced per business number) until
//! no campaign has work or the invocation's time is nearly up. Its reserved concurrency is 1:
//! one sender at a time, so its pacer holds the rate and a claim older than its start is a
//! crashed invocation's.

use crate::Deps;
use lambda_runtime::LambdaEvent;
use mizan_shared::domain::time::Timestamp;
use mizan_shared::workflows::campaign_send::{CampaignSender, Pacer, TurnReport};
use std::time::{Duration, Instant};

/// Recipients one campaign gets per turn.
pub const BATCH: u32 = 1_000;
/// What an invocation keeps for its last turn to finish before Lambda's deadline.
pub const MARGIN: Duration = Duration::from_secs(15);

/// One invocation: turns until nothing is left to do now or the deadline nears; the counts of
/// all its turns.
pub async fn handle(
    deps: &Deps,
    pacer: &Pacer,
    started_at: Timestamp,
    event: LambdaEvent<serde_json::Value>,
) -> Result<TurnReport, lambda_runtime::Error> {
    let deadline = event.context.deadline();
    let sender = CampaignSender {
        store: &deps.store,
        messenger: deps.broadcast.as_ref(),
        pacer,
        batch: BATCH,
        started_at,
    };
    let mut total = TurnReport::default();
    let begun = Instant::now();
    loop {
        let turn = sender.turn().await?;
        total.absorb(&turn);
        let left = deadline
            .duration_since(std::time::SystemTime::now())
            .unwrap_or_default();
        if !turn.worked() || left < MARGIN || begun.elapsed() > Duration::from_secs(14 * 60) {
            return Ok(total);
        }
    }
}
