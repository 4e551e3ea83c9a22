//! Contacts, found by keyed hashes of their WhatsApp identifiers; profiles sealed per contact.

use super::contact_list::listing_writes;
use super::{
    audit_write, from_doc, layout, to_doc, DataError, Store, Versioned, MAX_OPTIMISTIC_ATTEMPTS,
};
use crate::domain::audit::AuditEvent;
use crate::domain::consent::{Decision, Purpose};
use crate::domain::contact::{Contact, ContactProfile};
use crate::domain::contact_search::search_terms;
use crate::domain::identity_hash::{IdentifierKind, IdentityHash};
use crate::domain::ids::{ContactId, TenantId};
use crate::domain::retention::Category;
use crate::domain::time::Timestamp;
use crate::ports::records::{Changes, Condition, Key, Record, StoreError, Write};
use serde::{Deserialize, Serialize};

/// How stale `last_seen_at` may get before a new message refreshes it (one write saved per
/// message); the contact list orders by it, so to the hour.
const LAST_SEEN_RESOLUTION: std::time::Duration = std::time::Duration::from_secs(3600);

#[derive(Serialize, Deserialize)]
pub(super) struct ContactDoc {
    #[serde(flatten)]
    pub contact: Contact,
    /// Keyed hashes of every identifier: what erasure removes and what suppression keeps.
    pub aliases: Vec<IdentityHash>,
    /// Keyed digest of the profile last received: an unchanged one needs no decryption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen_digest: Option<String>,
    /// Keyed hashes of the profile's search terms, copied to the contact list: kept here so a
    /// write that does not open the profile (consent, legal hold) can still write its entry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub search: Vec<String>,
}

/// Everything a contact's write puts in its transaction.
pub(super) struct ContactWrites {
    pub key: Key,
    pub doc: serde_json::Value,
    pub sealed: Option<Vec<u8>>,
    /// The contact list's entry, moved or rewritten when what it keeps changed.
    pub listing: Vec<Write>,
}

impl ContactWrites {
    /// The update of a contact read at `read_version`, then its list entry's writes.
    pub fn into_update(self, read_version: i64) -> Vec<Write> {
        let mut writes = vec![contact_update(
            self.key,
            self.doc,
            self.sealed,
            read_version,
        )];
        writes.extend(self.listing);
        writes
    }
}

#[derive(Serialize, Deserialize)]
struct AliasDoc {
    contact: ContactId,
}

/// Kept after erasure of a contact who had opted out or blocked (P12), or who was a minor
/// (P11): only a keyed hash of each identifier.
#[derive(Serialize, Deserialize)]
pub(super) struct SuppressionDoc {
    pub since: Timestamp,
    pub blocked: bool,
    pub withdrawn: Vec<Purpose>,
    #[serde(default)]
    pub minor: bool,
}

impl SuppressionDoc {
    pub fn of(contact: &Contact, since: Timestamp) -> Self {
        let state = &contact.consent;
        let withdrawn = Purpose::EACH
            .into_iter()
            .filter(|p| state.decision(*p) == Decision::Withdrawn)
            .collect();
        SuppressionDoc {
            since,
            blocked: state.blocked,
            withdrawn,
            minor: contact.minor || contact.known_minor,
        }
    }

    /// Whether erasing `contact` must leave a suppression entry behind.
    pub fn needed_for(contact: &Contact) -> bool {
        contact.consent.needs_suppression() || contact.minor || contact.known_minor
    }

    fn apply_to(&self, contact: &mut Contact) {
        contact.known_minor |= self.minor;
        let state = &mut contact.consent;
        state.blocked |= self.blocked;
        for purpose in &self.withdrawn {
            match purpose {
                Purpose::Marketing => state.marketing = Decision::Withdrawn,
                Purpose::AutomatedReplies => state.automated_replies = Decision::Withdrawn,
                Purpose::All => {
                    state.marketing = Decision::Withdrawn;
                    state.automated_replies = Decision::Withdrawn;
                }
            }
        }
    }
}

