//! What the runner hosts of each Lambda function besides its HTTP routes (those are mounted in
//! `routes::function_routes`): the stream consumers the change feed delivers to, and the
//! scheduled jobs. Each function issue registers its handler here, built from the same
//! `Services` its Lambda `main.rs` builds from AWS clients.
//!
//! - ai-reply: a `feed::StreamConsumer` wrapping its stream handler.
//! - data-export worker: a `feed::StreamConsumer` for export job records (on AWS the change
//!   router hands them to its queue; the feed has no limit of two readers).
//! - business-events: the change router as a `feed::StreamConsumer`, queueing webhook
//!   deliveries on an in-process FIFO queue whose turns the webhook sender takes; the analytics
//!   counter as another (on AWS it reads the queue the router fills).
//! - retention-purge: a `schedule::Schedule` (`schedule::DEFAULT_INTERVAL` unless it needs another).
//! - the campaign sender: a `schedule::Schedule` every second.

use crate::error::CliError;
use crate::feed::StreamConsumer;
use crate::schedule::Schedule;
use async_trait::async_trait;
use aws_lambda_events::event::dynamodb::Event;
use mizan_shared::adapters::in_process_delivery_queue::InProcessDeliveryQueue;
use mizan_shared::adapters::local_templates::LocalTemplates;
use mizan_shared::adapters::outbox::Outbox;
use mizan_shared::adapters::webhook_http::HttpWebhookPoster;
use mizan_shared::backend::Services;
use mizan_shared::config::{processing_deployment, Config, ExportConfig, GraphConfig, ReplyConfig};
use mizan_shared::domain::webhook::UrlPolicy;
use mizan_shared::ports::messenger::Messenger;
use mizan_shared::ports::template_catalog::TemplateCatalog;
use mizan_shared::ports::webhook_delivery::{DeliveryQueue, WebhookPoster};
use mizan_shared::startup::Wiring;
use mizan_shared::store::Store;
use mizan_shared::workflows::campaign_send::{CampaignSender, Pacer};
use mizan_shared::workflows::rights_chat::ExportLinks;
use mizan_shared::workflows::webhooks::{pending_deliveries, Sender, Turn};
use std::sync::Arc;

/// Stream-triggered functions, in the order they get each batch.
pub fn stream_consumers(
    services: &Services,
    outbox: &Arc<Outbox>,
    export: &mizan_data_export::Deps,
    deliveries: &Arc<InProcessDeliveryQueue>,
) -> Result<Vec<Arc<dyn StreamConsumer>>, CliError> {
    Ok(vec![
        ai_reply(services, outbox, export)?,
        Arc::new(ExportWorker {
            deps: export.clone(),
        }),
        Arc::new(ChangeRouter {
            deps: mizan_business_events::RouterDeps {
                store: services.store.clone(),
                deliveries: deliveries.clone(),
                export_jobs: None,
                analytics: None,
            },
        }),
        Arc::new(AnalyticsCounter {
            store: services.store.clone(),
        }),
    ])
}

/// The analytics counter hosted on the feed (on AWS the change router hands it countable
/// changes through a queue): each change counted once, so a batch the feed retries adds
/// nothing twice.
struct AnalyticsCounter {
    store: Store,
}

#[async_trait]
impl StreamConsumer for AnalyticsCounter {
    fn name(&self) -> &str {
        "analytics-counter"
    }

    async fn handle(&self, event: Event) -> Result<(), String> {
        let report = mizan_shared::workflows::analytics::count_changes(&self.store, &event.records)
            .await
            .map_err(|e| e.to_string())?;
        // A record no retry can read would stop the feed for good: it is logged and left out.
        for unread in &report.undecodable {
            tracing::error!(event_id = %unread.event_id, reason = %unread.reason, "a change could not be counted");
        }
        Ok(())
    }
}

// business-events -----------------------------------------------------------------------------

/// The runner calls businesses' endpoints on loopback addresses too (a test receiver).
pub const WEBHOOK_URLS: UrlPolicy = UrlPolicy {
    allow_loopback: true,
};

/// The webhook sender hosted in-process: the queue the router fills, each delivery's turn
/// taken by the sender (HTTPS, or HTTP on loopback). Its tasks run where deliveries are queued
/// (the background thread, with the change feed).
pub fn webhook_deliveries(services: &Services) -> Arc<InProcessDeliveryQueue> {
    let store = services.store.clone();
    let poster: Arc<dyn WebhookPoster> = Arc::new(HttpWebhookPoster::new(WEBHOOK_URLS));
    Arc::new(InProcessDeliveryQueue::new(Arc::new(move |delivery| {
        let store = store.clone();
        let poster = poster.clone();
        Box::pin(async move {
            let sender = Sender {
                store: &store,
                poster: poster.as_ref(),
            };
            match sender.turn(&delivery).await {
                Turn::Finished => None,
                Turn::RetryIn(wait) => Some(wait),
            }
        })
    })))
}

