//! Whether a marketing template tells people how to stop: a footer naming an opt-out keyword
//! ("Reply STOP to opt out", « Répondez ARRÊT »), or a quick-reply button whose text is one
//! (a tap sends it back, and intake records the opt-out).

use crate::domain::keywords::{classify, Keyword};
use crate::domain::template::{slots_of, ButtonSlot, Template};

/// Whether `template`'s footer or quick replies carry an opt-out keyword.
pub fn carries_opt_out(template: &Template) -> bool {
    let Some(slots) = template
        .components
        .as_deref()
        .and_then(|c| slots_of(c).ok())
    else {
        return false;
    };
    let button = slots
        .buttons
        .iter()
        .any(|(_, slot)| matches!(slot, ButtonSlot::QuickReply { text } if is_opt_out(text)));
    button || slots.footer.as_deref().is_some_and(names_opt_out)
}

fn is_opt_out(text: &str) -> bool {
    classify(text).is_some_and(|m| m.keyword == Keyword::OptOut)
}

/// Any run of one to three words of the footer that is an opt-out keyword.
fn names_opt_out(footer: &str) -> bool {
    let words: Vec<&str> = footer
        .split(|c: char| c.is_whitespace() || matches!(c, '"' | '«' | '»' | '“' | '”' | ':' | ','))
        .filter(|w| !w.is_empty())
        .collect();
    (1..=3).any(|n| words.windows(n).any(|run| is_opt_out(&run.join(" "))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::TenantId;
    use crate::domain::template::{
        AppliedAt, LanguageCode, ParameterFormat, TemplateCategory, TemplateName,
    };
    use crate::domain::time::Timestamp;
    use serde_json::json;

    fn template(components: Vec<serde_json::Value>) -> Template {
        Template {
            tenant: TenantId::new("t"),
            name: TemplateName::parse("spring").unwrap(),
            language: LanguageCode::parse("en").unwrap(),
            meta_id: None,
            category: TemplateCategory::Marketing,
            status: "APPROVED".into(),
            quality: "GREEN".into(),
            reason: None,
            parameter_format: ParameterFormat::Positional,
            components: Some(components),
            updated_at: Timestamp::from_millis(0),
            applied: AppliedAt::default(),
        }
    }

    #[test]
    fn a_footer_or_a_quick_reply_naming_an_opt_out_keyword_counts() {
        let body = json!({"type": "BODY", "text": "Spring sale: 20% off"});
        for footer in [
            "Reply STOP to opt out",
            "Répondez « ARRÊT » pour ne plus recevoir",
            "أرسل إيقاف",
        ] {
            let t = template(vec![
                body.clone(),
                json!({"type": "FOOTER", "text": footer}),
            ]);
            assert!(carries_opt_out(&t), "{footer}");
        }
        let button = template(vec![
            body.clone(),
            json!({"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Stop"}]}),
        ]);
        assert!(carries_opt_out(&button));
        for none in [
            template(vec![body.clone()]),
            template(vec![
                body.clone(),
                json!({"type": "FOOTER", "text": "Atlas Tea, Fès"}),
            ]),
            template(vec![
                body,
                json!({"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Shop now"}]}),
            ]),
        ] {
            assert!(!carries_opt_out(&none));
        }
    }
}
