//! The automated reply: whether a customer's message gets one, which one, and its exact wording
//! when it is not the AI's (consent keywords, hand-off, the opt-out hint). Pure rules, no I/O.
//!
//! Order of the checks in [`plan`]: the tenant's switch, what the message is (kind, late retry,
//! 24-hour window, superseded by a newer one), whether anything may reach the contact at all
//! (restricted, blocked, taken over), and only then consent: an opt-out keyword is answered with
//! its confirmation although the decision it carries is already recorded (intake commits the
//! keyword and the decision together), and nothing else is sent to an opted-out contact (P5).

use crate::domain::consent::Purpose;
use crate::domain::contact::Contact;
use crate::domain::keywords::{self, Keyword, Language};
use crate::domain::message::{Direction, Message, MessageKind};
use crate::domain::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// WhatsApp's limit on a text message body, in characters.
pub const WHATSAPP_TEXT_LIMIT: usize = 4096;

/// WhatsApp's customer-service window: free-form replies only within 24 hours of the customer's
/// last message.
pub const CUSTOMER_SERVICE_WINDOW: Duration = Duration::from_secs(24 * 3600);

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
    /// An answer from the responder (or the hand-off message when it has none).
    Answer,
}

impl ReplyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplyKind::OptOutConfirmation => "opt_out_confirmation",
            ReplyKind::OptInConfirmation => "opt_in_confirmation",
            ReplyKind::Help => "help",
            ReplyKind::HandOff => "hand_off",
            ReplyKind::Answer => "answer",
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

/// Whether WhatsApp still allows a free-form reply to a message the customer sent at `sent_at`.
pub fn window_open(sent_at: Timestamp, now: Timestamp) -> bool {
    now.since(sent_at) < CUSTOMER_SERVICE_WINDOW
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
    } else if contact.taken_over {
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
        None => ReplyKind::Answer,
    };
    Plan::Reply { kind, language }
}

/// Whether a reply planned earlier may still go to the contact as it is now: asked again right
/// before the Graph API call and before the reply is recorded, because an erasure, block,
/// opt-out, restriction or take-over can land while the model is thinking (DESIGN §8). `None`
/// for a contact that is gone (erased).
pub fn still_allowed(kind: ReplyKind, contact: Option<&Contact>) -> Result<(), SkipReason> {
    let Some(contact) = contact else {
        return Err(SkipReason::Restricted);
    };
    if !contact.may_process() {
        Err(SkipReason::Restricted)
    } else if contact.consent.blocked {
        Err(SkipReason::Blocked)
    } else if kind == ReplyKind::OptOutConfirmation {
        // The one message an opt-out still allows.
        Ok(())
    } else if contact.taken_over {
        Err(SkipReason::TakenOver)
    } else if !contact.may_send(Purpose::AutomatedReplies) {
        Err(SkipReason::OptedOut)
    } else {
        Ok(())
    }
}

/// The order a customer wrote messages in: WhatsApp's time has whole seconds, so messages of
/// one second are ordered by when Mizan stored them.
pub fn customer_order(m: &Message) -> (Timestamp, Timestamp, &str) {
    (m.sent_at, m.stored_at, m.id.as_str())
}

/// The newest of a contact's messages: the one a burst's reply answers.
pub fn newest<'a>(messages: impl IntoIterator<Item = &'a Message>) -> Option<&'a Message> {
    messages
        .into_iter()
        .max_by(|a, b| customer_order(a).cmp(&customer_order(b)))
}

/// Whether the opt-out hint must go with this reply: at least once per 24 hours (P5).
pub fn needs_opt_out_hint(
    kind: ReplyKind,
    last_hint_at: Option<Timestamp>,
    now: Timestamp,
) -> bool {
    !kind.explains_opt_out() && last_hint_at.is_none_or(|at| now.since(at) >= OPT_OUT_HINT_EVERY)
}

/// The customer's own words in a stored message's content: text, button and list titles,
/// captions. Never the sender's number, ids or any other field.
pub fn customer_text(content: &serde_json::Value) -> Option<String> {
    let pointers = [
        "/text/body",
        "/body",
        "/button/text",
        "/interactive/button_reply/title",
        "/interactive/list_reply/title",
        "/interactive/list_reply/description",
        "/image/caption",
        "/video/caption",
        "/document/caption",
    ];
    let parts: Vec<&str> = pointers
        .iter()
        .filter_map(|p| content.pointer(p).and_then(|v| v.as_str()))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join("\n"))
}

