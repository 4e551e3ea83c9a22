//! Messages: stored once per WhatsApp id, content sealed, statuses forward-only, reads that
//! never show what retention has already taken.

use super::{from_doc, layout, to_doc, DataError, Store, MAX_OPTIMISTIC_ATTEMPTS};
use crate::domain::ids::{ContactId, TenantId, Wamid};
use crate::domain::message::{DeliveryError, Direction, Message, MessageContent, Status};
use crate::domain::retention::{Category, RetentionPolicy};
use crate::domain::time::Timestamp;
use crate::ports::records::{
    Changes, Condition, Cursor, Page, Query, Range, Record, StoreError, Write,
};

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
}

impl Store {
    async fn message_record(
        &self,
        message: &Message,
        policy: &RetentionPolicy,
    ) -> Result<Record, DataError> {
        let key = layout::message(&message.tenant, &message.contact, &message.wamid);
        let kind = match message.direction {
            Direction::Inbound => layout::kind::MESSAGE_IN,
            Direction::Outbound => layout::kind::MESSAGE_OUT,
        };
        let mut record = Record::new(key.clone(), kind, to_doc(message)?);
        if let Some(content) = &message.content {
            record.sealed = Some(
                self.seal(&message.tenant, &message.contact, &key, content)
                    .await?,
            );
        }
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
        record.expires_at = Some(
            message
                .sent_at
                .plus(policy.period(Category::MessageMetadata)),
        );
        Ok(record)
    }

    /// Stores a message unless one with its WhatsApp id is stored already.
    pub async fn put_message(
        &self,
        message: &Message,
        policy: &RetentionPolicy,
    ) -> Result<PutOutcome, DataError> {
        let record = self.message_record(message, policy).await?;
        match self
            .records
            .write(Write::Put {
                record,
                condition: Condition::Absent,
            })
            .await
        {
            Ok(()) => Ok(PutOutcome::Stored),
            Err(StoreError::ConditionFailed { .. }) => Ok(PutOutcome::Duplicate),
            Err(e) => Err(e.into()),
        }
    }

    async fn decode_message(
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
            message.content = self
                .open::<MessageContent>(
                    &message.tenant,
                    &message.contact,
                    record,
                    "message content",
                )
                .await?;
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
        match self
            .records
            .get(&layout::message(tenant, contact, wamid), now)
            .await?
        {
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

    /// Applies a status report to an outbound message; reports arrive twice and out of order,
    /// and the stored status only ever moves forward.
    pub async fn apply_status(
        &self,
        tenant: &TenantId,
        contact: &ContactId,
        wamid: &Wamid,
        status: Status,
        at: Timestamp,
        errors: Vec<DeliveryError>,
    ) -> Result<StatusOutcome, DataError> {
        let key = layout::message(tenant, contact, wamid);
        for _ in 0..MAX_OPTIMISTIC_ATTEMPTS {
            let Some(record) = self.records.get(&key, self.now()).await? else {
                return Ok(StatusOutcome::UnknownMessage);
            };
            let mut message: Message = from_doc(&record, "message")?;
            if !message.apply_status(status, at, errors.clone()) {
                return Ok(StatusOutcome::Unchanged(message.status));
            }
            let write = Write::Update {
                key: key.clone(),
                changes: Changes {
                    doc: Some(to_doc(&message)?),
                    version: Some(message.status.rank()),
                    ..Changes::default()
                },
                condition: Condition::VersionBelow(message.status.rank()),
            };
            match self.records.write(write).await {
                Ok(()) => return Ok(StatusOutcome::Advanced(message.status)),
                // Someone stored a status at least as far along: read it and decide again.
                Err(StoreError::ConditionFailed { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DataError::Store(StoreError::Busy(
            "message status kept changing".into(),
        )))
    }
}
