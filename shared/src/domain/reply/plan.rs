//! Whether a customer's message gets an automated reply, and which one.
//!
//! Order of the checks in [`plan`]: the tenant's switch, what the message is (kind, late retry,
//! 24-hour window, superseded by a newer one), whether anything may reach the contact at all
//! (restricted, blocked, taken over), and only then consent: an opt-out keyword is answered with
//! its confirmation although the decision it carries is already recorded (intake commits the
//! keyword and the decision together), and nothing else is sent to an opted-out contact (P5).

use super::language::{asks_for_human, guess_language, is_greeting};
use crate::domain::consent::Purpose;
use crate::domain::contact::Contact;
use crate::domain::keywords::{self, Keyword, Language};
use crate::domain::message::{Direction, Message, MessageKind};
use crate::domain::outbound::{may_send, window_open, Outbound, Recipient, Refusal};
use crate::domain::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Automated replies tell the contact how to opt out at least this often (P5).
pub const OPT_OUT_HINT_EVERY: Duration = Duration::from_secs(24 * 3600);

/// Why a message gets no reply. Recorded in logs as `skip_reason`; carries no personal data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    TenantClosed,
    AutomationOff,
    /// Our own outbound message, not a customer's.
    NotInbound,
    /// Reactions, edits, revokes, system notices: nothing to answer.
    NotAnswerable,
    /// Delivered long after it was sent (a retry by Meta).
    LateRetry,
    WindowClosed,
    /// A newer message of the same contact will be answered instead (burst).
    Superseded,
    /// Restricted processing, a minor, or an erasure under way (P7, P11).
    Restricted,
    Blocked,
    TakenOver,
    OptedOut,
    /// Another invocation claimed this message before (a retried or duplicated stream record).
    AlreadyClaimed,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::TenantClosed => "tenant_closed",
            SkipReason::AutomationOff => "automation_off",
            SkipReason::NotInbound => "not_inbound",
            SkipReason::NotAnswerable => "not_answerable",
            SkipReason::LateRetry => "late_retry",
            SkipReason::WindowClosed => "window_closed",
            SkipReason::Superseded => "superseded",
            SkipReason::Restricted => "restricted",
            SkipReason::Blocked => "blocked",
            SkipReason::TakenOver => "taken_over",
            SkipReason::OptedOut => "opted_out",
            SkipReason::AlreadyClaimed => "already_claimed",
        }
    }
}

/// What kind of reply a message gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyKind {
    OptOutConfirmation,
    OptInConfirmation,
    Help,
    /// The customer asked for a person: the hand-off message, and the conversation is taken over.
    HandOff,
    /// A plain "Bonjour"/"Hello": the greeting, the tenant's own when it set one.
    Greeting,
    /// An answer from the responder (or the hand-off message when it has none).
    Answer,
    /// The answer to a person exercising their rights in the chat (`workflows::rights_chat`).
    RightsAnswer,
}

impl ReplyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplyKind::OptOutConfirmation => "opt_out_confirmation",
            ReplyKind::OptInConfirmation => "opt_in_confirmation",
            ReplyKind::Help => "help",
            ReplyKind::HandOff => "hand_off",
            ReplyKind::Greeting => "greeting",
            ReplyKind::Answer => "answer",
            ReplyKind::RightsAnswer => "rights_answer",
        }
    }

    /// Its fixed text already says how to opt out (or back in): no separate hint needed.
    pub fn explains_opt_out(self) -> bool {
        matches!(
            self,
            ReplyKind::OptOutConfirmation | ReplyKind::OptInConfirmation | ReplyKind::Help
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    Skip(SkipReason),
    Reply { kind: ReplyKind, language: Language },
}

/// Everything [`plan`] looks at, read by the caller.
pub struct ReplyFacts<'a> {
    pub tenant_active: bool,
    pub automation_enabled: bool,
    pub contact: &'a Contact,
    /// The newest message of the burst: the one to answer.
    pub message: &'a Message,
    /// The customer's words in it, if any (see [`customer_text`]).
    pub text: Option<&'a str>,
    /// A newer inbound message of the contact exists: that one gets the reply.
    pub newer_inbound: bool,
    pub now: Timestamp,
}

