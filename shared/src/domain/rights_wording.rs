//! What Mizan answers, in the chat, to a person exercising their rights, in English, French and
//! Arabic. The privacy answer is built from the retention policy the purge enforces, so what it
//! tells people is what the code does.

use crate::domain::keywords::Language;
use crate::domain::retention::RetentionPolicy;
use crate::domain::rights_keywords::confirmation_word;
use std::time::Duration;

/// What the privacy answer says about one business.
pub struct PrivacyFacts<'a> {
    pub business: &'a str,
    pub policy: &'a RetentionPolicy,
    /// The business's privacy notice (a tenant setting).
    pub notice_url: Option<&'a str>,
}

/// One answer to a rights request.
pub enum RightsAnswer<'a> {
    Privacy(PrivacyFacts<'a>),
    /// Their export is being built; the link follows in this chat.
    ExportBeingPrepared,
    /// The link to their archive: one download, within `valid_hours`.
    ExportLink {
        url: &'a str,
        valid_hours: u64,
    },
    /// They asked within a day of the last export, whose link is used or gone.
    ExportAlreadySent,
    /// The export could not be built: the business handles the request.
    ExportFailed,
    DeleteQuestion {
        code: &'a str,
    },
    /// The last message before their data is erased.
    Erasing,
    WrongCode,
    CodeExpired,
    /// Too many wrong codes: nothing was deleted; they may ask again.
    TooManyWrongCodes,
    NoDeletionWaiting,
    /// A legal hold: recorded, the business handles it.
    Held,
    /// The business handles rights requests itself.
    ForwardedToBusiness {
        business: &'a str,
    },
}

