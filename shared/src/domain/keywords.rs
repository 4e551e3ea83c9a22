//! Consent keywords (opt-out, opt-in, help) in English, French and Arabic (P5).
//!
//! A message is a keyword only when, after [`fold`], it consists of nothing but the keyword:
//! "Stop!!" and " ARRÊT. " are, "please don't stop" and "stopwatch" are not. Spaces, hyphens and
//! apostrophes inside a keyword are ignored, so "opt out", "opt-out" and "optout" are one keyword.
//!
//! Choices (see [`KEYWORDS`] for the full list):
//! - Opt-out follows the US carrier/CTIA set (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT) plus
//!   the FCC's revocation words (REVOKE, OPT OUT). CANCEL and its Arabic counterpart إلغاء are kept
//!   although a contact may mean "cancel my order": a wrong opt-out is undone by START, a missed
//!   one breaks the promise. French ANNULER is left out: the French SMS convention is STOP, and
//!   ANNULER mostly means cancelling a booking.
//! - YES is not an opt-in: in a conversation it answers whatever was just asked, and an opt-in
//!   must be provable (P8). Likewise ABONNEMENT, INSCRIRE and "لا" are not keywords.
//! - "ابدأ" (start) and "أبداً" (never) fold to the same letters; only the final hamza on alef tells
//!   them apart, so "ابدأ" is an opt-in only when written with it, and the bare "ابدا" is nothing.
//! - A word shared by two languages (STOP, INFO) is English unless it is specifically French.

use serde::{Deserialize, Serialize};
use std::sync::LazyLock;
use Keyword::{Help, OptIn, OptOut};
use Language::{Arabic, English, French};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    OptOut,
    OptIn,
    Help,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    English,
    French,
    Arabic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    pub keyword: Keyword,
    pub language: Language,
}

/// Every keyword, as people write it; both sides are folded before comparing.
pub const KEYWORDS: &[(&str, Keyword, Language)] = &[
    ("STOP", OptOut, English),
    ("STOPALL", OptOut, English),
    ("STOP ALL", OptOut, English),
    ("UNSUBSCRIBE", OptOut, English),
    ("CANCEL", OptOut, English),
    ("END", OptOut, English),
    ("QUIT", OptOut, English),
    ("REVOKE", OptOut, English),
    ("OPT OUT", OptOut, English),
    ("ARRÊT", OptOut, French),
    ("ARRÊTE", OptOut, French),
    ("ARRÊTEZ", OptOut, French),
    ("ARRÊTER", OptOut, French),
    ("DÉSABONNER", OptOut, French),
    ("SE DÉSABONNER", OptOut, French),
    ("DÉSABONNEMENT", OptOut, French),
    ("DÉSINSCRIRE", OptOut, French),
    ("SE DÉSINSCRIRE", OptOut, French),
    ("DÉSINSCRIPTION", OptOut, French),
    ("إيقاف", OptOut, Arabic),
    ("أوقف", OptOut, Arabic),
    ("توقف", OptOut, Arabic),
    ("إلغاء", OptOut, Arabic),
    ("إلغاء الاشتراك", OptOut, Arabic),
    ("إلغاء اشتراك", OptOut, Arabic),
    ("ستوب", OptOut, Arabic),
    ("START", OptIn, English),
    ("SUBSCRIBE", OptIn, English),
    ("UNSTOP", OptIn, English),
    ("OPT IN", OptIn, English),
    ("DÉMARRER", OptIn, French),
    ("S'ABONNER", OptIn, French),
    ("ABONNER", OptIn, French),
    ("REPRENDRE", OptIn, French),
    ("اشتراك", OptIn, Arabic),
    ("اشترك", OptIn, Arabic),
    ("تفعيل", OptIn, Arabic),
    ("HELP", Help, English),
    ("INFO", Help, English),
    ("AIDE", Help, French),
    ("مساعدة", Help, Arabic),
];

/// "ابدأ" (start): matched apart from [`KEYWORDS`] because folding erases its final hamza.
const START_AR_FOLDED: &str = "ابدا";

