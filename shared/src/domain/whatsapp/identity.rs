//! Who a message, status or preference is about: the ids on the item itself, completed by the
//! `contacts[]` entry that shares one of them, and the identity changes system messages announce.

use super::delivery::IdentityChange;
use super::payload::{WireContact, WireMessage};
use crate::domain::contact::ContactProfile;
use crate::domain::personal::Personal;

/// The ids an item names directly (`from`/`from_user_id`, `recipient_id`/`recipient_user_id`, …).
#[derive(Clone, Copy, Default)]
pub(super) struct Ids<'a> {
    pub wa_id: Option<&'a str>,
    pub user_id: Option<&'a str>,
    pub parent_user_id: Option<&'a str>,
}

/// The profile of the person `ids` names. A `contacts[]` entry is used only when it shares the
/// `wa_id` or `user_id`: a lone contact is never assumed to be the sender. `None` when the item names
/// neither a `wa_id` nor a `user_id`, so there is no one to attribute it to.
pub(super) fn profile(ids: Ids<'_>, contacts: &[WireContact]) -> Option<ContactProfile> {
    if ids.wa_id.is_none() && ids.user_id.is_none() {
        return None;
    }
    let contact = contacts.iter().find(|c| {
        (ids.wa_id.is_some() && c.wa_id.as_deref() == ids.wa_id)
            || (ids.user_id.is_some() && c.user_id.as_deref() == ids.user_id)
    });
    let known =
        |pick: fn(&WireContact) -> Option<&String>| contact.and_then(pick).map(String::as_str);
    let profile = contact.and_then(|c| c.profile.as_ref());
    Some(ContactProfile {
        user_id: ids
            .user_id
            .or(known(|c| c.user_id.as_ref()))
            .map(Personal::from),
        wa_id: ids
            .wa_id
            .or(known(|c| c.wa_id.as_ref()))
            .map(Personal::from),
        parent_user_id: ids
            .parent_user_id
            .or(known(|c| c.parent_user_id.as_ref()))
            .map(Personal::from),
        name: profile.and_then(|p| p.name.as_deref()).map(Personal::from),
        username: profile
            .and_then(|p| p.username.as_deref())
            .map(Personal::from),
    })
}

/// The identity change a system message announces, if it is one:
/// - `user_changed_number` (`customer_changed_number` before v12): `from` is the old number, the new
///   one is `system.wa_id` (`system.new_wa_id`); since 2026 the regenerated business-scoped id comes
///   as `system.user_id` beside `system.previous_user_id`.
/// - `user_changed_user_id`: only the business-scoped id changed (`previous_user_id` → `user_id`);
///   the phone number, if `from` names one, is the same on both sides.
///
/// `customer_identity_changed` (a new security code) changes no identifier, so it is not one.
pub(super) fn identity_change(message: &WireMessage) -> Option<IdentityChange> {
    let system = message.system.as_ref()?;
    let number_changed = match system.kind.as_deref()? {
        "user_changed_number" | "customer_changed_number" => true,
        "user_changed_user_id" => false,
        _ => return None,
    };
    let new_wa_id = if number_changed {
        system.wa_id.as_deref().or(system.new_wa_id.as_deref())
    } else {
        message.from.as_deref()
    };
    let mut old = Sides {
        wa_id: message.from.as_deref(),
        user_id: system.previous_user_id.as_deref(),
        parent_user_id: system.previous_parent_user_id.as_deref(),
    };
    let mut new = Sides {
        wa_id: new_wa_id,
        user_id: system.user_id.as_deref(),
        parent_user_id: system.parent_user_id.as_deref(),
    };
    place_sender_user_id(message, number_changed, &mut old, &mut new);
    let (old, new) = (old.profile(), new.profile());
    (!old.identifiers().is_empty() && !new.identifiers().is_empty() && old != new)
        .then_some(IdentityChange { old, new })
}

struct Sides<'a> {
    wa_id: Option<&'a str>,
    user_id: Option<&'a str>,
    parent_user_id: Option<&'a str>,
}

impl Sides<'_> {
    fn profile(&self) -> ContactProfile {
        ContactProfile {
            user_id: self.user_id.map(Personal::from),
            wa_id: self.wa_id.map(Personal::from),
            parent_user_id: self.parent_user_id.map(Personal::from),
            ..ContactProfile::default()
        }
    }
}

/// `from_user_id` belongs to whichever side does not name a user id yet: Meta's payloads do not
/// say which. With neither side known, a number change comes from the old identity (like `from`)
/// and a user id change reports the new one.
fn place_sender_user_id<'a>(
    message: &'a WireMessage,
    number_changed: bool,
    old: &mut Sides<'a>,
    new: &mut Sides<'a>,
) {
    let Some(sender) = message.from_user_id.as_deref() else {
        return;
    };
    if old.user_id == Some(sender) || new.user_id == Some(sender) {
        return;
    }
    match (old.user_id.is_some(), new.user_id.is_some()) {
        (true, false) => new.user_id = Some(sender),
        (false, true) => old.user_id = Some(sender),
        (false, false) if number_changed => old.user_id = Some(sender),
        (false, false) => new.user_id = Some(sender),
        (true, true) => {}
    }
}