/// Queues again the deliveries still pending when the runner last stopped (its queue lived in
/// memory; their records did not).
pub async fn resume_deliveries(store: Store, queue: Arc<InProcessDeliveryQueue>) {
    match pending_deliveries(&store).await {
        Ok(pending) if pending.is_empty() => {}
        Ok(pending) => {
            tracing::info!(
                deliveries = pending.len(),
                "pending webhook deliveries queued again"
            );
            if let Err(e) = queue.enqueue(&pending).await {
                tracing::error!(error = %e, "pending webhook deliveries could not be queued");
            }
        }
        // They stay pending in the log; the business can replay them.
        Err(e) => tracing::error!(error = %e, "pending webhook deliveries could not be read"),
    }
}

struct ChangeRouter {
    deps: mizan_business_events::RouterDeps,
}

#[async_trait]
impl StreamConsumer for ChangeRouter {
    fn name(&self) -> &str {
        "change-router"
    }

    /// A failure makes the feed retry the batch: what was routed is not made again.
    async fn handle(&self, event: Event) -> Result<(), String> {
        let report = mizan_business_events::router::handle_batch(&self.deps, &event).await;
        match report.retry_from {
            None => Ok(()),
            Some(_) => Err("a change could not be routed".into()),
        }
    }
}

/// Scheduled functions.
pub fn schedules(
    services: &Services,
    config: &Config,
    outbox: &Arc<Outbox>,
) -> Result<Vec<Schedule>, CliError> {
    let purge = Arc::new(mizan_retention_purge::Deps::new(services, config, &())?);
    let campaigns = Arc::new(CampaignJob {
        store: services.store.clone(),
        messenger: messenger(outbox)?,
        pacer: Pacer::default().leaving_room_for(services.pace_ledger.clone()),
        started_at: services.store.now(),
    });
    Ok(vec![
        Schedule::new("campaign-sender", CAMPAIGN_INTERVAL, move || {
            let job = campaigns.clone();
            async move { job.turn().await }
        }),
        Schedule::new(
            "retention-purge",
            crate::schedule::DEFAULT_INTERVAL,
            move || {
                let deps = purge.clone();
                async move {
                    mizan_retention_purge::handle(&deps, scheduled_event())
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                }
            },
        ),
    ])
}

/// How often the runner's campaign sender takes a turn.
const CAMPAIGN_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// The campaign sender hosted in-process: each turn sends a batch of every active campaign.
struct CampaignJob {
    store: mizan_shared::store::Store,
    messenger: Arc<dyn Messenger>,
    pacer: Pacer,
    /// The runner is the data directory's one writer: claims older than its start are a
    /// crashed runner's.
    started_at: mizan_shared::domain::time::Timestamp,
}

impl CampaignJob {
    async fn turn(&self) -> Result<(), String> {
        CampaignSender {
            store: &self.store,
            messenger: self.messenger.as_ref(),
            pacer: &self.pacer,
            batch: 1_000,
            started_at: self.started_at,
        }
        .turn()
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
    }
}

/// The Graph API sender when `MIZAN_WHATSAPP_ACCESS_TOKEN` is set, else the outbox.
fn messenger(outbox: &Arc<Outbox>) -> Result<Arc<dyn Messenger>, CliError> {
    let reply = ReplyConfig::from_env()?;
    Ok(match reply.graph.access_token.clone() {
        Some(token) => mizan_ai_reply::graph_messenger(&reply, token),
        None => outbox.clone() as Arc<dyn Messenger>,
    })
}

/// What EventBridge delivers on a schedule, with a deadline like the template's timeout.
fn scheduled_event() -> lambda_runtime::LambdaEvent<serde_json::Value> {
    let now = mizan_shared::domain::time::Timestamp::now();
    let payload = serde_json::json!({
        "version": "0",
        "id": "local",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": now.to_rfc3339(),
        "region": "local",
        "resources": [],
        "detail": {}
    });
    let mut context = lambda_runtime::Context::default();
    context.deadline = u64::try_from(now.as_millis()).unwrap_or(0) + PURGE_TIMEOUT_MS;
    lambda_runtime::LambdaEvent::new(payload, context)
}

/// The purge function's timeout in `template.yaml` (15 minutes).
const PURGE_TIMEOUT_MS: u64 = 900_000;
// data-export ---------------------------------------------------------------------------------