/// The consent keyword `text` consists of, if any.
pub fn classify(text: &str) -> Option<Match> {
    let folded = fold(text);
    if folded.is_empty() {
        return None;
    }
    let key = compact(&folded);
    let found = folded_keywords()
        .iter()
        .find(|(spelling, _)| *spelling == key)
        .map(|&(_, found)| found);
    found.or_else(|| {
        (key == START_AR_FOLDED && ends_with_hamza_on_alef(text)).then_some(Match {
            keyword: OptIn,
            language: Arabic,
        })
    })
}

/// [`KEYWORDS`] folded and compacted once: every inbound text is classified.
fn folded_keywords() -> &'static [(String, Match)] {
    static FOLDED: LazyLock<Vec<(String, Match)>> = LazyLock::new(|| {
        KEYWORDS
            .iter()
            .map(|&(spelling, keyword, language)| {
                (compact(&fold(spelling)), Match { keyword, language })
            })
            .collect()
    });
    &FOLDED
}

/// Folds text for keyword comparison: Unicode lowercase; Latin accents stripped (é→e, œ→oe);
/// Arabic tashkeel and tatweel removed and letter variants unified (أ إ آ ٱ→ا, ى→ي, ة→ه, ؤ→و,
/// ئ→ي); invisible format marks dropped; typographic apostrophes and dashes made ASCII;
/// surrounding whitespace and punctuation trimmed; inner whitespace collapsed to one space.
pub fn fold(text: &str) -> String {
    let mut letters = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        match fold_char(c) {
            Folded::Drop => {}
            Folded::One(c) => letters.push(c),
            Folded::Two(a, b) => {
                letters.push(a);
                letters.push(b);
            }
        }
    }
    letters
        .trim_matches(|c: char| c.is_whitespace() || is_edge_punctuation(c))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

enum Folded {
    Drop,
    One(char),
    Two(char, char),
}

fn fold_char(c: char) -> Folded {
    use Folded::{Drop, One, Two};
    match c {
        // Latin-1 Supplement and the Latin Extended-A letters French (and loanwords) use.
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => One('a'),
        'ç' | 'ć' | 'č' => One('c'),
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => One('e'),
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' => One('i'),
        'ñ' | 'ń' | 'ň' => One('n'),
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => One('o'),
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' => One('u'),
        'ý' | 'ÿ' => One('y'),
        'ś' | 'š' | 'ş' => One('s'),
        'ź' | 'ż' | 'ž' => One('z'),
        'ğ' => One('g'),
        'ł' => One('l'),
        'œ' => Two('o', 'e'),
        'æ' => Two('a', 'e'),
        // Combining accents, from keyboards that send decomposed text (e + ◌́).
        '\u{0300}'..='\u{036F}' => Drop,
        // Arabic tashkeel/harakat (incl. combining hamza and madda), superscript alef, tatweel.
        '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{0640}' => Drop,
        'أ' | 'إ' | 'آ' | 'ٱ' => One('ا'),
        'ى' | 'ئ' | 'ی' => One('ي'),
        'ة' => One('ه'),
        'ؤ' => One('و'),
        'ک' => One('ك'),
        // Invisible marks phones insert around right-to-left text, and zero-width characters.
        '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}'
        | '\u{061C}'
        | '\u{2060}'
        | '\u{FEFF}' => Drop,
        '’' | '‘' | 'ʼ' | '´' | '`' => One('\''),
        '\u{2010}'..='\u{2015}' | '\u{2212}' => One('-'),
        c => One(c),
    }
}

fn is_edge_punctuation(c: char) -> bool {
    // Latin-1 and Arabic punctuation; U+2016–U+205E is General Punctuation (quotes, ‼, …).
    const OTHERS: &[char] = &['¡', '¿', '«', '»', '·', '،', '؛', '؟', '۔', '٭', '﴾', '﴿'];
    c.is_ascii_punctuation() || ('\u{2016}'..='\u{205E}').contains(&c) || OTHERS.contains(&c)
}

/// The folded text without the separators people put inside keywords ("opt-out", "s'abonner").
pub(crate) fn compact(folded: &str) -> String {
    folded
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '\''))
        .collect()
}