/// Kept for `ErasureTombstone`'s period after an erasure: when the identifier's contact was
/// erased, so a redelivered or replayed older webhook is recognised. Nothing else.
#[derive(Serialize, Deserialize)]
pub(super) struct TombstoneDoc {
    pub erased_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ContactUpsert {
    pub contact: Versioned<Contact>,
    pub created: bool,
}

/// Who sent a message, as intake may use it.
// Made once per delivery item and matched at once: boxing the common case saves nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum SenderOutcome {
    Contact(ContactUpsert),
    /// The sender's contact was erased after this was sent: a redelivery or a replay of
    /// something the erasure removed, to acknowledge and drop.
    ErasedAfterSending {
        erased_at: Timestamp,
    },
}

impl Store {
    fn alias_hashes(
        &self,
        tenant: &TenantId,
        profile: &ContactProfile,
    ) -> Vec<(IdentifierKind, IdentityHash)> {
        profile
            .identifiers()
            .into_iter()
            .map(|(kind, value)| (kind, self.hasher.identifier(tenant, kind, value)))
            .collect()
    }

    pub(super) async fn contact_record(
        &self,
        tenant: &TenantId,
        id: &ContactId,
    ) -> Result<Option<(Record, ContactDoc)>, DataError> {
        let Some(record) = self
            .records
            .get(&layout::contact(tenant, id), self.now())
            .await?
        else {
            return Ok(None);
        };
        let doc: ContactDoc = from_doc(&record, "contact")?;
        Ok(Some((record, doc)))
    }

    /// A contact's flags, consent and dates, its profile left sealed (`profile` is `None`): no
    /// data key is read, so the retention purge, whose role may not read keys, can use it, and
    /// a check that needs no profile costs no decryption.
    pub async fn contact_state(
        &self,
        tenant: &TenantId,
        id: &ContactId,
    ) -> Result<Option<Versioned<Contact>>, DataError> {
        Ok(self
            .contact_record(tenant, id)
            .await?
            .map(|(record, doc)| Versioned {
                value: doc.contact,
                version: record.version,
            }))
    }

    /// A contact with its profile opened (or `None` in `profile` once its key is destroyed).
    pub async fn contact(
        &self,
        tenant: &TenantId,
        id: &ContactId,
    ) -> Result<Option<Versioned<Contact>>, DataError> {
        let Some((record, doc)) = self.contact_record(tenant, id).await? else {
            return Ok(None);
        };
        let mut contact = doc.contact;
        contact.profile = self.open(tenant, id, &record, "contact profile").await?;
        Ok(Some(Versioned {
            value: contact,
            version: record.version,
        }))
    }

    async fn contact_id_by_alias(
        &self,
        tenant: &TenantId,
        hash: &IdentityHash,
    ) -> Result<Option<ContactId>, DataError> {
        let record = self
            .records
            .get(&layout::alias(tenant, hash), self.now())
            .await?;
        Ok(record
            .map(|r| from_doc::<AliasDoc>(&r, "alias"))
            .transpose()?
            .map(|a| a.contact))
    }

    /// The tenant's contact an identifier's keyed hash names, profile opened.
    pub async fn contact_by_alias(
        &self,
        tenant: &TenantId,
        hash: &IdentityHash,
    ) -> Result<Option<Versioned<Contact>>, DataError> {
        match self.contact_id_by_alias(tenant, hash).await? {
            Some(id) => self.contact(tenant, &id).await,
            None => Ok(None),
        }
    }

    /// The tenant's contact with this business-scoped user id or wa_id.
    pub async fn find_contact(
        &self,
        tenant: &TenantId,
        kind: IdentifierKind,
        value: &str,
    ) -> Result<Option<Versioned<Contact>>, DataError> {
        let hash = self.hasher.identifier(tenant, kind, value);
        match self.contact_id_by_alias(tenant, &hash).await? {
            Some(id) => self.contact(tenant, &id).await,
            None => Ok(None),
        }
    }

