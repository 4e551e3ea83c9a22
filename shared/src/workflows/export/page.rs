//! `index.html`: the archive as a page a person opens first, written in pieces as the data
//! streams past. It speaks the person's language (English, French, or Arabic laid out right to
//! left), names things in plain words (no internal ids as headings), shows times as people
//! read them with their time zone, and escapes every value.

use super::records::{ExportHeader, ExportedConsent, ExportedContact, ExportedMessage};
use crate::domain::keywords::Language;
use crate::domain::time::Timestamp;
use chrono::{DateTime, Datelike, Timelike, Utc};
use html_escape::encode_text;

/// The page's words in one language.
struct Words {
    tag: &'static str,
    dir: &'static str,
    title: &'static str,
    intro: &'static str,
    files: &'static str,
    about_you: &'static str,
    contact: &'static str,
    name: &'static str,
    number: &'static str,
    user_id: &'static str,
    username: &'static str,
    first_seen: &'static str,
    last_seen: &'static str,
    restricted: &'static str,
    taken_over: &'static str,
    marketing: &'static str,
    automated: &'static str,
    reference: &'static str,
    choices: &'static str,
    when: &'static str,
    choice: &'static str,
    decision: &'static str,
    how: &'static str,
    messages: &'static str,
    sent: &'static str,
    from: &'static str,
    kind: &'static str,
    text: &'static str,
    status: &'static str,
    you: &'static str,
    a_person: &'static str,
    automated_sender: &'static str,
    no_text: &'static str,
    removed: &'static str,
    yes: &'static str,
    no: &'static str,
    months: [&'static str; 12],
    /// Between the date and the time.
    at: &'static str,
}

const ENGLISH: Words = Words {
    tag: "en",
    dir: "ltr",
    title: "Your data held by",
    intro: "This is everything the business keeps about you through its WhatsApp assistant, as of",
    files: "The same data is in data.json (for other services), messages.csv and consent.csv (for spreadsheets); README.txt describes each file.",
    about_you: "About you",
    contact: "Contact",
    name: "Name",
    number: "WhatsApp number",
    user_id: "WhatsApp user id",
    username: "Username",
    first_seen: "First message",
    last_seen: "Last seen",
    restricted: "Use of your data restricted",
    taken_over: "A person is answering you",
    marketing: "Promotional messages",
    automated: "Automated replies",
    reference: "Reference (for the business)",
    choices: "Your choices over time",
    when: "When",
    choice: "About",
    decision: "Decision",
    how: "How",
    messages: "Your messages (newest first)",
    sent: "Sent",
    from: "From",
    kind: "Type",
    text: "Text",
    status: "Status",
    you: "You",
    a_person: "A person at the business",
    automated_sender: "The business (automated)",
    no_text: "(no text: see data.json)",
    removed: "(removed after the retention period)",
    yes: "yes",
    no: "no",
    months: [
        "January", "February", "March", "April", "May", "June", "July", "August", "September",
        "October", "November", "December",
    ],
    at: ",",
};

const FRENCH: Words = Words {
    tag: "fr",
    dir: "ltr",
    title: "Vos données détenues par",
    intro: "Voici tout ce que l'entreprise conserve à votre sujet via son assistant WhatsApp, au",
    files: "Les mêmes données sont dans data.json (pour d'autres services), messages.csv et consent.csv (pour un tableur) ; README.txt décrit chaque fichier.",
    about_you: "Vous concernant",
    contact: "Contact",
    name: "Nom",
    number: "Numéro WhatsApp",
    user_id: "Identifiant WhatsApp",
    username: "Nom d'utilisateur",
    first_seen: "Premier message",
    last_seen: "Dernière activité",
    restricted: "Utilisation de vos données limitée",
    taken_over: "Une personne vous répond",
    marketing: "Messages promotionnels",
    automated: "Réponses automatiques",
    reference: "Référence (pour l'entreprise)",
    choices: "Vos choix au fil du temps",
    when: "Date",
    choice: "Objet",
    decision: "Décision",
    how: "Comment",
    messages: "Vos messages (les plus récents d'abord)",
    sent: "Envoyé",
    from: "De",
    kind: "Type",
    text: "Texte",
    status: "État",
    you: "Vous",
    a_person: "Une personne de l'entreprise",
    automated_sender: "L'entreprise (automatique)",
    no_text: "(pas de texte : voir data.json)",
    removed: "(supprimé à la fin de la durée de conservation)",
    yes: "oui",
    no: "non",
    months: [
        "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
        "octobre", "novembre", "décembre",
    ],
    at: " à",
};

const ARABIC: Words = Words {
    tag: "ar",
    dir: "rtl",
    title: "بياناتك لدى",
    intro: "هذا كل ما تحتفظ به الشركة عنك عبر مساعدها على واتساب، بتاريخ",
    files: "البيانات نفسها موجودة في data.json (لخدمات أخرى)، وفي messages.csv وconsent.csv (لجداول البيانات)؛ ويشرح الملف README.txt كل ملف.",
    about_you: "معلوماتك",
    contact: "جهة الاتصال",
    name: "الاسم",
    number: "رقم واتساب",
    user_id: "معرّف واتساب",
    username: "اسم المستخدم",
    first_seen: "أول رسالة",
    last_seen: "آخر نشاط",
    restricted: "تقييد استخدام بياناتك",
    taken_over: "يرد عليك شخص",
    marketing: "الرسائل الترويجية",
    automated: "الردود الآلية",
    reference: "المرجع (للشركة)",
    choices: "اختياراتك عبر الوقت",
    when: "التاريخ",
    choice: "الموضوع",
    decision: "القرار",
    how: "الطريقة",
    messages: "رسائلك (الأحدث أولاً)",
    sent: "أُرسلت",
    from: "من",
    kind: "النوع",
    text: "النص",
    status: "الحالة",
    you: "أنت",
    a_person: "شخص من الشركة",
    automated_sender: "الشركة (آلياً)",
    no_text: "(لا يوجد نص: انظر data.json)",
    removed: "(حُذف بعد انتهاء مدة الاحتفاظ)",
    yes: "نعم",
    no: "لا",
    months: [
        "يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس", "سبتمبر",
        "أكتوبر", "نوفمبر", "ديسمبر",
    ],
    at: "،",
};

fn words(language: Language) -> &'static Words {
    match language {
        Language::English => &ENGLISH,
        Language::French => &FRENCH,
        Language::Arabic => &ARABIC,
    }
}

