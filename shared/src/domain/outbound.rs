//! The one gate every outbound path asks right before the Graph API call (DESIGN §8): whether
//! a message of some kind may go to a contact as the contact is now, and if not, why. Pure: the
//! caller reads the contact (and whether its identifiers are suppressed) and passes them in.

use crate::domain::consent::{Decision, Purpose};
use crate::domain::contact::Contact;
use crate::domain::time::Timestamp;
use std::time::Duration;

/// WhatsApp's customer service window: free-form messages only within 24 hours of the
/// customer's last message.
pub const CUSTOMER_SERVICE_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// Whether WhatsApp still allows a free-form message after one the customer sent at `sent_at`.
pub fn window_open(sent_at: Timestamp, now: Timestamp) -> bool {
    now.since(sent_at) < CUSTOMER_SERVICE_WINDOW
}

/// What is being sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outbound {
    /// The AI's, the FAQ's or HELP's answer, or the hand-off message.
    AutomatedReply,
    /// The confirmation of a keyword the contact just sent: an opt-out's is the one message an
    /// opt-out still allows.
    KeywordConfirmation {
        opt_out: bool,
    },
    /// A person's free text.
    AgentText,
    /// The answer to a person exercising their rights in the chat (their data, its erasure):
    /// theirs by right, so neither an opt-out, a block, a restriction nor a take-over stops it.
    RightsAnswer,
    Template(TemplateCategory),
}

pub use crate::domain::template::TemplateCategory;

/// The contact a message would go to, as it is right before the call.
#[derive(Clone, Copy, Debug)]
pub struct Recipient<'a> {
    /// `None`: the contact is gone (erased).
    pub contact: Option<&'a Contact>,
    /// When the contact last wrote: the 24-hour customer service window runs from it.
    pub last_inbound_at: Option<Timestamp>,
    /// An identifier of the contact is on the suppression list (an erased or retired contact
    /// that had opted out or blocked).
    pub suppressed: bool,
    pub now: Timestamp,
}

/// Why nothing may be sent. Callers report it: an API error code, a skip reason, a campaign's
/// skip count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Refusal {
    Gone,
    BeingErased,
    Minor,
    Restricted,
    Blocked,
    OptedOut,
    NoMarketingOptIn,
    Suppressed,
    WindowClosed,
    TakenOver,
    /// The business closed its account: nothing more is sent for it.
    AccountClosed,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Gone => "gone",
            Refusal::BeingErased => "being_erased",
            Refusal::Minor => "minor",
            Refusal::Restricted => "restricted",
            Refusal::Blocked => "blocked",
            Refusal::OptedOut => "opted_out",
            Refusal::NoMarketingOptIn => "no_marketing_opt_in",
            Refusal::Suppressed => "suppressed",
            Refusal::WindowClosed => "window_closed",
            Refusal::TakenOver => "taken_over",
            Refusal::AccountClosed => "account_closed",
        }
    }
}

