//! From the data table's changes to queued deliveries: each event goes to every enabled endpoint
//! of its tenant that wants it, as a delivery recorded in the log (idempotently: the same change
//! read twice records nothing new) and handed to the queue in the stream's order.

use super::events::events_of;
use crate::domain::business_event::{BusinessEvent, EventType};
use crate::domain::ids::{ContactId, TenantId};
use crate::domain::tenant::TenantStatus;
use crate::domain::webhook::{Delivery, DeliveryState, WebhookEndpoint};
use crate::ports::record_item::{attr, get_s, item_to_record};
use crate::ports::webhook_delivery::{DeliveryQueue, QueueError, QueuedDelivery};
use crate::store::{layout, DataError, Store};
use aws_lambda_events::event::dynamodb::EventRecord;
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum FanOutError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

impl FanOutError {
    pub fn is_retryable(&self) -> bool {
        match self {
            FanOutError::Data(e) => e.is_retryable(),
            FanOutError::Queue(_) => true,
        }
    }
}

/// What one stream record came to.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct FanOut {
    pub events: usize,
    pub queued: usize,
    /// Replays the business asked for, queued again.
    pub replays: usize,
}

/// The queue group of a delivery: order is kept per endpoint and contact.
pub fn group_of(delivery: &Delivery) -> String {
    match &delivery.event.contact {
        Some(contact) => format!("{}:{contact}", delivery.endpoint),
        None => format!("{}:account", delivery.endpoint),
    }
}

pub fn queued(delivery: &Delivery) -> QueuedDelivery {
    QueuedDelivery {
        tenant: delivery.event.tenant.clone(),
        endpoint: delivery.endpoint.clone(),
        delivery: delivery.id(),
        group: group_of(delivery),
        replay: delivery.replays,
    }
}

/// Makes the deliveries of one stream record's events and queues them.
pub struct Router<'a> {
    pub store: &'a Store,
    pub queue: &'a dyn DeliveryQueue,
    /// Endpoints read in this batch, per tenant.
    endpoints: HashMap<TenantId, Vec<WebhookEndpoint>>,
    /// Whether a contact is still there (not erased, not being erased), per contact read.
    live: HashMap<(TenantId, ContactId), bool>,
}

impl<'a> Router<'a> {
    pub fn new(store: &'a Store, queue: &'a dyn DeliveryQueue) -> Self {
        Router {
            store,
            queue,
            endpoints: HashMap::new(),
            live: HashMap::new(),
        }
    }

    /// The deliveries of `record`'s events, recorded and queued. A record that does not decode
    /// makes nothing (retrying cannot help; it is logged).
    pub async fn route(&mut self, record: &EventRecord) -> Result<FanOut, FanOutError> {
        if let Some(replayed) = replayed_delivery(record) {
            self.queue.enqueue(&[queued(&replayed)]).await?;
            return Ok(FanOut {
                replays: 1,
                ..FanOut::default()
            });
        }
        let events = match events_of(record) {
            Ok(events) => events,
            Err(e) => {
                tracing::error!(error = %e, "a stream record does not decode into events");
                return Ok(FanOut::default());
            }
        };
        let mut outcome = FanOut {
            events: events.len(),
            ..FanOut::default()
        };
        let mut batch = Vec::new();
        for event in events {
            for delivery in self.deliveries_of(event).await? {
                batch.push(queued(&delivery));
            }
        }
        if !batch.is_empty() {
            self.queue.enqueue(&batch).await?;
        }
        outcome.queued = batch.len();
        Ok(outcome)
    }