/// Whether a message of this kind can be answered at all.
pub fn answerable(kind: MessageKind) -> bool {
    !matches!(
        kind,
        MessageKind::Reaction
            | MessageKind::Edit
            | MessageKind::Revoke
            | MessageKind::System
            | MessageKind::Template
    )
}

/// The decision for the newest message of a burst.
pub fn plan(facts: &ReplyFacts<'_>) -> Plan {
    use SkipReason::*;
    let message = facts.message;
    let contact = facts.contact;
    let skip = if !facts.tenant_active {
        Some(TenantClosed)
    } else if !facts.automation_enabled {
        Some(AutomationOff)
    } else if message.direction != Direction::Inbound {
        Some(NotInbound)
    } else if !answerable(message.kind) {
        Some(NotAnswerable)
    } else if message.late {
        Some(LateRetry)
    } else if !window_open(message.sent_at, facts.now) {
        Some(WindowClosed)
    } else if facts.newer_inbound {
        Some(Superseded)
    } else if !contact.may_process() {
        Some(Restricted)
    } else if contact.consent.blocked {
        Some(Blocked)
    } else if contact.is_taken_over(facts.now) {
        Some(TakenOver)
    } else {
        None
    };
    if let Some(reason) = skip {
        return Plan::Skip(reason);
    }
    let keyword = facts.text.and_then(keywords::classify);
    let language = keyword
        .map(|k| k.language)
        .unwrap_or_else(|| guess_language(facts.text.unwrap_or_default()));
    let kind = match keyword.map(|k| k.keyword) {
        // The decision is recorded already; the confirmation is the one message it still allows.
        Some(Keyword::OptOut) => ReplyKind::OptOutConfirmation,
        _ if !contact.may_send(Purpose::AutomatedReplies) => return Plan::Skip(OptedOut),
        Some(Keyword::OptIn) => ReplyKind::OptInConfirmation,
        Some(Keyword::Help) => ReplyKind::Help,
        None if facts.text.is_some_and(asks_for_human) => ReplyKind::HandOff,
        None if facts.text.is_some_and(is_greeting) => ReplyKind::Greeting,
        None => ReplyKind::Answer,
    };
    Plan::Reply { kind, language }
}

impl ReplyKind {
    /// What the outbound gate is asked about before this reply is sent.
    pub fn outbound(self) -> Outbound {
        match self {
            ReplyKind::OptOutConfirmation => Outbound::KeywordConfirmation { opt_out: true },
            ReplyKind::OptInConfirmation => Outbound::KeywordConfirmation { opt_out: false },
            ReplyKind::Help | ReplyKind::HandOff | ReplyKind::Greeting | ReplyKind::Answer => {
                Outbound::AutomatedReply
            }
            ReplyKind::RightsAnswer => Outbound::RightsAnswer,
        }
    }
}

impl From<Refusal> for SkipReason {
    fn from(refusal: Refusal) -> SkipReason {
        match refusal {
            Refusal::Gone | Refusal::BeingErased | Refusal::Minor | Refusal::Restricted => {
                SkipReason::Restricted
            }
            Refusal::Blocked => SkipReason::Blocked,
            Refusal::OptedOut | Refusal::NoMarketingOptIn | Refusal::Suppressed => {
                SkipReason::OptedOut
            }
            Refusal::WindowClosed => SkipReason::WindowClosed,
            Refusal::TakenOver => SkipReason::TakenOver,
            Refusal::AccountClosed => SkipReason::TenantClosed,
        }
    }
}

/// Whether a reply planned earlier may still go to the contact as it is now: the outbound gate
/// (`domain::outbound`, DESIGN §8), asked again right before the Graph API call and before the
/// reply is recorded, because an erasure, block, opt-out, restriction or take-over can land
/// while the model is thinking.
pub fn still_allowed(kind: ReplyKind, to: &Recipient<'_>) -> Result<(), SkipReason> {
    may_send(kind.outbound(), to).map_err(SkipReason::from)
}

