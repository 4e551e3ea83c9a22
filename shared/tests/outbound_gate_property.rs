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
        Just(Outbound::RightsAnswer),
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
            prop_assert!(!c.minor && !c.known_minor && c.erasure_requested_at.is_none());
            if what == Outbound::RightsAnswer {
                // The person's own request: answered whatever else holds, in its window.
                prop_assert!(window_open(last_inbound_at, now));
                return Ok(());
            }
            prop_assert!(!c.restricted);
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
                Outbound::RightsAnswer => unreachable!("checked above"),
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

/// The person's path end to end: a contact in a random state writes (or not), a person sends
/// free text or a template through `accept_send`, the contact's state changes at random before
/// the sender's turn, and the sender (`send_order`, through an outbox) runs. Whatever went out
/// is exactly what the gate allowed at the moment of sending, and nothing was accepted that the
/// gate refused at acceptance.
mod persons_path {
    use super::*;
    use mizan_shared::adapters::outbox::Outbox;
    use mizan_shared::domain::audit::{Actor, AuditEvent};
    use mizan_shared::domain::ids::ApiKeyId;
    use mizan_shared::domain::send_request::SendWhat;
    use mizan_shared::domain::template::{
        AppliedAt, LanguageCode, ParameterFormat, Template, TemplateName,
    };
    use mizan_shared::domain::tenant::Tenant;
    use mizan_shared::store::Versioned;
    use mizan_shared::workflows::accept_send::{accept_send, AcceptError, SendAsAgent};
    use mizan_shared::workflows::outbound_send::{send_order, SendOutcome};
    use mizan_test_support::seed;
    use mizan_test_support::store as support;
    use proptest::test_runner::{Config, TestRunner};

    fn what() -> impl Strategy<Value = Option<TemplateCategory>> {
        prop_oneof![
            Just(None),
            Just(Some(TemplateCategory::Marketing)),
            Just(Some(TemplateCategory::Utility)),
            Just(Some(TemplateCategory::Authentication)),
        ]
    }

    fn recipient_of(
        c: &Contact,
        last_inbound_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Recipient<'_> {
        Recipient {
            contact: Some(c),
            last_inbound_at,
            suppressed: false,
            now,
        }
    }

    fn flags_of(target: &mut Contact, from: &Contact) {
        target.restricted = from.restricted;
        target.minor = from.minor;
        target.known_minor = from.known_minor;
        target.taken_over = from.taken_over;
        target.taken_over_until = from.taken_over_until;
        target.erasure_requested_at = from.erasure_requested_at;
        target.consent = from.consent;
    }

    async fn set_state(h: &support::Harness, tenant: &Tenant, id: &ContactId, state: &Contact) {
        let mut current = h.store.contact(&tenant.id, id).await.unwrap().unwrap();
        flags_of(&mut current.value, state);
        h.store.save_contact(&current, None).await.unwrap();
    }

    async fn template(h: &support::Harness, tenant: &Tenant, category: TemplateCategory) {
        let name = format!("t_{}", category.as_meta().to_ascii_lowercase());
        let template = Template {
            tenant: tenant.id.clone(),
            name: TemplateName::parse(&name).unwrap(),
            language: LanguageCode::parse("en").unwrap(),
            meta_id: None,
            category,
            status: "APPROVED".into(),
            quality: "GREEN".into(),
            reason: None,
            parameter_format: ParameterFormat::Positional,
            components: Some(vec![
                serde_json::json!({"type": "BODY", "text": "Hello {{1}}"}),
            ]),
            updated_at: h.now(),
            applied: AppliedAt::default(),
        };
        let audit = AuditEvent::new(
            tenant.id.clone(),
            Actor::Admin,
            "template.synced",
            None,
            h.now(),
        );
        h.store.save_template(&template, &audit).await.unwrap();
    }

