//! Campaigns in the store. One partition per campaign (`T#{tenant}#CAMP#{id}`) holds the
//! campaign, its audience as it was listed (sealed chunks, under the campaign's own data key:
//! the parameters are personal data), one record per recipient once prepared, and its counters
//! (sharded, so a fast campaign does not fight over one item). A recipient moves only with a
//! condition on its version, in one transaction with its counter changes: counts are exact under
//! retries and redelivered status webhooks. A pointer in each recipient's alias partition lets
//! an erasure find the recipient records of a person; the active-campaign directory lets the
//! sender find what to send without a scan.

use super::{audit_write, from_doc, layout, to_doc, DataError, Store, Versioned};
use crate::domain::audit::AuditEvent;
use crate::domain::campaign::{
    count_changes, Campaign, ListedRecipient, Recipient, RecipientState,
};
use crate::domain::consent::Decision;
use crate::domain::identity_hash::IdentityHash;
use crate::domain::ids::{CampaignId, ContactId, TenantId};
use crate::domain::message::{CampaignLink, Message, Status};
use crate::domain::retention::Category;
use crate::ports::records::{
    Changes, Condition, Cursor, Key, Page, Query, Record, StoreError, Write, MAX_TRANSACTION_WRITES,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Recipients per sealed audience chunk.
pub const AUDIENCE_CHUNK: usize = 1_000;
/// Counter shards per campaign.
pub const COUNTER_SHARDS: u32 = 16;
/// Contacts read at once while a segment is resolved.
const SEGMENT_READS_IN_FLIGHT: usize = 16;

/// One listed recipient as sealed in its chunk.
#[derive(Serialize, Deserialize)]
struct ListedEntry {
    alias: IdentityHash,
    parameters: serde_json::Value,
}

#[derive(Serialize, Deserialize)]
struct DirectoryDoc {
    tenant: TenantId,
    campaign: CampaignId,
}

#[derive(Serialize, Deserialize)]
struct MemberDoc {
    campaign: CampaignId,
    ordinal: u32,
}

/// The counts of a campaign: `eligible`, `skipped.{reason}`, `sent`, `delivered`, `read`,
/// `failed.{code}`, `deferred`, `unknown`.
pub type CampaignCounts = BTreeMap<String, i64>;

fn key_holder(campaign: &CampaignId) -> ContactId {
    // The campaign's own data key: sealed parameters die with it.
    ContactId::new(format!("campaign.{campaign}"))
}

impl Store {
    fn campaign_record(campaign: &Campaign, version: i64) -> Result<Record, DataError> {
        let key = layout::campaign(&campaign.tenant, &campaign.id);
        let mut record = Record::new(key.clone(), layout::CAMPAIGN_KIND, to_doc(campaign)?);
        record.version = version;
        record.retention = Some(layout::retention_entry(
            &campaign.tenant,
            Category::MessageMetadata,
            &key,
            campaign.created_at,
        ));
        Ok(record)
    }

    fn campaign_directory_write(campaign: &Campaign) -> Result<Write, DataError> {
        let key = layout::active_campaign(&campaign.tenant, &campaign.id);
        Ok(if campaign.state.is_final() {
            Write::Delete {
                key,
                condition: Condition::Always,
            }
        } else {
            Write::Put {
                record: Record::new(
                    key,
                    layout::ACTIVE_CAMPAIGN_KIND,
                    to_doc(&DirectoryDoc {
                        tenant: campaign.tenant.clone(),
                        campaign: campaign.id.clone(),
                    })?,
                ),
                condition: Condition::Always,
            }
        })
    }

    /// Stores a new campaign with its listed audience (sealed, in chunks) and its audit event.
    /// The chunks go first: a campaign is never seen without its audience.
    pub async fn create_campaign(
        &self,
        campaign: &Campaign,
        listed: &[ListedRecipient],
        audit: &AuditEvent,
    ) -> Result<(), DataError> {
        // The campaign's key is made now, even for a segment (resolved when it starts): the
        // campaign sender may read keys but not create them.
        self.envelope
            .ensure_key(&Self::key_context(
                &campaign.tenant,
                &key_holder(&campaign.id),
            ))
            .await?;
        // Chunk by chunk: a 100,000-recipient audience is never held twice.
        let chunks = listed.chunks(AUDIENCE_CHUNK).map(|chunk| {
            chunk
                .iter()
                .map(|r| ListedEntry {
                    alias: self
                        .hasher
                        .identifier(&campaign.tenant, r.kind, r.identifier.expose()),
                    parameters: r.parameters.expose().clone(),
                })
                .collect()
        });
        self.store_audience(campaign, chunks).await?;
        let writes = vec![
            Write::Put {
                record: Self::campaign_record(campaign, 1)?,
                condition: Condition::Absent,
            },
            Self::campaign_directory_write(campaign)?,
            audit_write(audit)?,
        ];
        match self.records.transact(writes).await {
            Err(StoreError::ConditionFailed { .. }) => {
                Err(DataError::Conflict("a campaign with this id exists".into()))
            }
            other => Ok(other?),
        }
    }

    /// Stores an audience in sealed chunks of [`AUDIENCE_CHUNK`] (chunk `i` holds ordinals
    /// from `i * AUDIENCE_CHUNK`), each made only when its turn comes.
    async fn store_audience(
        &self,
        campaign: &Campaign,
        entries: impl Iterator<Item = Vec<ListedEntry>>,
    ) -> Result<(), DataError> {
        let holder = key_holder(&campaign.id);
        let mut chunks = Vec::new();
        for (index, chunk) in entries.enumerate() {
            let key = layout::campaign_audience(&campaign.tenant, &campaign.id, index);
            let mut record = Record::new(
                key.clone(),
                layout::CAMPAIGN_AUDIENCE_KIND,
                serde_json::json!({ "recipients": chunk.len() }),
            );
            record.sealed = Some(self.seal(&campaign.tenant, &holder, &key, &chunk).await?);
            record.retention = Some(layout::retention_entry(
                &campaign.tenant,
                Category::MessageMetadata,
                &key,
                campaign.created_at,
            ));
            chunks.push(Write::Put {
                record,
                condition: Condition::Always,
            });
        }
        while !chunks.is_empty() {
            let batch: Vec<Write> = chunks
                .drain(..chunks.len().min(MAX_TRANSACTION_WRITES))
                .collect();
            self.records.transact(batch).await?;
        }
        Ok(())
    }

    pub async fn campaign(
        &self,
        tenant: &TenantId,
        id: &CampaignId,
    ) -> Result<Option<Versioned<Campaign>>, DataError> {
        match self
            .records
            .get(&layout::campaign(tenant, id), self.now())
            .await?
        {
            Some(record) => Ok(Some(Versioned {
                value: from_doc(&record, "campaign")?,
                version: record.version,
            })),
            None => Ok(None),
        }
    }

    /// Saves a campaign if nobody changed it since it was read (`false` otherwise), with its
    /// audit event; a final campaign leaves the active directory.
    pub async fn save_campaign(
        &self,
        campaign: &Versioned<Campaign>,
        audit: Option<&AuditEvent>,
    ) -> Result<bool, DataError> {
        let mut writes = vec![
            Write::Put {
                record: Self::campaign_record(&campaign.value, campaign.version + 1)?,
                condition: Condition::VersionIs(campaign.version),
            },
            Self::campaign_directory_write(&campaign.value)?,
        ];
        if let Some(audit) = audit {
            writes.push(audit_write(audit)?);
        }
        match self.records.transact(writes).await {
            Ok(()) => Ok(true),
            Err(StoreError::ConditionFailed { index: 0 }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Every campaign not yet final, across tenants (or of one tenant), oldest id first.
    pub async fn active_campaigns(
        &self,
        tenant: Option<&TenantId>,
    ) -> Result<Vec<(TenantId, CampaignId)>, DataError> {
        let prefix = tenant.map(|t| format!("{t}#")).unwrap_or_default();
        let records = self
            .query_all(Query::prefix(layout::ACTIVE_CAMPAIGNS, prefix), self.now())
            .await?;
        records
            .iter()
            .map(|r| {
                let doc: DirectoryDoc = from_doc(r, "active campaign")?;
                Ok((doc.tenant, doc.campaign))
            })
            .collect()
    }

    /// Removes a prepared campaign's listed audience (its recipients have their own records).
    pub async fn forget_campaign_audience(&self, campaign: &Campaign) -> Result<(), DataError> {
        let chunks = self
            .query_all(
                Query::prefix(
                    layout::campaign_partition(&campaign.tenant, &campaign.id),
                    layout::CAMPAIGN_AUDIENCE_PREFIX,
                ),
                self.now(),
            )
            .await?;
        self.records
            .delete_many(chunks.into_iter().map(|r| r.key).collect())
            .await?;
        Ok(())
    }

    /// Takes a campaign that no longer exists off the active directory.
    pub async fn forget_active_campaign(
        &self,
        tenant: &TenantId,
        id: &CampaignId,
    ) -> Result<(), DataError> {
        Ok(self
            .records
            .write(Write::Delete {
                key: layout::active_campaign(tenant, id),
                condition: Condition::Always,
            })
            .await?)
    }

    /// Resolves the `marketing_opted_in` segment: every contact of the tenant (from the
    /// retention index, no scan) with a marketing opt-in on record and no erasure under way,
    /// stored as the campaign's audience (its chunks, as a listed audience's, without
    /// parameters: a segment's recipients get the campaign's defaults). Safe to repeat until
    /// the campaign is marked resolved. Returns how many it holds.
    pub async fn resolve_marketing_segment(&self, campaign: &Campaign) -> Result<u32, DataError> {
        use futures_util::{StreamExt, TryStreamExt};
        let ids = self.contact_ids(&campaign.tenant).await?;
        let members: Vec<IdentityHash> = futures_util::stream::iter(ids)
            .map(|id| async move {
                let state = self.contact_record(&campaign.tenant, &id).await?;
                Ok::<_, DataError>(state.and_then(|(_, doc)| {
                    let c = &doc.contact;
                    let member = c.consent.marketing == Decision::Granted
                        && c.erasure_requested_at.is_none();
                    // The first identifier it was known by names it, as a listed one would.
                    member.then(|| doc.aliases.first().cloned()).flatten()
                }))
            })
            .buffered(SEGMENT_READS_IN_FLIGHT)
            .try_filter_map(|alias| async move { Ok(alias) })
            .try_collect()
            .await?;
        let chunks = members.chunks(AUDIENCE_CHUNK).map(|chunk| {
            chunk
                .iter()
                .map(|alias| ListedEntry {
                    alias: alias.clone(),
                    parameters: serde_json::Value::Null,
                })
                .collect()
        });
        self.store_audience(campaign, chunks).await?;
        Ok(u32::try_from(members.len()).unwrap_or(u32::MAX))
    }

    /// Turns audience chunks `chunks` into one pending record per recipient (and a pointer in
    /// the recipient's alias partition for erasure). Safe to repeat until the campaign is
    /// marked prepared: nothing is sent before.
    pub async fn prepare_recipients(
        &self,
        campaign: &Campaign,
        chunks: std::ops::Range<u32>,
    ) -> Result<(), DataError> {
        let holder = key_holder(&campaign.id);
        for index in chunks {
            let key = layout::campaign_audience(&campaign.tenant, &campaign.id, index as usize);
            let Some(chunk) = self.records.get(&key, self.now()).await? else {
                return Err(DataError::Invalid(format!(
                    "audience chunk {index} of the campaign is missing"
                )));
            };
            let entries: Vec<ListedEntry> = self
                .open(&campaign.tenant, &holder, &chunk, "campaign audience")
                .await?
                .ok_or_else(|| DataError::Invalid("the campaign's key is gone".into()))?;
            let first = index * AUDIENCE_CHUNK as u32;
            let mut writes = Vec::with_capacity(entries.len() * 2);
            for (ordinal, entry) in (first..).zip(entries) {
                writes.extend(self.new_recipient_writes(campaign, ordinal, entry).await?);
            }
            while !writes.is_empty() {
                let batch: Vec<Write> = writes
                    .drain(..writes.len().min(MAX_TRANSACTION_WRITES))
                    .collect();
                self.records.transact(batch).await?;
            }
        }
        Ok(())
    }

    /// A pending recipient (its parameters sealed, when it has its own) and its pointer.
    async fn new_recipient_writes(
        &self,
        campaign: &Campaign,
        ordinal: u32,
        entry: ListedEntry,
    ) -> Result<[Write; 2], DataError> {
        let recipient = Recipient {
            tenant: campaign.tenant.clone(),
            campaign: campaign.id.clone(),
            ordinal,
            alias: entry.alias.clone(),
            contact: None,
            state: RecipientState::Pending,
            message: None,
            retry_at: None,
            attempts: 0,
            dispatched: false,
            updated_at: self.now(),
        };
        let key = layout::campaign_recipient(&campaign.tenant, &campaign.id, ordinal);
        let mut record = Record::new(
            key.clone(),
            layout::CAMPAIGN_RECIPIENT_KIND,
            to_doc(&recipient)?,
        );
        if !entry.parameters.is_null() {
            let holder = key_holder(&campaign.id);
            record.sealed = Some(
                self.seal(&campaign.tenant, &holder, &key, &entry.parameters)
                    .await?,
            );
        }
        record.retention = Some(layout::retention_entry(
            &campaign.tenant,
            Category::MessageMetadata,
            &key,
            campaign.created_at,
        ));
        let member_key =
            layout::campaign_member(&campaign.tenant, &entry.alias, &campaign.id, ordinal);
        let mut member = Record::new(
            member_key.clone(),
            layout::CAMPAIGN_MEMBER_KIND,
            to_doc(&MemberDoc {
                campaign: campaign.id.clone(),
                ordinal,
            })?,
        );
        member.retention = Some(layout::retention_entry(
            &campaign.tenant,
            Category::MessageMetadata,
            &member_key,
            campaign.created_at,
        ));
        Ok([
            Write::Put {
                record,
                condition: Condition::Always,
            },
            Write::Put {
                record: member,
                condition: Condition::Always,
            },
        ])
    }

    /// Whether the identifier with this keyed hash belonged to a contact erased lately (its
    /// tombstone lasts 30 days).
    pub async fn was_erased(
        &self,
        tenant: &TenantId,
        alias: &IdentityHash,
    ) -> Result<bool, DataError> {
        Ok(self
            .records
            .get(&layout::erasure_tombstone(tenant, alias), self.now())
            .await?
            .is_some())
    }

    fn recipient_of(record: &Record) -> Result<Versioned<Recipient>, DataError> {
        Ok(Versioned {
            value: from_doc(record, "campaign recipient")?,
            version: record.version,
        })
    }

    /// A page of recipients in order (their parameters left sealed).
    pub async fn campaign_recipients(
        &self,
        tenant: &TenantId,
        id: &CampaignId,
        limit: usize,
        after: Option<Cursor>,
    ) -> Result<Page<Versioned<Recipient>>, DataError> {
        let page = self
            .records
            .query(
                &Query {
                    limit,
                    after,
                    ..Query::prefix(
                        layout::campaign_partition(tenant, id),
                        layout::CAMPAIGN_RECIPIENT_PREFIX,
                    )
                },
                self.now(),
            )
            .await?;
        Ok(Page {
            items: page
                .items
                .iter()
                .map(Self::recipient_of)
                .collect::<Result<_, _>>()?,
            next: page.next,
        })
    }

    pub async fn campaign_recipient(
        &self,
        tenant: &TenantId,
        id: &CampaignId,
        ordinal: u32,
    ) -> Result<Option<Versioned<Recipient>>, DataError> {
        self.records
            .get(&layout::campaign_recipient(tenant, id, ordinal), self.now())
            .await?
            .map(|r| Self::recipient_of(&r))
            .transpose()
    }

    /// Moves a recipient from the state it was read in to `next`, with its counter changes, in
    /// one transaction; `false` when someone moved it first (nothing changed, nothing counted).
    pub async fn move_recipient(
        &self,
        recipient: &Versioned<Recipient>,
        next: &Recipient,
    ) -> Result<bool, DataError> {
        self.move_recipient_with(recipient, next, Vec::new()).await
    }

    /// The same, committing `also` in the transaction (after the recipient's write).
    async fn move_recipient_with(
        &self,
        recipient: &Versioned<Recipient>,
        next: &Recipient,
        also: Vec<Write>,
    ) -> Result<bool, DataError> {
        let changes = count_changes(recipient.value.state, next.state);
        let key = layout::campaign_recipient(&next.tenant, &next.campaign, next.ordinal);
        let shard = next.ordinal % COUNTER_SHARDS;
        for _ in 0..super::MAX_OPTIMISTIC_ATTEMPTS * 2 {
            let mut writes = vec![Write::Update {
                key: key.clone(),
                changes: Changes {
                    doc: Some(to_doc(next)?),
                    version: Some(recipient.version + 1),
                    // Parameters are personal data: kept only while a send may need them.
                    sealed: (!next.state.awaits_sending()).then_some(None),
                    ..Changes::default()
                },
                condition: Condition::VersionIs(recipient.version),
            }];
            writes.extend(also.iter().cloned());
            let counter_at = writes.len();
            if !changes.is_empty() {
                writes.push(self.counter_write(next, shard, &changes).await?);
            }
            match self.records.transact(writes).await {
                Ok(()) => return Ok(true),
                Err(StoreError::ConditionFailed { index: 0 }) => return Ok(false),
                // The shard moved meanwhile: read it again.
                Err(StoreError::ConditionFailed { index }) if index == counter_at => continue,
                Err(StoreError::ConditionFailed { index }) => {
                    return Err(DataError::Conflict(format!(
                        "write {index} of a campaign recipient's move did not hold"
                    )))
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(DataError::Store(StoreError::Busy(
            "the campaign's counters kept changing".into(),
        )))
    }

    /// Stores a campaign message and marks its recipient dispatched, in one transaction: from
    /// here the message may reach Meta. `false` when the recipient moved meanwhile.
    pub async fn dispatch_campaign_message(
        &self,
        claimed: &Versioned<Recipient>,
        dispatched: &Recipient,
        message: &Message,
    ) -> Result<bool, DataError> {
        let put = Write::Put {
            record: self.message_record(message).await?,
            condition: Condition::Absent,
        };
        self.move_recipient_with(claimed, dispatched, vec![put])
            .await
    }

    /// Records a campaign message sent: its wamid sealed and routed, its recipient `sent` with
    /// the counters, in one transaction; then the statuses that came first.
    pub async fn record_campaign_sent(
        &self,
        dispatched: &Versioned<Recipient>,
        sent: &Recipient,
        message: &Message,
        wamid: &crate::domain::ids::Wamid,
    ) -> Result<bool, DataError> {
        let (writes, wamid_id) = self.outbound_sent_writes(message, wamid).await?;
        let moved = self.move_recipient_with(dispatched, sent, writes).await?;
        if moved {
            self.apply_pending_statuses_to(
                &message.tenant,
                &message.contact,
                &wamid_id,
                &message.id,
            )
            .await?;
        }
        Ok(moved)
    }

    async fn counter_write(
        &self,
        recipient: &Recipient,
        shard: u32,
        changes: &CampaignCounts,
    ) -> Result<Write, DataError> {
        let key = layout::campaign_counter(&recipient.tenant, &recipient.campaign, shard);
        let (mut counts, condition, version) = match self.records.get(&key, self.now()).await? {
            Some(record) => (
                from_doc::<CampaignCounts>(&record, "campaign counts")?,
                Condition::VersionIs(record.version),
                record.version + 1,
            ),
            None => (CampaignCounts::new(), Condition::Absent, 1),
        };
        for (label, delta) in changes {
            *counts.entry(label.clone()).or_insert(0) += delta;
        }
        counts.retain(|_, n| *n != 0);
        let mut record = Record::new(key.clone(), layout::CAMPAIGN_COUNTER_KIND, to_doc(&counts)?);
        record.version = version;
        record.retention = Some(layout::retention_entry(
            &recipient.tenant,
            Category::MessageMetadata,
            &key,
            self.now(),
        ));
        Ok(Write::Put { record, condition })
    }

    /// The campaign's counts, summed over its shards.
    pub async fn campaign_counts(
        &self,
        tenant: &TenantId,
        id: &CampaignId,
    ) -> Result<CampaignCounts, DataError> {
        let shards = self
            .query_all(
                Query::prefix(
                    layout::campaign_partition(tenant, id),
                    layout::CAMPAIGN_COUNTER_PREFIX,
                ),
                self.now(),
            )
            .await?;
        let mut total = CampaignCounts::new();
        for shard in &shards {
            for (label, n) in from_doc::<CampaignCounts>(shard, "campaign counts")? {
                *total.entry(label).or_insert(0) += n;
            }
        }
        total.retain(|_, n| *n != 0);
        Ok(total)
    }

    /// The keys of an erased person's campaign records, found through its aliases' pointers.
    pub(super) async fn campaign_records_of(
        &self,
        tenant: &TenantId,
        aliases: &[IdentityHash],
    ) -> Result<Vec<Key>, DataError> {
        let mut keys = Vec::new();
        for alias in aliases {
            let members = self
                .query_all(
                    Query::prefix(
                        layout::alias(tenant, alias).pk,
                        layout::CAMPAIGN_MEMBER_PREFIX,
                    ),
                    crate::domain::time::Timestamp::EPOCH,
                )
                .await?;
            for member in members {
                let doc: MemberDoc = from_doc(&member, "campaign member")?;
                keys.push(layout::campaign_recipient(
                    tenant,
                    &doc.campaign,
                    doc.ordinal,
                ));
                keys.push(member.key);
            }
        }
        Ok(keys)
    }

    /// A status of a campaign message moves its recipient (forward only) and the counters.
    pub(super) async fn campaign_message_status(
        &self,
        message: &Message,
        link: &CampaignLink,
    ) -> Result<(), DataError> {
        let status = match message.status {
            Status::Sent => RecipientState::Sent,
            Status::Delivered => RecipientState::Delivered,
            Status::Read | Status::Played => RecipientState::Read,
            Status::Failed => RecipientState::Failed {
                code: message.errors.first().map(|e| e.code),
            },
            Status::Received | Status::Accepted => return Ok(()),
        };
        for _ in 0..super::MAX_OPTIMISTIC_ATTEMPTS {
            let Some(current) = self
                .campaign_recipient(&message.tenant, &link.id, link.ordinal)
                .await?
            else {
                return Ok(()); // erased, or past retention
            };
            let state = current.value.state.after_status(status);
            if state == current.value.state {
                return Ok(());
            }
            let next = Recipient {
                state,
                updated_at: self.now(),
                ..current.value.clone()
            };
            if self.move_recipient(&current, &next).await? {
                return Ok(());
            }
        }
        Err(DataError::Store(StoreError::Busy(
            "the campaign recipient kept changing".into(),
        )))
    }

    /// A recipient with its stored record (whose sealed parameters are opened only when needed).
    pub async fn campaign_recipient_record(
        &self,
        tenant: &TenantId,
        id: &CampaignId,
        ordinal: u32,
    ) -> Result<Option<(Versioned<Recipient>, Record)>, DataError> {
        match self
            .records
            .get(&layout::campaign_recipient(tenant, id, ordinal), self.now())
            .await?
        {
            Some(record) => Ok(Some((Self::recipient_of(&record)?, record))),
            None => Ok(None),
        }
    }

    /// A recipient's parameters (personal data, sealed under the campaign's key).
    pub async fn recipient_parameters(
        &self,
        tenant: &TenantId,
        id: &CampaignId,
        record: &Record,
    ) -> Result<Option<serde_json::Value>, DataError> {
        self.open(tenant, &key_holder(id), record, "campaign recipient")
            .await
    }

    /// Gives a claimed recipient back when nothing reached Meta: it waits as `waiting` says,
    /// and the message made for it goes (it is made again on its next try). `false` when the
    /// recipient moved meanwhile (nothing changed).
    pub async fn give_back_recipient(
        &self,
        claimed: &Versioned<Recipient>,
        waiting: Recipient,
    ) -> Result<bool, DataError> {
        let waiting = Recipient {
            message: None,
            dispatched: false,
            updated_at: self.now(),
            ..waiting
        };
        if !self.move_recipient(claimed, &waiting).await? {
            return Ok(false);
        }
        if let (Some(message), Some(contact)) = (&claimed.value.message, &claimed.value.contact) {
            self.records
                .delete_many(vec![layout::message(
                    &claimed.value.tenant,
                    contact,
                    message,
                )])
                .await?;
        }
        Ok(true)
    }
}
