//! Retention categories and the policy that says when each kind of data is due for removal (P1–P4).

use crate::domain::time::{days, Timestamp};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The most a tenant may configure for chat content, and the least.
pub const MAX_CHAT_RETENTION_DAYS: u32 = 365;
pub const MIN_CHAT_RETENTION_DAYS: u32 = 1;
pub const DEFAULT_CHAT_RETENTION_DAYS: u32 = 30;

/// Shards of the retention index per (tenant, category): spreads a busy number's writes over
/// 16 index partitions so none of them nears DynamoDB's 1,000 WCU/s per-partition limit.
pub const RETENTION_SHARDS: u8 = 16;

/// Every kind of data Mizan stores, by how long it may be kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Message text and media references: the tenant's chat retention (default 30 days).
    ChatContent,
    /// Message ids, timestamps, direction and status: Meta's 90-day records minimum.
    MessageMetadata,
    /// A contact's profile and consent history: kept while the contact has data, see `contact_idle`.
    Contact,
    /// Export archives and their jobs: 7 days.
    ExportArchive,
    /// Signed but unparseable webhook payloads kept (encrypted) for inspection: 14 days.
    Quarantine,
    /// A business account's data: while active, then 2 years after closure.
    AccountData,
    /// Payment records: 7 years.
    Payment,
    /// Analytics: 25 months.
    Analytics,
    /// Audit events: 2 years, so every right exercised stays provable for the account's tail.
    Audit,
    /// Contacts with an erasure request or a minor flag: due at once, until erasure completes.
    Erasure,
    /// Keyed hashes of an erased contact's identifiers and the erasure time, so a webhook Meta
    /// redelivers (or anyone replays) after the erasure is not stored again: 30 days, Meta's
    /// redelivery window (7 days) with a wide margin.
    ErasureTombstone,
}

impl Category {
    pub const ALL: [Category; 11] = [
        Category::ChatContent,
        Category::MessageMetadata,
        Category::Contact,
        Category::ExportArchive,
        Category::Quarantine,
        Category::AccountData,
        Category::Payment,
        Category::Analytics,
        Category::Audit,
        Category::Erasure,
        Category::ErasureTombstone,
    ];

    /// Whether a tenant files records under this category only now and then (an export, an
    /// erasure, a quarantined payload), as opposed to with every message or audited action. The
    /// store marks a tenant's rare categories when it first files under one, so the purge
    /// queries a rare category's shards only for tenants that have one (a purge run would
    /// otherwise cost every tenant 16 index queries per category, most of them empty).
    pub fn is_rare(self) -> bool {
        !matches!(
            self,
            Category::ChatContent | Category::MessageMetadata | Category::Contact | Category::Audit
        )
    }

    /// The category whose `code` this is.
    pub fn from_code(code: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.code() == code)
    }

    /// Short stable code used in storage keys.
    pub fn code(self) -> &'static str {
        match self {
            Category::ChatContent => "chat",
            Category::MessageMetadata => "meta",
            Category::Contact => "contact",
            Category::ExportArchive => "export",
            Category::Quarantine => "quarantine",
            Category::AccountData => "account",
            Category::Payment => "payment",
            Category::Analytics => "analytics",
            Category::Audit => "audit",
            Category::Erasure => "erasure",
            Category::ErasureTombstone => "tombstone",
        }
    }
}

/// Retention periods in force for one tenant: the policy defaults with the tenant's own setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetentionPolicy {
    pub chat_content: Duration,
    pub message_metadata: Duration,
    pub contact_idle: Duration,
    pub export_archive: Duration,
    pub quarantine: Duration,
    pub account_after_closure: Duration,
    pub payment: Duration,
    pub analytics: Duration,
    pub audit: Duration,
    pub erasure_tombstone: Duration,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy {
            chat_content: days(u64::from(DEFAULT_CHAT_RETENTION_DAYS)),
            message_metadata: days(90),
            contact_idle: days(90),
            export_archive: days(7),
            quarantine: days(14),
            account_after_closure: days(2 * 365),
            payment: days(7 * 365 + 2),
            analytics: days(761), // 25 months of 30.44 days
            audit: days(2 * 365),
            erasure_tombstone: days(30),
        }
    }
}

