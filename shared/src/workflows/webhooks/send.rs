//! One attempt of one queued delivery: signed, posted, its outcome in the log, and what the queue
//! does next (forget it, or hold its group and retry later). An endpoint that has failed every
//! delivery for a day is disabled, audited, and announced to the account's other endpoints.

use crate::domain::audit::{Actor, AuditEvent};
use crate::domain::time::Timestamp;
use crate::domain::webhook::{
    after_attempt, AttemptResult, Delivery, DeliveryState, EndpointState, NextStep, WebhookEndpoint,
};
use crate::domain::webhook_signature::{
    sign, DELIVERY_ID_HEADER, EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER,
};
use crate::ports::webhook_delivery::{QueuedDelivery, WebhookPoster, WebhookRequest};
use crate::store::{DataError, Store, Versioned};
use std::time::Duration;

/// What the queue does with a delivery after its turn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Turn {
    /// Delivered, given up, or nothing left to do: the queue forgets it.
    Finished,
    /// Keep it (and the deliveries queued behind it in its group) and try again after this.
    RetryIn(Duration),
}

/// How long a delivery waits when Mizan's own store failed (not the endpoint).
pub const STORE_RETRY: Duration = Duration::from_secs(5);

pub struct Sender<'a> {
    pub store: &'a Store,
    pub poster: &'a dyn WebhookPoster,
}