/// The language to answer in: Arabic script, French words, else English.
pub fn guess_language(text: &str) -> Language {
    let letters = text.chars().filter(|c| c.is_alphabetic()).count();
    let arabic = text
        .chars()
        .filter(|c| ('\u{0600}'..='\u{06FF}').contains(c) || ('\u{0750}'..='\u{077F}').contains(c))
        .count();
    if letters > 0 && arabic * 2 >= letters {
        return Language::Arabic;
    }
    const FRENCH: &[&str] = &[
        "bonjour",
        "bonsoir",
        "salut",
        "merci",
        "vous",
        "votre",
        "vos",
        "est",
        "etes",
        "sont",
        "les",
        "des",
        "une",
        "je",
        "j",
        "pour",
        "avec",
        "avez",
        "quel",
        "quels",
        "quelle",
        "quelles",
        "horaires",
        "ouvert",
        "ouverts",
        "ouverte",
        "ferme",
        "dimanche",
        "lundi",
        "samedi",
        "aujourd",
        "demain",
        "combien",
        "comment",
        "pourquoi",
        "oui",
        "non",
        "svp",
        "pas",
        "c",
        "qu",
        "quand",
        "ou",
        "livraison",
        "prix",
        "commande",
        "bien",
    ];
    const ENGLISH: &[&str] = &[
        "the", "you", "your", "are", "is", "what", "when", "where", "how", "hello", "hi", "thanks",
        "thank", "please", "do", "does", "open", "opening", "hours", "can", "i", "my", "order",
        "price", "delivery", "today", "tomorrow", "sunday", "yes", "no",
    ];
    let folded = keywords::fold(text);
    let words: Vec<&str> = folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let french = words.iter().filter(|w| FRENCH.contains(w)).count();
    let english = words.iter().filter(|w| ENGLISH.contains(w)).count();
    let accented = text.chars().any(|c| "éèêàâçùûôîïëœÉÈÊÀÇ".contains(c));
    if french > english || (accented && english == 0) {
        Language::French
    } else {
        Language::English
    }
}

/// Whether the customer asks to talk to a person.
pub fn asks_for_human(text: &str) -> bool {
    const PHRASES: &[&str] = &[
        "human",
        "a person",
        "real person",
        "someone real",
        "agent",
        "live agent",
        "representative",
        "operator",
        "talk to someone",
        "speak to someone",
        "humain",
        "une personne",
        "vraie personne",
        "conseiller",
        "conseillere",
        "un agent",
        "operateur",
        "operatrice",
        "parler a quelqu'un",
        "انسان",
        "بشري",
        "موظف",
        "شخص حقيقي",
        "خدمه العملاء",
    ];
    let words = |s: &str| -> String {
        let folded = keywords::fold(s);
        let spaced: String = folded
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || c == '\'' {
                    c
                } else {
                    ' '
                }
            })
            .collect();
        format!(
            " {} ",
            spaced.split_whitespace().collect::<Vec<_>>().join(" ")
        )
    };
    let text = words(text);
    PHRASES.iter().any(|phrase| text.contains(&words(phrase)))
}

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
        (ReplyKind::Answer, _) => return None,
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
    }

    #[test]
    fn a_planned_reply_is_refused_when_the_contact_changed_meanwhile() {
        let answer = ReplyKind::Answer;
        assert_eq!(still_allowed(answer, Some(&contact())), Ok(()));
        assert_eq!(still_allowed(answer, None), Err(SkipReason::Restricted));
        let mut erased = contact();
        erased.erasure_requested_at = Some(Timestamp::from_millis(NOW));
        assert_eq!(
            still_allowed(ReplyKind::OptOutConfirmation, Some(&erased)),
            Err(SkipReason::Restricted)
        );
        let blocked = with_consent(contact(), ConsentAction::Block);
        assert_eq!(
            still_allowed(ReplyKind::OptOutConfirmation, Some(&blocked)),
            Err(SkipReason::Blocked)
        );
        let opted_out = with_consent(contact(), ConsentAction::OptOut);
        assert_eq!(
            still_allowed(answer, Some(&opted_out)),
            Err(SkipReason::OptedOut)
        );
        assert_eq!(
            still_allowed(ReplyKind::OptOutConfirmation, Some(&opted_out)),
            Ok(())
        );
        let mut taken = contact();
        taken.taken_over = true;
        assert_eq!(
            still_allowed(ReplyKind::HandOff, Some(&taken)),
            Err(SkipReason::TakenOver)
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
    fn a_burst_is_answered_once_at_its_newest_message() {
        let a = message("ma", NOW, "hi");
        let b = message("mb", NOW + 2_000, "are you open?");
        let c1 = message("mc", NOW + 1_000, "hello");
        assert_eq!(newest([&a, &b, &c1]).map(|m| &m.id), Some(&b.id));
        // Within one second (WhatsApp's precision), the one stored last is the newest.
        let mut first = message("mz", NOW, "first");
        let mut second = message("ma", NOW, "second");
        first.stored_at = Timestamp::from_millis(NOW + 100);
        second.stored_at = Timestamp::from_millis(NOW + 900);
        assert_eq!(newest([&first, &second]).map(|m| &m.id), Some(&second.id));
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

    #[test]
    fn only_the_customers_words_are_taken_from_a_message() {
        let content = serde_json::json!({
            "from": "212600000000",
            "id": "wamid.X",
            "type": "text",
            "text": { "body": "Hello" }
        });
        assert_eq!(customer_text(&content).as_deref(), Some("Hello"));
        let image =
            serde_json::json!({"from": "2126", "image": {"id": "media1", "caption": "this one"}});
        assert_eq!(customer_text(&image).as_deref(), Some("this one"));
        let location = serde_json::json!({"from": "2126", "location": {"latitude": 1.0}});
        assert_eq!(customer_text(&location), None);
    }
}