    /// Whether an identifier is suppressed (an erased contact who had opted out or blocked).
    pub async fn is_suppressed(
        &self,
        tenant: &TenantId,
        kind: IdentifierKind,
        value: &str,
    ) -> Result<bool, DataError> {
        let hash = self.hasher.identifier(tenant, kind, value);
        Ok(self
            .records
            .get(&layout::suppression(tenant, &hash), self.now())
            .await?
            .is_some())
    }

    fn profile_digest(&self, profile: &ContactProfile) -> String {
        let canonical = serde_json::to_string(profile).unwrap_or_default();
        self.hasher.for_logs(&canonical)
    }

    /// The writes that save `contact` over `before` (`None`: a new contact): its document,
    /// `profile` sealed when given (`None` leaves the stored one), and its list entry. Search
    /// terms are made again whenever the profile is at hand (given, or opened on `contact`).
    pub(super) async fn contact_writes(
        &self,
        contact: &Contact,
        before: Option<&ContactDoc>,
        aliases: &[IdentityHash],
        seen_digest: Option<String>,
        profile: Option<&ContactProfile>,
    ) -> Result<ContactWrites, DataError> {
        let key = layout::contact(&contact.tenant, &contact.id);
        let search = match profile.or(contact.profile.as_ref()) {
            Some(p) => search_terms(p)
                .iter()
                .map(|term| self.hasher.search_term(&contact.tenant, term))
                .collect(),
            None => before.map(|b| b.search.clone()).unwrap_or_default(),
        };
        let next = ContactDoc {
            contact: contact.clone(),
            aliases: aliases.to_vec(),
            seen_digest,
            search,
        };
        let listing = listing_writes(before, &next)?;
        let doc = to_doc(&next)?;
        let sealed = match profile {
            Some(p) => Some(self.seal(&contact.tenant, &contact.id, &key, p).await?),
            None => None,
        };
        Ok(ContactWrites {
            key,
            doc,
            sealed,
            listing,
        })
    }

    fn alias_write(
        tenant: &TenantId,
        hash: &IdentityHash,
        contact: &ContactId,
    ) -> Result<Write, DataError> {
        Ok(Write::Put {
            record: Record::new(
                layout::alias(tenant, hash),
                layout::kind::ALIAS,
                to_doc(&AliasDoc {
                    contact: contact.clone(),
                })?,
            ),
            condition: Condition::Absent,
        })
    }

    /// The contact created from this identifier, read by the id derived from it: one read
    /// instead of the alias and then the contact, for the sender of almost every message.
    /// Trusted only while it lists the identifier and no erasure has begun: erasure flags the
    /// contact before it removes any alias, so an unflagged contact's aliases all point to it.
    async fn contact_created_from(
        &self,
        tenant: &TenantId,
        hash: &IdentityHash,
    ) -> Result<Option<(Record, ContactDoc)>, DataError> {
        Ok(self
            .contact_record(tenant, &hash.contact_id())
            .await?
            .filter(|(_, doc)| {
                doc.contact.erasure_requested_at.is_none() && doc.aliases.contains(hash)
            }))
    }

    /// Finds the contact by any of the profile's identifiers and refreshes its profile, or
    /// creates it. Safe to repeat and to race: concurrent deliveries end with one contact.
    /// A contact being erased is never refreshed nor re-created: `DataError::BeingErased`.
    pub async fn upsert_contact(
        &self,
        tenant: &TenantId,
        profile: &ContactProfile,
    ) -> Result<ContactUpsert, DataError> {
        match self.upsert_contact_sent_at(tenant, profile, None).await? {
            SenderOutcome::Contact(upsert) => Ok(upsert),
            SenderOutcome::ErasedAfterSending { erased_at } => {
                Err(DataError::BeingErased { since: erased_at })
            }
        }
    }