    /// The deliveries of `event` that still need queueing: new ones, and ones a failed earlier
    /// read of the same change recorded but may not have queued (never attempted yet).
    async fn deliveries_of(&mut self, event: BusinessEvent) -> Result<Vec<Delivery>, DataError> {
        let now = self.store.now();
        let wanting: Vec<_> = self
            .endpoints_of(&event.tenant)
            .await?
            .iter()
            .filter(|e| e.wants(&event))
            .map(|e| e.id.clone())
            .collect();
        // Most accounts have no endpoint wanting most events: nothing more is read for them.
        if wanting.is_empty() {
            return Ok(Vec::new());
        }
        // A contact erased (or being erased) before its change is routed: what it did is not
        // told any more, only what its erasure is (the request, the erasure), and nothing is
        // written to its partition again.
        let live = match &event.contact {
            Some(contact) => self.is_live(&event.tenant, contact).await?,
            None => true,
        };
        if !live && !tells_of_erasure(event.event_type) {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for endpoint in wanting {
            let delivery = Delivery::new(endpoint.clone(), event.clone(), now);
            if self.store.create_webhook_delivery(&delivery, live).await? {
                out.push(delivery);
                continue;
            }
            let existing = self
                .store
                .webhook_delivery(&event.tenant, &endpoint, &delivery.id())
                .await?;
            if let Some(existing) = existing {
                let unattempted =
                    existing.value.state == DeliveryState::Pending && existing.value.attempts == 0;
                if unattempted {
                    out.push(existing.value);
                }
            }
        }
        Ok(out)
    }

    async fn is_live(&mut self, tenant: &TenantId, contact: &ContactId) -> Result<bool, DataError> {
        let key = (tenant.clone(), contact.clone());
        if let Some(live) = self.live.get(&key) {
            return Ok(*live);
        }
        let live = self
            .store
            .contact_state(tenant, contact)
            .await?
            .is_some_and(|c| !c.value.is_erasure_due());
        self.live.insert(key, live);
        Ok(live)
    }

    /// The tenant's endpoints; none once its account is closed (nothing is processed for it
    /// any more, its webhooks included) or gone.
    async fn endpoints_of(&mut self, tenant: &TenantId) -> Result<&[WebhookEndpoint], DataError> {
        if !self.endpoints.contains_key(tenant) {
            let open = self
                .store
                .tenant(tenant)
                .await?
                .is_some_and(|t| t.status == TenantStatus::Active);
            let endpoints = if open {
                self.store
                    .webhook_endpoints(tenant)
                    .await?
                    .into_iter()
                    .map(|e| e.value)
                    .collect()
            } else {
                Vec::new()
            };
            self.endpoints.insert(tenant.clone(), endpoints);
        }
        Ok(&self.endpoints[tenant])
    }
}

/// Whether events of this type are still told once their contact is erased.
fn tells_of_erasure(event_type: EventType) -> bool {
    matches!(
        event_type,
        EventType::RightsRequestReceived
            | EventType::RightsRequestCompleted
            | EventType::ContactErased
    )
}

/// A delivery the business replayed: its record modified with one more replay, pending again.
fn replayed_delivery(record: &EventRecord) -> Option<Delivery> {
    if record.event_name != "MODIFY"
        || get_s(&record.change.new_image, attr::KIND).ok() != Some(layout::kind::WEBHOOK_DELIVERY)
    {
        return None;
    }
    let decode = |image| {
        item_to_record(image)
            .ok()
            .and_then(|r| serde_json::from_value::<Delivery>(r.doc).ok())
    };
    let new = decode(&record.change.new_image)?;
    let old = decode(&record.change.old_image)?;
    (new.replays > old.replays && new.state == DeliveryState::Pending).then_some(new)
}

/// Every delivery still pending, oldest first in each endpoint's log: what a queue that lost
/// its contents (the runner's, on a restart) takes up again.
pub async fn pending_deliveries(store: &Store) -> Result<Vec<QueuedDelivery>, DataError> {
    let mut pending = Vec::new();
    for tenant in store.tenant_ids().await? {
        for endpoint in store.webhook_endpoints(&tenant).await? {
            let mut after = None;
            let mut of_endpoint = Vec::new();
            loop {
                let page = store
                    .webhook_deliveries(&tenant, &endpoint.value.id, 100, after)
                    .await?;
                of_endpoint.extend(
                    page.items
                        .iter()
                        .filter(|d| d.state == DeliveryState::Pending)
                        .map(queued),
                );
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            of_endpoint.reverse();
            pending.extend(of_endpoint);
        }
    }
    Ok(pending)
}