impl RetentionPolicy {
    /// The defaults with a tenant's chat retention, which settings validation keeps in bounds.
    pub fn with_chat_days(chat_days: u32) -> Self {
        let chat_days = chat_days.clamp(MIN_CHAT_RETENTION_DAYS, MAX_CHAT_RETENTION_DAYS);
        RetentionPolicy {
            chat_content: days(u64::from(chat_days)),
            ..RetentionPolicy::default()
        }
    }

    /// How long data of `category` is kept after its reference time (creation, or closure for
    /// account data).
    pub fn period(&self, category: Category) -> Duration {
        match category {
            Category::ChatContent => self.chat_content,
            // Metadata outlives content: it goes at 90 days, or with the content if that is kept longer.
            Category::MessageMetadata => self.message_metadata.max(self.chat_content),
            Category::Contact => self.contact_idle.max(self.chat_content),
            Category::ExportArchive => self.export_archive,
            Category::Quarantine => self.quarantine,
            Category::AccountData => self.account_after_closure,
            Category::Payment => self.payment,
            Category::Analytics => self.analytics,
            Category::Audit => self.audit,
            Category::Erasure => Duration::ZERO,
            Category::ErasureTombstone => self.erasure_tombstone,
        }
    }

    /// The longest `category` may be kept under any setting a tenant may choose: what the
    /// DynamoDB TTL backstop is set to, so raising a tenant's retention later is honoured for
    /// what is already stored (the purge enforces the tenant's current period).
    pub fn longest(category: Category) -> Duration {
        RetentionPolicy::with_chat_days(MAX_CHAT_RETENTION_DAYS).period(category)
    }

    /// Data of `category` created before this instant is due for removal at `now`.
    pub fn cutoff(&self, category: Category, now: Timestamp) -> Timestamp {
        now.minus(self.period(category))
    }

    pub fn is_due(&self, category: Category, reference: Timestamp, now: Timestamp) -> bool {
        reference.plus(self.period(category)) <= now
    }

    /// Whether a message's content may still be read.
    pub fn content_readable(&self, sent_at: Timestamp, now: Timestamp) -> bool {
        !self.is_due(Category::ChatContent, sent_at, now)
    }

    /// Whether a message (its metadata) may still be read.
    pub fn metadata_readable(&self, sent_at: Timestamp, now: Timestamp) -> bool {
        !self.is_due(Category::MessageMetadata, sent_at, now)
    }
}

/// What the purge does with a record found due in the retention index of `category`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PurgeAction {
    /// Remove the message's content and re-file it under message metadata (P1 then P2).
    StripContent,
    /// Remove the record.
    Delete,
    /// The contact's idle period is over, unless it was active since it was filed: re-check
    /// its activity, then erase it (keeping a suppression hash where P12 requires) or re-file it.
    RetireContact,
    /// Remove the export's archive object, then its job.
    DeleteExport,
    /// Finish an erasure request or minor flag: archives, every record, the data key.
    CompleteErasure,
    /// Remove everything the closed tenant's account holds (P3).
    CloseAccount,
}

impl RetentionPolicy {
    /// The action for a record due in `category` under this policy.
    pub fn purge_action(&self, category: Category) -> PurgeAction {
        match category {
            // When metadata is kept no longer than content, both go together.
            Category::ChatContent if self.period(Category::MessageMetadata) > self.chat_content => {
                PurgeAction::StripContent
            }
            Category::ChatContent
            | Category::MessageMetadata
            | Category::Quarantine
            | Category::Payment
            | Category::Analytics
            | Category::Audit
            | Category::ErasureTombstone => PurgeAction::Delete,
            Category::Contact => PurgeAction::RetireContact,
            Category::ExportArchive => PurgeAction::DeleteExport,
            Category::Erasure => PurgeAction::CompleteErasure,
            Category::AccountData => PurgeAction::CloseAccount,
        }
    }
}

