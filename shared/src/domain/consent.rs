//! Consent: an append-only history of decisions (P8) and the state it adds up to (P5).

use crate::domain::ids::{ApiKeyId, ContactId, MessageId, TenantId};
use crate::domain::keywords::Keyword;
use crate::domain::message::Message;
use crate::domain::time::Timestamp;
use crate::domain::whatsapp::{PreferenceChange, PreferenceValue};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Promotional messages the business starts.
    Marketing,
    /// AI answers to messages the contact sends.
    AutomatedReplies,
    /// Every purpose at once: what a STOP keyword or a block means.
    All,
}

impl Purpose {
    /// The concrete purposes `All` stands for.
    pub const EACH: [Purpose; 2] = [Purpose::Marketing, Purpose::AutomatedReplies];

    fn covers(self, concrete: Purpose) -> bool {
        self == Purpose::All || self == concrete
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentAction {
    OptIn,
    OptOut,
    /// The contact blocked the business: nothing at all may be sent.
    Block,
    Unblock,
}

impl ConsentAction {
    /// What a `user_preferences` value decides; `None` for a value Mizan does not model (intake
    /// keeps those raw).
    pub fn for_preference(value: &PreferenceValue) -> Option<ConsentAction> {
        match value {
            PreferenceValue::Stop => Some(ConsentAction::OptOut),
            PreferenceValue::Resume => Some(ConsentAction::OptIn),
            PreferenceValue::Other(_) => None,
        }
    }
}

/// Meta's error for a message to someone who stopped marketing messages in WhatsApp.
pub const MARKETING_STOPPED_BY_USER: i64 = 131050;

/// How a decision reached Mizan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentSource {
    /// A keyword in a message from the contact (STOP, ARRÊT, إيقاف, …).
    Keyword,
    /// Meta's `user_preferences` webhook.
    Webhook,
    /// The business API.
    Api,
    /// An operator's admin command.
    Admin,
}

/// One decision, as recorded: never updated, never removed while the contact exists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentEvent {
    pub tenant: TenantId,
    pub contact: ContactId,
    pub at: Timestamp,
    pub purpose: Purpose,
    pub action: ConsentAction,
    pub source: ConsentSource,
    /// What proves it: a message id hash, a webhook id, an API request id. Never personal data.
    pub evidence: String,
    /// Who recorded it: `contact`, `meta`, an API key id, or `admin`.
    pub actor: String,
}

impl ConsentEvent {
    /// What a message that is only a keyword decides. STOP withdraws every purpose; START gives
    /// back only what a keyword can prove was asked for, automated replies: marketing needs its
    /// own evidenced opt-in (policy §4, §10.2). HELP decides nothing.
    pub fn from_keyword(keyword: Keyword, message: &Message) -> Option<ConsentEvent> {
        let (purpose, action) = match keyword {
            Keyword::OptOut => (Purpose::All, ConsentAction::OptOut),
            Keyword::OptIn => (Purpose::AutomatedReplies, ConsentAction::OptIn),
            Keyword::Help => return None,
        };
        Some(ConsentEvent {
            tenant: message.tenant.clone(),
            contact: message.contact.clone(),
            at: message.sent_at,
            purpose,
            action,
            source: ConsentSource::Keyword,
            evidence: message.id.to_string(),
            actor: "contact".into(),
        })
    }

    /// Meta's `user_preferences` change for marketing, whose value meant `action`
    /// ([`ConsentAction::for_preference`]).
    pub fn from_preference(
        tenant: TenantId,
        contact: ContactId,
        change: &PreferenceChange,
        action: ConsentAction,
    ) -> ConsentEvent {
        ConsentEvent {
            tenant,
            contact,
            at: change.at,
            purpose: Purpose::Marketing,
            action,
            source: ConsentSource::Webhook,
            // Meta sends no id for a preference change: its category, value and time identify it.
            evidence: format!(
                "user_preferences:{}:{}:{}",
                change.category,
                change.value.as_str(),
                change.at.as_millis()
            ),
            actor: "meta".into(),
        }
    }

    /// What a failed delivery says of the contact's consent: Meta's 131050 means the person
    /// stopped marketing messages in WhatsApp itself, a marketing opt-out with the error as
    /// evidence. `None` for any other error. `at` is the status time Meta reported, so a
    /// redelivered status records nothing more.
    pub fn from_delivery_error(
        tenant: TenantId,
        contact: ContactId,
        message: &MessageId,
        code: i64,
        at: Timestamp,
    ) -> Option<ConsentEvent> {
        (code == MARKETING_STOPPED_BY_USER).then(|| ConsentEvent {
            tenant,
            contact,
            at,
            purpose: Purpose::Marketing,
            action: ConsentAction::OptOut,
            source: ConsentSource::Webhook,
            evidence: format!("error:{code}:{message}"),
            actor: "meta".into(),
        })
    }

