//! What a template's components ask a send to fill: the placeholders of its header, body and
//! buttons (`{{1}}` or `{{first_name}}`), and a media header's kind. Read from the components
//! as Meta's API gives them, so checking parameters here answers what Meta would answer with
//! 132000 (parameter count mismatch), before anything is sent.

use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaKind {
    Image,
    Video,
    Document,
}

impl MediaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Video => "video",
            MediaKind::Document => "document",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum HeaderSlot {
    /// No header, or one with nothing to fill (plain text, a location).
    #[default]
    Nothing,
    /// A text header with placeholders.
    Text {
        placeholders: Vec<String>,
        text: String,
    },
    /// An image, video or document header: each send names the file (a link).
    Media(MediaKind),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ButtonSlot {
    /// A URL button whose URL ends in a placeholder: each send gives the suffix.
    Url,
    /// A quick reply: its payload may be given (it comes back when the customer taps it).
    QuickReply { text: String },
    /// A copy-code button: each send gives the coupon code.
    Coupon,
    /// A one-time-password button (authentication): each send gives the code.
    OneTimePassword,
}

/// The placeholders of a template, in the order Meta numbers them.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Slots {
    pub header: HeaderSlot,
    /// The body's placeholders, each once, in order of first appearance.
    pub body: Vec<String>,
    /// The body's text with its placeholders, to show what was sent.
    pub body_text: String,
    /// The footer's text, if any.
    pub footer: Option<String>,
    /// Buttons by their index.
    pub buttons: Vec<(usize, ButtonSlot)>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("components: {0}")]
pub struct SlotsError(pub String);

/// The placeholders in `text`: `{{1}}`, `{{first_name}}`, each once, in order.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let name = after[..end].trim();
        if !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !found.iter().any(|f| f == name)
        {
            found.push(name.to_owned());
        }
        rest = &after[end + 2..];
    }
    found
}

fn text_of(component: &Value) -> String {
    component["text"].as_str().unwrap_or_default().to_owned()
}

/// Reads the slots of components as Meta gives them (`type` in capitals or not).
pub fn slots_of(components: &[Value]) -> Result<Slots, SlotsError> {
    let mut slots = Slots::default();
    let mut has_body = false;
    for component in components {
        let kind = component["type"]
            .as_str()
            .ok_or_else(|| SlotsError("each component needs a `type`".into()))?
            .to_ascii_uppercase();
        match kind.as_str() {
            "HEADER" => {
                let format = component["format"]
                    .as_str()
                    .unwrap_or("TEXT")
                    .to_ascii_uppercase();
                slots.header = match format.as_str() {
                    "TEXT" => {
                        let text = text_of(component);
                        let placeholders = placeholders(&text);
                        if placeholders.is_empty() {
                            HeaderSlot::Nothing
                        } else {
                            HeaderSlot::Text { placeholders, text }
                        }
                    }
                    "IMAGE" => HeaderSlot::Media(MediaKind::Image),
                    "VIDEO" => HeaderSlot::Media(MediaKind::Video),
                    "DOCUMENT" => HeaderSlot::Media(MediaKind::Document),
                    "LOCATION" => HeaderSlot::Nothing,
                    other => return Err(SlotsError(format!("unknown header format {other}"))),
                };
            }
            "BODY" => {
                has_body = true;
                slots.body_text = text_of(component);
                slots.body = placeholders(&slots.body_text);
            }
            "FOOTER" => slots.footer = Some(text_of(component)),
            "BUTTONS" => {
                let buttons = component["buttons"]
                    .as_array()
                    .ok_or_else(|| SlotsError("BUTTONS needs a `buttons` list".into()))?;
                for (index, button) in buttons.iter().enumerate() {
                    let kind = button["type"]
                        .as_str()
                        .unwrap_or_default()
                        .to_ascii_uppercase();
                    let slot = match kind.as_str() {
                        "URL"
                            if !placeholders(button["url"].as_str().unwrap_or_default())
                                .is_empty() =>
                        {
                            Some(ButtonSlot::Url)
                        }
                        "QUICK_REPLY" => Some(ButtonSlot::QuickReply {
                            text: button["text"].as_str().unwrap_or_default().to_owned(),
                        }),
                        "COPY_CODE" => Some(ButtonSlot::Coupon),
                        "OTP" => Some(ButtonSlot::OneTimePassword),
                        _ => None,
                    };
                    if let Some(slot) = slot {
                        slots.buttons.push((index, slot));
                    }
                }
            }
            // Carousels, limited-time offers and call permission requests are not sent by Mizan
            // yet: refusing them here is clearer than a 132000 from Meta.
            other => return Err(SlotsError(format!("{other} components are not supported"))),
        }
    }
    if !has_body {
        return Err(SlotsError("a template needs a BODY".into()));
    }
    Ok(slots)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn placeholders_are_found_once_in_order() {
        assert_eq!(placeholders("Hi {{1}}, order {{2}} ({{1}})"), ["1", "2"]);
        assert_eq!(placeholders("Hi {{ first_name }}!"), ["first_name"]);
        assert!(placeholders("no {{}} and {{not valid}} and {{open").is_empty());
    }

    #[test]
    fn slots_of_a_template_with_every_kind_of_component() {
        let components = [
            json!({"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW"]}}),
            json!({"type": "BODY", "text": "Thank you for your order, {{1}}! Your order number is {{2}}."}),
            json!({"type": "FOOTER", "text": "Reply STOP to opt out"}),
            json!({"type": "BUTTONS", "buttons": [
                {"type": "PHONE_NUMBER", "text": "Call", "phone_number": "+15550783881"},
                {"type": "URL", "text": "Track", "url": "https://shop.example/track/{{1}}"},
                {"type": "URL", "text": "Shop", "url": "https://shop.example"},
                {"type": "QUICK_REPLY", "text": "Stop promotions"},
                {"type": "COPY_CODE", "example": "SAVE10"}
            ]}),
        ];
        let slots = slots_of(&components).unwrap();
        assert_eq!(slots.header, HeaderSlot::Media(MediaKind::Image));
        assert_eq!(slots.body, ["1", "2"]);
        assert_eq!(slots.footer.as_deref(), Some("Reply STOP to opt out"));
        assert_eq!(
            slots.buttons,
            [
                (1, ButtonSlot::Url),
                (
                    3,
                    ButtonSlot::QuickReply {
                        text: "Stop promotions".into()
                    }
                ),
                (4, ButtonSlot::Coupon),
            ]
        );
    }

    #[test]
    fn a_template_without_a_body_or_with_unknown_parts_is_refused() {
        assert!(slots_of(&[json!({"type": "FOOTER", "text": "x"})]).is_err());
        assert!(slots_of(&[
            json!({"type": "BODY", "text": "x"}),
            json!({"type": "CAROUSEL"})
        ])
        .is_err());
        assert!(slots_of(&[json!({"text": "x"})]).is_err());
    }
}