    /// The sender of something WhatsApp says was sent at `sent_at`, as `upsert_contact` finds
    /// or creates it, unless the sender's contact was erased after that (replays resurrect
    /// nothing). The erasure tombstones are read only when the contact is new or younger than
    /// what was sent, so a known sender's message costs no extra read.
    pub async fn upsert_sender(
        &self,
        tenant: &TenantId,
        profile: &ContactProfile,
        sent_at: Timestamp,
    ) -> Result<SenderOutcome, DataError> {
        self.upsert_contact_sent_at(tenant, profile, Some(sent_at))
            .await
    }

    /// When the person was erased after sending what was sent at `sent_at`, if they were:
    /// a tombstone of one of `hashes` names an erasure in a later second. Read only when
    /// `contact` (the one the identifiers lead to) is missing or younger than what was sent;
    /// a known sender's message costs nothing.
    async fn erased_after_sending(
        &self,
        tenant: &TenantId,
        hashes: &[(IdentifierKind, IdentityHash)],
        contact: Option<&Contact>,
        sent_at: Option<Timestamp>,
    ) -> Result<Option<Timestamp>, DataError> {
        let Some(sent_at) = sent_at else {
            return Ok(None);
        };
        if contact.is_some_and(|c| sent_at >= c.created_at) {
            return Ok(None);
        }
        let now = self.now();
        let mut latest = None;
        for (_, hash) in hashes {
            if let Some(record) = self
                .records
                .get(&layout::erasure_tombstone(tenant, hash), now)
                .await?
            {
                let tombstone: TombstoneDoc = from_doc(&record, "erasure tombstone")?;
                // WhatsApp's times have whole seconds: what was sent in the second of the
                // erasure counts as after it (a person writing again), never as a replay.
                let erased_second =
                    Timestamp::from_unix_seconds(tombstone.erased_at.as_unix_seconds());
                if sent_at < erased_second {
                    latest = latest.max(Some(tombstone.erased_at));
                }
            }
        }
        Ok(latest)
    }

    async fn upsert_contact_sent_at(
        &self,
        tenant: &TenantId,
        profile: &ContactProfile,
        sent_at: Option<Timestamp>,
    ) -> Result<SenderOutcome, DataError> {
        let hashes = self.alias_hashes(tenant, profile);
        let Some((_, first_hash)) = hashes.first().cloned() else {
            return Err(DataError::Invalid(
                "a contact needs a user id or a wa_id".into(),
            ));
        };
        for _ in 0..MAX_OPTIMISTIC_ATTEMPTS {
            let now = self.now();
            if let Some((record, doc)) = self.contact_created_from(tenant, &first_hash).await? {
                // A contact younger than the message may be the person's new contact after an
                // erasure that removed this very message.
                if let Some(erased_at) = self
                    .erased_after_sending(tenant, &hashes, Some(&doc.contact), sent_at)
                    .await?
                {
                    return Ok(SenderOutcome::ErasedAfterSending { erased_at });
                }
                match self
                    .refresh_contact(tenant, record, doc, profile, &hashes, now)
                    .await
                {
                    Err(DataError::Store(StoreError::ConditionFailed { .. })) => continue,
                    other => return other.map(SenderOutcome::Contact),
                }
            }
            let mut existing = None;
            for (_, hash) in &hashes {
                if let Some(id) = self.contact_id_by_alias(tenant, hash).await? {
                    existing = Some(id);
                    break;
                }
            }
            let result = match existing {
                Some(id) => match self.contact_record(tenant, &id).await? {
                    // Its aliases are going: nothing new attaches to it, nor gets a fresh key.
                    Some((_, doc)) if doc.contact.erasure_requested_at.is_some() => {
                        return Err(DataError::BeingErased {
                            since: doc.contact.erasure_requested_at.unwrap_or(now),
                        });
                    }
                    Some((record, doc)) => {
                        if let Some(erased_at) = self
                            .erased_after_sending(tenant, &hashes, Some(&doc.contact), sent_at)
                            .await?
                        {
                            return Ok(SenderOutcome::ErasedAfterSending { erased_at });
                        }
                        self.refresh_contact(tenant, record, doc, profile, &hashes, now)
                            .await
                    }
                    // An alias left by an unfinished erasure: the person is new again.
                    None => {
                        self.records
                            .delete_many(
                                hashes
                                    .iter()
                                    .map(|(_, h)| layout::alias(tenant, h))
                                    .collect(),
                            )
                            .await?;
                        continue;
                    }
                },
                None => {
                    if let Some(erased_at) = self
                        .erased_after_sending(tenant, &hashes, None, sent_at)
                        .await?
                    {
                        return Ok(SenderOutcome::ErasedAfterSending { erased_at });
                    }
                    self.create_contact(tenant, first_hash.contact_id(), profile, &hashes, now)
                        .await
                }
            };
            match result {
                Err(DataError::Store(StoreError::ConditionFailed { .. })) => continue,
                other => return other.map(SenderOutcome::Contact),
            }
        }
        Err(DataError::Store(StoreError::Busy(
            "contact kept changing while being saved".into(),
        )))
    }

