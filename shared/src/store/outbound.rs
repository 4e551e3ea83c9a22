//! A person's sends. Accepting one stores the message (sealed, status `accepted`, Mizan's own
//! id), its order and the client's idempotency key in one transaction: all or nothing, and a
//! retried request finds the first. The sender then claims the order exactly once, sends, and
//! records the wamid WhatsApp gave the message, with a route so status webhooks find it.

use super::messages::SealedMessage;
use super::{audit_write, from_doc, layout, to_doc, DataError, Store};
use crate::domain::audit::AuditEvent;
use crate::domain::ids::{ApiKeyId, ContactId, MessageId, TenantId, Wamid};
use crate::domain::message::{DeliveryError, Direction, Message, Status};
use crate::domain::retention::{Category, RetentionPolicy};
use crate::domain::template::TemplateCategory;
use crate::domain::time::Timestamp;
use crate::ports::records::{Changes, Condition, Query, Range, Record, StoreError, Write};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How long an idempotency key answers with its first request.
pub const IDEMPOTENCY_WINDOW: Duration = Duration::from_secs(24 * 3600);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum OrderState {
    Queued,
    /// Claimed by a sender. Left so by a crash mid-send, it is never sent again: the message
    /// may have gone out.
    Sending,
    Sent,
    /// WhatsApp refused it for good (code as Meta gave it).
    Failed {
        code: Option<i64>,
    },
    /// The outbound gate refused it when its turn came (the contact changed meanwhile).
    Refused {
        reason: String,
    },
}

/// What the sender works from: which message, what kind of send, who asked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundOrder {
    pub tenant: TenantId,
    pub contact: ContactId,
    pub message: MessageId,
    /// `None`: free text; else the template's category, which the gate decides on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_category: Option<TemplateCategory>,
    pub requested_by: ApiKeyId,
    pub requested_at: Timestamp,
    #[serde(flatten)]
    pub state: OrderState,
}

impl OutboundOrder {
    pub fn for_message(
        message: &Message,
        template_category: Option<TemplateCategory>,
    ) -> Option<Self> {
        Some(OutboundOrder {
            tenant: message.tenant.clone(),
            contact: message.contact.clone(),
            message: message.id.clone(),
            template_category,
            requested_by: message.agent.clone()?,
            requested_at: message.stored_at,
            state: OrderState::Queued,
        })
    }
}

/// A client's idempotency key and request, as keyed hashes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyClaim {
    pub key_hash: String,
    pub fingerprint: String,
}

#[derive(Serialize, Deserialize)]
struct IdempotencyDoc {
    fingerprint: String,
    contact: ContactId,
    message: MessageId,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Acceptance {
    Accepted,
    /// The key was used with the same request: its message.
    Replay {
        contact: ContactId,
        message: MessageId,
    },
    /// The key was used with another request.
    Conflict,
}

#[derive(Serialize, Deserialize)]
struct RouteDoc {
    message: MessageId,
}

const QUEUED: i64 = 0;
const SENDING: i64 = 1;
const FINISHED: i64 = 2;

impl Store {
    /// Stores an accepted send, its order, the idempotency key (if any) and the audit event,
    /// all or nothing.
    pub async fn accept_outbound(
        &self,
        message: &Message,
        order: &OutboundOrder,
        idempotency: Option<&IdempotencyClaim>,
        audit: &AuditEvent,
    ) -> Result<Acceptance, DataError> {
        for _ in 0..2 {
            let mut writes = Vec::with_capacity(4);
            if let Some(claim) = idempotency {
                writes.push(self.idempotency_write(message, claim)?);
            }
            writes.push(Write::Put {
                record: self.message_record(message).await?,
                condition: Condition::Absent,
            });
            writes.push(Write::Put {
                record: order_record(order, QUEUED)?,
                condition: Condition::Absent,
            });
            writes.push(audit_write(audit)?);
            match self.records.transact(writes).await {
                Ok(()) => return Ok(Acceptance::Accepted),
                Err(StoreError::ConditionFailed { index: 0 }) if idempotency.is_some() => {}
                Err(e) => return Err(e.into()),
            }
            let claim = idempotency.expect("only an idempotency key fails the first write");
            match self.idempotent_request(&message.tenant, claim).await? {
                Some(answer) => return Ok(answer),
                // Past its 24 hours but not yet removed by TTL: the key is free again.
                None => {
                    let key = layout::idempotency_key(&message.tenant, &claim.key_hash);
                    self.records.delete_many(vec![key]).await?
                }
            }
        }
        Err(DataError::Store(StoreError::Busy(
            "the idempotency key kept changing".into(),
        )))
    }