fn ends_with_hamza_on_alef(text: &str) -> bool {
    text.chars()
        .rev()
        .filter(|&c| !matches!(fold_char(c), Folded::Drop))
        .find(|&c| !(c.is_whitespace() || is_edge_punctuation(c)))
        == Some('أ')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(keyword: Keyword, language: Language) -> Option<Match> {
        Some(Match { keyword, language })
    }

    #[test]
    fn every_spelling_classifies_as_its_keyword() {
        let table: &[(&str, Keyword, Language)] = &[
            // English opt-out
            ("STOP", OptOut, English),
            ("stop", OptOut, English),
            ("stop!!", OptOut, English),
            (" Stop. ", OptOut, English),
            ("\"STOP\"", OptOut, English),
            ("StopAll", OptOut, English),
            ("stop all", OptOut, English),
            ("Unsubscribe", OptOut, English),
            ("cancel", OptOut, English),
            ("END", OptOut, English),
            ("quit.", OptOut, English),
            ("revoke", OptOut, English),
            ("OPTOUT", OptOut, English),
            ("opt-out", OptOut, English),
            ("Opt Out", OptOut, English),
            ("opt – out", OptOut, English),
            ("STOP\u{200F}", OptOut, English),
            // French opt-out
            ("ARRÊT", OptOut, French),
            ("arret", OptOut, French),
            ("Arrêt !", OptOut, French),
            ("ARRET", OptOut, French),
            ("arre\u{0302}t", OptOut, French),
            ("Arrête", OptOut, French),
            ("arrêtez !", OptOut, French),
            ("arrêter", OptOut, French),
            ("désabonner", OptOut, French),
            ("DESABONNER", OptOut, French),
            ("Se désabonner", OptOut, French),
            ("se  desabonner.", OptOut, French),
            ("désabonnement", OptOut, French),
            ("DÉSINSCRIRE", OptOut, French),
            ("desinscrire", OptOut, French),
            ("se désinscrire", OptOut, French),
            ("désinscription", OptOut, French),
            ("« STOP »", OptOut, English),
            // Arabic opt-out
            ("إيقاف", OptOut, Arabic),
            ("ايقاف", OptOut, Arabic),
            ("إِيقَاف", OptOut, Arabic),
            ("ايـــقاف", OptOut, Arabic),
            ("إيقاف!", OptOut, Arabic),
            ("أوقف", OptOut, Arabic),
            ("اوقف", OptOut, Arabic),
            ("توقف", OptOut, Arabic),
            ("تَوَقَّفْ", OptOut, Arabic),
            ("توقف.", OptOut, Arabic),
            ("إلغاء", OptOut, Arabic),
            ("الغاء", OptOut, Arabic),
            ("إلغاء الاشتراك", OptOut, Arabic),
            ("الغاء الاشتراك", OptOut, Arabic),
            ("إلغاء الإشتراك", OptOut, Arabic),
            ("الغاء  الاشتراك؟", OptOut, Arabic),
            ("إلغاء اشتراك", OptOut, Arabic),
            ("ستوب", OptOut, Arabic),
            ("\u{200F}إيقاف\u{200F}", OptOut, Arabic),
            // English opt-in
            ("START", OptIn, English),
            ("start.", OptIn, English),
            ("Subscribe", OptIn, English),
            ("UNSTOP", OptIn, English),
            ("opt-in", OptIn, English),
            ("OPT IN", OptIn, English),
            // French opt-in
            ("DÉMARRER", OptIn, French),
            ("demarrer", OptIn, French),
            ("S'ABONNER", OptIn, French),
            ("s’abonner", OptIn, French),
            ("sabonner", OptIn, French),
            ("abonner", OptIn, French),
            ("Reprendre", OptIn, French),
            // Arabic opt-in
            ("اشتراك", OptIn, Arabic),
            ("اِشْتِرَاك", OptIn, Arabic),
            ("اشترك", OptIn, Arabic),
            ("ابدأ", OptIn, Arabic),
            ("إبدأ", OptIn, Arabic),
            ("اِبْدَأْ", OptIn, Arabic),
            ("ابدأ!", OptIn, Arabic),
            ("تفعيل", OptIn, Arabic),
            // Help
            ("HELP", Help, English),
            ("help?", Help, English),
            ("Info", Help, English),
            ("INFO ?", Help, English),
            ("AIDE", Help, French),
            ("aide !", Help, French),
            ("مساعدة", Help, Arabic),
            ("مساعده", Help, Arabic),
            ("مساعدة؟", Help, Arabic),
        ];
        for &(text, keyword, language) in table {
            assert_eq!(classify(text), m(keyword, language), "{text:?}");
        }
    }

    #[test]
    fn messages_that_are_more_than_a_keyword_are_not_keywords() {
        for text in [
            "",
            "   ",
            "!!!",
            "🛑",
            "👍",
            "please don't stop",
            "stop sending me messages",
            "stopwatch",
            "nonstop",
            "unstoppable",
            "restart",
            "helpful",
            "information",
            "yes",
            "oui",
            "annuler",
            "abonnement",
            "arrêt de bus",
            "je veux me désabonner",
            "أريد إيقاف الرسائل",
            "لا",
            "شكرا",
            // "abadan" (never) folds like "ابدأ" (start) but is not an opt-in.
            "أبداً",
            "ابدا",
            "أبدا",
        ] {
            assert_eq!(classify(text), None, "{text:?}");
        }
    }

    #[test]
    fn shared_words_are_english_unless_specifically_french() {
        assert_eq!(classify("Stop"), m(OptOut, English));
        assert_eq!(classify("info"), m(Help, English));
        assert_eq!(classify("arrêt"), m(OptOut, French));
    }

    #[test]
    fn every_table_spelling_classifies_as_its_own_entry() {
        for &(spelling, keyword, language) in KEYWORDS {
            assert_eq!(classify(spelling), m(keyword, language), "{spelling}");
        }
    }

    #[test]
    fn no_two_table_entries_fold_to_the_same_key_with_different_meanings() {
        for (i, &(a, ka, la)) in KEYWORDS.iter().enumerate() {
            for &(b, kb, lb) in &KEYWORDS[i + 1..] {
                if compact(&fold(a)) == compact(&fold(b)) {
                    assert_eq!((ka, la), (kb, lb), "{a} / {b}");
                }
            }
        }
    }

    #[test]
    fn fold_lowercases_and_strips_latin_accents() {
        assert_eq!(fold("ARRÊT"), "arret");
        assert_eq!(fold("Désinscrire"), "desinscrire");
        assert_eq!(fold("ÀÉÈÊËÎÏÔÖÙÛÜÇŸ"), "aeeeeiioouuucy");
        assert_eq!(fold("Cœur Æ"), "coeur ae");
        assert_eq!(fold("e\u{0301}te\u{0301}"), "ete");
    }

    #[test]
    fn fold_normalizes_arabic_letters_and_removes_marks() {
        assert_eq!(fold("إيقاف"), "ايقاف");
        assert_eq!(fold("أآٱإ"), "اااا");
        assert_eq!(fold("مُسَاعَدَةٌ"), "مساعده");
        assert_eq!(fold("مســاعدة"), "مساعده");
        assert_eq!(fold("مؤمن"), "مومن");
        assert_eq!(fold("مسئول"), "مسيول");
        assert_eq!(fold("على"), "علي");
        assert_eq!(fold("ا\u{0654}"), "ا");
    }

    #[test]
    fn fold_trims_surrounding_punctuation_and_collapses_whitespace() {
        assert_eq!(fold("  Stop!!  "), "stop");
        assert_eq!(fold("...stop?!"), "stop");
        assert_eq!(fold("؟توقف،"), "توقف");
        assert_eq!(fold("«arrêt»"), "arret");
        assert_eq!(fold("se \t  désabonner\n"), "se desabonner");
        assert_eq!(fold("opt-out"), "opt-out");
        assert_eq!(fold("s’abonner"), "s'abonner");
        assert_eq!(fold("\u{200F}stop\u{FEFF}"), "stop");
        assert_eq!(fold("😀 stop"), "😀 stop");
        assert_eq!(fold(""), "");
    }
}