    async fn create_contact(
        &self,
        tenant: &TenantId,
        id: ContactId,
        profile: &ContactProfile,
        hashes: &[(IdentifierKind, IdentityHash)],
        now: Timestamp,
    ) -> Result<ContactUpsert, DataError> {
        let mut contact = Contact::new(tenant.clone(), id.clone(), profile.clone(), now);
        for (_, hash) in hashes {
            if let Some(record) = self
                .records
                .get(&layout::suppression(tenant, hash), now)
                .await?
            {
                from_doc::<SuppressionDoc>(&record, "suppression")?.apply_to(&mut contact);
            }
        }
        let aliases: Vec<IdentityHash> = hashes.iter().map(|(_, h)| h.clone()).collect();
        let digest = Some(self.profile_digest(profile));
        let ContactWrites {
            key,
            doc,
            sealed,
            listing,
        } = self
            .contact_writes(&contact, None, &aliases, digest, Some(profile))
            .await?;
        let mut record = Record::new(key.clone(), layout::kind::CONTACT, doc);
        record.sealed = sealed;
        record.version = 1;
        record.retention = Some(layout::retention_entry(
            tenant,
            Category::Contact,
            &key,
            now,
        ));
        let mut writes = vec![Write::Put {
            record,
            condition: Condition::Absent,
        }];
        writes.extend(listing);
        for hash in &aliases {
            writes.push(Self::alias_write(tenant, hash, &id)?);
        }
        self.records.transact(writes).await?;
        Ok(ContactUpsert {
            contact: Versioned {
                value: contact,
                version: 1,
            },
            created: true,
        })
    }

    async fn refresh_contact(
        &self,
        tenant: &TenantId,
        record: Record,
        doc: ContactDoc,
        profile: &ContactProfile,
        hashes: &[(IdentifierKind, IdentityHash)],
        now: Timestamp,
    ) -> Result<ContactUpsert, DataError> {
        let new_aliases: Vec<IdentityHash> = hashes
            .iter()
            .map(|(_, h)| h.clone())
            .filter(|h| !doc.aliases.contains(h))
            .collect();
        let seen_is_stale = now.since(doc.contact.last_seen_at) >= LAST_SEEN_RESOLUTION;
        let digest = self.profile_digest(profile);
        if doc.seen_digest.as_deref() == Some(digest.as_str())
            && new_aliases.is_empty()
            && !seen_is_stale
        {
            // The same profile as last time: nothing to merge, and no need to open the stored one
            // (nor to copy anything: most messages end here).
            return Ok(ContactUpsert {
                contact: Versioned {
                    value: doc.contact,
                    version: record.version,
                },
                created: false,
            });
        }
        // The stored document stays as it was: its list entry is what a write replaces.
        let mut contact = doc.contact.clone();
        let mut aliases = doc.aliases.clone();
        let stored: Option<ContactProfile> = self
            .open(tenant, &contact.id, &record, "contact profile")
            .await?;
        let mut merged = stored.clone().unwrap_or_default();
        let profile_changed =
            merged.merge(&profile.without(&contact.corrected)) || stored.is_none();
        contact.profile = Some(merged.clone());
        let digest_changed = doc.seen_digest.as_deref() != Some(digest.as_str());
        if !profile_changed && new_aliases.is_empty() && !seen_is_stale && !digest_changed {
            return Ok(ContactUpsert {
                contact: Versioned {
                    value: contact,
                    version: record.version,
                },
                created: false,
            });
        }
        contact.last_seen_at = contact.last_seen_at.max(now);
        aliases.extend(new_aliases.iter().cloned());
        let mut writes = self
            .contact_writes(
                &contact,
                Some(&doc),
                &aliases,
                Some(digest),
                profile_changed.then_some(&merged),
            )
            .await?
            .into_update(record.version);
        let version = record.version + 1;
        for hash in &new_aliases {
            writes.push(Self::alias_write(tenant, hash, &contact.id)?);
        }
        self.records.transact(writes).await?;
        Ok(ContactUpsert {
            contact: Versioned {
                value: contact,
                version,
            },
            created: false,
        })
    }

