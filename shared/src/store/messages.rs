//! Messages: stored once per WhatsApp id, wamid and content sealed, statuses forward-only (and
//! kept until their message exists), reads that never show what retention has already taken.

use super::consent::ConsentCommit;
use super::{from_doc, layout, to_doc, DataError, Store, MAX_OPTIMISTIC_ATTEMPTS};
use crate::domain::consent::ConsentEvent;
use crate::domain::ids::{ContactId, MessageId, TenantId, Wamid};
use crate::domain::message::{DeliveryError, Direction, Message, MessageContent, Status};
use crate::domain::retention::{Category, RetentionPolicy};
use crate::domain::time::Timestamp;
use crate::ports::records::{
    Changes, Condition, Cursor, Page, Query, Range, Record, StoreError, Write,
};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutOutcome {
    Stored,
    /// The same WhatsApp id was stored before: nothing changed.
    Duplicate,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusOutcome {
    Advanced(Status),
    /// The report was older than (or equal to) what is stored.
    Unchanged(Status),
    UnknownMessage,
    /// Kept until its message is stored (or its retention ends).
    Pending,
}

/// What is sealed of a message: WhatsApp's id (it embeds the phone number) and the content.
#[derive(Serialize, Deserialize)]
pub(super) struct SealedMessage {
    /// `None` for a person's send not sent yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) wamid: Option<Wamid>,
    pub(super) content: Option<MessageContent>,
}

/// One status report of an outbound message (also how it is kept until its message exists).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusFields {
    pub status: Status,
    pub at: Timestamp,
    #[serde(default)]
    pub errors: Vec<DeliveryError>,
    /// Pricing and conversation reported with it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing: Option<serde_json::Value>,
}

impl Store {
    /// The storage id of a WhatsApp message of this tenant.
    pub fn message_id(&self, tenant: &TenantId, wamid: &Wamid) -> MessageId {
        self.hasher.message_id(tenant, wamid)
    }

    pub(super) async fn message_record(&self, message: &Message) -> Result<Record, DataError> {
        // A person's send is stored before WhatsApp names it: its id is Mizan's own, and
        // statuses find it through its wamid route once sent. Every other message is keyed by
        // its wamid, which makes a redelivery land on the same record.
        let sent_by_mizan_id = message.agent.is_some() || message.campaign.is_some();
        let wamid = match (&message.wamid, sent_by_mizan_id) {
            (Some(wamid), false) => {
                if self.message_id(&message.tenant, wamid) != message.id {
                    return Err(DataError::Invalid(
                        "the message id is not its wamid's".into(),
                    ));
                }
                Some(wamid.clone())
            }
            (wamid, true) => wamid.clone(),
            (None, false) => {
                return Err(DataError::Invalid(
                    "a message is stored with its wamid".into(),
                ))
            }
        };
        let key = layout::message(&message.tenant, &message.contact, &message.id);
        let kind = match message.direction {
            Direction::Inbound => layout::kind::MESSAGE_IN,
            Direction::Outbound => layout::kind::MESSAGE_OUT,
        };
        let mut record = Record::new(key.clone(), kind, to_doc(message)?);
        let sealed = SealedMessage {
            wamid,
            content: message.content.clone(),
        };
        record.sealed = Some(
            self.seal(&message.tenant, &message.contact, &key, &sealed)
                .await?,
        );
        record.version = message.status.rank();
        record.time = Some(message.sent_at);
        // Content first: the purge removes it at the chat retention, then re-files the record
        // under message metadata until the 90-day minimum.
        record.retention = Some(layout::retention_entry(
            &message.tenant,
            Category::ChatContent,
            &key,
            message.sent_at,
        ));
        // The TTL backstop at the longest period any setting allows: a tenant who raises its
        // chat retention later keeps what is stored; the purge removes it on the current one.
        record.expires_at = Some(
            message
                .sent_at
                .plus(RetentionPolicy::longest(Category::MessageMetadata)),
        );
        Ok(record)
    }

