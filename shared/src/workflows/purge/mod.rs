//! The retention purge: makes the policy's retention periods true (P1–P4), completes erasures
//! and minor flags (P7, P11) and keeps suppression hashes (P12).
//!
//! It reads the retention index for exactly the expired range of each tenant, category and
//! shard (never a scan), so its cost follows what expires. Every action is idempotent and acts
//! only on what the index shows due — re-checked against the record where the record's own
//! state decides (contacts, exports, closed accounts) — so a run stopped at its deadline, a
//! failed one, or two at once leave the same result as one complete run.

mod report;

pub use report::{CategoryCounts, PurgeReport, TenantReport};

use crate::domain::export::{ExportScope, ExportState};
use crate::domain::ids::{ContactId, TenantId};
use crate::domain::retention::{Category, PurgeAction, RetentionPolicy};
use crate::domain::tenant::{Tenant, TenantStatus};
use crate::domain::time::Timestamp;
use crate::ports::archives::ArchiveStore;
use crate::ports::records::{Due, Key, Page};
use crate::store::{
    is_marked, layout, DataError, ErasureReport, RetainedCategories, Store, PLATFORM_TENANT,
};
use crate::workflows::erasure::complete_erasure;
use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

/// Index entries read per query.
pub const DEFAULT_PAGE_SIZE: usize = 100;

#[derive(Clone, Debug)]
pub struct PurgeOptions {
    /// The moment the policy is applied at (now, or an operator's `--as-of`).
    pub as_of: Timestamp,
    /// Count what would be done; change nothing.
    pub dry_run: bool,
    /// Stop cleanly before this instant (the Lambda deadline less a margin).
    pub deadline: Option<Instant>,
    pub page_size: usize,
    /// Work on at most this many tenants, then stop as at a deadline (an operator's bounded
    /// run; the next run resumes after them).
    pub max_tenants: Option<usize>,
}

impl PurgeOptions {
    pub fn at(as_of: Timestamp) -> Self {
        PurgeOptions {
            as_of,
            dry_run: false,
            deadline: None,
            page_size: DEFAULT_PAGE_SIZE,
            max_tenants: None,
        }
    }
}

/// Runs the purge over every tenant, starting where the last run stopped (a run that meets its
/// deadline records the tenant it did not finish, so with thousands of tenants every one is
/// reached within a bounded number of runs). Fails only when the tenant directory cannot be
/// read; anything else that fails is counted in the report (and retried by the next run).
pub async fn run(
    store: &Store,
    archives: &dyn ArchiveStore,
    options: PurgeOptions,
) -> Result<PurgeReport, DataError> {
    // Both reads at once: a run's fixed cost is its round trips.
    let (tenants, resume) = tokio::join!(store.tenant_ids(), store.purge_resume_point());
    let (mut tenants, resume) = (tenants?, resume?);
    let platform = TenantId::parse(PLATFORM_TENANT)
        .map_err(|e| DataError::Invalid(format!("platform tenant id: {e}")))?;
    if !tenants.contains(&platform) {
        tenants.push(platform);
    }
    tenants.sort();
    let order = resumed_order(tenants, resume.as_ref());
    let mut run = Run {
        store,
        archives,
        report: PurgeReport::new(options.as_of, options.dry_run),
        options,
    };
    run.report.resumed_from = resume;
    let mut stopped_at = None;
    for (done, tenant) in order.iter().enumerate() {
        let budget_spent = run.options.max_tenants.is_some_and(|max| done >= max);
        if budget_spent {
            run.report.complete = false;
        }
        if budget_spent || run.out_of_time() {
            stopped_at = Some(tenant.clone());
            break;
        }
        run.tenant(tenant).await;
        if !run.report.complete {
            // The deadline came within this tenant: the next run does it again.
            stopped_at = Some(tenant.clone());
            break;
        }
        run.report.tenants_visited += 1;
    }
    if !run.options.dry_run {
        store.set_purge_resume_point(stopped_at.as_ref()).await?;
    }
    log(&run.report);
    Ok(run.report)
}

