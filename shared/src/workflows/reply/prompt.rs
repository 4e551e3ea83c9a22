//! What the responder sees of a conversation.

use crate::domain::keywords::Language;
use crate::domain::message::{Direction, Message};
use crate::domain::redaction::redact;
use crate::domain::reply::customer_text;
use crate::domain::tenant::Tenant;
use crate::ports::responder::{Prompt, Speaker, Turn};

/// What the responder sees: the business's instructions and FAQ, and the conversation's words
/// oldest first. No phone number, WhatsApp id or name of the contact; with the tenant's
/// `model_redaction` (the default) no phone number, e-mail address, card number or IBAN the
/// customer typed either.
pub(super) fn prompt(tenant: &Tenant, conversation: &[Message], language: Language) -> Prompt {
    // In the order Mizan saw them: WhatsApp's times have whole seconds, replies milliseconds.
    let mut ordered: Vec<&Message> = conversation.iter().collect();
    ordered.sort_by_key(|m| (m.stored_at, m.sent_at));
    let turns = ordered
        .into_iter()
        .filter_map(|m| {
            let text = customer_text(m.content.as_ref()?.0.expose())?;
            let text = if tenant.settings.model_redaction {
                redact(&text)
            } else {
                text
            };
            Some(Turn {
                speaker: match m.direction {
                    Direction::Inbound => Speaker::Customer,
                    Direction::Outbound => Speaker::Business,
                },
                text: text.into(),
            })
        })
        .collect();
    Prompt {
        business_name: tenant.name.clone(),
        instructions: tenant.settings.ai_instructions.clone(),
        faq: tenant.settings.faq.clone(),
        turns,
        language,
    }
}