    /// What an idempotency key was used for within its 24 hours: the same request (`Replay`)
    /// or another (`Conflict`); `None` when it is unused.
    pub async fn idempotent_request(
        &self,
        tenant: &TenantId,
        claim: &IdempotencyClaim,
    ) -> Result<Option<Acceptance>, DataError> {
        let key = layout::idempotency_key(tenant, &claim.key_hash);
        let Some(record) = self.records.get(&key, self.now()).await? else {
            return Ok(None);
        };
        let first: IdempotencyDoc = from_doc(&record, "idempotency key")?;
        Ok(Some(if first.fingerprint == claim.fingerprint {
            Acceptance::Replay {
                contact: first.contact,
                message: first.message,
            }
        } else {
            Acceptance::Conflict
        }))
    }

    fn idempotency_write(
        &self,
        message: &Message,
        claim: &IdempotencyClaim,
    ) -> Result<Write, DataError> {
        let now = self.now();
        let key = layout::idempotency_key(&message.tenant, &claim.key_hash);
        let mut record = Record::new(
            key.clone(),
            layout::IDEMPOTENCY_KIND,
            to_doc(&IdempotencyDoc {
                fingerprint: claim.fingerprint.clone(),
                contact: message.contact.clone(),
                message: message.id.clone(),
            })?,
        );
        record.expires_at = Some(now.plus(IDEMPOTENCY_WINDOW));
        record.retention = Some(layout::retention_entry(
            &message.tenant,
            Category::MessageMetadata,
            &key,
            now,
        ));
        Ok(Write::Put {
            record,
            condition: Condition::Absent,
        })
    }

    /// One stored message by id, with its content while retention keeps it.
    pub async fn message_by_id(
        &self,
        tenant: &TenantId,
        contact: &ContactId,
        id: &MessageId,
        policy: &RetentionPolicy,
    ) -> Result<Option<Message>, DataError> {
        let now = self.now();
        match self
            .records
            .get(&layout::message(tenant, contact, id), now)
            .await?
        {
            Some(record) => self.decode_message(&record, policy, now).await,
            None => Ok(None),
        }
    }

    pub async fn outbound_order(
        &self,
        tenant: &TenantId,
        contact: &ContactId,
        message: &MessageId,
    ) -> Result<Option<OutboundOrder>, DataError> {
        self.records
            .get(
                &layout::outbound_order(tenant, contact, message),
                self.now(),
            )
            .await?
            .map(|r| from_doc(&r, "outbound order"))
            .transpose()
    }

    /// Claims a queued order for sending; exactly one caller gets `true`.
    pub async fn claim_outbound(&self, order: &OutboundOrder) -> Result<bool, DataError> {
        let claimed = OutboundOrder {
            state: OrderState::Sending,
            ..order.clone()
        };
        self.move_order(&claimed, SENDING, QUEUED).await
    }

    /// Gives a claimed order back (nothing was sent; a retry may send it).
    pub async fn release_outbound(&self, order: &OutboundOrder) -> Result<bool, DataError> {
        let queued = OutboundOrder {
            state: OrderState::Queued,
            ..order.clone()
        };
        self.move_order(&queued, QUEUED, SENDING).await
    }

    /// Records how a claimed order ended.
    pub async fn finish_outbound(
        &self,
        order: &OutboundOrder,
        state: OrderState,
    ) -> Result<bool, DataError> {
        let finished = OutboundOrder {
            state,
            ..order.clone()
        };
        self.move_order(&finished, FINISHED, SENDING).await
    }

