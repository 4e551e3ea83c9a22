//! The tenant's contact list: one entry per contact in one partition, keyed by when the contact
//! last wrote, holding what the list filters by (flags, keyed hashes of search terms) so a page
//! is a range read and only the contacts on it are opened. Every write of a contact writes its
//! entry in the same transaction, so the list never disagrees with the contacts.

use super::contacts::ContactDoc;
use super::{from_doc, layout, to_doc, DataError, Store, Versioned, MAX_OPTIMISTIC_ATTEMPTS};
use crate::domain::contact::Contact;
use crate::domain::contact_search::{ContactFlag, ContactQuery, ListedState};
use crate::domain::ids::{ContactId, TenantId};
use crate::domain::retention::Category;
use crate::domain::time::Timestamp;
use crate::ports::records::{Condition, Cursor, Key, Page, Query, Range, Record, Write};
use futures_util::future::join_all;
use serde::{Deserialize, Serialize};

/// Reads of the list one page may take, when few entries match: a page may then hold fewer
/// than asked, with a cursor to read on from.
const MAX_READS: usize = 20;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct ListingDoc {
    contact: ContactId,
    #[serde(flatten)]
    state: ListedState,
    /// Keyed hashes of the contact's search terms.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    terms: Vec<String>,
}

/// The entry a contact has in the list: none once its erasure began.
fn listing_of(doc: &ContactDoc) -> Option<(Key, ListingDoc)> {
    let contact = &doc.contact;
    if contact.erasure_requested_at.is_some() {
        return None;
    }
    Some((
        layout::contact_listing(&contact.tenant, contact.last_seen_at, &contact.id),
        ListingDoc {
            contact: contact.id.clone(),
            state: ListedState::of(contact),
            terms: doc.search.clone(),
        },
    ))
}

/// What writing `after` over `before` (`None`: a new contact) does to the list, for the
/// transaction that writes the contact: nothing when its entry is unchanged; the entry put
/// under its new key, and the old one deleted when the key moved.
pub(super) fn listing_writes(
    before: Option<&ContactDoc>,
    after: &ContactDoc,
) -> Result<Vec<Write>, DataError> {
    let old = before.and_then(listing_of);
    let new = listing_of(after);
    if old == new {
        return Ok(Vec::new());
    }
    let mut writes = Vec::new();
    if let Some((old_key, _)) = &old {
        if new.as_ref().is_none_or(|(key, _)| key != old_key) {
            writes.push(Write::Delete {
                key: old_key.clone(),
                condition: Condition::Always,
            });
        }
    }
    if let Some((key, doc)) = new {
        writes.push(Write::Put {
            record: Record::new(key, layout::kind::CONTACT_LISTING, to_doc(&doc)?),
            condition: Condition::Always,
        });
    }
    Ok(writes)
}

/// The key of a contact's entry in the list, for its erasure.
pub(super) fn listing_key(doc: &ContactDoc) -> Key {
    let contact = &doc.contact;
    layout::contact_listing(&contact.tenant, contact.last_seen_at, &contact.id)
}

/// Which contacts a list shows: all of them, or those the query finds, with every flag named.
#[derive(Clone, Debug, Default)]
pub struct ContactFilter {
    pub query: Option<ContactQuery>,
    pub flags: Vec<ContactFlag>,
}

impl Store {
    /// A page of the tenant's contacts `filter` selects, newest activity first, profiles
    /// opened. Entries are filtered by their flags and search terms; the contacts they name are
    /// then read, and the query confirmed on each profile.
    pub async fn list_contacts(
        &self,
        tenant: &TenantId,
        filter: &ContactFilter,
        limit: usize,
        mut after: Option<Cursor>,
    ) -> Result<Page<Versioned<Contact>>, DataError> {
        let terms: Vec<String> = filter
            .query
            .iter()
            .flat_map(ContactQuery::terms)
            .map(|term| self.hasher.search_term(tenant, &term))
            .collect();
        let now = self.now();
        let wanted = |state: &ListedState| filter.flags.iter().all(|f| state.has(*f, now));
        let mut items = Vec::new();
        for _ in 0..MAX_READS {
            let page = self
                .records
                .query(
                    &Query {
                        pk: layout::contact_list_partition(tenant),
                        range: Range::Prefix(String::new()),
                        newest_first: true,
                        limit: limit - items.len(),
                        after,
                    },
                    now,
                )
                .await?;
            let mut candidates = Vec::new();
            for record in &page.items {
                let entry: ListingDoc = from_doc(record, "contact listing")?;
                if wanted(&entry.state) && terms.iter().all(|t| entry.terms.contains(t)) {
                    candidates.push(entry.contact);
                }
            }
            let opened = join_all(candidates.iter().map(|id| self.contact(tenant, id))).await;
            for contact in opened {
                // Gone since it was listed (erased), or a term's hash matched by chance.
                let Some(contact) = contact? else { continue };
                let confirmed = contact.value.erasure_requested_at.is_none()
                    && wanted(&ListedState::of(&contact.value))
                    && filter.query.as_ref().is_none_or(|q| {
                        contact.value.profile.as_ref().is_some_and(|p| q.matches(p))
                    });
                if confirmed {
                    items.push(contact);
                }
            }
            after = page.next;
            if after.is_none() || items.len() >= limit {
                break;
            }
        }
        Ok(Page { items, next: after })
    }
}

impl Store {
    /// Lists every contact of the tenant that the contact list does not know yet (written
    /// before the list existed): each is saved again with its search terms, which writes its
    /// entry. Contacts already listed, or whose erasure began, are left. How many were listed.
    pub async fn reindex_contacts(&self, tenant: &TenantId) -> Result<usize, DataError> {
        let mut listed = 0;
        let profiles = self
            .all_due(tenant, Category::Contact, Timestamp::MAX)
            .await?;
        for due in profiles.iter().filter(|d| d.key.sk == "PROFILE") {
            let Some(id) = layout::contact_of(tenant, &due.key) else {
                continue;
            };
            for attempt in 0..MAX_OPTIMISTIC_ATTEMPTS {
                let Some((_, doc)) = self.contact_record(tenant, &id).await? else {
                    break;
                };
                if !doc.search.is_empty() || doc.contact.erasure_requested_at.is_some() {
                    break;
                }
                let Some(contact) = self.contact(tenant, &id).await? else {
                    break;
                };
                if contact.value.profile.is_none() {
                    break; // its key is gone: nothing to search by
                }
                match self.save_contact(&contact, None).await {
                    Ok(_) => {
                        listed += 1;
                        break;
                    }
                    Err(DataError::Conflict(_)) if attempt + 1 < MAX_OPTIMISTIC_ATTEMPTS => {
                        continue
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(listed)
    }
}
