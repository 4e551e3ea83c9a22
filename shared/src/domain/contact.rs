//! Contacts: the people who write to a business, identified by WhatsApp ids kept only sealed.

use crate::domain::consent::{ConsentState, Purpose};
use crate::domain::identity_hash::IdentifierKind;
use crate::domain::ids::{ContactId, TenantId};
use crate::domain::personal::Personal;
use crate::domain::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Who a contact is and what they call themselves: all personal, so stored sealed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactProfile {
    /// Business-scoped user id (`user_id` / `from_user_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Personal<String>>,
    /// Phone number (`wa_id`); missing for contacts who use a username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wa_id: Option<Personal<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_user_id: Option<Personal<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Personal<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<Personal<String>>,
}

impl ContactProfile {
    /// The identifiers this profile can be found by, business-scoped id first.
    pub fn identifiers(&self) -> Vec<(IdentifierKind, &str)> {
        let mut ids = Vec::with_capacity(2);
        if let Some(user_id) = &self.user_id {
            ids.push((IdentifierKind::UserId, user_id.expose().as_str()));
        }
        if let Some(wa_id) = &self.wa_id {
            ids.push((IdentifierKind::WaId, wa_id.expose().as_str()));
        }
        ids
    }

    /// This profile without the fields named: a business's corrections (right to rectification)
    /// stand over what WhatsApp reports later.
    pub fn without(&self, fields: &[String]) -> ContactProfile {
        let mut profile = self.clone();
        for field in fields {
            match field.as_str() {
                "name" => profile.name = None,
                "username" => profile.username = None,
                _ => {}
            }
        }
        profile
    }

    /// Takes every field the newer profile knows; keeps what it does not mention.
    pub fn merge(&mut self, newer: &ContactProfile) -> bool {
        let before = self.clone();
        for (mine, theirs) in [
            (&mut self.user_id, &newer.user_id),
            (&mut self.wa_id, &newer.wa_id),
            (&mut self.parent_user_id, &newer.parent_user_id),
            (&mut self.name, &newer.name),
            (&mut self.username, &newer.username),
        ] {
            if theirs.is_some() {
                mine.clone_from(theirs);
            }
        }
        *self != before
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub tenant: TenantId,
    pub id: ContactId,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub consent: ConsentState,
    /// Restriction of processing: stored, never processed (P7).
    #[serde(default)]
    pub restricted: bool,
    /// Flagged as under 16: erased like an erasure request (P11).
    #[serde(default)]
    pub minor: bool,
    /// An earlier contact with one of these identifiers was erased as a minor (only a keyed
    /// hash of it is kept): nothing automated engages them again; the business decides.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub known_minor: bool,
    /// A human has taken over the conversation: no automated replies until it is handed back
    /// or `taken_over_until` passes ([`Contact::is_taken_over`]).
    #[serde(default)]
    pub taken_over: bool,
    /// When the take-over ends by itself (the tenant's `takeover_expires_hours` after it began);
    /// `None` for one that ends only when handed back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taken_over_until: Option<Timestamp>,
    /// The assistant handed the conversation to a person, and no person has taken it yet.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub awaiting_person: bool,
    /// Dispute resolution: deletion suspended.
    #[serde(default)]
    pub legal_hold: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erasure_requested_at: Option<Timestamp>,
    /// Identity change: this contact's messages continue under another contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_by: Option<ContactId>,
    /// Profile fields the business corrected (right to rectification): WhatsApp's profile no
    /// longer overrides them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub corrected: Vec<String>,
    /// Sealed in storage; `None` when the data key is destroyed.
    #[serde(skip)]
    pub profile: Option<ContactProfile>,
}

impl Contact {
    pub fn new(tenant: TenantId, id: ContactId, profile: ContactProfile, now: Timestamp) -> Self {
        Contact {
            tenant,
            id,
            created_at: now,
            last_seen_at: now,
            consent: ConsentState::default(),
            restricted: false,
            minor: false,
            known_minor: false,
            taken_over: false,
            taken_over_until: None,
            awaiting_person: false,
            legal_hold: false,
            erasure_requested_at: None,
            replaced_by: None,
            corrected: Vec::new(),
            profile: Some(profile),
        }
    }

    /// Anything but storage is allowed: not restricted, not being erased, not a minor.
    pub fn may_process(&self) -> bool {
        !self.restricted && !self.minor && !self.known_minor && self.erasure_requested_at.is_none()
    }

    /// Whether a message for `purpose` may be sent to this contact (P5).
    pub fn may_send(&self, purpose: Purpose) -> bool {
        self.may_process() && self.consent.allows(purpose)
    }

    /// Whether a person has the conversation at `now`: taken over, and not past its end.
    pub fn is_taken_over(&self, now: Timestamp) -> bool {
        self.taken_over && self.taken_over_until.is_none_or(|until| now < until)
    }

    pub fn is_erasure_due(&self) -> bool {
        self.minor || self.erasure_requested_at.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact() -> Contact {
        let profile = ContactProfile {
            wa_id: Some("212600000000".into()),
            ..ContactProfile::default()
        };
        Contact::new(
            TenantId::new("t"),
            ContactId::new("c1"),
            profile,
            Timestamp::from_millis(0),
        )
    }

    #[test]
    fn restricted_or_minor_contacts_get_nothing() {
        let mut c = contact();
        assert!(c.may_send(Purpose::AutomatedReplies));
        c.restricted = true;
        assert!(!c.may_send(Purpose::AutomatedReplies));
        c.restricted = false;
        c.minor = true;
        assert!(!c.may_send(Purpose::AutomatedReplies));
        assert!(c.is_erasure_due());
    }

    #[test]
    fn merge_keeps_known_fields_and_reports_change() {
        let mut p = ContactProfile {
            wa_id: Some("1".into()),
            name: Some("Amina".into()),
            ..ContactProfile::default()
        };
        let newer = ContactProfile {
            user_id: Some("US.1".into()),
            ..ContactProfile::default()
        };
        assert!(p.merge(&newer));
        assert!(!p.merge(&newer));
        assert_eq!(p.identifiers().len(), 2);
        assert_eq!(p.name, Some("Amina".into()));
    }

    #[test]
    fn corrected_fields_are_left_out_of_a_newer_profile() {
        let newer = ContactProfile {
            wa_id: Some("1".into()),
            name: Some("Mina".into()),
            username: Some("@mina".into()),
            ..ContactProfile::default()
        };
        let kept = newer.without(&["name".to_owned()]);
        assert_eq!(kept.name, None);
        assert_eq!(kept.username, Some("@mina".into()));
        assert_eq!(kept.wa_id, Some("1".into()));
    }

    #[test]
    fn debug_output_has_no_personal_data() {
        let c = contact();
        assert!(!format!("{c:?}").contains("212600000000"));
    }
}
