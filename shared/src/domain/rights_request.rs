//! A data subject's request to exercise a right, however it came (the chat, the API), from its
//! arrival to its outcome, with the deadline GDPR Art. 12(3) sets: one month from receipt.
//! Holds ids and codes only: nothing a person wrote.

use crate::domain::ids::{ContactId, ExportId, RightsRequestId, TenantId};
use crate::domain::keywords::Language;
use crate::domain::time::Timestamp;
use chrono::{DateTime, Months, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How long a deletion code stays valid.
pub const CONFIRMATION_WINDOW: Duration = Duration::from_secs(10 * 60);
/// Wrong codes allowed before the deletion request lapses (the person asks again).
pub const MAX_WRONG_CODES: u32 = 3;
/// One export through the chat per contact in this time; asking again gets the one made.
pub const CHAT_EXPORT_EVERY: Duration = Duration::from_secs(24 * 3600);
/// The longest note a business closes a request with.
pub const MAX_CLOSING_NOTE_CHARS: usize = 500;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RightsKind {
    /// A copy of their data (Art. 15, and portability, Art. 20: the archive is both).
    Access,
    Erasure,
    Rectification,
    Restriction,
}

impl RightsKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RightsKind::Access => "access",
            RightsKind::Erasure => "erasure",
            RightsKind::Rectification => "rectification",
            RightsKind::Restriction => "restriction",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RightsChannel {
    Chat,
    Api,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RightsState {
    /// Mizan is carrying it out (an export being built).
    InProgress,
    /// A deletion asked in the chat, waiting for the code.
    AwaitingConfirmation,
    Completed,
    /// A legal hold suspends it: the business handles it and closes it.
    Held,
    /// The business must handle it itself (self-service off, or something Mizan cannot do).
    PendingBusiness,
    /// Never confirmed (the code expired or was missed too often): nothing was done.
    Lapsed,
}

impl RightsState {
    pub fn as_str(self) -> &'static str {
        match self {
            RightsState::InProgress => "in_progress",
            RightsState::AwaitingConfirmation => "awaiting_confirmation",
            RightsState::Completed => "completed",
            RightsState::Held => "held",
            RightsState::PendingBusiness => "pending_business",
            RightsState::Lapsed => "lapsed",
        }
    }

    pub fn parse(text: &str) -> Option<RightsState> {
        use RightsState::*;
        [
            InProgress,
            AwaitingConfirmation,
            Completed,
            Held,
            PendingBusiness,
            Lapsed,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    /// Whether the request is over: nothing more happens to it.
    pub fn is_final(self) -> bool {
        matches!(self, RightsState::Completed | RightsState::Lapsed)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RightsRequest {
    pub id: RightsRequestId,
    pub tenant: TenantId,
    pub contact: ContactId,
    pub kind: RightsKind,
    pub channel: RightsChannel,
    pub received_at: Timestamp,
    /// One month from receipt (Art. 12(3)).
    pub due_by: Timestamp,
    pub state: RightsState,
    /// What happened, as a code (`link_sent`, `erased`, `code_expired`, …), once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// The business's words when it closed the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<Timestamp>,
    /// The export made for an access request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<ExportId>,
    /// The language of the chat the request came in, for the answers that follow.
    pub language: Language,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CloseError {
    #[error("the request is {0} already")]
    AlreadyFinal(&'static str),
    #[error("only a request the business handles can be closed by it; this one is {0}")]
    NotTheBusinesss(&'static str),
    #[error("a note has at most {MAX_CLOSING_NOTE_CHARS} characters")]
    NoteTooLong,
}

impl RightsRequest {
    pub fn new(
        tenant: TenantId,
        contact: ContactId,
        kind: RightsKind,
        channel: RightsChannel,
        language: Language,
        received_at: Timestamp,
        state: RightsState,
    ) -> RightsRequest {
        RightsRequest {
            id: RightsRequestId::generate(received_at),
            tenant,
            contact,
            kind,
            channel,
            received_at,
            due_by: one_month_after(received_at),
            state,
            outcome: None,
            note: None,
            closed_at: None,
            export: None,
            language,
        }
    }

    /// A request the business carried out through the API at `at` (for its register): done,
    /// or held when a legal hold refused it.
    pub fn carried_out_by_api(
        tenant: TenantId,
        contact: ContactId,
        kind: RightsKind,
        state: RightsState,
        outcome: &str,
        at: Timestamp,
    ) -> RightsRequest {
        let mut request = RightsRequest::new(
            tenant,
            contact,
            kind,
            RightsChannel::Api,
            Language::English,
            at,
            state,
        );
        request.finish(state, outcome, at);
        request
    }

    /// Ends the request with `outcome` at `at`.
    pub fn finish(&mut self, state: RightsState, outcome: &str, at: Timestamp) {
        self.state = state;
        self.outcome = Some(outcome.to_owned());
        if state.is_final() {
            self.closed_at = Some(at);
        }
    }

    /// The business closes a request it had to handle (held or pending): it is completed with
    /// the business's outcome code and note.
    pub fn close_by_business(
        &mut self,
        outcome: &str,
        note: Option<String>,
        at: Timestamp,
    ) -> Result<(), CloseError> {
        if self.state.is_final() {
            return Err(CloseError::AlreadyFinal(self.state.as_str()));
        }
        if !matches!(self.state, RightsState::Held | RightsState::PendingBusiness) {
            return Err(CloseError::NotTheBusinesss(self.state.as_str()));
        }
        if note
            .as_ref()
            .is_some_and(|n| n.chars().count() > MAX_CLOSING_NOTE_CHARS)
        {
            return Err(CloseError::NoteTooLong);
        }
        self.finish(RightsState::Completed, outcome, at);
        self.note = note;
        Ok(())
    }

    /// Past its legal deadline and still not over.
    pub fn is_overdue(&self, now: Timestamp) -> bool {
        !self.state.is_final() && now > self.due_by
    }
}

/// The same day of the next month (the last day when it has fewer days), same time: Art. 12(3)'s
/// "one month of receipt of the request".
pub fn one_month_after(at: Timestamp) -> Timestamp {
    DateTime::<Utc>::from_timestamp_millis(at.as_millis())
        .and_then(|t| t.checked_add_months(Months::new(1)))
        .map(|t| Timestamp::from_millis(t.timestamp_millis()))
        .unwrap_or_else(|| at.plus(Duration::from_secs(31 * 24 * 3600)))
}

/// A deletion asked in the chat, waiting for its code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingErasure {
    pub request: RightsRequestId,
    pub code: String,
    pub expires_at: Timestamp,
    #[serde(default)]
    pub wrong_codes: u32,
}

/// What a confirmation the person sent does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfirmationCheck {
    Confirmed,
    /// Wrong code, tries left.
    Wrong,
    /// Wrong code, and that was the last try: the request lapses.
    WrongTooOften,
    Expired,
}

impl PendingErasure {
    pub fn new(request: RightsRequestId, code: String, now: Timestamp) -> PendingErasure {
        PendingErasure {
            request,
            code,
            expires_at: now.plus(CONFIRMATION_WINDOW),
            wrong_codes: 0,
        }
    }

    /// Checks `code` at `now`; a wrong one is counted.
    pub fn check(&mut self, code: &str, now: Timestamp) -> ConfirmationCheck {
        if now >= self.expires_at {
            return ConfirmationCheck::Expired;
        }
        let matches: bool =
            subtle::ConstantTimeEq::ct_eq(self.code.as_bytes(), code.as_bytes()).into();
        if matches {
            return ConfirmationCheck::Confirmed;
        }
        self.wrong_codes += 1;
        if self.wrong_codes >= MAX_WRONG_CODES {
            ConfirmationCheck::WrongTooOften
        } else {
            ConfirmationCheck::Wrong
        }
    }
}

/// A fresh deletion code: [`crate::domain::rights_keywords::CODE_DIGITS`] random digits.
pub fn new_code() -> String {
    use rand::Rng;
    format!("{:04}", rand::rng().random_range(0..10_000u32))
}

/// The export a contact last asked for in the chat: one per [`CHAT_EXPORT_EVERY`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatExport {
    pub export: ExportId,
    pub request: RightsRequestId,
    pub requested_at: Timestamp,
}

impl ChatExport {
    /// Whether a new request at `now` is answered with this export instead of a new one.
    pub fn still_current(&self, now: Timestamp) -> bool {
        now.since(self.requested_at) < CHAT_EXPORT_EVERY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rfc: &str) -> Timestamp {
        Timestamp::parse_rfc3339(rfc).unwrap()
    }

    #[test]
    fn the_deadline_is_one_calendar_month_later_or_the_months_last_day() {
        assert_eq!(
            one_month_after(at("2026-03-15T10:00:00Z")),
            at("2026-04-15T10:00:00Z")
        );
        assert_eq!(
            one_month_after(at("2026-01-31T08:30:00Z")),
            at("2026-02-28T08:30:00Z")
        );
        assert_eq!(
            one_month_after(at("2026-12-20T00:00:00Z")),
            at("2027-01-20T00:00:00Z")
        );
    }

    fn request(state: RightsState) -> RightsRequest {
        RightsRequest::new(
            TenantId::new("t"),
            ContactId::new("c"),
            RightsKind::Erasure,
            RightsChannel::Chat,
            Language::French,
            at("2026-03-15T10:00:00Z"),
            state,
        )
    }

    #[test]
    fn ids_sort_by_arrival() {
        let early = RightsRequestId::generate(at("2026-03-15T10:00:00Z"));
        let late = RightsRequestId::generate(at("2026-03-15T10:00:00.001Z"));
        assert!(early < late);
        assert!(RightsRequestId::parse(early.as_str()).is_ok());
    }

    #[test]
    fn the_business_closes_only_what_it_must_handle_and_only_once() {
        let now = at("2026-03-20T10:00:00Z");
        let mut held = request(RightsState::Held);
        held.close_by_business("erased", Some("hold lifted".into()), now)
            .unwrap();
        assert_eq!(held.state, RightsState::Completed);
        assert_eq!(held.closed_at, Some(now));
        assert_eq!(
            held.close_by_business("erased", None, now),
            Err(CloseError::AlreadyFinal("completed"))
        );
        let mut waiting = request(RightsState::AwaitingConfirmation);
        assert!(matches!(
            waiting.close_by_business("x", None, now),
            Err(CloseError::NotTheBusinesss(_))
        ));
        let mut pending = request(RightsState::PendingBusiness);
        assert_eq!(
            pending.close_by_business("x", Some("é".repeat(501)), now),
            Err(CloseError::NoteTooLong)
        );
    }

    #[test]
    fn overdue_once_past_the_deadline_unless_over() {
        let r = request(RightsState::PendingBusiness);
        assert!(!r.is_overdue(at("2026-04-15T10:00:00Z")));
        assert!(r.is_overdue(at("2026-04-15T10:00:00.001Z")));
        let mut done = r.clone();
        done.finish(RightsState::Completed, "erased", at("2026-03-16T00:00:00Z"));
        assert!(!done.is_overdue(at("2027-01-01T00:00:00Z")));
    }

    #[test]
    fn a_code_confirms_within_ten_minutes_and_three_wrong_ones_lapse_it() {
        let now = at("2026-03-15T10:00:00Z");
        let mut pending = PendingErasure::new(RightsRequestId::generate(now), "4821".into(), now);
        assert_eq!(pending.check("1111", now), ConfirmationCheck::Wrong);
        assert_eq!(pending.check("4821", now), ConfirmationCheck::Confirmed);
        let late = now.plus(CONFIRMATION_WINDOW);
        assert_eq!(pending.check("4821", late), ConfirmationCheck::Expired);
        assert_eq!(pending.check("2222", now), ConfirmationCheck::Wrong);
        assert_eq!(pending.check("3333", now), ConfirmationCheck::WrongTooOften);
    }

    #[test]
    fn codes_have_four_digits_and_vary() {
        let codes: std::collections::HashSet<String> = (0..50).map(|_| new_code()).collect();
        assert!(codes
            .iter()
            .all(|c| c.len() == 4 && c.bytes().all(|b| b.is_ascii_digit())));
        assert!(codes.len() > 10);
    }

    #[test]
    fn one_chat_export_a_day() {
        let now = at("2026-03-15T10:00:00Z");
        let made = ChatExport {
            export: ExportId::new("exp_1"),
            request: RightsRequestId::generate(now),
            requested_at: now,
        };
        assert!(made.still_current(now.plus(CHAT_EXPORT_EVERY - Duration::from_secs(1))));
        assert!(!made.still_current(now.plus(CHAT_EXPORT_EVERY)));
    }
}