    #[test]
    fn no_persons_message_goes_out_that_the_gate_refuses_at_the_moment_of_sending() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let h = runtime.block_on(support::embedded());
        let tenant = runtime.block_on(async {
            let tenant = seed::tenant(&h.store, "Atlas Tea", None, Some("100000000000001")).await;
            for category in [
                TemplateCategory::Marketing,
                TemplateCategory::Utility,
                TemplateCategory::Authentication,
            ] {
                template(&h, &tenant, category).await;
            }
            tenant
        });
        let mut runner = TestRunner::new(Config {
            cases: 96,
            ..Config::default()
        });
        let cases = std::sync::atomic::AtomicU32::new(0);
        runner
            .run(
                &(
                    contact(),
                    contact(),
                    what(),
                    prop::option::of(0u64..(30 * 3600)),
                ),
                |(at_accept, at_send, category, wrote_seconds_ago)| {
                    let case = cases.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    runtime.block_on(async {
                        let wa_id = format!("1555020{case:04}");
                        let id = seed::contact(&h.store, &tenant.id, &wa_id).await;
                        if let Some(ago) = wrote_seconds_ago {
                            let sent_at = h.now().minus(Duration::from_secs(ago));
                            seed::text_message(
                                &h.store,
                                (&tenant.id, &id),
                                &format!("wamid.P{case}"),
                                mizan_shared::domain::message::Direction::Inbound,
                                "hi",
                                sent_at,
                            )
                            .await;
                        }
                        set_state(&h, &tenant, &id, &at_accept).await;
                        let contact: Versioned<Contact> =
                            h.store.contact(&tenant.id, &id).await.unwrap().unwrap();
                        let what = match category {
                            None => SendWhat::Text("Your order is ready".into()),
                            Some(c) => SendWhat::Template {
                                name: TemplateName::parse(&format!(
                                    "t_{}",
                                    c.as_meta().to_ascii_lowercase()
                                ))
                                .unwrap(),
                                language: LanguageCode::parse("en").unwrap(),
                                parameters: mizan_shared::domain::personal::Personal::new(
                                    serde_json::json!({"body": {"1": "Amina"}}),
                                ),
                            },
                        };
                        let accepted = accept_send(
                            &h.store,
                            SendAsAgent {
                                tenant: &tenant,
                                contact: &contact,
                                agent: &ApiKeyId::new("key_0123456789ab"),
                                what,
                                idempotency: None,
                            },
                        )
                        .await;
                        let kind = match category {
                            None => Outbound::AgentText,
                            Some(c) => Outbound::Template(c),
                        };
                        let last_inbound_at =
                            wrote_seconds_ago.map(|ago| h.now().minus(Duration::from_secs(ago)));
                        let recipient = |c| recipient_of(c, last_inbound_at, h.now());
                        let at_acceptance = h
                            .store
                            .contact_state(&tenant.id, &id)
                            .await
                            .unwrap()
                            .unwrap()
                            .value;
                        let accepted = match accepted {
                            Ok(accepted) => {
                                // A person's send takes over; the gate for a person ignores it.
                                prop_assert!(may_send(kind, &recipient(&at_acceptance)).is_ok());
                                accepted
                            }
                            Err(AcceptError::Refused(reason)) => {
                                prop_assert_eq!(
                                    may_send(kind, &recipient(&at_acceptance)),
                                    Err(reason)
                                );
                                return Ok(());
                            }
                            Err(other) => panic!("unexpected refusal {other}"),
                        };
                        // The contact changes before the sender's turn.
                        set_state(&h, &tenant, &id, &at_send).await;
                        let at_sending = h
                            .store
                            .contact_state(&tenant.id, &id)
                            .await
                            .unwrap()
                            .unwrap()
                            .value;
                        let order = h
                            .store
                            .outbound_order(&tenant.id, &id, &accepted.message.id)
                            .await
                            .unwrap()
                            .unwrap();
                        let outbox = Outbox::new("v24.0");
                        let outcome = send_order(&h.store, &outbox, &order).await.unwrap();
                        let allowed = may_send(kind, &recipient(&at_sending));
                        match outcome {
                            SendOutcome::Sent => {
                                prop_assert!(allowed.is_ok());
                                prop_assert_eq!(outbox.entries().len(), 1);
                            }
                            SendOutcome::Refused(reason) => {
                                prop_assert_eq!(allowed, Err(reason));
                                prop_assert!(outbox.entries().is_empty());
                            }
                            other => panic!("unexpected {other:?}"),
                        }
                        Ok(())
                    })
                },
            )
            .unwrap();
    }
}