/// The tenants in directory order, starting at `resume` (when it is still a tenant) and
/// wrapping around to the ones before it.
fn resumed_order(tenants: Vec<TenantId>, resume: Option<&TenantId>) -> Vec<TenantId> {
    match resume.and_then(|r| tenants.iter().position(|t| t >= r)) {
        Some(start) => {
            let (before, from) = tenants.split_at(start);
            from.iter().chain(before).cloned().collect()
        }
        None => tenants,
    }
}

fn log(report: &PurgeReport) {
    for tenant in &report.tenants {
        for (category, c) in &tenant.categories {
            tracing::info!(
                tenant = %tenant.tenant,
                category,
                due = c.due,
                removed = c.removed,
                content_removed = c.content_removed,
                archives_removed = c.archives_removed,
                refiled = c.refiled,
                held = c.held,
                failed = c.failed,
                dry_run = report.dry_run,
                "retention_purge_category"
            );
        }
    }
    let total = report.total();
    tracing::info!(
        tenants = report.tenants.len(),
        complete = report.complete,
        dry_run = report.dry_run,
        items_read = report.items_read,
        due = total.due,
        removed = total.removed,
        content_removed = total.content_removed,
        held = total.held,
        failed = total.failed,
        "retention_purge_run"
    );
}

struct Run<'a> {
    store: &'a Store,
    archives: &'a dyn ArchiveStore,
    options: PurgeOptions,
    report: PurgeReport,
}

/// What the purge knows of one tenant while it works on it.
struct TenantScope {
    id: TenantId,
    tenant: Option<Tenant>,
    policy: RetentionPolicy,
    holds: HashSet<ContactId>,
}

impl TenantScope {
    fn holds_key(&self, key: &Key) -> bool {
        layout::contact_of(&self.id, key).is_some_and(|c| self.holds.contains(&c))
    }
}