    /// Stores a message unless one with its WhatsApp id is stored already. An outbound message
    /// takes on the statuses reported before it was stored.
    pub async fn put_message(&self, message: &Message) -> Result<PutOutcome, DataError> {
        let record = self.message_record(message).await?;
        match self
            .records
            .write(Write::Put {
                record,
                condition: Condition::Absent,
            })
            .await
        {
            Ok(()) => {}
            Err(StoreError::ConditionFailed { .. }) => return Ok(PutOutcome::Duplicate),
            Err(e) => return Err(e.into()),
        }
        if message.direction == Direction::Outbound {
            self.apply_pending_statuses(message).await?;
        }
        Ok(PutOutcome::Stored)
    }

    /// Stores an inbound message and, when it carries a consent decision (a keyword), the
    /// decision with it in one transaction: both or neither, once however often it is delivered.
    pub async fn ingest_message(
        &self,
        message: &Message,
        consent: Option<&ConsentEvent>,
    ) -> Result<PutOutcome, DataError> {
        let Some(event) = consent else {
            return self.put_message(message).await;
        };
        let put = Write::Put {
            record: self.message_record(message).await?,
            condition: Condition::Absent,
        };
        match self.commit_consent(event, vec![put]).await? {
            ConsentCommit::Recorded(_) => Ok(PutOutcome::Stored),
            ConsentCommit::CompanionRefused => Ok(PutOutcome::Duplicate),
            // The decision is in (its evidence is this message): store the message if missing.
            ConsentCommit::AlreadyRecorded(_) => self.put_message(message).await,
        }
    }

    pub(super) async fn decode_message(
        &self,
        record: &Record,
        policy: &RetentionPolicy,
        now: Timestamp,
    ) -> Result<Option<Message>, DataError> {
        let mut message: Message = from_doc(record, "message")?;
        if !policy.metadata_readable(message.sent_at, now) {
            return Ok(None);
        }
        if policy.content_readable(message.sent_at, now) {
            let sealed: Option<SealedMessage> = self
                .open(&message.tenant, &message.contact, record, "message content")
                .await?;
            if let Some(sealed) = sealed {
                message.wamid = sealed.wamid;
                message.content = sealed.content;
            }
        }
        Ok(Some(message))
    }

    pub async fn message(
        &self,
        tenant: &TenantId,
        contact: &ContactId,
        wamid: &Wamid,
        policy: &RetentionPolicy,
    ) -> Result<Option<Message>, DataError> {
        let now = self.now();
        let key = layout::message(tenant, contact, &self.message_id(tenant, wamid));
        match self.records.get(&key, now).await? {
            Some(record) => self.decode_message(&record, policy, now).await,
            None => Ok(None),
        }
    }

    /// The newest messages of a conversation first, only those still within retention.
    pub async fn conversation(
        &self,
        tenant: &TenantId,
        contact: &ContactId,
        policy: &RetentionPolicy,
        limit: usize,
        after: Option<Cursor>,
    ) -> Result<Page<Message>, DataError> {
        let now = self.now();
        let oldest_readable = policy
            .cutoff(Category::MessageMetadata, now)
            .plus(std::time::Duration::from_millis(1));
        let page = self
            .records
            .query(
                &Query {
                    pk: layout::contact_partition(tenant, contact),
                    range: Range::Time {
                        from: oldest_readable,
                        to: Timestamp::from_millis(i64::MAX),
                    },
                    newest_first: true,
                    limit,
                    after,
                },
                now,
            )
            .await?;
        let mut items = Vec::with_capacity(page.items.len());
        for record in &page.items {
            if let Some(message) = self.decode_message(record, policy, now).await? {
                items.push(message);
            }
        }
        Ok(Page {
            items,
            next: page.next,
        })
    }

    /// Applies a status report to a stored message; reports arrive twice and out of order, and
    /// the stored status only ever moves forward.
    pub async fn apply_status(
        &self,
        tenant: &TenantId,
        contact: &ContactId,
        wamid: &Wamid,
        status: Status,
        at: Timestamp,
        errors: Vec<DeliveryError>,
    ) -> Result<StatusOutcome, DataError> {
        let id = self.message_id(tenant, wamid);
        let fields = StatusFields {
            status,
            at,
            errors,
            billing: None,
        };
        self.advance_status(tenant, contact, &id, &fields).await
    }