/// The text of `answer` in `language`.
pub fn rights_text(answer: &RightsAnswer<'_>, language: Language) -> String {
    use Language::*;
    use RightsAnswer::*;
    let word = confirmation_word(language);
    match (answer, language) {
        (Privacy(facts), _) => privacy_text(facts, language),
        (ExportBeingPrepared, English) => "We are preparing a copy of your data. We will send the download link here in a few minutes.".into(),
        (ExportBeingPrepared, French) => "Nous préparons une copie de vos données. Nous vous enverrons le lien de téléchargement ici dans quelques minutes.".into(),
        (ExportBeingPrepared, Arabic) => "نقوم بإعداد نسخة من بياناتك. سنرسل لك رابط التنزيل هنا خلال دقائق.".into(),
        (ExportLink { url, valid_hours }, English) => format!("Your data is ready: {url}\nThe link works once and for {valid_hours} hours. Do not share it."),
        (ExportLink { url, valid_hours }, French) => format!("Vos données sont prêtes : {url}\nLe lien fonctionne une seule fois, pendant {valid_hours} heures. Ne le partagez pas."),
        (ExportLink { url, valid_hours }, Arabic) => format!("بياناتك جاهزة: {url}\nيعمل الرابط مرة واحدة فقط ولمدة {valid_hours} ساعة. لا تشاركه مع أحد."),
        (ExportAlreadySent, English) => "We already sent you a copy of your data today. You can ask for a new one 24 hours after the last request.".into(),
        (ExportAlreadySent, French) => "Nous vous avons déjà envoyé une copie de vos données aujourd'hui. Vous pourrez en demander une nouvelle 24 heures après la dernière demande.".into(),
        (ExportAlreadySent, Arabic) => "أرسلنا لك نسخة من بياناتك اليوم. يمكنك طلب نسخة جديدة بعد 24 ساعة من آخر طلب.".into(),
        (ExportFailed, English) => "We could not prepare your data automatically. Your request is recorded and the business will send it to you.".into(),
        (ExportFailed, French) => "Nous n'avons pas pu préparer vos données automatiquement. Votre demande est enregistrée et l'entreprise vous les enverra.".into(),
        (ExportFailed, Arabic) => "تعذر علينا إعداد بياناتك تلقائياً. تم تسجيل طلبك وستقوم الشركة بإرسالها إليك.".into(),
        (DeleteQuestion { code }, English) => format!("To delete all your data held by this business (messages, profile, choices), reply {word} {code} within 10 minutes. This cannot be undone."),
        (DeleteQuestion { code }, French) => format!("Pour supprimer toutes vos données détenues par cette entreprise (messages, profil, choix), répondez {word} {code} dans les 10 minutes. Cette action est définitive."),
        (DeleteQuestion { code }, Arabic) => format!("لحذف جميع بياناتك لدى هذه الشركة (الرسائل والملف الشخصي والاختيارات)، أرسل «{word} {code}» خلال 10 دقائق. لا يمكن التراجع عن ذلك."),
        (Erasing, English) => "Confirmed: your data is being deleted now. This is our last message. If you write to us again, we will start afresh.".into(),
        (Erasing, French) => "C'est confirmé : vos données sont en cours de suppression. Ceci est notre dernier message. Si vous nous écrivez à nouveau, nous repartirons de zéro.".into(),
        (Erasing, Arabic) => "تم التأكيد: يجري الآن حذف بياناتك. هذه آخر رسالة منا. إذا راسلتنا مجدداً فسنبدأ من جديد.".into(),
        (WrongCode, English) => "That code does not match. Nothing was deleted. Please check the code and try again.".into(),
        (WrongCode, French) => "Ce code ne correspond pas. Rien n'a été supprimé. Vérifiez le code et réessayez.".into(),
        (WrongCode, Arabic) => "هذا الرمز غير صحيح. لم يُحذف أي شيء. يرجى التحقق من الرمز والمحاولة مرة أخرى.".into(),
        (CodeExpired, English) => "That code has expired. Nothing was deleted. Write DELETE MY DATA to get a new one.".into(),
        (CodeExpired, French) => "Ce code a expiré. Rien n'a été supprimé. Écrivez SUPPRIMER MES DONNÉES pour en recevoir un nouveau.".into(),
        (CodeExpired, Arabic) => "انتهت صلاحية هذا الرمز. لم يُحذف أي شيء. اكتب «احذف بياناتي» للحصول على رمز جديد.".into(),
        (TooManyWrongCodes, English) => "Too many wrong codes: nothing was deleted and the request is cancelled. Write DELETE MY DATA to start again.".into(),
        (TooManyWrongCodes, French) => "Trop de codes erronés : rien n'a été supprimé et la demande est annulée. Écrivez SUPPRIMER MES DONNÉES pour recommencer.".into(),
        (TooManyWrongCodes, Arabic) => "رموز خاطئة كثيرة: لم يُحذف أي شيء وأُلغي الطلب. اكتب «احذف بياناتي» للبدء من جديد.".into(),
        (NoDeletionWaiting, English) => "No deletion request is waiting for a code. Write DELETE MY DATA to ask for one.".into(),
        (NoDeletionWaiting, French) => "Aucune demande de suppression n'attend de code. Écrivez SUPPRIMER MES DONNÉES pour en faire une.".into(),
        (NoDeletionWaiting, Arabic) => "لا يوجد طلب حذف بانتظار رمز. اكتب «احذف بياناتي» لتقديم طلب.".into(),
        (Held, English) => "Your request is recorded. Some of your data must be kept for now for legal reasons; the business will handle your request and answer you.".into(),
        (Held, French) => "Votre demande est enregistrée. Certaines de vos données doivent être conservées pour le moment pour des raisons légales ; l'entreprise traitera votre demande et vous répondra.".into(),
        (Held, Arabic) => "تم تسجيل طلبك. يجب الاحتفاظ ببعض بياناتك حالياً لأسباب قانونية، وستتولى الشركة طلبك وترد عليك.".into(),
        (ForwardedToBusiness { business }, English) => format!("Your request is recorded and passed on to {business}, who will answer you within one month."),
        (ForwardedToBusiness { business }, French) => format!("Votre demande est enregistrée et transmise à {business}, qui vous répondra dans un délai d'un mois."),
        (ForwardedToBusiness { business }, Arabic) => format!("تم تسجيل طلبك وإحالته إلى {business}، وسيتم الرد عليك خلال شهر."),
    }
}

