//! The changes a business (or Mizan) makes to a contact once it exists, each a transition with the
//! audit action that records it. The store applies them through one operation
//! (`Store::change_contact`): read, apply, save with the audit event, retry when the contact
//! changed underneath.

use crate::domain::contact::Contact;
use crate::domain::rectification::{CorrectionError, ProfileCorrection};
use crate::domain::time::Timestamp;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContactChange {
    /// A person answers the conversation: no automated reply follows until it is handed back
    /// or `until` passes (the tenant's `takeover_expires_hours` from now).
    TakeOver {
        until: Timestamp,
    },
    /// The assistant hands the conversation to a person (the customer asked for one, or it
    /// could not answer): taken over as [`ContactChange::TakeOver`], and awaiting a person
    /// until one takes it, answers or hands it back.
    HandOff {
        until: Timestamp,
    },
    /// Automated replies may answer again.
    HandBack,
    /// Restriction of processing (P7): stored, never processed.
    Restrict,
    LiftRestriction,
    /// Right to rectification: corrected fields stop following WhatsApp's profile.
    Rectify(ProfileCorrection),
}

/// What applying a change did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transition {
    /// Already so: nothing to save or audit.
    Unchanged,
    /// Changed; `detail` goes into the audit event.
    Changed { detail: Option<serde_json::Value> },
}

