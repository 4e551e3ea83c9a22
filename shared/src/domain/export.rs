//! Export jobs: a contact's (or a tenant's) data packed into an archive for access and portability (P6).

use crate::domain::ids::{ContactId, ExportId, RightsRequestId, TenantId};
use crate::domain::time::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExportScope {
    Contact { contact: ContactId },
    Tenant,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ExportState {
    Pending,
    Ready {
        object_key: String,
        size_bytes: u64,
    },
    Failed {
        reason: String,
    },
    /// Withdrawn before it expired: its archive is deleted and its link answers 410.
    Revoked {
        at: Timestamp,
        reason: Revocation,
    },
}

/// Why an export was withdrawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Revocation {
    /// The business revoked it (`DELETE /v1/exports/{id}`).
    Business,
    /// It held a contact who was erased since (a whole-account export).
    Erasure,
}

impl Revocation {
    pub fn as_str(self) -> &'static str {
        match self {
            Revocation::Business => "business",
            Revocation::Erasure => "erasure",
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("an export cannot go from {from} to {to}")]
pub struct IllegalExportTransition {
    pub from: &'static str,
    pub to: &'static str,
}

impl ExportState {
    pub fn name(&self) -> &'static str {
        match self {
            ExportState::Pending => "pending",
            ExportState::Ready { .. } => "ready",
            ExportState::Failed { .. } => "failed",
            ExportState::Revoked { .. } => "revoked",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportJob {
    pub id: ExportId,
    pub tenant: TenantId,
    pub scope: ExportScope,
    pub state: ExportState,
    pub requested_at: Timestamp,
    pub expires_at: Timestamp,
    /// Who asked: an API key id or `admin`.
    pub requested_by: String,
    pub downloads: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_limit: Option<u32>,
    /// When a download was last written to the audit trail: downloads within
    /// `DOWNLOAD_AUDIT_INTERVAL` of it are counted, not each audited, so a link holder cannot
    /// flood the trail (the next audited download carries the count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_audited_download_at: Option<Timestamp>,
    /// The person asked for it in the chat (this rights request): once it is built, or cannot
    /// be, ai-reply tells them there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_request: Option<RightsRequestId>,
}

/// Downloads of one export within this time of its last audited one are counted only.
pub const DOWNLOAD_AUDIT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

impl ExportJob {
    fn transition(&mut self, to: ExportState) -> Result<(), IllegalExportTransition> {
        let allowed = matches!(
            (&self.state, &to),
            (ExportState::Pending, ExportState::Ready { .. })
                | (ExportState::Pending, ExportState::Failed { .. })
        );
        if !allowed {
            return Err(IllegalExportTransition {
                from: self.state.name(),
                to: to.name(),
            });
        }
        self.state = to;
        Ok(())
    }

    pub fn mark_ready(
        &mut self,
        object_key: String,
        size_bytes: u64,
    ) -> Result<(), IllegalExportTransition> {
        self.transition(ExportState::Ready {
            object_key,
            size_bytes,
        })
    }

    pub fn mark_failed(&mut self, reason: String) -> Result<(), IllegalExportTransition> {
        self.transition(ExportState::Failed { reason })
    }

    /// Withdraws the export, whatever its state but revoked; the archive to delete, if it has
    /// one. A worker still building it finds it no longer pending and deletes what it built.
    pub fn revoke(
        &mut self,
        at: Timestamp,
        reason: Revocation,
    ) -> Result<Option<String>, IllegalExportTransition> {
        let archive = match &self.state {
            ExportState::Revoked { .. } => {
                return Err(IllegalExportTransition {
                    from: "revoked",
                    to: "revoked",
                })
            }
            ExportState::Ready { object_key, .. } => Some(object_key.clone()),
            ExportState::Pending | ExportState::Failed { .. } => None,
        };
        self.state = ExportState::Revoked { at, reason };
        Ok(archive)
    }

    /// Whether a whole-account export may hold the data of a contact created at `created_at`:
    /// any that was not built before. A job is built within its worker's time (15 minutes, a
    /// few retries), so one asked for an hour before the contact existed cannot hold it.
    pub fn may_hold_contact_created_at(&self, created_at: Timestamp) -> bool {
        self.scope == ExportScope::Tenant
            && !matches!(self.state, ExportState::Revoked { .. })
            && self.requested_at.plus(std::time::Duration::from_secs(3600)) >= created_at
    }

    /// The state a reader should see at `now`: past its expiry an export reads as expired (the
    /// retention purge then removes its archive, then the job).
    pub fn state_at(&self, now: Timestamp) -> &'static str {
        if matches!(self.state, ExportState::Revoked { .. }) {
            "revoked"
        } else if now >= self.expires_at {
            "expired"
        } else {
            self.state.name()
        }
    }

    /// Counts one more download at `now`; whether it is to be audited.
    pub fn count_download(&mut self, now: Timestamp) -> bool {
        self.downloads += 1;
        let audited = self
            .last_audited_download_at
            .is_none_or(|last| now.since(last) >= DOWNLOAD_AUDIT_INTERVAL);
        if audited {
            self.last_audited_download_at = Some(now);
        }
        audited
    }

    pub fn downloadable(&self, now: Timestamp) -> bool {
        matches!(self.state, ExportState::Ready { .. })
            && now < self.expires_at
            && self
                .download_limit
                .is_none_or(|limit| self.downloads < limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> ExportJob {
        ExportJob {
            id: ExportId::new("exp_1"),
            tenant: TenantId::new("t"),
            scope: ExportScope::Tenant,
            state: ExportState::Pending,
            requested_at: Timestamp::from_millis(0),
            expires_at: Timestamp::from_millis(1000),
            requested_by: "admin".into(),
            downloads: 0,
            last_audited_download_at: None,
            chat_request: None,
            download_limit: Some(1),
        }
    }

    #[test]
    fn ready_export_is_downloadable_until_expiry_or_limit() {
        let mut j = job();
        assert!(!j.downloadable(Timestamp::from_millis(1)));
        j.mark_ready("k".into(), 10).unwrap();
        assert!(j.downloadable(Timestamp::from_millis(1)));
        assert!(!j.downloadable(Timestamp::from_millis(1000)));
        j.downloads = 1;
        assert!(!j.downloadable(Timestamp::from_millis(1)));
    }

    #[test]
    fn finished_exports_cannot_change_and_read_as_expired_past_their_expiry() {
        let mut j = job();
        j.mark_failed("boom".into()).unwrap();
        assert!(j.mark_ready("k".into(), 1).is_err());
        assert!(j.mark_failed("again".into()).is_err());
        assert_eq!(j.state_at(Timestamp::from_millis(1)), "failed");
        assert_eq!(j.state_at(Timestamp::from_millis(1000)), "expired");
    }

    #[test]
    fn downloads_within_a_minute_of_the_last_audited_one_are_counted_not_audited() {
        let mut j = job();
        let at = |s: i64| Timestamp::from_millis(s * 1000);
        assert!(j.count_download(at(0)));
        assert!(!j.count_download(at(10)));
        assert!(!j.count_download(at(59)));
        assert!(j.count_download(at(60)));
        assert!(!j.count_download(at(61)));
        assert_eq!(j.downloads, 5);
    }

    #[test]
    fn a_revoked_export_gives_up_its_archive_once_and_is_never_downloadable() {
        let mut j = job();
        j.mark_ready("k".into(), 10).unwrap();
        let at = Timestamp::from_millis(5);
        assert_eq!(j.revoke(at, Revocation::Business), Ok(Some("k".to_owned())));
        assert!(!j.downloadable(Timestamp::from_millis(6)));
        assert_eq!(j.state_at(Timestamp::from_millis(6)), "revoked");
        assert_eq!(j.state_at(Timestamp::from_millis(2000)), "revoked");
        assert!(j.revoke(at, Revocation::Erasure).is_err());
        assert!(
            j.mark_ready("k2".into(), 1).is_err(),
            "a worker still building it keeps nothing"
        );
        let mut pending = job();
        assert_eq!(pending.revoke(at, Revocation::Erasure), Ok(None));
    }

    #[test]
    fn a_whole_account_export_may_hold_contacts_created_before_it_was_built() {
        let hour = 3_600_000;
        let mut j = job();
        j.requested_at = Timestamp::from_millis(10 * hour);
        assert!(j.may_hold_contact_created_at(Timestamp::from_millis(5 * hour)));
        assert!(j.may_hold_contact_created_at(Timestamp::from_millis(10 * hour + 30 * 60_000)));
        assert!(!j.may_hold_contact_created_at(Timestamp::from_millis(12 * hour)));
        j.scope = ExportScope::Contact {
            contact: ContactId::new("c"),
        };
        assert!(!j.may_hold_contact_created_at(Timestamp::from_millis(5 * hour)));
    }
}
