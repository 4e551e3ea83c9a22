//! Automated replies, exactly once: a claim written with a conditional put before anything is
//! sent, keyed on the inbound message, so retried stream records and concurrent invocations never
//! send twice; and the contact's reply state (when the opt-out hint last went out).
//!
//! A claim is `claimed` (version 1) while its reply is being made, then `sent` or `failed`
//! (version 2). A retryable failure releases it (deleted if still version 1) so the stream's
//! retry can claim again. A claim left `claimed` by a crash is never taken over: the reply may
//! have gone out, and at most one reply per message is the promise.

use super::{from_doc, layout, to_doc, DataError, Store};
use crate::domain::ids::{ContactId, MessageId, TenantId};
use crate::domain::message::Message;
use crate::domain::reply::ReplyKind;
use crate::domain::retention::{Category, RetentionPolicy};
use crate::domain::time::Timestamp;
use crate::ports::records::{Changes, Condition, Record, StoreError, Write};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ClaimState {
    Claimed,
    /// The reply went out; `reply` is the stored outbound message's id.
    Sent {
        reply: MessageId,
        kind: ReplyKind,
    },
    /// WhatsApp refused it for good (code as Meta gave it), or the send's outcome is unknown.
    Failed {
        code: Option<i64>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyClaim {
    pub tenant: TenantId,
    pub contact: ContactId,
    /// The inbound message the reply answers.
    pub message: MessageId,
    pub claimed_at: Timestamp,
    #[serde(flatten)]
    pub state: ClaimState,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// This caller owns the reply now.
    Claimed(ReplyClaim),
    /// Someone claimed it before (a retry, a duplicate record, a concurrent invocation).
    AlreadyClaimed(ReplyClaim),
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct ReplyStateDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_opt_out_hint_at: Option<Timestamp>,
}

const CLAIMED: i64 = 1;
const FINISHED: i64 = 2;

impl Store {
    /// Claims the reply to `message`; exactly one caller ever gets `Claimed` for a message
    /// (until a release).
    pub async fn claim_reply(
        &self,
        tenant: &TenantId,
        contact: &ContactId,
        message: &MessageId,
    ) -> Result<ClaimOutcome, DataError> {
        let now = self.now();
        let claim = ReplyClaim {
            tenant: tenant.clone(),
            contact: contact.clone(),
            message: message.clone(),
            claimed_at: now,
            state: ClaimState::Claimed,
        };
        let key = layout::reply_claim(tenant, contact, message);
        let mut record = Record::new(key.clone(), layout::REPLY_CLAIM_KIND, to_doc(&claim)?);
        record.version = CLAIMED;
        // Metadata about a message: kept as long as Meta's records minimum, then purged.
        record.retention = Some(layout::retention_entry(
            tenant,
            Category::MessageMetadata,
            &key,
            now,
        ));
        record.expires_at = Some(now.plus(RetentionPolicy::default().message_metadata));
        match self
            .records
            .write(Write::Put {
                record,
                condition: Condition::Absent,
            })
            .await
        {
            Ok(()) => Ok(ClaimOutcome::Claimed(claim)),
            Err(StoreError::ConditionFailed { .. }) => {
                match self.reply_claim(tenant, contact, message).await? {
                    Some(existing) => Ok(ClaimOutcome::AlreadyClaimed(existing)),
                    // Released between our put and our read: the caller's retry will claim it.
                    None => Err(DataError::Store(StoreError::Busy(
                        "the reply claim changed while being read".into(),
                    ))),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn reply_claim(
        &self,
        tenant: &TenantId,
        contact: &ContactId,
        message: &MessageId,
    ) -> Result<Option<ReplyClaim>, DataError> {
        let key = layout::reply_claim(tenant, contact, message);
        self.records
            .get(&key, self.now())
            .await?
            .map(|r| from_doc(&r, "reply claim"))
            .transpose()
    }

    /// Records how the claimed reply ended. Only the holder of a `claimed` claim can.
    pub async fn finish_reply(
        &self,
        claim: &ReplyClaim,
        state: ClaimState,
    ) -> Result<(), DataError> {
        let finished = ReplyClaim {
            state,
            ..claim.clone()
        };
        let write = Write::Update {
            key: layout::reply_claim(&claim.tenant, &claim.contact, &claim.message),
            changes: Changes {
                doc: Some(to_doc(&finished)?),
                version: Some(FINISHED),
                ..Changes::default()
            },
            condition: Condition::VersionIs(CLAIMED),
        };
        match self.records.write(write).await {
            Ok(()) => Ok(()),
            Err(StoreError::ConditionFailed { .. }) => Err(DataError::Conflict(
                "the reply claim is not claimed any more".into(),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Records a sent reply in one transaction: the outbound message (sealed, under the wamid
    /// WhatsApp returned), the claim finished as `sent`, and, when the reply carried the opt-out
    /// hint, the time it went out. One commit instead of three: this is on every reply's path.
    pub async fn record_sent_reply(
        &self,
        claim: &ReplyClaim,
        outbound: &Message,
        kind: ReplyKind,
        opt_out_hint_at: Option<Timestamp>,
    ) -> Result<(), DataError> {
        let finished = ReplyClaim {
            state: ClaimState::Sent {
                reply: outbound.id.clone(),
                kind,
            },
            ..claim.clone()
        };
        let mut writes = vec![
            Write::Put {
                record: self.message_record(outbound).await?,
                condition: Condition::Absent,
            },
            Write::Update {
                key: layout::reply_claim(&claim.tenant, &claim.contact, &claim.message),
                changes: Changes {
                    doc: Some(to_doc(&finished)?),
                    version: Some(FINISHED),
                    ..Changes::default()
                },
                condition: Condition::VersionIs(CLAIMED),
            },
        ];
        if let Some(at) = opt_out_hint_at {
            writes.push(Write::Put {
                record: self.reply_state_record(&claim.tenant, &claim.contact, at)?,
                condition: Condition::Always,
            });
        }
        match self.records.transact(writes).await {
            Ok(()) => {}
            Err(StoreError::ConditionFailed { index: 0 }) => {
                return Err(DataError::Conflict(
                    "the reply's wamid is stored already".into(),
                ))
            }
            Err(StoreError::ConditionFailed { .. }) => {
                return Err(DataError::Conflict(
                    "the reply claim is not claimed any more".into(),
                ))
            }
            Err(e) => return Err(e.into()),
        }
        // Statuses of the reply that arrived before it was stored.
        self.apply_pending_statuses(outbound).await
    }

    /// Gives the claim up after a failure worth retrying, so the retry can claim it again.
    pub async fn release_reply(&self, claim: &ReplyClaim) -> Result<(), DataError> {
        let write = Write::Delete {
            key: layout::reply_claim(&claim.tenant, &claim.contact, &claim.message),
            condition: Condition::VersionIs(CLAIMED),
        };
        match self.records.write(write).await {
            Ok(()) | Err(StoreError::ConditionFailed { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// When the contact was last told how to opt out, if within the metadata retention.
    pub async fn last_opt_out_hint(
        &self,
        tenant: &TenantId,
        contact: &ContactId,
    ) -> Result<Option<Timestamp>, DataError> {
        let key = layout::reply_state(tenant, contact);
        Ok(match self.records.get(&key, self.now()).await? {
            Some(record) => from_doc::<ReplyStateDoc>(&record, "reply state")?.last_opt_out_hint_at,
            None => None,
        })
    }

    /// Remembers that the opt-out hint went out at `at` (a later time only moves it forward).
    pub async fn record_opt_out_hint(
        &self,
        tenant: &TenantId,
        contact: &ContactId,
        at: Timestamp,
    ) -> Result<(), DataError> {
        if self
            .last_opt_out_hint(tenant, contact)
            .await?
            .is_some_and(|last| last >= at)
        {
            return Ok(());
        }
        let record = self.reply_state_record(tenant, contact, at)?;
        self.records
            .write(Write::Put {
                record,
                condition: Condition::Always,
            })
            .await?;
        Ok(())
    }

    fn reply_state_record(
        &self,
        tenant: &TenantId,
        contact: &ContactId,
        hint_at: Timestamp,
    ) -> Result<Record, DataError> {
        let key = layout::reply_state(tenant, contact);
        let doc = ReplyStateDoc {
            last_opt_out_hint_at: Some(hint_at),
        };
        let mut record = Record::new(key.clone(), layout::REPLY_STATE_KIND, to_doc(&doc)?);
        record.retention = Some(layout::retention_entry(
            tenant,
            Category::MessageMetadata,
            &key,
            hint_at,
        ));
        record.expires_at = Some(hint_at.plus(RetentionPolicy::default().message_metadata));
        Ok(record)
    }
}

impl Store {
    /// Every reply claim of the contact still within retention (for its data export).
    pub async fn reply_claims(
        &self,
        tenant: &TenantId,
        contact: &ContactId,
    ) -> Result<Vec<ReplyClaim>, DataError> {
        let mut query = crate::ports::records::Query::prefix(
            layout::contact_partition(tenant, contact),
            layout::REPLY_CLAIM_PREFIX,
        );
        query.limit = 500;
        self.query_all(query, self.now())
            .await?
            .iter()
            .map(|r| from_doc(r, "reply claim"))
            .collect()
    }
}