impl Run<'_> {
    fn out_of_time(&mut self) -> bool {
        let over = self
            .options
            .deadline
            .is_some_and(|deadline| Instant::now() >= deadline);
        if over {
            self.report.complete = false;
        }
        over
    }

    async fn tenant(&mut self, id: &TenantId) {
        let mut report = TenantReport {
            tenant: id.clone(),
            legal_hold: false,
            categories: BTreeMap::new(),
        };
        let (scope, retained) = match self.scope(id).await {
            Ok(read) => read,
            Err(e) => {
                tracing::warn!(tenant = %id, error = %e, retryable = e.is_retryable(), "retention_purge_tenant_failed");
                report.categories.insert(
                    "tenant",
                    CategoryCounts {
                        failed: 1,
                        ..CategoryCounts::default()
                    },
                );
                self.report.tenants.push(report);
                return;
            }
        };
        report.legal_hold = scope.tenant.as_ref().is_some_and(|t| t.settings.legal_hold);
        let categories = self.categories_to_visit(id, retained).await;
        // The statement and the first page of every category are read at once (a read per
        // category covers its shards): one round trip where one after another was most of a
        // run's time. Categories are disjoint, so the order they are acted on is free.
        let (statement, first_pages) = tokio::join!(
            self.statement(&scope),
            futures_util::future::join_all(categories.iter().map(|&c| self.first_page(&scope, c)))
        );
        self.count_statement(&scope, statement);
        let mut account_closed = false;
        for (category, mut first) in categories.into_iter().zip(first_pages) {
            if self.out_of_time() {
                break;
            }
            if account_closed {
                // The closure removed what this page lists: read it again.
                first = self.first_page(&scope, category).await;
            }
            let counts = self
                .category(&scope, category, first, report.legal_hold)
                .await;
            account_closed |= category == Category::AccountData && counts.removed > 0;
            if !counts.is_empty() {
                report.categories.insert(category.code(), counts);
            }
        }
        if !report.categories.is_empty() {
            self.report.tenants.push(report);
        }
        self.forget_if_gone(&scope).await;
    }

    /// Issues the tenant's statement of last month, if due (the purge visits every tenant
    /// every run; a month issued is read and left). `None` when there is nothing to do.
    async fn statement(
        &self,
        scope: &TenantScope,
    ) -> Option<Result<Option<crate::domain::billing::Statement>, DataError>> {
        let tenant = scope.tenant.as_ref()?;
        if self.options.dry_run {
            return None;
        }
        Some(
            crate::workflows::billing::issue_due_statement(self.store, tenant, self.options.as_of)
                .await,
        )
    }

    /// A failure is retried by the next run.
    fn count_statement(
        &mut self,
        scope: &TenantScope,
        outcome: Option<Result<Option<crate::domain::billing::Statement>, DataError>>,
    ) {
        let Some(outcome) = outcome else { return };
        self.report.items_read += 1;
        match outcome {
            Ok(Some(_)) => self.report.statements_issued += 1,
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(tenant = %scope.id, error = %e, retryable = e.is_retryable(), "billing_statement_failed");
            }
        }
    }

    /// The first page of due entries of `category`, across its shards.
    async fn first_page(
        &self,
        scope: &TenantScope,
        category: Category,
    ) -> Result<Page<Due>, DataError> {
        let up_to = scope.policy.cutoff(category, self.options.as_of);
        self.store
            .due_in_category(&scope.id, category, up_to, self.options.page_size, None)
            .await
    }

    /// A removed account stays in the tenant directory while its statements are kept (seven
    /// years after their month, for tax); once none is left, the purge forgets it. (Other
    /// entries without a tenant, such as the raw payloads no tenant names, stay.)
    async fn forget_if_gone(&mut self, scope: &TenantScope) {
        // The platform (raw payloads no tenant owns) is never an account: nothing to read.
        if scope.tenant.is_some() || self.options.dry_run || scope.id.as_str() == PLATFORM_TENANT {
            return;
        }
        match self.store.account_removed(&scope.id).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                tracing::warn!(tenant = %scope.id, error = %e, "tenant_directory_entry_not_removed");
                return;
            }
        }
        match self.store.files_any(&scope.id, Category::Payment).await {
            Ok(false) => {
                if let Err(e) = self.store.forget_tenant(&scope.id).await {
                    tracing::warn!(tenant = %scope.id, error = %e, "tenant_directory_entry_not_removed");
                }
            }
            Ok(true) => {}
            Err(e) => {
                tracing::warn!(tenant = %scope.id, error = %e, "tenant_directory_entry_not_removed")
            }
        }
    }

    /// The categories whose shards are queried for the tenant: the frequent ones and the ones it
    /// has marked (rare ones; every one of the platform's). A tenant not yet swept is swept
    /// first: its unmarked categories that take marks and hold anything (filed before marks
    /// existed) are marked. Whatever fails, or a dry run
    /// that may not write, visits every category: nothing is skipped on a guess.
    async fn categories_to_visit(
        &mut self,
        id: &TenantId,
        retained: Result<RetainedCategories, DataError>,
    ) -> Vec<Category> {
        let mut retained = match retained {
            Ok(retained) => retained,
            Err(e) => {
                tracing::warn!(tenant = %id, error = %e, "retention_marks_unreadable");
                return Category::ALL.to_vec();
            }
        };
        self.report.items_read += retained.rare.len() as u64 + u64::from(retained.swept);
        if retained.swept {
            return retained.to_visit(id);
        }
        if self.options.dry_run {
            return Category::ALL.to_vec();
        }
        let unmarked: Vec<Category> = Category::ALL
            .into_iter()
            .filter(|&c| is_marked(id.as_str(), c) && !retained.rare.contains(&c))
            .collect();
        for category in unmarked {
            if self.out_of_time() {
                return Category::ALL.to_vec();
            }
            let marked = match self.store.files_any(id, category).await {
                Ok(false) => Ok(false),
                Ok(true) => self.store.mark_retained(id, category).await.map(|()| true),
                Err(e) => Err(e),
            };
            match marked {
                Ok(true) => {
                    retained.rare.insert(category);
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(tenant = %id, category = category.code(), error = %e, "retention_sweep_failed");
                    return Category::ALL.to_vec();
                }
            }
        }
        match self.store.mark_swept(id).await {
            Ok(()) => {
                retained.swept = true;
                retained.to_visit(id)
            }
            Err(e) => {
                tracing::warn!(tenant = %id, error = %e, "retention_sweep_failed");
                Category::ALL.to_vec()
            }
        }
    }

    /// The tenant, its legal holds and its retention marks, read at once.
    async fn scope(
        &mut self,
        id: &TenantId,
    ) -> Result<(TenantScope, Result<RetainedCategories, DataError>), DataError> {
        let (tenant, holds, retained) = tokio::join!(
            self.store.tenant(id),
            self.store.legal_holds(id),
            self.store.retained_categories(id)
        );
        let (tenant, holds) = (tenant?, holds?);
        self.report.items_read += 1 + holds.len() as u64;
        let scope = TenantScope {
            id: id.clone(),
            policy: tenant.as_ref().map(Tenant::retention).unwrap_or_default(),
            tenant,
            holds,
        };
        Ok((scope, retained))
    }

    /// Every due entry of one category (all its shards in each read), page by page, from the
    /// first page already read.
    async fn category(
        &mut self,
        scope: &TenantScope,
        category: Category,
        first: Result<Page<Due>, DataError>,
        tenant_held: bool,
    ) -> CategoryCounts {
        let mut counts = CategoryCounts::default();
        let action = scope.policy.purge_action(category);
        let up_to = scope.policy.cutoff(category, self.options.as_of);
        let page_size = self.options.page_size;
        let mut page = first;
        loop {
            if self.out_of_time() {
                return counts;
            }
            let found = match page {
                Ok(found) => found,
                Err(e) => {
                    self.failed(&mut counts, scope, category, &e);
                    return counts;
                }
            };
            let n = found.items.len() as u64;
            self.report.items_read += n;
            counts.due += n;
            if tenant_held {
                counts.held += n;
            } else {
                self.act(scope, category, action, found.items, &mut counts)
                    .await;
            }
            let Some(after) = found.next else {
                return counts;
            };
            page = self
                .store
                .due_in_category(&scope.id, category, up_to, page_size, Some(after))
                .await;
        }
    }

    fn failed(
        &self,
        counts: &mut CategoryCounts,
        scope: &TenantScope,
        category: Category,
        error: &dyn std::fmt::Display,
    ) {
        counts.failed += 1;
        tracing::warn!(
            tenant = %scope.id,
            category = category.code(),
            error = %error,
            "retention_purge_failed"
        );
    }

    async fn act(
        &mut self,
        scope: &TenantScope,
        category: Category,
        action: PurgeAction,
        due: Vec<Due>,
        counts: &mut CategoryCounts,
    ) {
        let dry = self.options.dry_run;
        match action {
            PurgeAction::Delete => {
                let (held, doomed): (Vec<Due>, Vec<Due>) =
                    due.into_iter().partition(|d| scope.holds_key(&d.key));
                counts.held += held.len() as u64;
                let keys: Vec<Key> = doomed.into_iter().map(|d| d.key).collect();
                let n = keys.len() as u64;
                if !dry && category == Category::Quarantine {
                    // A day's key goes before its marker: a failure leaves the marker due.
                    for (owner, day) in keys.iter().filter_map(layout::raw_day_of) {
                        if let Err(e) = self.store.shred_raw_day(&owner, &day).await {
                            self.failed(counts, scope, category, &e);
                            return;
                        }
                    }
                }
                if !dry {
                    if let Err(e) = self.store.remove_records(keys).await {
                        self.failed(counts, scope, category, &e);
                        return;
                    }
                }
                counts.removed += n;
            }
            PurgeAction::StripContent => {
                // A message whose metadata is due as well (a purge that has not run for a
                // while) goes at once: one index read and one batched delete, not two of each.
                let as_of = self.options.as_of;
                let (whole, due): (Vec<Due>, Vec<Due>) = due
                    .into_iter()
                    .partition(|d| scope.policy.is_due(Category::MessageMetadata, d.at, as_of));
                if !whole.is_empty() {
                    Box::pin(self.act(scope, category, PurgeAction::Delete, whole, counts)).await;
                }
                for d in due {
                    if scope.holds_key(&d.key) {
                        counts.held += 1;
                    } else if dry {
                        counts.content_removed += 1;
                    } else {
                        match self.store.strip_content(&scope.id, &d.key, d.at).await {
                            Ok(true) => counts.content_removed += 1,
                            Ok(false) => {}
                            Err(e) => self.failed(counts, scope, category, &e),
                        }
                    }
                }
            }
            PurgeAction::RetireContact | PurgeAction::CompleteErasure => {
                for d in due {
                    if let Err(e) = self.contact(scope, action, &d, counts).await {
                        self.failed(counts, scope, category, &e);
                    }
                }
            }
            PurgeAction::DeleteExport => {
                for d in due {
                    if let Err(e) = self.export(scope, &d, counts).await {
                        self.failed(counts, scope, category, &e);
                    }
                }
            }
            PurgeAction::CloseAccount => {
                for d in due {
                    if let Err(e) = self.close_account(scope, &d, counts).await {
                        self.failed(counts, scope, category, &e);
                    }
                }
            }
        }
    }

    /// An idle contact (retired unless active since it was filed) or an erasure to complete.
    async fn contact(
        &mut self,
        scope: &TenantScope,
        action: PurgeAction,
        due: &Due,
        counts: &mut CategoryCounts,
    ) -> Result<(), crate::workflows::erasure::ErasureError> {
        let Some(id) = layout::contact_of(&scope.id, &due.key) else {
            return Ok(());
        };
        let activity = self.store.contact_activity(&scope.id, &id).await?;
        self.report.items_read += 2;
        let Some(activity) = activity else {
            return Ok(()); // erased meanwhile
        };
        if activity.contact.legal_hold || scope.holds.contains(&id) {
            counts.held += 1;
            return Ok(());
        }
        if action == PurgeAction::RetireContact {
            if activity.contact.is_erasure_due() {
                return Ok(()); // the erasure category completes it
            }
            let idle_since = activity.last_activity;
            if !scope
                .policy
                .is_due(Category::Contact, idle_since, self.options.as_of)
            {
                if !self.options.dry_run {
                    self.store
                        .refile(&scope.id, &due.key, Category::Contact, idle_since)
                        .await?;
                }
                counts.refiled += 1;
                return Ok(());
            }
        }
        if self.options.dry_run {
            counts.removed += 1;
            return Ok(());
        }
        let erased = complete_erasure(self.store, self.archives, &scope.id, &id).await?;
        count_erasure(counts, &erased);
        Ok(())
    }

    async fn export(
        &mut self,
        scope: &TenantScope,
        due: &Due,
        counts: &mut CategoryCounts,
    ) -> Result<(), crate::workflows::erasure::ErasureError> {
        let job = self.store.stored_export(&due.key).await?;
        self.report.items_read += 1;
        let Some(job) = job else {
            return Ok(());
        };
        if matches!(&job.scope, ExportScope::Contact { contact } if scope.holds.contains(contact)) {
            counts.held += 1;
            return Ok(());
        }
        if job.expires_at > self.options.as_of {
            // A link made to last longer than the default: due when it expires.
            let at = job.expires_at.minus(scope.policy.export_archive);
            if !self.options.dry_run {
                self.store
                    .refile(&scope.id, &due.key, Category::ExportArchive, at)
                    .await?;
            }
            counts.refiled += 1;
            return Ok(());
        }
        self.remove_export(due, &job, counts).await
    }

    /// A closed account past its retention: everything of the tenant goes (P3). Contacts under
    /// legal hold keep theirs, and then the account record stays until the hold is lifted.
    async fn close_account(
        &mut self,
        scope: &TenantScope,
        due: &Due,
        counts: &mut CategoryCounts,
    ) -> Result<(), crate::workflows::erasure::ErasureError> {
        let Some(tenant) = &scope.tenant else {
            return Ok(());
        };
        let closed_at = match tenant.status {
            TenantStatus::Closed { at } => at,
            TenantStatus::Active => return Ok(()), // reopened
        };
        if due.key != layout::tenant(&tenant.id) {
            // Suppression hashes are filed here for closure only: they go with the account.
            return Ok(());
        }
        if !scope
            .policy
            .is_due(Category::AccountData, closed_at, self.options.as_of)
        {
            return Ok(());
        }
        let everything = Timestamp::MAX;
        let mut closing = CategoryCounts::default();
        for category in [
            Category::Erasure,
            Category::Contact,
            Category::ExportArchive,
            Category::ChatContent,
            Category::MessageMetadata,
            Category::Quarantine,
            // Payment records (usage statements) stay their seven years for tax, closure or not.
            Category::Analytics,
            Category::Audit,
            Category::ErasureTombstone,
            Category::AccountData,
        ] {
            let action = match scope.policy.purge_action(category) {
                PurgeAction::RetireContact | PurgeAction::CompleteErasure => {
                    PurgeAction::CompleteErasure
                }
                PurgeAction::DeleteExport => PurgeAction::DeleteExport,
                _ => PurgeAction::Delete,
            };
            let mut after = None;
            loop {
                let page = self
                    .store
                    .due_in_category(
                        &scope.id,
                        category,
                        everything,
                        self.options.page_size,
                        after,
                    )
                    .await?;
                self.report.items_read += page.items.len() as u64;
                let mut items = page.items;
                // The account record goes last, once nothing else is left.
                items.retain(|d| d.key != due.key);
                if action == PurgeAction::DeleteExport {
                    // Closure does not wait for a link's expiry.
                    for d in &items {
                        self.expired_export(d, &mut closing).await?;
                    }
                } else {
                    Box::pin(self.act(scope, category, action, items, &mut closing)).await;
                }
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
        counts.removed += closing.removed;
        counts.archives_removed += closing.archives_removed;
        counts.held += closing.held;
        counts.failed += closing.failed;
        if closing.held > 0 || closing.failed > 0 || self.options.dry_run {
            if self.options.dry_run {
                counts.removed += 1;
            }
            return Ok(());
        }
        counts.removed += self.store.remove_account(tenant).await? as u64;
        Ok(())
    }

    /// An export of a closing account: removed whether or not its link has expired.
    async fn expired_export(
        &mut self,
        due: &Due,
        counts: &mut CategoryCounts,
    ) -> Result<(), crate::workflows::erasure::ErasureError> {
        let job = self.store.stored_export(&due.key).await?;
        self.report.items_read += 1;
        match job {
            Some(job) => self.remove_export(due, &job, counts).await,
            None => Ok(()),
        }
    }

    /// The archive object first, then the job that names it (so a failure in between repeats).
    async fn remove_export(
        &mut self,
        due: &Due,
        job: &crate::domain::export::ExportJob,
        counts: &mut CategoryCounts,
    ) -> Result<(), crate::workflows::erasure::ErasureError> {
        if !self.options.dry_run {
            if let ExportState::Ready { object_key, .. } = &job.state {
                self.archives.delete(object_key).await?;
            }
            self.store.remove_records(vec![due.key.clone()]).await?;
        }
        if matches!(job.state, ExportState::Ready { .. }) {
            counts.archives_removed += 1;
        }
        counts.removed += 1;
        Ok(())
    }
}

fn count_erasure(counts: &mut CategoryCounts, erased: &ErasureReport) {
    counts.removed += erased.records_removed as u64;
    counts.archives_removed += erased
        .exports
        .iter()
        .filter(|j| matches!(j.state, ExportState::Ready { .. }))
        .count() as u64;
}

#[cfg(test)]
mod tests {
    use super::resumed_order;
    use crate::domain::ids::TenantId;

    #[test]
    fn a_run_resumes_at_the_tenant_the_last_one_stopped_at_and_wraps_around() {
        let ids = |names: &[&str]| names.iter().map(|n| TenantId::new(*n)).collect::<Vec<_>>();
        let all = ids(&["a", "b", "c", "d"]);
        assert_eq!(resumed_order(all.clone(), None), all);
        assert_eq!(
            resumed_order(all.clone(), Some(&TenantId::new("c"))),
            ids(&["c", "d", "a", "b"])
        );
        // A tenant gone since: the next one after it.
        assert_eq!(
            resumed_order(ids(&["a", "b", "d"]), Some(&TenantId::new("c"))),
            ids(&["d", "a", "b"])
        );
        assert_eq!(
            resumed_order(ids(&["a", "b"]), Some(&TenantId::new("z"))),
            ids(&["a", "b"])
        );
    }
}
