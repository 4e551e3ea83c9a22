//! What a purge run did (or, dry, would do), per tenant and category. Tenant ids and counts
//! only: nothing personal, so the report is logged and returned as is.

use crate::domain::ids::TenantId;
use crate::domain::retention::Category;
use crate::domain::time::Timestamp;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CategoryCounts {
    /// Entries found due in the retention index.
    pub due: u64,
    /// Records removed (erasures and closures count every record they remove).
    pub removed: u64,
    /// Messages whose content was removed, their metadata kept (P1 before P2).
    pub content_removed: u64,
    /// Export archive objects removed.
    pub archives_removed: u64,
    /// Found due but not yet: re-filed at their real time (an active contact, a longer link).
    pub refiled: u64,
    /// Kept because of a legal hold on the tenant or the contact.
    pub held: u64,
    /// Could not be processed this run (retried on the next).
    pub failed: u64,
}

impl CategoryCounts {
    fn add(&mut self, other: &CategoryCounts) {
        self.due += other.due;
        self.removed += other.removed;
        self.content_removed += other.content_removed;
        self.archives_removed += other.archives_removed;
        self.refiled += other.refiled;
        self.held += other.held;
        self.failed += other.failed;
    }

    pub fn is_empty(&self) -> bool {
        *self == CategoryCounts::default()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TenantReport {
    pub tenant: TenantId,
    /// The whole tenant is under legal hold: nothing of it was deleted.
    pub legal_hold: bool,
    pub categories: BTreeMap<&'static str, CategoryCounts>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PurgeReport {
    #[serde(serialize_with = "crate::domain::time::printed")]
    pub as_of: Timestamp,
    pub dry_run: bool,
    /// False when the run stopped at its deadline; the next run continues where it stopped.
    pub complete: bool,
    /// Index entries and records read.
    pub items_read: u64,
    /// Where this run started: the tenant the previous run had stopped at, if it had.
    pub resumed_from: Option<TenantId>,
    /// Tenants this run went through to the end.
    pub tenants_visited: u64,
    /// Tenants with anything due, held or failed.
    pub tenants: Vec<TenantReport>,
    /// Monthly usage statements issued by this run (the month before `as_of`'s).
    #[serde(default)]
    pub statements_issued: u64,
}

impl PurgeReport {
    pub(super) fn new(as_of: Timestamp, dry_run: bool) -> Self {
        PurgeReport {
            as_of,
            dry_run,
            complete: true,
            items_read: 0,
            resumed_from: None,
            tenants_visited: 0,
            tenants: Vec::new(),
            statements_issued: 0,
        }
    }

    /// Counts summed over every tenant, per category.
    pub fn totals(&self) -> BTreeMap<&'static str, CategoryCounts> {
        let mut totals: BTreeMap<&'static str, CategoryCounts> = BTreeMap::new();
        for tenant in &self.tenants {
            for (category, counts) in &tenant.categories {
                totals.entry(category).or_default().add(counts);
            }
        }
        totals
    }

    /// Everything summed.
    pub fn total(&self) -> CategoryCounts {
        let mut total = CategoryCounts::default();
        for counts in self.totals().values() {
            total.add(counts);
        }
        total
    }

    pub fn failures(&self) -> u64 {
        self.total().failed
    }

    pub fn counts(&self, tenant: &TenantId, category: Category) -> CategoryCounts {
        self.tenants
            .iter()
            .find(|t| &t.tenant == tenant)
            .and_then(|t| t.categories.get(category.code()))
            .copied()
            .unwrap_or_default()
    }
}
