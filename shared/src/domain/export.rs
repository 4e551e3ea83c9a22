//! Export jobs: a contact's (or a tenant's) data packed into an archive for access and portability (P6).

use crate::domain::ids::{ContactId, ExportId, TenantId};
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
    Ready { object_key: String, size_bytes: u64 },
    Failed { reason: String },
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
}

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

    /// The state a reader should see at `now`: past its expiry an export reads as expired (the
    /// retention purge then removes its archive, then the job).
    pub fn state_at(&self, now: Timestamp) -> &'static str {
        if now >= self.expires_at {
            "expired"
        } else {
            self.state.name()
        }
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
}