    /// A decision the business recorded through the API with `key`, proved by `evidence`.
    pub fn from_api(
        tenant: TenantId,
        contact: ContactId,
        at: Timestamp,
        purpose: Purpose,
        action: ConsentAction,
        evidence: String,
        key: &ApiKeyId,
    ) -> ConsentEvent {
        ConsentEvent {
            tenant,
            contact,
            at,
            purpose,
            action,
            source: ConsentSource::Api,
            evidence,
            actor: key.to_string(),
        }
    }
}

/// Whether a purpose is allowed, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// No decision recorded: the purpose's default applies.
    Unset,
    Granted,
    Withdrawn,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentState {
    pub marketing: Decision,
    pub automated_replies: Decision,
    pub blocked: bool,
}

impl Default for ConsentState {
    fn default() -> Self {
        ConsentState {
            marketing: Decision::Unset,
            automated_replies: Decision::Unset,
            blocked: false,
        }
    }
}

impl ConsentState {
    /// The state that a history adds up to, applied in time order.
    pub fn from_history<'a>(events: impl IntoIterator<Item = &'a ConsentEvent>) -> Self {
        let mut ordered: Vec<&ConsentEvent> = events.into_iter().collect();
        ordered.sort_by_key(|e| e.at);
        ordered
            .into_iter()
            .fold(ConsentState::default(), |state, e| state.apply(e))
    }

    pub fn apply(mut self, event: &ConsentEvent) -> Self {
        let decision = match event.action {
            ConsentAction::OptIn => Decision::Granted,
            ConsentAction::OptOut => Decision::Withdrawn,
            ConsentAction::Block => {
                self.blocked = true;
                return self;
            }
            ConsentAction::Unblock => {
                self.blocked = false;
                return self;
            }
        };
        if event.purpose.covers(Purpose::Marketing) {
            self.marketing = decision;
        }
        if event.purpose.covers(Purpose::AutomatedReplies) {
            self.automated_replies = decision;
        }
        self
    }

    /// Whether a message for `purpose` may be sent. Replies to a contact who wrote in are allowed
    /// until withdrawn (the contact started the conversation); marketing needs an explicit opt-in.
    pub fn allows(&self, purpose: Purpose) -> bool {
        if self.blocked {
            return false;
        }
        match purpose {
            Purpose::Marketing => self.marketing == Decision::Granted,
            Purpose::AutomatedReplies => self.automated_replies != Decision::Withdrawn,
            Purpose::All => Purpose::EACH.iter().all(|p| self.allows(*p)),
        }
    }

    /// The decision in force for one concrete purpose.
    pub fn decision(&self, purpose: Purpose) -> Decision {
        match purpose {
            Purpose::Marketing => self.marketing,
            Purpose::AutomatedReplies | Purpose::All => self.automated_replies,
        }
    }

    /// Opted out of anything or blocked: the identity must stay suppressed after erasure (P12).
    pub fn needs_suppression(&self) -> bool {
        self.blocked
            || self.marketing == Decision::Withdrawn
            || self.automated_replies == Decision::Withdrawn
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(at: i64, purpose: Purpose, action: ConsentAction) -> ConsentEvent {
        ConsentEvent {
            tenant: TenantId::new("t"),
            contact: ContactId::new("c"),
            at: Timestamp::from_millis(at),
            purpose,
            action,
            source: ConsentSource::Keyword,
            evidence: "ev".into(),
            actor: "contact".into(),
        }
    }

    fn keyword_message() -> Message {
        Message::inbound(
            TenantId::new("t"),
            ContactId::new("c"),
            crate::domain::ids::MessageId::new("m1"),
            crate::domain::ids::Wamid::new("wamid.1"),
            crate::domain::message::MessageKind::Text,
            crate::domain::message::MessageContent::text("STOP"),
            Timestamp::from_millis(5),
        )
    }

    #[test]
    fn stop_withdraws_everything_start_gives_back_only_automated_replies() {
        let message = keyword_message();
        let stop = ConsentEvent::from_keyword(Keyword::OptOut, &message).unwrap();
        assert_eq!(
            (stop.purpose, stop.action, stop.source),
            (Purpose::All, ConsentAction::OptOut, ConsentSource::Keyword)
        );
        assert_eq!(
            (stop.evidence.as_str(), stop.actor.as_str()),
            ("m1", "contact")
        );
        assert_eq!(stop.at, message.sent_at);
        let start = ConsentEvent::from_keyword(Keyword::OptIn, &message).unwrap();
        assert_eq!(
            (start.purpose, start.action),
            (Purpose::AutomatedReplies, ConsentAction::OptIn)
        );
        assert_eq!(ConsentEvent::from_keyword(Keyword::Help, &message), None);
    }

    #[test]
    fn error_131050_is_a_marketing_opt_out_by_meta_and_other_errors_decide_nothing() {
        let event = |code| {
            ConsentEvent::from_delivery_error(
                TenantId::new("t"),
                ContactId::new("c"),
                &crate::domain::ids::MessageId::new("m9"),
                code,
                Timestamp::from_millis(3),
            )
        };
        let stop = event(131050).unwrap();
        assert_eq!(
            (stop.purpose, stop.action, stop.source, stop.actor.as_str()),
            (
                Purpose::Marketing,
                ConsentAction::OptOut,
                ConsentSource::Webhook,
                "meta"
            )
        );
        assert_eq!(stop.evidence, "error:131050:m9");
        for other in [131026, 131047, 130429] {
            assert_eq!(event(other), None, "{other}");
        }
    }

    #[test]
    fn meta_preferences_decide_marketing_only_for_stop_and_resume() {
        let change = |value: &str| PreferenceChange {
            phone_number_id: crate::domain::ids::PhoneNumberId::new("p"),
            user: crate::domain::contact::ContactProfile::default(),
            category: "marketing_messages".into(),
            value: PreferenceValue::from(value.to_owned()),
            at: Timestamp::from_millis(7_000),
            raw: crate::domain::personal::Personal::new(serde_json::Value::Null),
        };
        let from = |value: &str| {
            let change = change(value);
            ConsentAction::for_preference(&change.value).map(|action| {
                ConsentEvent::from_preference(
                    TenantId::new("t"),
                    ContactId::new("c"),
                    &change,
                    action,
                )
            })
        };
        let stop = from("stop").unwrap();
        assert_eq!(
            (stop.purpose, stop.action, stop.source, stop.actor.as_str()),
            (
                Purpose::Marketing,
                ConsentAction::OptOut,
                ConsentSource::Webhook,
                "meta"
            )
        );
        assert_eq!(
            stop.evidence,
            "user_preferences:marketing_messages:stop:7000"
        );
        assert_eq!(from("resume").unwrap().action, ConsentAction::OptIn);
        assert_eq!(from("signup"), None);
    }

    #[test]
    fn replies_allowed_until_opt_out_marketing_needs_opt_in() {
        let s = ConsentState::default();
        assert!(s.allows(Purpose::AutomatedReplies));
        assert!(!s.allows(Purpose::Marketing));
        let s = s.apply(&event(1, Purpose::AutomatedReplies, ConsentAction::OptOut));
        assert!(!s.allows(Purpose::AutomatedReplies));
        assert!(s.needs_suppression());
    }

    #[test]
    fn block_stops_everything_until_unblocked() {
        let s = ConsentState::default()
            .apply(&event(1, Purpose::Marketing, ConsentAction::OptIn))
            .apply(&event(2, Purpose::Marketing, ConsentAction::Block));
        assert!(!s.allows(Purpose::Marketing));
        assert!(!s.allows(Purpose::AutomatedReplies));
        let s = s.apply(&event(3, Purpose::Marketing, ConsentAction::Unblock));
        assert!(s.allows(Purpose::Marketing));
    }

    #[test]
    fn stop_for_all_purposes_withdraws_each() {
        let s = ConsentState::default()
            .apply(&event(1, Purpose::Marketing, ConsentAction::OptIn))
            .apply(&event(2, Purpose::All, ConsentAction::OptOut));
        assert_eq!(s.marketing, Decision::Withdrawn);
        assert_eq!(s.automated_replies, Decision::Withdrawn);
        assert!(!s.allows(Purpose::All));
    }

    #[test]
    fn history_is_applied_in_time_order() {
        let history = [
            event(2, Purpose::Marketing, ConsentAction::OptOut),
            event(1, Purpose::Marketing, ConsentAction::OptIn),
        ];
        let s = ConsentState::from_history(&history);
        assert_eq!(s.marketing, Decision::Withdrawn);
    }
}
