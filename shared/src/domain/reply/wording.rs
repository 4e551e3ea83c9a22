//! The exact wording of the replies that are not the AI's, in English, French and Arabic, and
//! the body sent: the reply with its opt-out hint, within WhatsApp's limit.

use super::plan::ReplyKind;
use crate::domain::keywords::Language;

/// WhatsApp's limit on a text message body, in characters.
pub const WHATSAPP_TEXT_LIMIT: usize = 4096;

/// The fixed text of a reply that is not the AI's.
pub fn fixed_text(kind: ReplyKind, language: Language, business: &str) -> Option<String> {
    use Language::*;
    let text = match (kind, language) {
        (ReplyKind::OptOutConfirmation, English) => "You are unsubscribed: you will get no more automated messages from us. Reply START to get automated replies again.".to_owned(),
        (ReplyKind::OptOutConfirmation, French) => "Vous êtes désabonné(e) : vous ne recevrez plus de messages automatiques de notre part. Répondez DÉMARRER pour recevoir de nouveau nos réponses automatiques.".to_owned(),
        (ReplyKind::OptOutConfirmation, Arabic) => "تم إلغاء اشتراكك ولن تصلك منا رسائل آلية بعد الآن. أرسل «اشتراك» لتلقي ردودنا الآلية من جديد.".to_owned(),
        (ReplyKind::OptInConfirmation, English) => "Automated replies are on: we will answer your messages. This does not sign you up for marketing messages. Reply STOP at any time to stop automated messages.".to_owned(),
        (ReplyKind::OptInConfirmation, French) => "Les réponses automatiques sont activées : nous répondrons à vos messages. Cela ne vous inscrit pas aux messages promotionnels. Répondez ARRÊT à tout moment pour ne plus recevoir de messages automatiques.".to_owned(),
        (ReplyKind::OptInConfirmation, Arabic) => "تم تفعيل الردود الآلية: سنرد على رسائلك. لا يعني ذلك اشتراكك في الرسائل الترويجية. أرسل «إيقاف» في أي وقت لإيقاف الرسائل الآلية.".to_owned(),
        (ReplyKind::Help, English) => format!("This is the automated assistant of {business}. Ask your question here, or write \"human\" to reach a person. Reply STOP to stop automated messages, START to resume them."),
        (ReplyKind::Help, French) => format!("Vous écrivez à l'assistant automatique de {business}. Posez votre question ici, ou écrivez « humain » pour parler à une personne. Répondez ARRÊT pour ne plus recevoir de messages automatiques, DÉMARRER pour les reprendre."),
        (ReplyKind::Help, Arabic) => format!("هذا هو المساعد الآلي لـ {business}. اكتب سؤالك هنا، أو اكتب «موظف» للتحدث مع شخص. أرسل «إيقاف» لإيقاف الرسائل الآلية و«اشتراك» لاستئنافها."),
        (ReplyKind::HandOff, _) => return Some(hand_off_text(language).to_owned()),
        (ReplyKind::Greeting, English) => format!("Hello! This is the assistant of {business}. How can I help you?"),
        (ReplyKind::Greeting, French) => format!("Bonjour ! Vous écrivez à l'assistant de {business}. Comment puis-je vous aider ?"),
        (ReplyKind::Greeting, Arabic) => format!("مرحباً! هذا مساعد {business}. كيف يمكنني مساعدتك؟"),
        (ReplyKind::Answer | ReplyKind::RightsAnswer, _) => return None,
    };
    Some(text)
}

/// The polite hand-off: a person will answer.
pub fn hand_off_text(language: Language) -> &'static str {
    match language {
        Language::English => "Thank you for your message. A member of our team will get back to you as soon as possible.",
        Language::French => "Merci pour votre message. Un membre de notre équipe vous répondra dès que possible.",
        Language::Arabic => "شكراً لرسالتك. سيتواصل معك أحد أعضاء فريقنا في أقرب وقت ممكن.",
    }
}

/// How to opt out, appended to automated replies at least once per 24 hours (P5).
pub fn opt_out_hint(language: Language) -> &'static str {
    match language {
        Language::English => "Reply STOP to stop automated messages.",
        Language::French => "Répondez ARRÊT pour ne plus recevoir de messages automatiques.",
        Language::Arabic => "أرسل «إيقاف» لإيقاف الرسائل الآلية.",
    }
}

/// The body to send: the reply, with the hint after it when given, within WhatsApp's limit
/// (the reply is shortened, never the hint).
pub fn compose(reply: &str, hint: Option<&str>) -> String {
    let reply = reply.trim();
    match hint {
        None => cap(reply, WHATSAPP_TEXT_LIMIT),
        Some(hint) => {
            let room = WHATSAPP_TEXT_LIMIT.saturating_sub(hint.chars().count() + 2);
            format!("{}\n\n{hint}", cap(reply, room))
        }
    }
}

/// `text` in at most `limit` characters: cut at a word boundary when one is near, with "…".
pub fn cap(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    if limit == 0 {
        return String::new();
    }
    let kept: String = text.chars().take(limit - 1).collect();
    let cut = match kept.rfind(char::is_whitespace) {
        Some(at) if kept[..at].chars().count() * 10 >= (limit - 1) * 9 => &kept[..at],
        _ => kept.as_str(),
    };
    format!("{}…", cut.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::keywords::{self, Keyword};

    #[test]
    fn fixed_texts_name_keywords_that_really_work() {
        let texts = [
            (ReplyKind::OptOutConfirmation, Keyword::OptIn),
            (ReplyKind::OptInConfirmation, Keyword::OptOut),
        ];
        for language in [Language::English, Language::French, Language::Arabic] {
            for (kind, keyword) in texts {
                let text = fixed_text(kind, language, "Atlas Tea").unwrap();
                assert!(
                    text.split(|c: char| c.is_whitespace() || "«»\"".contains(c))
                        .any(|word| keywords::classify(word).map(|m| m.keyword) == Some(keyword)),
                    "{kind:?} in {language:?} names a working keyword: {text}"
                );
            }
            let hint = opt_out_hint(language);
            assert!(hint
                .split(|c: char| c.is_whitespace() || "«»".contains(c))
                .any(|w| keywords::classify(w).map(|m| m.keyword) == Some(Keyword::OptOut)));
        }
        assert!(fixed_text(ReplyKind::Help, Language::English, "Atlas Tea")
            .unwrap()
            .contains("Atlas Tea"));
        assert_eq!(fixed_text(ReplyKind::Answer, Language::English, "x"), None);
    }

    #[test]
    fn replies_are_capped_to_whatsapps_text_limit_keeping_the_hint() {
        let long = "word ".repeat(2_000);
        let hint = opt_out_hint(Language::English);
        let body = compose(&long, Some(hint));
        assert!(body.chars().count() <= WHATSAPP_TEXT_LIMIT);
        assert!(body.ends_with(hint));
        let arabic = "ب".repeat(5_000);
        let body = compose(&arabic, None);
        assert_eq!(body.chars().count(), WHATSAPP_TEXT_LIMIT);
        assert_eq!(compose("  short  ", None), "short");
    }
}