fn privacy_text(facts: &PrivacyFacts<'_>, language: Language) -> String {
    let p = facts.policy;
    let (chat, meta, idle, audit) = (
        day_count(p.chat_content),
        day_count(p.message_metadata),
        day_count(p.contact_idle),
        day_count(p.audit),
    );
    let business = facts.business;
    let mut text = match language {
        Language::English => format!(
            "What {business} keeps about you:\n\
             • your messages: {chat} days\n\
             • when messages were sent and delivered (no text): {meta} days\n\
             • your number, name and choices (like STOP): until {idle} days after your last message\n\
             • a record of what was done with your data: {audit} days\n\
             Your rights: write MY DATA for a copy of your data, DELETE MY DATA to erase it, \
             STOP to stop automated messages. To correct or restrict your data, write to us here."
        ),
        Language::French => format!(
            "Ce que {business} conserve à votre sujet :\n\
             • vos messages : {chat} jours\n\
             • les dates d'envoi et de réception des messages (sans leur texte) : {meta} jours\n\
             • votre numéro, votre nom et vos choix (comme ARRÊT) : jusqu'à {idle} jours après votre dernier message\n\
             • la trace de ce qui a été fait de vos données : {audit} jours\n\
             Vos droits : écrivez MES DONNÉES pour en obtenir une copie, SUPPRIMER MES DONNÉES pour \
             les effacer, ARRÊT pour ne plus recevoir de messages automatiques. Pour les corriger ou \
             en limiter l'usage, écrivez-nous ici."
        ),
        Language::Arabic => format!(
            "ما تحتفظ به {business} عنك:\n\
             • رسائلك: {chat} يوماً\n\
             • تواريخ إرسال الرسائل واستلامها (دون نصها): {meta} يوماً\n\
             • رقمك واسمك واختياراتك (مثل «إيقاف»): حتى {idle} يوماً بعد آخر رسالة منك\n\
             • سجل ما تم بشأن بياناتك: {audit} يوماً\n\
             حقوقك: اكتب «بياناتي» للحصول على نسخة منها، و«احذف بياناتي» لحذفها، و«إيقاف» \
             لإيقاف الرسائل الآلية. لتصحيح بياناتك أو تقييد استخدامها، راسلنا هنا."
        ),
    };
    if let Some(url) = facts.notice_url {
        let label = match language {
            Language::English => "Privacy notice",
            Language::French => "Politique de confidentialité",
            Language::Arabic => "سياسة الخصوصية",
        };
        text.push_str(&format!("\n{label}: {url}"));
    }
    text
}

fn day_count(period: Duration) -> u64 {
    period.as_secs() / 86_400
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rights_keywords::{classify, RightsKeyword};

    const LANGUAGES: [Language; 3] = [Language::English, Language::French, Language::Arabic];

    #[test]
    fn the_privacy_answer_states_the_policy_in_force_and_the_notice() {
        let policy = RetentionPolicy::with_chat_days(45);
        for language in LANGUAGES {
            let text = rights_text(
                &RightsAnswer::Privacy(PrivacyFacts {
                    business: "Atlas Tea",
                    policy: &policy,
                    notice_url: Some("https://atlas.example/privacy"),
                }),
                language,
            );
            assert!(text.contains("Atlas Tea") && text.contains("45"), "{text}");
            assert!(text.contains("90") && text.contains("730"), "{text}");
            assert!(text.ends_with("https://atlas.example/privacy"), "{text}");
        }
        let without = rights_text(
            &RightsAnswer::Privacy(PrivacyFacts {
                business: "Atlas Tea",
                policy: &policy,
                notice_url: None,
            }),
            Language::English,
        );
        assert!(!without.contains("http"));
    }

    #[test]
    fn the_keywords_an_answer_names_are_ones_that_work() {
        let names_working = |text: &str, wanted: fn(&RightsKeyword) -> bool| {
            let pieces = text.split(['\n', ':', ',', '.', '«', '»', '،']);
            pieces.into_iter().any(|piece| {
                let words: Vec<&str> = piece.split_whitespace().collect();
                (1..=4).any(|n| {
                    words
                        .windows(n)
                        .any(|w| classify(&w.join(" ")).is_some_and(|m| wanted(&m.keyword)))
                })
            })
        };
        for language in LANGUAGES {
            let question = rights_text(&RightsAnswer::DeleteQuestion { code: "4821" }, language);
            assert!(
                names_working(
                    &question,
                    |k| matches!(k, RightsKeyword::ConfirmDeletion { code } if code == "4821")
                ),
                "{question}"
            );
            let expired = rights_text(&RightsAnswer::CodeExpired, language);
            assert!(
                names_working(&expired, |k| *k == RightsKeyword::DeleteMyData),
                "{expired}"
            );
            let policy = RetentionPolicy::default();
            let privacy = rights_text(
                &RightsAnswer::Privacy(PrivacyFacts {
                    business: "B",
                    policy: &policy,
                    notice_url: None,
                }),
                language,
            );
            assert!(
                names_working(&privacy, |k| *k == RightsKeyword::MyData),
                "{privacy}"
            );
            assert!(
                names_working(&privacy, |k| *k == RightsKeyword::DeleteMyData),
                "{privacy}"
            );
        }
    }
}