    async fn move_order(
        &self,
        order: &OutboundOrder,
        to: i64,
        from: i64,
    ) -> Result<bool, DataError> {
        let write = Write::Update {
            key: layout::outbound_order(&order.tenant, &order.contact, &order.message),
            changes: Changes {
                doc: Some(to_doc(order)?),
                version: Some(to),
                ..Changes::default()
            },
            condition: Condition::VersionIs(from),
        };
        match self.records.write(write).await {
            Ok(()) => Ok(true),
            Err(StoreError::ConditionFailed { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Records the wamid WhatsApp gave a person's send: sealed with its content, routed so
    /// its status webhooks find it, and the statuses that came first applied. A message erased
    /// meanwhile stays erased.
    pub async fn record_outbound_sent(
        &self,
        message: &Message,
        wamid: &Wamid,
    ) -> Result<(), DataError> {
        let (writes, wamid_id) = self.outbound_sent_writes(message, wamid).await?;
        match self.records.transact(writes).await {
            Ok(()) => {}
            Err(StoreError::ConditionFailed { .. }) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        self.apply_pending_statuses_to(&message.tenant, &message.contact, &wamid_id, &message.id)
            .await
    }

    /// The writes that record a sent message's wamid (sealed with its content, and routed), and
    /// the hash of the wamid its early statuses are kept under.
    pub(super) async fn outbound_sent_writes(
        &self,
        message: &Message,
        wamid: &Wamid,
    ) -> Result<(Vec<Write>, MessageId), DataError> {
        let key = layout::message(&message.tenant, &message.contact, &message.id);
        let sealed = self
            .seal(
                &message.tenant,
                &message.contact,
                &key,
                &SealedMessage {
                    wamid: Some(wamid.clone()),
                    content: message.content.clone(),
                },
            )
            .await?;
        let wamid_id = self.message_id(&message.tenant, wamid);
        let route_key = layout::wamid_route(&message.tenant, &message.contact, &wamid_id);
        let mut route = Record::new(
            route_key.clone(),
            layout::WAMID_ROUTE_KIND,
            to_doc(&RouteDoc {
                message: message.id.clone(),
            })?,
        );
        route.retention = Some(layout::retention_entry(
            &message.tenant,
            Category::MessageMetadata,
            &route_key,
            message.sent_at,
        ));
        route.expires_at = Some(
            message
                .sent_at
                .plus(RetentionPolicy::longest(Category::MessageMetadata)),
        );
        let writes = vec![
            Write::Update {
                key,
                changes: Changes {
                    sealed: Some(Some(sealed)),
                    ..Changes::default()
                },
                condition: Condition::Exists,
            },
            Write::Put {
                record: route,
                condition: Condition::Always,
            },
        ];
        Ok((writes, wamid_id))
    }

    /// Marks a person's send failed without a wamid: WhatsApp refused it, or the gate did
    /// (`not_sent` says why).
    pub async fn record_outbound_failed(
        &self,
        tenant: &TenantId,
        contact: &ContactId,
        id: &MessageId,
        errors: Vec<DeliveryError>,
        not_sent: Option<&str>,
    ) -> Result<(), DataError> {
        let key = layout::message(tenant, contact, id);
        let Some(record) = self.records.get(&key, self.now()).await? else {
            return Ok(());
        };
        let mut stored: Message = from_doc(&record, "message")?;
        if !stored.apply_status(Status::Failed, self.now(), errors) {
            return Ok(());
        }
        stored.not_sent = not_sent.map(str::to_owned);
        let write = Write::Update {
            key,
            changes: Changes {
                doc: Some(to_doc(&stored)?),
                version: Some(stored.status.rank()),
                ..Changes::default()
            },
            condition: Condition::VersionBelow(stored.status.rank()),
        };
        match self.records.write(write).await {
            Ok(()) | Err(StoreError::ConditionFailed { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The message a wamid was routed to (a person's send), if any.
    pub(super) async fn routed_message(
        &self,
        tenant: &TenantId,
        contact: &ContactId,
        wamid_id: &MessageId,
    ) -> Result<Option<MessageId>, DataError> {
        Ok(self
            .records
            .get(&layout::wamid_route(tenant, contact, wamid_id), self.now())
            .await?
            .map(|r| from_doc::<RouteDoc>(&r, "wamid route"))
            .transpose()?
            .map(|route| route.message))
    }

    /// When the contact last wrote, if within `window` of now: the customer service window
    /// runs from it. Reads only the window's messages, newest first.
    pub async fn last_inbound_within(
        &self,
        tenant: &TenantId,
        contact: &ContactId,
        window: Duration,
    ) -> Result<Option<Timestamp>, DataError> {
        let now = self.now();
        let mut after = None;
        loop {
            let page = self
                .records
                .query(
                    &Query {
                        pk: layout::contact_partition(tenant, contact),
                        range: Range::Time {
                            from: now.minus(window),
                            to: Timestamp::MAX,
                        },
                        newest_first: true,
                        limit: 25,
                        after,
                    },
                    now,
                )
                .await?;
            for record in &page.items {
                if record.kind == layout::kind::MESSAGE_IN {
                    let message: Message = from_doc(record, "message")?;
                    if message.direction == Direction::Inbound {
                        return Ok(Some(message.sent_at));
                    }
                }
            }
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(None),
            }
        }
    }
}

fn order_record(order: &OutboundOrder, version: i64) -> Result<Record, DataError> {
    let key = layout::outbound_order(&order.tenant, &order.contact, &order.message);
    let mut record = Record::new(key.clone(), layout::OUTBOUND_ORDER_KIND, to_doc(order)?);
    record.version = version;
    record.retention = Some(layout::retention_entry(
        &order.tenant,
        Category::MessageMetadata,
        &key,
        order.requested_at,
    ));
    record.expires_at = Some(
        order
            .requested_at
            .plus(RetentionPolicy::default().message_metadata),
    );
    Ok(record)
}