/// A code the archive stores (`opt_out`, `delivered`, …) in plain words.
fn plain(code: &str, language: Language) -> String {
    use Language::*;
    let word = match (code, language) {
        ("marketing", English) => "promotional messages",
        ("marketing", French) => "messages promotionnels",
        ("marketing", Arabic) => "الرسائل الترويجية",
        ("automated_replies", English) => "automated replies",
        ("automated_replies", French) => "réponses automatiques",
        ("automated_replies", Arabic) => "الردود الآلية",
        ("all", English) => "everything",
        ("all", French) => "tout",
        ("all", Arabic) => "الكل",
        ("opt_in" | "granted", English) => "yes",
        ("opt_in" | "granted", French) => "oui",
        ("opt_in" | "granted", Arabic) => "نعم",
        ("opt_out" | "withdrawn", English) => "no",
        ("opt_out" | "withdrawn", French) => "non",
        ("opt_out" | "withdrawn", Arabic) => "لا",
        ("unset", English) => "not asked",
        ("unset", French) => "non demandé",
        ("unset", Arabic) => "لم يُطلب",
        ("keyword", English) => "a word you sent (like STOP)",
        ("keyword", French) => "un mot envoyé (comme ARRÊT)",
        ("keyword", Arabic) => "كلمة أرسلتها (مثل «إيقاف»)",
        ("text", English) => "text",
        ("text", French) => "texte",
        ("text", Arabic) => "نص",
        ("read", English) => "read",
        ("read", French) => "lu",
        ("read", Arabic) => "مقروءة",
        ("delivered", English) => "delivered",
        ("delivered", French) => "remis",
        ("delivered", Arabic) => "مُسلّمة",
        ("sent", English) => "sent",
        ("sent", French) => "envoyé",
        ("sent", Arabic) => "مُرسلة",
        ("received", English) => "received",
        ("received", French) => "reçu",
        ("received", Arabic) => "مُستلمة",
        ("failed", English) => "not delivered",
        ("failed", French) => "non remis",
        ("failed", Arabic) => "لم تُسلّم",
        (other, _) => return other.replace('_', " "),
    };
    word.to_owned()
}