/// The decision table of DESIGN §8. Nothing reaches a contact that is gone, being erased, a
/// minor, restricted (P7: stored, never processed) or blocked; then each kind has its own needs.
pub fn may_send(what: Outbound, to: &Recipient<'_>) -> Result<(), Refusal> {
    let Some(contact) = to.contact else {
        return Err(Refusal::Gone);
    };
    if contact.minor || contact.known_minor {
        return Err(Refusal::Minor);
    }
    if contact.erasure_requested_at.is_some() {
        return Err(Refusal::BeingErased);
    }
    let window = || match to.last_inbound_at {
        Some(at) if window_open(at, to.now) => Ok(()),
        _ => Err(Refusal::WindowClosed),
    };
    if what == Outbound::RightsAnswer {
        return window();
    }
    if contact.restricted {
        return Err(Refusal::Restricted);
    }
    if contact.consent.blocked {
        return Err(Refusal::Blocked);
    }
    let consent = &contact.consent;
    let opted_out_of_all = consent.marketing == Decision::Withdrawn
        && consent.automated_replies == Decision::Withdrawn;
    match what {
        Outbound::RightsAnswer => window(),
        Outbound::KeywordConfirmation { opt_out: true } => Ok(()),
        Outbound::KeywordConfirmation { opt_out: false } | Outbound::AutomatedReply => {
            window()?;
            if contact.is_taken_over(to.now) {
                Err(Refusal::TakenOver)
            } else if !consent.allows(Purpose::AutomatedReplies) {
                Err(Refusal::OptedOut)
            } else {
                Ok(())
            }
        }
        Outbound::AgentText => {
            window()?;
            if opted_out_of_all {
                Err(Refusal::OptedOut)
            } else {
                Ok(())
            }
        }
        Outbound::Template(category) => {
            if to.suppressed {
                return Err(Refusal::Suppressed);
            }
            match category {
                TemplateCategory::Utility | TemplateCategory::Authentication
                    if opted_out_of_all =>
                {
                    Err(Refusal::OptedOut)
                }
                TemplateCategory::Utility | TemplateCategory::Authentication => Ok(()),
                TemplateCategory::Marketing => match consent.marketing {
                    Decision::Granted => Ok(()),
                    Decision::Withdrawn => Err(Refusal::OptedOut),
                    Decision::Unset => Err(Refusal::NoMarketingOptIn),
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::consent::{ConsentAction, ConsentEvent};
    use crate::domain::contact::ContactProfile;
    use crate::domain::ids::{ApiKeyId, ContactId, TenantId};

    const NOW: i64 = 1_767_225_600_000;

    fn contact() -> Contact {
        Contact::new(
            TenantId::new("t"),
            ContactId::new("c"),
            ContactProfile::default(),
            Timestamp::from_millis(NOW),
        )
    }

    fn to(contact: &Contact, wrote_hours_ago: u64) -> Recipient<'_> {
        let now = Timestamp::from_millis(NOW);
        Recipient {
            contact: Some(contact),
            last_inbound_at: Some(now.minus(Duration::from_secs(wrote_hours_ago * 3600))),
            suppressed: false,
            now,
        }
    }

    fn decide(mut c: Contact, purpose: Purpose, action: ConsentAction) -> Contact {
        c.consent = c.consent.apply(&ConsentEvent::from_api(
            c.tenant.clone(),
            c.id.clone(),
            Timestamp::from_millis(NOW),
            purpose,
            action,
            "test:1".into(),
            &ApiKeyId::new("key_1"),
        ));
        c
    }

    const MARKETING: Outbound = Outbound::Template(TemplateCategory::Marketing);
    const UTILITY: Outbound = Outbound::Template(TemplateCategory::Utility);

    #[test]
    fn a_rights_answer_reaches_an_opted_out_blocked_restricted_or_taken_over_person_in_the_window()
    {
        let mut c = decide(contact(), Purpose::AutomatedReplies, ConsentAction::OptOut);
        c = decide(c, Purpose::Marketing, ConsentAction::OptOut);
        c.consent.blocked = true;
        c.restricted = true;
        c.taken_over = true;
        assert_eq!(may_send(Outbound::RightsAnswer, &to(&c, 1)), Ok(()));
        assert_eq!(
            may_send(Outbound::RightsAnswer, &to(&c, 25)),
            Err(Refusal::WindowClosed)
        );
        assert_eq!(
            may_send(Outbound::AgentText, &to(&c, 1)),
            Err(Refusal::Restricted)
        );
        let mut erasing = contact();
        erasing.erasure_requested_at = Some(Timestamp::from_millis(NOW));
        assert_eq!(
            may_send(Outbound::RightsAnswer, &to(&erasing, 1)),
            Err(Refusal::BeingErased)
        );
        let mut minor = contact();
        minor.minor = true;
        assert_eq!(
            may_send(Outbound::RightsAnswer, &to(&minor, 1)),
            Err(Refusal::Minor)
        );
    }

    #[test]
    fn free_text_needs_the_window_templates_do_not() {
        let c = contact();
        assert_eq!(may_send(Outbound::AgentText, &to(&c, 1)), Ok(()));
        assert_eq!(
            may_send(Outbound::AgentText, &to(&c, 25)),
            Err(Refusal::WindowClosed)
        );
        assert_eq!(
            may_send(Outbound::AutomatedReply, &to(&c, 25)),
            Err(Refusal::WindowClosed)
        );
        assert_eq!(may_send(UTILITY, &to(&c, 25)), Ok(()));
    }

    #[test]
    fn an_automated_replies_opt_out_does_not_stop_a_person_answering() {
        let c = decide(contact(), Purpose::AutomatedReplies, ConsentAction::OptOut);
        assert_eq!(
            may_send(Outbound::AutomatedReply, &to(&c, 1)),
            Err(Refusal::OptedOut)
        );
        assert_eq!(may_send(Outbound::AgentText, &to(&c, 1)), Ok(()));
        let all = decide(contact(), Purpose::All, ConsentAction::OptOut);
        assert_eq!(
            may_send(Outbound::AgentText, &to(&all, 1)),
            Err(Refusal::OptedOut)
        );
        assert_eq!(may_send(UTILITY, &to(&all, 1)), Err(Refusal::OptedOut));
        assert_eq!(
            may_send(
                Outbound::KeywordConfirmation { opt_out: true },
                &to(&all, 1)
            ),
            Ok(()),
            "the confirmation of the opt-out itself"
        );
    }

    #[test]
    fn marketing_needs_an_opt_in_on_record_and_no_suppression() {
        let c = contact();
        assert_eq!(
            may_send(MARKETING, &to(&c, 1)),
            Err(Refusal::NoMarketingOptIn)
        );
        let opted_in = decide(contact(), Purpose::Marketing, ConsentAction::OptIn);
        assert_eq!(may_send(MARKETING, &to(&opted_in, 48)), Ok(()));
        let stopped = decide(opted_in.clone(), Purpose::Marketing, ConsentAction::OptOut);
        assert_eq!(
            may_send(MARKETING, &to(&stopped, 1)),
            Err(Refusal::OptedOut)
        );
        let mut suppressed = to(&opted_in, 1);
        suppressed.suppressed = true;
        assert_eq!(may_send(MARKETING, &suppressed), Err(Refusal::Suppressed));
    }

    #[test]
    fn nothing_reaches_a_gone_erased_minor_restricted_or_blocked_contact() {
        let anyone = contact();
        let mut gone = to(&anyone, 1);
        gone.contact = None;
        let mut cases = vec![(gone, Refusal::Gone)];
        let mut erasing = contact();
        erasing.erasure_requested_at = Some(Timestamp::from_millis(NOW));
        let mut minor = contact();
        minor.known_minor = true;
        let mut restricted = contact();
        restricted.restricted = true;
        let blocked = decide(contact(), Purpose::All, ConsentAction::Block);
        let contacts = [
            (erasing, Refusal::BeingErased),
            (minor, Refusal::Minor),
            (restricted, Refusal::Restricted),
            (blocked, Refusal::Blocked),
        ];
        for (c, refusal) in &contacts {
            cases.push((to(c, 1), *refusal));
        }
        for (recipient, refusal) in cases {
            for what in [
                Outbound::AutomatedReply,
                Outbound::KeywordConfirmation { opt_out: true },
                Outbound::AgentText,
                MARKETING,
                UTILITY,
            ] {
                assert_eq!(may_send(what, &recipient), Err(refusal), "{what:?}");
            }
        }
    }
}