/// Whether the opt-out hint must go with this reply: at least once per 24 hours (P5).
pub fn needs_opt_out_hint(
    kind: ReplyKind,
    last_hint_at: Option<Timestamp>,
    now: Timestamp,
) -> bool {
    !kind.explains_opt_out() && last_hint_at.is_none_or(|at| now.since(at) >= OPT_OUT_HINT_EVERY)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::consent::{ConsentAction, ConsentEvent, ConsentSource};
    use crate::domain::contact::ContactProfile;
    use crate::domain::ids::{ContactId, MessageId, TenantId, Wamid};
    use crate::domain::message::MessageContent;

    const NOW: i64 = 1_767_225_600_000;

    fn contact() -> Contact {
        Contact::new(
            TenantId::new("t"),
            ContactId::new("c"),
            ContactProfile::default(),
            Timestamp::from_millis(NOW),
        )
    }

    fn message(id: &str, sent_at: i64, text: &str) -> Message {
        Message::inbound(
            TenantId::new("t"),
            ContactId::new("c"),
            MessageId::new(id),
            Wamid::new(format!("wamid.{id}")),
            MessageKind::Text,
            MessageContent::text(text),
            Timestamp::from_millis(sent_at),
        )
    }

    fn decide(contact: &Contact, message: &Message, text: &str) -> Plan {
        plan(&ReplyFacts {
            tenant_active: true,
            automation_enabled: true,
            contact,
            message,
            text: Some(text),
            newer_inbound: false,
            now: Timestamp::from_millis(NOW + 1_000),
        })
    }

    fn with_consent(mut c: Contact, action: ConsentAction) -> Contact {
        c.consent = c.consent.apply(&ConsentEvent {
            tenant: c.tenant.clone(),
            contact: c.id.clone(),
            at: Timestamp::from_millis(NOW),
            purpose: Purpose::All,
            action,
            source: ConsentSource::Keyword,
            evidence: "m".into(),
            actor: "contact".into(),
        });
        c
    }

    fn answer(language: Language) -> Plan {
        Plan::Reply {
            kind: ReplyKind::Answer,
            language,
        }
    }

    #[test]
    fn an_ordinary_question_gets_an_answer_in_its_language() {
        let c = contact();
        let m = message("m1", NOW, "What are your opening hours?");
        assert_eq!(
            decide(&c, &m, "What are your opening hours?"),
            answer(Language::English)
        );
        let fr = "Bonjour, vous êtes ouverts dimanche ?";
        assert_eq!(
            decide(&c, &message("m2", NOW, fr), fr),
            answer(Language::French)
        );
        let ar = "ما هي ساعات العمل؟";
        assert_eq!(
            decide(&c, &message("m3", NOW, ar), ar),
            answer(Language::Arabic)
        );
    }

    #[test]
    fn automation_off_or_a_closed_tenant_gets_no_reply() {
        let c = contact();
        let m = message("m1", NOW, "hi");
        let mut facts = ReplyFacts {
            tenant_active: true,
            automation_enabled: false,
            contact: &c,
            message: &m,
            text: Some("hi"),
            newer_inbound: false,
            now: Timestamp::from_millis(NOW),
        };
        assert_eq!(plan(&facts), Plan::Skip(SkipReason::AutomationOff));
        facts.tenant_active = false;
        assert_eq!(plan(&facts), Plan::Skip(SkipReason::TenantClosed));
    }

    #[test]
    fn opted_out_blocked_restricted_and_taken_over_contacts_get_no_reply() {
        let m = message("m1", NOW, "hello?");
        let opted_out = with_consent(contact(), ConsentAction::OptOut);
        assert_eq!(
            decide(&opted_out, &m, "hello?"),
            Plan::Skip(SkipReason::OptedOut)
        );
        let blocked = with_consent(contact(), ConsentAction::Block);
        assert_eq!(
            decide(&blocked, &m, "hello?"),
            Plan::Skip(SkipReason::Blocked)
        );
        let mut restricted = contact();
        restricted.restricted = true;
        assert_eq!(
            decide(&restricted, &m, "hello?"),
            Plan::Skip(SkipReason::Restricted)
        );
        let mut minor = contact();
        minor.minor = true;
        assert_eq!(
            decide(&minor, &m, "hello?"),
            Plan::Skip(SkipReason::Restricted)
        );
        let mut taken = contact();
        taken.taken_over = true;
        assert_eq!(
            decide(&taken, &m, "hello?"),
            Plan::Skip(SkipReason::TakenOver)
        );
        // A take-over that ran out: the automated replies answer again.
        taken.taken_over_until = Some(Timestamp::from_millis(NOW));
        assert!(matches!(decide(&taken, &m, "hello?"), Plan::Reply { .. }));
    }

    #[test]
    fn a_planned_reply_is_refused_when_the_contact_changed_meanwhile() {
        let now = Timestamp::from_millis(NOW);
        fn to(contact: Option<&Contact>) -> Recipient<'_> {
            let now = Timestamp::from_millis(NOW);
            Recipient {
                contact,
                last_inbound_at: Some(now),
                suppressed: false,
                now,
            }
        }
        let answer = ReplyKind::Answer;
        assert_eq!(still_allowed(answer, &to(Some(&contact()))), Ok(()));
        assert_eq!(
            still_allowed(answer, &to(None)),
            Err(SkipReason::Restricted)
        );
        let mut erased = contact();
        erased.erasure_requested_at = Some(now);
        assert_eq!(
            still_allowed(ReplyKind::OptOutConfirmation, &to(Some(&erased))),
            Err(SkipReason::Restricted)
        );
        let blocked = with_consent(contact(), ConsentAction::Block);
        assert_eq!(
            still_allowed(ReplyKind::OptOutConfirmation, &to(Some(&blocked))),
            Err(SkipReason::Blocked)
        );
        let opted_out = with_consent(contact(), ConsentAction::OptOut);
        assert_eq!(
            still_allowed(answer, &to(Some(&opted_out))),
            Err(SkipReason::OptedOut)
        );
        assert_eq!(
            still_allowed(ReplyKind::OptOutConfirmation, &to(Some(&opted_out))),
            Ok(())
        );
        let mut taken = contact();
        taken.taken_over = true;
        assert_eq!(
            still_allowed(ReplyKind::HandOff, &to(Some(&taken))),
            Err(SkipReason::TakenOver)
        );
        let quiet = contact();
        let late = Recipient {
            last_inbound_at: Some(now.minus(Duration::from_secs(25 * 3600))),
            ..to(Some(&quiet))
        };
        assert_eq!(
            still_allowed(answer, &late),
            Err(SkipReason::WindowClosed),
            "the model took so long the window closed"
        );
    }

    #[test]
    fn an_opt_out_keyword_gets_its_confirmation_in_its_language_even_though_consent_is_withdrawn() {
        let c = with_consent(contact(), ConsentAction::OptOut);
        for (text, language) in [
            ("STOP", Language::English),
            ("Arrêt", Language::French),
            ("إيقاف", Language::Arabic),
        ] {
            assert_eq!(
                decide(&c, &message("m", NOW, text), text),
                Plan::Reply {
                    kind: ReplyKind::OptOutConfirmation,
                    language
                }
            );
        }
    }

    #[test]
    fn a_blocked_or_restricted_contact_gets_no_opt_out_confirmation_either() {
        let m = message("m", NOW, "STOP");
        let blocked = with_consent(contact(), ConsentAction::Block);
        assert_eq!(
            decide(&blocked, &m, "STOP"),
            Plan::Skip(SkipReason::Blocked)
        );
        let mut restricted = contact();
        restricted.restricted = true;
        assert_eq!(
            decide(&restricted, &m, "STOP"),
            Plan::Skip(SkipReason::Restricted)
        );
    }

    #[test]
    fn opt_in_and_help_keywords_get_their_own_answers() {
        let c = with_consent(contact(), ConsentAction::OptIn);
        assert_eq!(
            decide(&c, &message("m", NOW, "START"), "START"),
            Plan::Reply {
                kind: ReplyKind::OptInConfirmation,
                language: Language::English
            }
        );
        assert_eq!(
            decide(&c, &message("m", NOW, "aide"), "aide"),
            Plan::Reply {
                kind: ReplyKind::Help,
                language: Language::French
            }
        );
        let opted_out = with_consent(contact(), ConsentAction::OptOut);
        assert_eq!(
            decide(&opted_out, &message("m", NOW, "HELP"), "HELP"),
            Plan::Skip(SkipReason::OptedOut),
            "nothing but the opt-out confirmation reaches an opted-out contact"
        );
    }

    #[test]
    fn reactions_edits_revokes_and_system_messages_are_not_answered() {
        let c = contact();
        for kind in [
            MessageKind::Reaction,
            MessageKind::Edit,
            MessageKind::Revoke,
            MessageKind::System,
        ] {
            let mut m = message("m", NOW, "👍");
            m.kind = kind;
            assert_eq!(decide(&c, &m, "👍"), Plan::Skip(SkipReason::NotAnswerable));
        }
        let mut outbound = message("m", NOW, "hi");
        outbound.direction = Direction::Outbound;
        assert_eq!(
            decide(&c, &outbound, "hi"),
            Plan::Skip(SkipReason::NotInbound)
        );
    }

    #[test]
    fn late_retries_and_messages_outside_the_24_hour_window_are_not_answered() {
        let c = contact();
        let mut late = message("m", NOW, "hi");
        late.late = true;
        assert_eq!(decide(&c, &late, "hi"), Plan::Skip(SkipReason::LateRetry));
        let old = message("m", NOW - 24 * 3600 * 1000, "hi");
        assert_eq!(decide(&c, &old, "hi"), Plan::Skip(SkipReason::WindowClosed));
        let recent = message("m", NOW - 23 * 3600 * 1000, "hi");
        assert!(matches!(decide(&c, &recent, "hi"), Plan::Reply { .. }));
    }

    #[test]
    fn a_message_superseded_by_a_newer_one_is_not_answered() {
        let a = message("ma", NOW, "hi");
        let c = contact();
        let facts = ReplyFacts {
            tenant_active: true,
            automation_enabled: true,
            contact: &c,
            message: &a,
            text: Some("hi"),
            newer_inbound: true,
            now: Timestamp::from_millis(NOW + 3_000),
        };
        assert_eq!(plan(&facts), Plan::Skip(SkipReason::Superseded));
    }

    #[test]
    fn asking_for_a_human_is_recognised_in_three_languages() {
        for text in [
            "Can I talk to a human please?",
            "I want a real person",
            "Je voudrais parler à un conseiller",
            "un humain svp",
            "أريد التحدث مع موظف",
            "ابي انسان",
        ] {
            assert!(asks_for_human(text), "{text}");
        }
        for text in ["What are your opening hours?", "humanity", "Bonjour"] {
            assert!(!asks_for_human(text), "{text}");
        }
        let c = contact();
        let text = "Can I speak to someone?";
        assert_eq!(
            decide(&c, &message("m", NOW, text), text),
            Plan::Reply {
                kind: ReplyKind::HandOff,
                language: Language::English
            }
        );
    }

    #[test]
    fn the_opt_out_hint_goes_at_least_once_per_24_hours() {
        let now = Timestamp::from_millis(NOW);
        assert!(needs_opt_out_hint(ReplyKind::Answer, None, now));
        let recent = now.minus(Duration::from_secs(3600));
        assert!(!needs_opt_out_hint(ReplyKind::Answer, Some(recent), now));
        let stale = now.minus(OPT_OUT_HINT_EVERY);
        assert!(needs_opt_out_hint(ReplyKind::HandOff, Some(stale), now));
        assert!(
            !needs_opt_out_hint(ReplyKind::Help, None, now),
            "help explains it"
        );
    }
}