/// data-export's dependencies (API and worker), with `MIZAN_EXPORT_*` from the environment and
/// the link-signing key from the data directory unless `MIZAN_EXPORT_TOKEN_SECRET` is set.
/// Download links point at `MIZAN_PUBLIC_BASE_URL` when set, else at the runner itself.
pub fn data_export(
    config: &Config,
    services: &Services,
    runner_url: &str,
) -> Result<mizan_data_export::Deps, CliError> {
    let mut export = ExportConfig::from_env()?;
    export
        .public_base_url
        .get_or_insert_with(|| runner_url.to_owned());
    Ok(mizan_data_export::Deps::new(services, config, &export)?)
}

struct ExportWorker {
    deps: mizan_data_export::Deps,
}

#[async_trait]
impl StreamConsumer for ExportWorker {
    fn name(&self) -> &str {
        "data-export-worker"
    }

    /// A retryable failure makes the feed retry the batch (built jobs are not built again); a
    /// job that cannot be built is marked failed by the worker itself.
    async fn handle(&self, event: Event) -> Result<(), String> {
        let report = mizan_data_export::worker::handle_batch(&self.deps, event).await;
        if report.retry.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{} export job(s) failed retryably",
                report.retry.len()
            ))
        }
    }
}

// consent-api ---------------------------------------------------------------------------------

/// consent-api managing templates through the Graph API when `MIZAN_WHATSAPP_ACCESS_TOKEN` is
/// set, else through the local stand-in (what is submitted is approved at once).
pub fn consent_api(
    services: &Services,
    config: &Config,
) -> Result<mizan_consent_api::Deps, CliError> {
    let graph = GraphConfig::from_env()?;
    let deps = match graph.access_token.clone() {
        Some(token) => mizan_consent_api::Deps::with_catalog(
            services,
            mizan_consent_api::graph_templates(&graph, token),
        ),
        None => mizan_consent_api::Deps::with_catalog(services, local_templates()),
    };
    let deps = deps
        .with_deployment(processing_deployment(config, &|var| {
            std::env::var(var).ok()
        }))
        .with_webhook_urls(WEBHOOK_URLS);
    tracing::info!(templates = deps.templates.name(), "consent-api hosted");
    Ok(deps)
}

/// The runner's one stand-in for Meta's template review, shared by the API and the admin
/// commands of one process.
pub fn local_templates() -> Arc<dyn TemplateCatalog> {
    static LOCAL: std::sync::OnceLock<Arc<LocalTemplates>> = std::sync::OnceLock::new();
    LOCAL
        .get_or_init(|| Arc::new(LocalTemplates::default()))
        .clone()
}

// ai-reply ------------------------------------------------------------------------------------

/// The outbox the runner's ai-reply sends to when no Graph API token is configured; its
/// entries are served at `GET /local/outbox`.
pub fn outbox() -> Result<Arc<Outbox>, CliError> {
    Ok(Arc::new(Outbox::new(
        ReplyConfig::from_env()?.graph.version,
    )))
}

/// ai-reply with the configured model (`MIZAN_AI_*`) or the built-in FAQ responder, sending
/// through the Graph API when `MIZAN_WHATSAPP_ACCESS_TOKEN` is set, else into the outbox.
pub fn ai_reply(
    services: &Services,
    outbox: &Arc<Outbox>,
    export: &mizan_data_export::Deps,
) -> Result<Arc<dyn StreamConsumer>, CliError> {
    let reply = ReplyConfig::from_env()?;
    let sender = messenger(outbox)?;
    // Links of exports asked for in the chat: data-export's signer, pointing at the runner.
    let links = export.public_base_url.clone().map(|base_url| {
        Arc::new(ExportLinks {
            signer: export.signer.clone(),
            base_url,
        })
    });
    let deps = mizan_ai_reply::Deps::sending_through(services, &reply, sender)?.with_links(links);
    tracing::info!(
        responder = deps.responder.name(),
        messenger = deps.messenger.name(),
        "ai-reply hosted"
    );
    Ok(Arc::new(AiReply { deps }))
}

struct AiReply {
    deps: mizan_ai_reply::Deps,
}

#[async_trait]
impl StreamConsumer for AiReply {
    fn name(&self) -> &str {
        "ai-reply"
    }

    /// A retryable failure makes the feed retry the batch: the rest of it is answered already,
    /// and its claims keep it from being answered twice. A failure no retry can mend is logged
    /// by the handler and passed over, where Lambda would send it to the failure queue after its
    /// retries: the feed has no such queue and must not stop for it.
    async fn handle(&self, event: Event) -> Result<(), String> {
        let report = mizan_ai_reply::handle_batch(&self.deps, event).await;
        let retryable = report
            .outcomes
            .iter()
            .filter(|(_, _, o)| *o == mizan_ai_reply::Outcome::Failed { retryable: true })
            .count();
        if retryable == 0 {
            Ok(())
        } else {
            Err(format!(
                "{retryable} contact(s) of the batch failed retryably"
            ))
        }
    }
}