    /// Saves a contact's flags (and its profile, re-sealed, when present) if nobody changed it
    /// since `contact.version`; the audit event commits with it. Returns the new version.
    pub async fn save_contact(
        &self,
        contact: &Versioned<Contact>,
        audit: Option<&AuditEvent>,
    ) -> Result<i64, DataError> {
        let c = &contact.value;
        let Some((_, doc)) = self.contact_record(&c.tenant, &c.id).await? else {
            return Err(DataError::NotFound("contact"));
        };
        let mut writes = self
            .contact_writes(
                c,
                Some(&doc),
                &doc.aliases,
                doc.seen_digest.clone(),
                c.profile.as_ref(),
            )
            .await?
            .into_update(contact.version);
        let version = contact.version + 1;
        if let Some(event) = audit {
            writes.push(audit_write(event)?);
        }
        match self.records.transact(writes).await {
            Err(StoreError::ConditionFailed { index: 0 }) => Err(DataError::Conflict(
                "the contact changed since it was read".into(),
            )),
            other => {
                other?;
                Ok(version)
            }
        }
    }
}

impl Store {
    /// Identity change (a new phone number, a new user id): the new identifiers become aliases of
    /// the same contact, so the conversation, consent and data rights continue under one record.
    /// Identifiers that already belong to another contact are left with it.
    pub async fn link_identity(
        &self,
        tenant: &TenantId,
        contact: &ContactId,
        new: &ContactProfile,
    ) -> Result<Versioned<Contact>, DataError> {
        for _ in 0..MAX_OPTIMISTIC_ATTEMPTS {
            let Some((record, doc)) = self.contact_record(tenant, contact).await? else {
                return Err(DataError::NotFound("contact"));
            };
            let mut free = Vec::new();
            for (kind, hash) in self.alias_hashes(tenant, new) {
                match self.contact_id_by_alias(tenant, &hash).await? {
                    Some(owner) if owner != *contact => {}
                    _ => free.push((kind, hash)),
                }
            }
            match self
                .refresh_contact(tenant, record, doc, new, &free, self.now())
                .await
            {
                Ok(upsert) => return Ok(upsert.contact),
                Err(DataError::Store(StoreError::ConditionFailed { .. })) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(DataError::Store(StoreError::Busy(
            "contact kept changing while its identity was linked".into(),
        )))
    }
}

/// The update of a contact read at `read_version`: refused if anyone changed it since.
pub(super) fn contact_update(
    key: Key,
    doc: serde_json::Value,
    sealed: Option<Vec<u8>>,
    read_version: i64,
) -> Write {
    Write::Update {
        key,
        changes: Changes {
            doc: Some(doc),
            version: Some(read_version + 1),
            sealed: sealed.map(Some),
            ..Changes::default()
        },
        condition: Condition::VersionIs(read_version),
    }
}