/// The shard of the retention index an item goes to, from its storage key (stable, well spread).
pub fn retention_shard(pk: &str, sk: &str) -> u8 {
    // FNV-1a: cheap and stable across releases and platforms, unlike std's hasher.
    let mut hash: u32 = 0x811c_9dc5;
    for byte in pk.bytes().chain([0u8]).chain(sk.bytes()) {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    (hash % u32::from(RETENTION_SHARDS)) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_day(n: i64) -> Timestamp {
        Timestamp::from_millis(n * 86_400_000)
    }

    #[test]
    fn defaults_follow_the_privacy_policy() {
        let p = RetentionPolicy::default();
        assert_eq!(p.period(Category::ChatContent), days(30));
        assert_eq!(p.period(Category::MessageMetadata), days(90));
        assert_eq!(p.period(Category::ExportArchive), days(7));
        assert_eq!(p.period(Category::AccountData), days(730));
        assert!(p.period(Category::Payment) >= days(7 * 365));
        assert!(p.period(Category::Analytics) >= days(25 * 30));
    }

    #[test]
    fn content_goes_before_metadata() {
        let p = RetentionPolicy::default();
        let sent = at_day(100);
        assert!(p.content_readable(sent, at_day(129)));
        assert!(!p.content_readable(sent, at_day(130)));
        assert!(p.metadata_readable(sent, at_day(130)));
        assert!(!p.metadata_readable(sent, at_day(190)));
    }

    #[test]
    fn longer_chat_retention_keeps_metadata_at_least_as_long() {
        let p = RetentionPolicy::with_chat_days(180);
        assert_eq!(p.period(Category::MessageMetadata), days(180));
        assert!(p.content_readable(at_day(0), at_day(179)));
    }

    #[test]
    fn chat_days_are_clamped_to_documented_bounds() {
        assert_eq!(RetentionPolicy::with_chat_days(0).chat_content, days(1));
        assert_eq!(
            RetentionPolicy::with_chat_days(10_000).chat_content,
            days(365)
        );
    }

    #[test]
    fn every_category_has_a_period_and_a_code() {
        let p = RetentionPolicy::default();
        let mut codes: Vec<_> = Category::ALL.iter().map(|c| c.code()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), Category::ALL.len());
        assert!(Category::ALL
            .iter()
            .filter(|c| **c != Category::Erasure)
            .all(|c| p.period(*c) > Duration::ZERO));
        assert_eq!(p.period(Category::Erasure), Duration::ZERO);
    }

    #[test]
    fn content_is_stripped_first_unless_metadata_goes_with_it() {
        let default = RetentionPolicy::default();
        assert_eq!(
            default.purge_action(Category::ChatContent),
            PurgeAction::StripContent
        );
        assert_eq!(
            default.purge_action(Category::MessageMetadata),
            PurgeAction::Delete
        );
        let long = RetentionPolicy::with_chat_days(180);
        assert_eq!(
            long.purge_action(Category::ChatContent),
            PurgeAction::Delete
        );
        assert_eq!(
            default.purge_action(Category::Erasure),
            PurgeAction::CompleteErasure
        );
        assert_eq!(
            default.purge_action(Category::AccountData),
            PurgeAction::CloseAccount
        );
    }

    #[test]
    fn shards_are_stable_and_spread() {
        assert_eq!(retention_shard("a", "b"), retention_shard("a", "b"));
        let used: std::collections::HashSet<u8> = (0..1000)
            .map(|i| retention_shard("T#x#C#y", &format!("M#{i}")))
            .collect();
        assert_eq!(used.len(), usize::from(RETENTION_SHARDS));
    }
}