/// "5 December 2026, 16:34 UTC": a time as people read it, with its time zone.
fn human_time(rfc3339: &str, language: Language) -> String {
    let Some(at) = Timestamp::parse_rfc3339(rfc3339)
        .ok()
        .and_then(|t| DateTime::<Utc>::from_timestamp_millis(t.as_millis()))
    else {
        return rfc3339.to_owned();
    };
    let w = words(language);
    format!(
        "{} {} {}{} {:02}:{:02} UTC",
        at.day(),
        w.months[at.month0() as usize],
        at.year(),
        w.at,
        at.hour(),
        at.minute()
    )
}

/// The page in `language`; `whole_account` when it holds every contact of the business.
pub struct Page {
    language: Language,
    whole_account: bool,
}

fn cell(value: Option<&str>) -> String {
    format!("<td>{}</td>", encode_text(value.unwrap_or("—")))
}

fn row(label: &str, value: Option<&str>) -> String {
    format!(
        "<tr><th scope=\"row\">{}</th>{}</tr>",
        encode_text(label),
        cell(value)
    )
}

impl Page {
    pub fn new(language: Language, whole_account: bool) -> Page {
        Page {
            language,
            whole_account,
        }
    }

    fn words(&self) -> &'static Words {
        words(self.language)
    }

    pub fn start(&self, header: &ExportHeader, business: &str) -> String {
        let w = self.words();
        format!(
            "<!doctype html>\n<html lang=\"{tag}\" dir=\"{dir}\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{title} {business}</title>\
             <style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.4}}\
             table{{border-collapse:collapse;width:100%;margin:1rem 0}}td,th{{border:1px solid #ccc;padding:.3rem .5rem;text-align:start;vertical-align:top}}\
             thead th,th[scope=row]{{background:#f4f4f4}}.files,.reference{{color:#555;font-size:.9rem}}</style></head><body>\n\
             <h1>{title} {business}</h1>\n\
             <p>{intro} {requested}.</p>\n<p class=\"files\">{files}</p>\n",
            tag = w.tag,
            dir = w.dir,
            title = encode_text(w.title),
            business = encode_text(business),
            intro = encode_text(w.intro),
            requested = encode_text(&human_time(&header.requested_at, self.language)),
            files = encode_text(w.files),
        )
    }

    pub fn contact(&self, contact: &ExportedContact) -> String {
        let w = self.words();
        let l = self.language;
        let heading = if self.whole_account {
            let who = contact
                .name
                .as_deref()
                .or(contact.wa_id.as_deref())
                .or(contact.username.as_deref())
                .unwrap_or("—");
            format!("{}: {}", w.contact, who)
        } else {
            w.about_you.to_owned()
        };
        let yes_no = |b: bool| if b { w.yes } else { w.no };
        let mut out = format!(
            "<section><h2>{}</h2>\n<table><tbody>",
            encode_text(&heading)
        );
        let first_seen = human_time(&contact.created_at, l);
        let last_seen = human_time(&contact.last_seen_at, l);
        let consent = serde_json::to_value(contact.consent).unwrap_or_default();
        let decision = |key: &str| plain(consent[key].as_str().unwrap_or("unset"), l);
        let (marketing, automated) = (decision("marketing"), decision("automated_replies"));
        for (label, value) in [
            (w.name, contact.name.as_deref()),
            (w.number, contact.wa_id.as_deref()),
            (w.user_id, contact.user_id.as_deref()),
            (w.username, contact.username.as_deref()),
            (w.first_seen, Some(first_seen.as_str())),
            (w.last_seen, Some(last_seen.as_str())),
            (w.restricted, Some(yes_no(contact.restricted))),
            (w.taken_over, Some(yes_no(contact.taken_over))),
            (w.marketing, Some(marketing.as_str())),
            (w.automated, Some(automated.as_str())),
        ] {
            out.push_str(&row(label, value));
        }
        out.push_str(&format!(
            "</tbody></table>\n<p class=\"reference\">{}: {}</p>\n",
            encode_text(w.reference),
            encode_text(&contact.id)
        ));
        out.push_str(&format!(
            "<h3>{}</h3>\n<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
            encode_text(w.choices),
            encode_text(w.when),
            encode_text(w.choice),
            encode_text(w.decision),
            encode_text(w.how),
        ));
        for event in &contact.consent_history {
            out.push_str(&format!(
                "<tr>{}{}{}{}</tr>",
                cell(Some(&human_time(&event.at, l))),
                cell(Some(&plain(&ExportedConsent::plain(&event.purpose), l))),
                cell(Some(&plain(&ExportedConsent::plain(&event.action), l))),
                cell(Some(&plain(&ExportedConsent::plain(&event.source), l))),
            ));
        }
        out.push_str(&format!(
            "</tbody></table>\n<h3>{}</h3>\n<table class=\"messages\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
            encode_text(w.messages),
            encode_text(w.sent),
            encode_text(w.from),
            encode_text(w.kind),
            encode_text(w.text),
            encode_text(w.status),
        ));
        out
    }

    /// A page of messages, newest first; messages of the same second in the order opposite
    /// to how they were stored (the newest stored first), not the store's key order.
    pub fn messages(&self, messages: &[ExportedMessage]) -> String {
        // As instants: RFC 3339 text leaves out zero milliseconds, so it does not sort.
        let instant = |text: &str| Timestamp::parse_rfc3339(text).ok();
        let mut ordered: Vec<&ExportedMessage> = messages.iter().collect();
        ordered.sort_by_cached_key(|m| {
            std::cmp::Reverse((instant(&m.sent_at), instant(&m.stored_at)))
        });
        ordered.into_iter().map(|m| self.message(m)).collect()
    }

    fn message(&self, message: &ExportedMessage) -> String {
        let w = self.words();
        let from = match message.sender.as_str() {
            Some("customer") => w.you,
            Some("agent") => w.a_person,
            _ => w.automated_sender,
        };
        let text = match (&message.text, &message.content) {
            (Some(text), _) => text.clone(),
            (None, Some(_)) => w.no_text.to_owned(),
            (None, None) => w.removed.to_owned(),
        };
        let kind = message.kind.as_str().map(|k| plain(k, self.language));
        let status = message.status.as_str().map(|s| plain(s, self.language));
        format!(
            "<tr class=\"message\">{}{}{}<td dir=\"auto\">{}</td>{}</tr>\n",
            cell(Some(&human_time(&message.sent_at, self.language))),
            cell(Some(from)),
            cell(kind.as_deref()),
            encode_text(&text),
            cell(status.as_deref()),
        )
    }

    pub fn end_contact(&self) -> &'static str {
        "</tbody></table></section>\n"
    }

    pub fn end(&self) -> &'static str {
        "</body></html>\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_people_read_them_with_their_time_zone() {
        let at = "2026-12-05T16:34:09.120Z";
        assert_eq!(
            human_time(at, Language::English),
            "5 December 2026, 16:34 UTC"
        );
        assert_eq!(
            human_time(at, Language::French),
            "5 décembre 2026 à 16:34 UTC"
        );
        assert_eq!(human_time(at, Language::Arabic), "5 ديسمبر 2026، 16:34 UTC");
        assert_eq!(human_time("not a time", Language::English), "not a time");
    }

    #[test]
    fn codes_read_as_words_and_unknown_ones_as_they_are() {
        assert_eq!(plain("opt_out", Language::French), "non");
        assert_eq!(plain("marketing", Language::Arabic), "الرسائل الترويجية");
        assert_eq!(
            plain("interactive_reply", Language::English),
            "interactive reply"
        );
    }
}
