//! What a business does with its webhook endpoints: add one (its secret shown once), list,
//! remove, enable again after Mizan disabled it, read an endpoint's delivery log, and replay a
//! delivery. Every change is audited.

use crate::domain::audit::{Actor, AuditEvent};
use crate::domain::business_event::EventType;
use crate::domain::ids::{random_id, TenantId};
use crate::domain::webhook::{
    is_delivery_id, Delivery, DeliveryState, EndpointId, EndpointState, UrlPolicy, WebhookEndpoint,
    MAX_ENDPOINTS,
};
use crate::ports::records::{Cursor, Page};
use crate::store::{DataError, Store, Versioned};
use secrecy::SecretString;

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("no webhook endpoint has this id")]
    EndpointNotFound,
    #[error("no delivery of this endpoint has this id")]
    DeliveryNotFound,
    #[error("an account has at most {MAX_ENDPOINTS} webhook endpoints")]
    TooMany,
    /// A state the change does not apply to (`code` names it).
    #[error("{message}")]
    State {
        code: &'static str,
        message: &'static str,
    },
    #[error(transparent)]
    Data(#[from] DataError),
}

/// A new endpoint as the business describes it.
#[derive(Clone, Debug, Default)]
pub struct NewEndpoint {
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
}

const MAX_DESCRIPTION_CHARS: usize = 200;

fn invalid(field: &'static str, reason: impl Into<String>) -> WebhookError {
    WebhookError::Invalid {
        field,
        reason: reason.into(),
    }
}

/// The event types `names` asks for, each known, in a stable order.
pub fn event_types(names: &[String]) -> Result<Vec<EventType>, WebhookError> {
    if names.is_empty() {
        return Err(invalid("events", "name at least one event type"));
    }
    let mut types = Vec::new();
    for name in names {
        let event_type = EventType::parse(name.trim()).ok_or_else(|| {
            invalid(
                "events",
                format!(
                    "unknown event type {name:?}; known: {}",
                    EventType::ALL.map(EventType::as_str).join(", ")
                ),
            )
        })?;
        if !types.contains(&event_type) {
            types.push(event_type);
        }
    }
    types.sort();
    Ok(types)
}

pub struct Endpoints<'a> {
    pub store: &'a Store,
    pub policy: UrlPolicy,
}

