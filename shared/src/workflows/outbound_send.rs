//! Sending a person's accepted message, in its turn (the sender reads its order from the data
//! table's stream): claimed exactly once, asked of the outbound gate right before the Graph API
//! call with the contact as it is then, and its outcome recorded on the message.

use crate::domain::consent::ConsentEvent;
use crate::domain::message::{DeliveryError, Message, MessageKind};
use crate::domain::outbound::Refusal;
use crate::domain::personal::Personal;
use crate::ports::messenger::{Messenger, OutboundBody, OutboundSend, Recipient, SendError};
use crate::store::{DataError, OrderState, OutboundOrder, Store};
use crate::workflows::persons_gate;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendOutcome {
    Sent,
    /// Claimed or finished before (a stream retry, a duplicate record, a concurrent sender).
    AlreadyHandled,
    /// The gate refused it: the contact changed after the send was accepted.
    Refused(Refusal),
    /// WhatsApp refused it for good (the code Meta gave).
    Failed(Option<i64>),
}

#[derive(Debug, thiserror::Error)]
pub enum OutboundSendError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Send(#[from] SendError),
}

impl OutboundSendError {
    pub fn is_retryable(&self) -> bool {
        match self {
            OutboundSendError::Data(e) => e.is_retryable(),
            OutboundSendError::Send(e) => e.is_retryable(),
        }
    }
}

/// Sends the message `order` names, at most once.
pub async fn send_order(
    store: &Store,
    messenger: &dyn Messenger,
    order: &OutboundOrder,
) -> Result<SendOutcome, OutboundSendError> {
    // The stream's image may be old: the stored order decides.
    let Some(order) = store
        .outbound_order(&order.tenant, &order.contact, &order.message)
        .await?
    else {
        return Ok(SendOutcome::AlreadyHandled); // erased meanwhile
    };
    if order.state != OrderState::Queued || !store.claim_outbound(&order).await? {
        return Ok(SendOutcome::AlreadyHandled);
    }
    match gate_and_send(store, messenger, &order).await {
        Ok(outcome) => Ok(outcome),
        Err(e) if e.is_retryable() => {
            // Nothing went out: the stream's retry sends it.
            store.release_outbound(&order).await?;
            Err(e)
        }
        Err(OutboundSendError::Send(e)) => {
            let error = DeliveryError {
                code: e.code().unwrap_or_default(),
                title: e.title().to_owned(),
            };
            store
                .record_outbound_failed(
                    &order.tenant,
                    &order.contact,
                    &order.message,
                    vec![error],
                    None,
                )
                .await?;
            // The person stopped marketing messages in WhatsApp (131050): their decision too.
            if let Some(event) = e.code().and_then(|code| {
                ConsentEvent::from_delivery_error(
                    order.tenant.clone(),
                    order.contact.clone(),
                    &order.message,
                    code,
                    store.now(),
                )
            }) {
                store.record_consent(&event, None).await?;
            }
            store
                .finish_outbound(&order, OrderState::Failed { code: e.code() })
                .await?;
            Ok(SendOutcome::Failed(e.code()))
        }
        Err(e) => Err(e),
    }
}

async fn gate_and_send(
    store: &Store,
    messenger: &dyn Messenger,
    order: &OutboundOrder,
) -> Result<SendOutcome, OutboundSendError> {
    let tenant = store.tenant(&order.tenant).await?;
    if tenant.as_ref().is_some_and(|t| !t.is_active()) {
        return refuse(store, order, Refusal::AccountClosed).await;
    }
    let contact = store.contact(&order.tenant, &order.contact).await?;
    let policy = tenant.as_ref().map(|t| t.retention()).unwrap_or_default();
    let message = store
        .message_by_id(&order.tenant, &order.contact, &order.message, &policy)
        .await?;
    let body = message.as_ref().and_then(|m| body_of(m, order));
    let from = tenant
        .as_ref()
        .and_then(|t| t.phone_numbers.first().cloned());
    let to = contact.as_ref().and_then(|c| Recipient::of(&c.value));
    let (Some(message), Some(body), Some(from), Some(to), Some(contact)) =
        (message, body, from, to, contact.as_ref())
    else {
        // The contact, its profile or the message's content is gone (erased, expired), or the
        // tenant has no number left: nothing can be sent.
        return refuse(store, order, Refusal::Gone).await;
    };
    let allowed = persons_gate::ask(
        store,
        &order.tenant,
        &contact.value,
        order.template_category,
    )
    .await?;
    if let Err(refusal) = allowed {
        return refuse(store, order, refusal).await;
    }
    let wamid = messenger.send(&OutboundSend { from, to, body }).await?;
    // Sent: from here on nothing may release the order, whatever fails.
    if let Err(e) = store.record_outbound_sent(&message, &wamid).await {
        tracing::error!(
            tenant = %order.tenant,
            error = %e,
            "a person's message was sent but its wamid not recorded; it is not sent again"
        );
    }
    store.finish_outbound(order, OrderState::Sent).await?;
    tracing::info!(
        tenant = %order.tenant,
        contact = %store.hasher().for_logs(order.contact.as_str()),
        template = order.template_category.is_some(),
        messenger = messenger.name(),
        "a person's message was sent"
    );
    Ok(SendOutcome::Sent)
}

/// What goes to the Graph API, from the sealed content.
fn body_of(message: &Message, order: &OutboundOrder) -> Option<OutboundBody> {
    let content = message.content.as_ref()?;
    match (order.template_category, message.kind) {
        (Some(_), MessageKind::Template) => content
            .template_object()
            .map(|t| OutboundBody::Template(Personal::new(t.clone()))),
        (None, MessageKind::Text) => content.body().map(|b| OutboundBody::Text(b.into())),
        _ => None,
    }
}

async fn refuse(
    store: &Store,
    order: &OutboundOrder,
    refusal: Refusal,
) -> Result<SendOutcome, OutboundSendError> {
    // Marks the message failed, saying why (nothing to mark when it is gone).
    store
        .record_outbound_failed(
            &order.tenant,
            &order.contact,
            &order.message,
            Vec::new(),
            Some(refusal.as_str()),
        )
        .await?;
    store
        .finish_outbound(
            order,
            OrderState::Refused {
                reason: refusal.as_str().to_owned(),
            },
        )
        .await?;
    tracing::info!(
        tenant = %order.tenant,
        contact = %store.hasher().for_logs(order.contact.as_str()),
        refusal = refusal.as_str(),
        "a person's message was not sent: the contact changed after it was accepted"
    );
    Ok(SendOutcome::Refused(refusal))
}
