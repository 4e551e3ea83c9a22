//! The one outbound gate (DESIGN §8), driven with random contact states: it refuses every
//! message the decision table forbids, and the automated path never plans a reply the gate would
//! refuse (ai-reply asks the gate again right before the Graph API call), so no path sends what
//! the gate refuses (P5).

use mizan_shared::domain::consent::{ConsentState, Decision};
use mizan_shared::domain::contact::{Contact, ContactProfile};
use mizan_shared::domain::ids::{ContactId, MessageId, TenantId, Wamid};
use mizan_shared::domain::message::{Message, MessageContent, MessageKind};
use mizan_shared::domain::outbound::{
    may_send, window_open, Outbound, Recipient, TemplateCategory,
};
use mizan_shared::domain::reply::{plan, Plan, ReplyFacts};
use mizan_shared::domain::time::Timestamp;
use proptest::prelude::*;
use std::time::Duration;

const NOW: i64 = 1_767_225_600_000;

fn decision() -> impl Strategy<Value = Decision> {
    prop_oneof![
        Just(Decision::Unset),
        Just(Decision::Granted),
        Just(Decision::Withdrawn)
    ]
}

/// A contact in any state the data allows.
fn contact() -> impl Strategy<Value = Contact> {
    (
        (any::<bool>(), any::<bool>(), any::<bool>()),
        (any::<bool>(), any::<bool>(), any::<bool>()),
        (decision(), decision()),
        prop::option::of(0i64..(48 * 3600 * 1000)),
    )
        .prop_map(
            |((restricted, minor, known_minor), (taken_over, erasing, blocked), (m, a), until)| {
                let mut c = Contact::new(
                    TenantId::new("t"),
                    ContactId::new("c"),
                    ContactProfile::default(),
                    Timestamp::from_millis(NOW),
                );
                c.restricted = restricted;
                c.minor = minor;
                c.known_minor = known_minor;
                c.taken_over = taken_over;
                // A take-over ending anywhere from a day ago to a day from now.
                c.taken_over_until =
                    until.map(|ms| Timestamp::from_millis(NOW - 24 * 3600 * 1000 + ms));
                c.erasure_requested_at = erasing.then(|| Timestamp::from_millis(NOW));
                c.consent = ConsentState {
                    marketing: m,
                    automated_replies: a,
                    blocked,
                };
                c
            },
        )
}

fn outbound() -> impl Strategy<Value = Outbound> {
    prop_oneof![
        Just(Outbound::AutomatedReply),
        Just(Outbound::KeywordConfirmation { opt_out: true }),
        Just(Outbound::KeywordConfirmation { opt_out: false }),
        Just(Outbound::AgentText),
        Just(Outbound::Template(TemplateCategory::Marketing)),
        Just(Outbound::Template(TemplateCategory::Utility)),
        Just(Outbound::Template(TemplateCategory::Authentication)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn the_gate_refuses_every_message_the_decision_table_forbids(
        contact in contact(),
        gone in any::<bool>(),
        what in outbound(),
        wrote_minutes_ago in 0u64..(48 * 60),
        suppressed in any::<bool>(),
    ) {
        let now = Timestamp::from_millis(NOW);
        let last_inbound_at = now.minus(Duration::from_secs(wrote_minutes_ago * 60));
        let to = Recipient {
            contact: (!gone).then_some(&contact),
            last_inbound_at: Some(last_inbound_at),
            suppressed,
            now,
        };
        if may_send(what, &to).is_ok() {
            let c = &contact;
            prop_assert!(!gone);
            prop_assert!(!c.restricted && !c.minor && !c.known_minor);
            prop_assert!(c.erasure_requested_at.is_none() && !c.consent.blocked);
            let all_withdrawn = c.consent.marketing == Decision::Withdrawn
                && c.consent.automated_replies == Decision::Withdrawn;
            match what {
                Outbound::KeywordConfirmation { opt_out: true } => {}
                Outbound::AutomatedReply | Outbound::KeywordConfirmation { opt_out: false } => {
                    prop_assert!(window_open(last_inbound_at, now));
                    prop_assert!(!c.is_taken_over(now));
                    prop_assert!(c.consent.automated_replies != Decision::Withdrawn);
                }
                Outbound::AgentText => {
                    prop_assert!(window_open(last_inbound_at, now));
                    prop_assert!(!all_withdrawn);
                }
                Outbound::Template(TemplateCategory::Marketing) => {
                    prop_assert!(!suppressed);
                    prop_assert_eq!(c.consent.marketing, Decision::Granted);
                }
                Outbound::Template(_) => {
                    prop_assert!(!suppressed && !all_withdrawn);
                }
            }
        }
    }

    #[test]
    fn the_automated_path_never_plans_what_the_gate_refuses(
        contact in contact(),
        text in prop::sample::select(vec!["STOP", "START", "HELP", "hello", "I want a human"]),
        wrote_minutes_ago in 0u64..(48 * 60),
        late in any::<bool>(),
    ) {
        let now = Timestamp::from_millis(NOW);
        let sent_at = now.minus(Duration::from_secs(wrote_minutes_ago * 60));
        let mut message = Message::inbound(
            TenantId::new("t"),
            ContactId::new("c"),
            MessageId::new("m"),
            Wamid::new("wamid.m"),
            MessageKind::Text,
            MessageContent::text(text),
            sent_at,
        );
        message.late = late;
        let decision = plan(&ReplyFacts {
            tenant_active: true,
            automation_enabled: true,
            contact: &contact,
            message: &message,
            text: Some(text),
            newer_inbound: false,
            now,
        });
        if let Plan::Reply { kind, .. } = decision {
            let to = Recipient {
                contact: Some(&contact),
                last_inbound_at: Some(sent_at),
                suppressed: false,
                now,
            };
            prop_assert_eq!(may_send(kind.outbound(), &to), Ok(()), "{:?} planned", kind);
        }
    }
}