impl ContactChange {
    /// The audit action recording the change.
    pub fn action(&self) -> &'static str {
        match self {
            // One action for both: who took it (a person or the assistant) tells them apart.
            ContactChange::TakeOver { .. } | ContactChange::HandOff { .. } => "contact.taken_over",
            ContactChange::HandBack => "contact.handed_back",
            ContactChange::Restrict => "contact.restricted",
            ContactChange::LiftRestriction => "contact.restriction_lifted",
            ContactChange::Rectify(_) => "contact.rectified",
        }
    }

    /// Applies the change to `contact` at `now`. Only a rectification can be refused (bad
    /// input), and whether it is does not depend on the contact: [`ProfileCorrection::check`]
    /// tells first.
    pub fn apply(
        &self,
        contact: &mut Contact,
        now: Timestamp,
    ) -> Result<Transition, CorrectionError> {
        let flag = |target: &mut bool, on: bool| {
            if *target == on {
                Transition::Unchanged
            } else {
                *target = on;
                Transition::Changed { detail: None }
            }
        };
        Ok(match self {
            // A take-over that ran out may be taken again: it starts a new period.
            ContactChange::TakeOver { until } if !contact.is_taken_over(now) => {
                contact.taken_over = true;
                contact.taken_over_until = Some(*until);
                contact.awaiting_person = false;
                Transition::Changed {
                    detail: Some(serde_json::json!({ "until": until.to_rfc3339() })),
                }
            }
            // A person takes what the assistant handed off: the period it began stays.
            ContactChange::TakeOver { .. } if contact.awaiting_person => {
                contact.awaiting_person = false;
                Transition::Changed {
                    detail: contact
                        .taken_over_until
                        .map(|until| serde_json::json!({ "until": until.to_rfc3339() })),
                }
            }
            ContactChange::TakeOver { .. } => Transition::Unchanged,
            ContactChange::HandOff { until } if !contact.is_taken_over(now) => {
                contact.taken_over = true;
                contact.taken_over_until = Some(*until);
                contact.awaiting_person = true;
                Transition::Changed {
                    detail: Some(serde_json::json!({
                        "until": until.to_rfc3339(),
                        "awaiting_person": true,
                    })),
                }
            }
            // A person has it already, or it waits for one already.
            ContactChange::HandOff { .. } => Transition::Unchanged,
            ContactChange::HandBack => {
                contact.taken_over_until = None;
                contact.awaiting_person = false;
                flag(&mut contact.taken_over, false)
            }
            ContactChange::Restrict => flag(&mut contact.restricted, true),
            ContactChange::LiftRestriction => flag(&mut contact.restricted, false),
            ContactChange::Rectify(correction) => {
                let mut profile = contact.profile.clone().unwrap_or_default();
                let changed = correction.apply(&mut profile)?;
                if changed.is_empty() {
                    return Ok(Transition::Unchanged);
                }
                contact.profile = Some(profile);
                for field in &changed {
                    if !contact.corrected.iter().any(|f| f == field) {
                        contact.corrected.push((*field).to_owned());
                    }
                }
                Transition::Changed {
                    detail: Some(serde_json::json!({ "fields": changed })),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::contact::ContactProfile;
    use crate::domain::ids::{ContactId, TenantId};
    use crate::domain::personal::Personal;
    use crate::domain::time::Timestamp;

    fn contact() -> Contact {
        let profile = ContactProfile {
            wa_id: Some("212600000000".into()),
            name: Some("Amina".into()),
            ..ContactProfile::default()
        };
        Contact::new(
            TenantId::new("t"),
            ContactId::new("c"),
            profile,
            Timestamp::from_millis(0),
        )
    }

    fn at(hours: u64) -> Timestamp {
        Timestamp::from_millis(0).plus(std::time::Duration::from_secs(hours * 3600))
    }

    #[test]
    fn flags_change_once_and_are_unchanged_when_already_so() {
        let mut c = contact();
        let now = at(0);
        let take_over = ContactChange::TakeOver { until: at(24) };
        let changed = Transition::Changed { detail: None };
        assert!(matches!(
            take_over.apply(&mut c, now),
            Ok(Transition::Changed { detail: Some(_) })
        ));
        assert!(c.taken_over && c.is_taken_over(now));
        assert_eq!(take_over.apply(&mut c, now), Ok(Transition::Unchanged));
        assert_eq!(
            ContactChange::HandBack.apply(&mut c, now),
            Ok(changed.clone())
        );
        assert!(!c.taken_over && c.taken_over_until.is_none());
        assert_eq!(
            ContactChange::Restrict.apply(&mut c, now),
            Ok(changed.clone())
        );
        assert!(c.restricted && !c.may_process());
        assert_eq!(
            ContactChange::LiftRestriction.apply(&mut c, now),
            Ok(changed)
        );
        assert_eq!(
            ContactChange::LiftRestriction.apply(&mut c, now),
            Ok(Transition::Unchanged)
        );
    }

    #[test]
    fn a_take_over_ends_by_itself_and_may_then_be_taken_again() {
        let mut c = contact();
        ContactChange::TakeOver { until: at(24) }
            .apply(&mut c, at(0))
            .unwrap();
        assert!(c.is_taken_over(at(23)));
        assert!(!c.is_taken_over(at(24)), "no customer left without answers");
        let again = ContactChange::TakeOver { until: at(48) };
        assert!(matches!(
            again.apply(&mut c, at(30)),
            Ok(Transition::Changed { .. })
        ));
        assert!(c.is_taken_over(at(47)));
    }

    #[test]
    fn a_hand_off_awaits_a_person_until_one_takes_it_or_hands_it_back() {
        let mut c = contact();
        let hand_off = ContactChange::HandOff { until: at(24) };
        assert!(matches!(
            hand_off.apply(&mut c, at(0)),
            Ok(Transition::Changed { detail: Some(_) })
        ));
        assert!(c.is_taken_over(at(1)) && c.awaiting_person);
        assert_eq!(hand_off.apply(&mut c, at(1)), Ok(Transition::Unchanged));
        // A person takes it: no longer awaiting, and the period the hand-off began stays.
        let take_over = ContactChange::TakeOver { until: at(30) };
        assert!(matches!(
            take_over.apply(&mut c, at(2)),
            Ok(Transition::Changed { .. })
        ));
        assert!(!c.awaiting_person && c.taken_over_until == Some(at(24)));
        assert_eq!(take_over.apply(&mut c, at(2)), Ok(Transition::Unchanged));
        // The assistant does not hand off what a person holds.
        assert_eq!(hand_off.apply(&mut c, at(3)), Ok(Transition::Unchanged));
        assert!(!c.awaiting_person);
        ContactChange::HandBack.apply(&mut c, at(4)).unwrap();
        hand_off.apply(&mut c, at(5)).unwrap();
        ContactChange::HandBack.apply(&mut c, at(6)).unwrap();
        assert!(!c.awaiting_person && !c.taken_over);
    }

    #[test]
    fn a_rectification_names_the_fields_it_changed_and_remembers_them() {
        let mut c = contact();
        let rename = ContactChange::Rectify(ProfileCorrection {
            name: Some(Some(Personal::new("Amina B.".into()))),
            username: None,
        });
        assert_eq!(
            rename.apply(&mut c, at(0)),
            Ok(Transition::Changed {
                detail: Some(serde_json::json!({ "fields": ["name"] }))
            })
        );
        assert_eq!(c.corrected, vec!["name".to_owned()]);
        assert_eq!(rename.apply(&mut c, at(0)), Ok(Transition::Unchanged));
        assert_eq!(c.corrected, vec!["name".to_owned()], "listed once");
        let blank = ContactChange::Rectify(ProfileCorrection {
            name: Some(Some(Personal::new("  ".into()))),
            username: None,
        });
        assert_eq!(
            blank.apply(&mut c, at(0)),
            Err(CorrectionError::Invalid { field: "name" })
        );
    }

    #[test]
    fn every_change_has_its_audit_action() {
        let actions: Vec<&str> = [
            ContactChange::TakeOver { until: at(1) },
            ContactChange::HandOff { until: at(1) },
            ContactChange::HandBack,
            ContactChange::Restrict,
            ContactChange::LiftRestriction,
            ContactChange::Rectify(ProfileCorrection::default()),
        ]
        .iter()
        .map(ContactChange::action)
        .collect();
        assert_eq!(
            actions,
            [
                "contact.taken_over",
                "contact.taken_over",
                "contact.handed_back",
                "contact.restricted",
                "contact.restriction_lifted",
                "contact.rectified"
            ]
        );
    }
}