    async fn advance_status(
        &self,
        tenant: &TenantId,
        contact: &ContactId,
        id: &MessageId,
        report: &StatusFields,
    ) -> Result<StatusOutcome, DataError> {
        let key = layout::message(tenant, contact, id);
        for _ in 0..MAX_OPTIMISTIC_ATTEMPTS {
            let Some(record) = self.records.get(&key, self.now()).await? else {
                return Ok(StatusOutcome::UnknownMessage);
            };
            let mut message: Message = from_doc(&record, "message")?;
            let stored_rank = message.status.rank();
            let advanced = message.apply_status(report.status, report.at, report.errors.clone());
            let billed = report.billing.is_some() && message.billing != report.billing;
            if billed {
                message.billing.clone_from(&report.billing);
            }
            if !advanced && !billed {
                return Ok(StatusOutcome::Unchanged(message.status));
            }
            // A forward move must find the stored status still behind it; a billing-only change
            // must find it unchanged.
            let condition = if advanced {
                Condition::VersionBelow(message.status.rank())
            } else {
                Condition::VersionIs(stored_rank)
            };
            let write = Write::Update {
                key: key.clone(),
                changes: Changes {
                    doc: Some(to_doc(&message)?),
                    version: Some(message.status.rank()),
                    ..Changes::default()
                },
                condition,
            };
            match self.records.write(write).await {
                Ok(()) if advanced => {
                    if let Some(link) = &message.campaign {
                        // The campaign's recipient and counters follow its message.
                        self.campaign_message_status(&message, link).await?;
                    }
                    return Ok(StatusOutcome::Advanced(message.status));
                }
                Ok(()) => return Ok(StatusOutcome::Unchanged(message.status)),
                // Someone stored a status meanwhile: read it and decide again.
                Err(StoreError::ConditionFailed { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DataError::Store(StoreError::Busy(
            "message status kept changing".into(),
        )))
    }

    /// A status report from a webhook: applied to its message, or kept until the message is
    /// stored when the message (or its contact) is not known yet.
    pub async fn record_status(
        &self,
        tenant: &TenantId,
        contact: Option<&ContactId>,
        wamid: &Wamid,
        report: StatusFields,
    ) -> Result<StatusOutcome, DataError> {
        let id = self.message_id(tenant, wamid);
        if let Some(contact) = contact {
            let outcome = self.advance_status(tenant, contact, &id, &report).await?;
            if outcome != StatusOutcome::UnknownMessage {
                return Ok(outcome);
            }
            // A person's send is stored under Mizan's own id: its wamid routes to it.
            if let Some(routed) = self.routed_message(tenant, contact, &id).await? {
                return self.advance_status(tenant, contact, &routed, &report).await;
            }
        }
        let key = layout::pending_status(tenant, &id, report.status.rank());
        let at = report.at;
        let mut record = Record::new(key.clone(), layout::kind::PENDING_STATUS, to_doc(&report)?);
        record.retention = Some(layout::retention_entry(
            tenant,
            Category::MessageMetadata,
            &key,
            at,
        ));
        record.expires_at = Some(at.plus(RetentionPolicy::default().message_metadata));
        // One record per (message, status): a repeated report rewrites the same record.
        self.records
            .write(Write::Put {
                record,
                condition: Condition::Always,
            })
            .await?;
        Ok(StatusOutcome::Pending)
    }

    pub(super) async fn apply_pending_statuses(&self, message: &Message) -> Result<(), DataError> {
        self.apply_pending_statuses_to(&message.tenant, &message.contact, &message.id, &message.id)
            .await
    }

    /// Applies the statuses kept for the wamid hashed to `pending_id` to the message `target`.
    pub(super) async fn apply_pending_statuses_to(
        &self,
        tenant: &TenantId,
        contact: &ContactId,
        pending_id: &MessageId,
        target: &MessageId,
    ) -> Result<(), DataError> {
        let query = Query::prefix(layout::pending_status_partition(tenant, pending_id), "");
        let pending = self.query_all(query, self.now()).await?;
        if pending.is_empty() {
            return Ok(());
        }
        for record in &pending {
            let report: StatusFields = from_doc(record, "pending status")?;
            self.advance_status(tenant, contact, target, &report)
                .await?;
        }
        self.records
            .delete_many(pending.into_iter().map(|r| r.key).collect())
            .await?;
        Ok(())
    }
}