impl Endpoints<'_> {
    /// Adds an endpoint; its signing secret is returned here only.
    pub async fn add(
        &self,
        tenant: &TenantId,
        actor: Actor,
        input: NewEndpoint,
    ) -> Result<(WebhookEndpoint, SecretString), WebhookError> {
        let url = input.url.trim().to_owned();
        self.policy
            .check(&url)
            .map_err(|e| invalid("url", e.to_string()))?;
        let events = event_types(&input.events)?;
        let description = input
            .description
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty());
        if description
            .as_ref()
            .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS)
        {
            return Err(invalid(
                "description",
                format!("at most {MAX_DESCRIPTION_CHARS} characters"),
            ));
        }
        if self.store.webhook_endpoints(tenant).await?.len() >= MAX_ENDPOINTS {
            return Err(WebhookError::TooMany);
        }
        let now = self.store.now();
        let endpoint = WebhookEndpoint {
            id: EndpointId::generate(),
            tenant: tenant.clone(),
            url,
            events,
            description,
            created_at: now,
            state: EndpointState::Enabled,
            failing_since: None,
            secret_salt: random_id("salt"),
        };
        let audit = AuditEvent::new(tenant.clone(), actor, "webhook.endpoint_added", None, now)
            .with_detail(serde_json::json!({
                "endpoint": endpoint.id,
                "events": endpoint.events,
            }));
        self.store.add_webhook_endpoint(&endpoint, &audit).await?;
        let secret = self.secret_of(&endpoint);
        Ok((endpoint, secret))
    }

    /// The signing secret of `endpoint`.
    pub fn secret_of(&self, endpoint: &WebhookEndpoint) -> SecretString {
        self.store.hasher().webhook_secret(
            &endpoint.tenant,
            endpoint.id.as_str(),
            &endpoint.secret_salt,
        )
    }

    pub async fn list(&self, tenant: &TenantId) -> Result<Vec<WebhookEndpoint>, WebhookError> {
        Ok(self
            .store
            .webhook_endpoints(tenant)
            .await?
            .into_iter()
            .map(|e| e.value)
            .collect())
    }

    pub async fn remove(
        &self,
        tenant: &TenantId,
        actor: Actor,
        id: &str,
    ) -> Result<(), WebhookError> {
        let id = EndpointId::parse(id).ok_or(WebhookError::EndpointNotFound)?;
        let audit = AuditEvent::new(
            tenant.clone(),
            actor,
            "webhook.endpoint_removed",
            None,
            self.store.now(),
        )
        .with_detail(serde_json::json!({ "endpoint": id }));
        if self
            .store
            .remove_webhook_endpoint(tenant, &id, &audit)
            .await?
        {
            Ok(())
        } else {
            Err(WebhookError::EndpointNotFound)
        }
    }

    /// Enables an endpoint Mizan disabled (failed deliveries stay failed until replayed).
    pub async fn enable(
        &self,
        tenant: &TenantId,
        actor: Actor,
        id: &str,
    ) -> Result<WebhookEndpoint, WebhookError> {
        for _ in 0..3 {
            let mut endpoint = self.endpoint(tenant, id).await?;
            if endpoint.value.is_enabled() {
                return Ok(endpoint.value);
            }
            endpoint.value.state = EndpointState::Enabled;
            endpoint.value.failing_since = None;
            let audit = AuditEvent::new(
                tenant.clone(),
                actor.clone(),
                "webhook.endpoint_enabled",
                None,
                self.store.now(),
            )
            .with_detail(serde_json::json!({ "endpoint": endpoint.value.id }));
            match self
                .store
                .save_webhook_endpoint(&endpoint, Some(&audit))
                .await
            {
                Ok(()) => return Ok(endpoint.value),
                Err(DataError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DataError::Conflict("the webhook endpoint kept changing".into()).into())
    }

    async fn endpoint(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Versioned<WebhookEndpoint>, WebhookError> {
        let id = EndpointId::parse(id).ok_or(WebhookError::EndpointNotFound)?;
        self.store
            .webhook_endpoint(tenant, &id)
            .await?
            .ok_or(WebhookError::EndpointNotFound)
    }

    /// A page of an endpoint's delivery log, newest first.
    pub async fn deliveries(
        &self,
        tenant: &TenantId,
        id: &str,
        limit: usize,
        after: Option<Cursor>,
    ) -> Result<Page<Delivery>, WebhookError> {
        let endpoint = self.endpoint(tenant, id).await?;
        Ok(self
            .store
            .webhook_deliveries(tenant, &endpoint.value.id, limit, after)
            .await?)
    }

    /// Queues a delivered or failed delivery again, with a new day of retries: the change of
    /// its record reaches the router through the stream, which queues it.
    pub async fn replay(
        &self,
        tenant: &TenantId,
        actor: Actor,
        id: &str,
        delivery: &str,
    ) -> Result<Delivery, WebhookError> {
        let endpoint = self.endpoint(tenant, id).await?;
        if !endpoint.value.is_enabled() {
            return Err(WebhookError::State {
                code: "endpoint_disabled",
                message: "the endpoint is disabled: enable it (POST /v1/webhooks/{id}/enable) before replaying",
            });
        }
        if !is_delivery_id(delivery) {
            return Err(WebhookError::DeliveryNotFound);
        }
        let mut found = self
            .store
            .webhook_delivery(tenant, &endpoint.value.id, delivery)
            .await?
            .ok_or(WebhookError::DeliveryNotFound)?;
        if found.value.state == DeliveryState::Pending {
            return Err(WebhookError::State {
                code: "delivery_pending",
                message: "the delivery is still being attempted",
            });
        }
        let now = self.store.now();
        found.value.replay(now);
        let audit = AuditEvent::new(
            tenant.clone(),
            actor,
            "webhook.delivery_replayed",
            found.value.event.contact.clone(),
            now,
        )
        .with_detail(serde_json::json!({
            "endpoint": endpoint.value.id,
            "delivery": delivery,
            "event": found.value.event.id,
        }));
        match self.store.save_webhook_delivery(&found, Some(&audit)).await {
            Err(DataError::Conflict(_)) => {
                return Err(WebhookError::State {
                    code: "delivery_pending",
                    message: "the delivery changed meanwhile (it is being attempted)",
                })
            }
            Err(DataError::NotFound(_)) => return Err(WebhookError::DeliveryNotFound),
            other => other?,
        }
        Ok(found.value)
    }
}
