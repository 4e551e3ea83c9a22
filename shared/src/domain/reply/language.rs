//! The language of a customer's message, and whether it asks for a person.

use crate::domain::keywords::{self, Language};

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

/// Whether the whole message is a greeting and nothing more ("Bonjour", "Hello!", «مرحبا»): it
/// gets the greeting, not a hand-off.
pub fn is_greeting(text: &str) -> bool {
    const GREETINGS: &[&str] = &[
        "hello",
        "hi",
        "hey",
        "good morning",
        "good afternoon",
        "good evening",
        "bonjour",
        "bonsoir",
        "salut",
        "coucou",
        "salam",
        "salam alaykoum",
        "salam alikoum",
        "salam alaikum",
        "السلام عليكم",
        "سلام",
        "مرحبا",
        "اهلا",
        "اهلا وسهلا",
        "صباح الخير",
        "مساء الخير",
    ];
    let folded = keywords::fold(text);
    !folded.is_empty()
        && GREETINGS
            .iter()
            .any(|greeting| keywords::fold(greeting) == folded)
}

#[cfg(test)]
mod greeting_tests {
    use super::is_greeting;

    #[test]
    fn a_plain_greeting_is_one_and_a_question_is_not() {
        for text in [
            "Bonjour",
            "Hello!",
            " hi ",
            "Salam",
            "مرحبا",
            "السلام عليكم",
            "Bonsoir.",
        ] {
            assert!(is_greeting(text), "{text:?}");
        }
        for text in ["Bonjour, vous livrez ?", "hello can I order", "", "hours?"] {
            assert!(!is_greeting(text), "{text:?}");
        }
    }
}