impl Sender<'_> {
    /// Takes `queued`'s turn; a failure of the store is retried like the endpoint's.
    pub async fn turn(&self, queued: &QueuedDelivery) -> Turn {
        match self.attempt(queued).await {
            Ok(turn) => turn,
            Err(e) => {
                tracing::warn!(
                    tenant = %queued.tenant,
                    endpoint = %queued.endpoint,
                    delivery = %queued.delivery,
                    retryable = e.is_retryable(),
                    error = %e,
                    "webhook delivery could not be handled; it is retried"
                );
                Turn::RetryIn(STORE_RETRY)
            }
        }
    }

    async fn attempt(&self, queued: &QueuedDelivery) -> Result<Turn, DataError> {
        let store = self.store;
        let Some(mut delivery) = store
            .webhook_delivery(&queued.tenant, &queued.endpoint, &queued.delivery)
            .await?
        else {
            // Its contact was erased, or its log expired: nothing to send.
            return Ok(Turn::Finished);
        };
        if delivery.value.state != DeliveryState::Pending {
            return Ok(Turn::Finished);
        }
        let endpoint = store
            .webhook_endpoint(&queued.tenant, &queued.endpoint)
            .await?;
        let endpoint = match endpoint {
            Some(e) if e.value.is_enabled() => e,
            other => {
                let reason = if other.is_some() {
                    "endpoint_disabled"
                } else {
                    "endpoint_removed"
                };
                fail(&mut delivery.value, reason, store.now());
                save(store, &delivery).await?;
                return Ok(Turn::Finished);
            }
        };
        let body = serde_json::to_vec(&delivery.value.event.body())
            .map_err(|e| DataError::Invalid(format!("event body: {e}")))?;
        let secret = store.hasher().webhook_secret(
            &queued.tenant,
            endpoint.value.id.as_str(),
            &endpoint.value.secret_salt,
        );
        let sent_at = store.now();
        let request = WebhookRequest {
            url: &endpoint.value.url,
            headers: vec![
                (
                    SIGNATURE_HEADER,
                    sign(&secret, sent_at.as_unix_seconds(), &body),
                ),
                (EVENT_ID_HEADER, delivery.value.event.id.clone()),
                (
                    EVENT_TYPE_HEADER,
                    delivery.value.event.event_type.as_str().to_owned(),
                ),
                (DELIVERY_ID_HEADER, queued.delivery.clone()),
            ],
            body,
        };
        let result = self.poster.post(request).await;
        let now = store.now();
        let failing_since = self.note_health(endpoint, &result, now).await?;
        let step = {
            let d = &mut delivery.value;
            d.attempts += 1;
            d.last_attempt_at = Some(now);
            let step = after_attempt(d, &result, failing_since, now);
            match &result {
                AttemptResult::Accepted { status } => {
                    d.last_status = Some(*status);
                    d.last_error = None;
                }
                AttemptResult::Failed { status, reason } => {
                    d.last_status = *status;
                    d.last_error = Some(reason.clone());
                }
            }
            step
        };
        tracing::info!(
            tenant = %queued.tenant,
            endpoint = %queued.endpoint,
            delivery = %queued.delivery,
            event_type = delivery.value.event.event_type.as_str(),
            attempt = delivery.value.attempts,
            status = delivery.value.last_status,
            outcome = ?step,
            "webhook delivery attempted"
        );
        let d = &mut delivery.value;
        match step {
            NextStep::Done => {
                d.state = DeliveryState::Delivered;
                d.delivered_at = Some(now);
                d.next_attempt_at = None;
            }
            NextStep::RetryIn(wait) => d.next_attempt_at = Some(now.plus(wait)),
            NextStep::GiveUp | NextStep::DisableEndpoint => {
                d.state = DeliveryState::Failed;
                d.next_attempt_at = None;
            }
        }
        if step == NextStep::DisableEndpoint {
            self.disable(&queued.tenant, &queued.endpoint, now).await?;
        }
        let saved = save(store, &delivery).await?;
        Ok(match step {
            NextStep::RetryIn(wait) if saved => Turn::RetryIn(wait),
            _ => Turn::Finished,
        })
    }

    /// Notes a success or failure on the endpoint when it changes its health (a failure after
    /// successes, a success after failures); since when it has been failing, if it is.
    async fn note_health(
        &self,
        mut endpoint: Versioned<WebhookEndpoint>,
        result: &AttemptResult,
        now: Timestamp,
    ) -> Result<Option<Timestamp>, DataError> {
        let accepted = matches!(result, AttemptResult::Accepted { .. });
        let failing_since = if accepted {
            None
        } else {
            Some(endpoint.value.failing_since.unwrap_or(now))
        };
        if endpoint.value.failing_since == failing_since {
            return Ok(failing_since);
        }
        endpoint.value.failing_since = failing_since;
        match self.store.save_webhook_endpoint(&endpoint, None).await {
            // Another delivery noted it first: what it noted stands.
            Ok(()) | Err(DataError::Conflict(_)) => Ok(failing_since),
            Err(e) => Err(e),
        }
    }

    async fn disable(
        &self,
        tenant: &crate::domain::ids::TenantId,
        id: &crate::domain::webhook::EndpointId,
        now: Timestamp,
    ) -> Result<(), DataError> {
        for _ in 0..3 {
            let Some(mut endpoint) = self.store.webhook_endpoint(tenant, id).await? else {
                return Ok(());
            };
            if !endpoint.value.is_enabled() {
                return Ok(());
            }
            let failing_since = endpoint.value.failing_since;
            endpoint.value.state = EndpointState::Disabled {
                at: now,
                reason: "failing".into(),
            };
            let audit = AuditEvent::new(
                tenant.clone(),
                Actor::System("webhooks".into()),
                "webhook.endpoint_disabled",
                None,
                now,
            )
            .with_detail(serde_json::json!({
                "endpoint": { "id": id, "url": endpoint.value.url },
                "failing_since": failing_since.map(Timestamp::to_rfc3339),
                "reason": "failing",
            }));
            match self
                .store
                .save_webhook_endpoint(&endpoint, Some(&audit))
                .await
            {
                Err(DataError::Conflict(_)) => continue,
                other => {
                    tracing::warn!(tenant = %tenant, endpoint = %id, "webhook endpoint disabled after failing for a day");
                    return other;
                }
            }
        }
        Err(DataError::Conflict(
            "the webhook endpoint kept changing".into(),
        ))
    }
}

fn fail(delivery: &mut Delivery, reason: &str, now: Timestamp) {
    delivery.state = DeliveryState::Failed;
    delivery.last_status = None;
    delivery.last_error = Some(reason.to_owned());
    delivery.last_attempt_at = Some(now);
    delivery.next_attempt_at = None;
}

/// Saves the delivery's new state; `false` when it changed meanwhile (a replay queued it
/// again) or is gone (its contact erased): then it is left as it is now.
async fn save(store: &Store, delivery: &Versioned<Delivery>) -> Result<bool, DataError> {
    match store.save_webhook_delivery(delivery, None).await {
        Ok(()) => Ok(true),
        Err(DataError::Conflict(_)) | Err(DataError::NotFound(_)) => Ok(false),
        Err(e) => Err(e),
    }
}
