//! `index.html`: the archive as a page a person can open and read, written in pieces as the
//! data streams past. Every value is escaped.

use super::records::{ExportHeader, ExportedConsent, ExportedContact, ExportedMessage};
use html_escape::encode_text;

pub fn start(header: &ExportHeader, business: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Your data held by {business}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}\
         table{{border-collapse:collapse;width:100%;margin:1rem 0}}td,th{{border:1px solid #ccc;padding:.3rem;text-align:left;vertical-align:top}}\
         th{{background:#f4f4f4}}</style></head><body>\n\
         <h1>Your data held by {business}</h1>\n\
         <p>Export {id}, requested {requested}. The same data is in <code>data.json</code> \
         (machine-readable), <code>messages.csv</code> and <code>consent.csv</code> (for spreadsheets); \
         <code>README.txt</code> describes each file.</p>\n",
        business = encode_text(business),
        id = encode_text(&header.id),
        requested = encode_text(&header.requested_at),
    )
}

fn cell(value: Option<&str>) -> String {
    format!("<td>{}</td>", encode_text(value.unwrap_or("—")))
}

pub fn contact(contact: &ExportedContact) -> String {
    let mut out = format!(
        "<h2>Contact {}</h2>\n<table><tbody>",
        encode_text(&contact.id)
    );
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    for (label, value) in [
        ("Name", contact.name.as_deref()),
        ("WhatsApp number", contact.wa_id.as_deref()),
        ("WhatsApp user id", contact.user_id.as_deref()),
        ("Username", contact.username.as_deref()),
        ("First seen", Some(contact.created_at.as_str())),
        ("Last seen", Some(contact.last_seen_at.as_str())),
        ("Processing restricted", Some(yes_no(contact.restricted))),
        (
            "Conversation taken over by a person",
            Some(yes_no(contact.taken_over)),
        ),
    ] {
        out.push_str(&format!(
            "<tr><th>{}</th>{}</tr>",
            encode_text(label),
            cell(value)
        ));
    }
    let consent = serde_json::to_value(contact.consent).unwrap_or_default();
    for (label, key) in [
        ("Marketing messages", "marketing"),
        ("Automated replies", "automated_replies"),
    ] {
        let value = consent[key].as_str().unwrap_or("unset").to_owned();
        out.push_str(&format!(
            "<tr><th>{}</th>{}</tr>",
            encode_text(label),
            cell(Some(&value))
        ));
    }
    out.push_str("</tbody></table>\n<h3>Consent history</h3>\n<table><thead><tr><th>When</th><th>Purpose</th><th>Decision</th><th>How</th></tr></thead><tbody>");
    for event in &contact.consent_history {
        out.push_str(&format!(
            "<tr>{}{}{}{}</tr>",
            cell(Some(&event.at)),
            cell(Some(&ExportedConsent::plain(&event.purpose))),
            cell(Some(&ExportedConsent::plain(&event.action))),
            cell(Some(&ExportedConsent::plain(&event.source))),
        ));
    }
    out.push_str("</tbody></table>\n<h3>Messages (newest first)</h3>\n<table><thead><tr><th>Sent</th><th>From</th><th>Type</th><th>Text</th><th>Status</th></tr></thead><tbody>");
    out
}

pub fn message(message: &ExportedMessage) -> String {
    let from = match message.sender.as_str() {
        Some("customer") => "you",
        Some("agent") => "a person at the business",
        _ => "the business (automated)",
    };
    let text = match (&message.text, &message.content) {
        (Some(text), _) => text.clone(),
        (None, Some(_)) => "(no text: see data.json)".to_owned(),
        (None, None) => "(removed after the retention period)".to_owned(),
    };
    format!(
        "<tr>{}{}{}{}{}</tr>\n",
        cell(Some(&message.sent_at)),
        cell(Some(from)),
        cell(message.kind.as_str()),
        cell(Some(&text)),
        cell(message.status.as_str()),
    )
}

pub fn end_contact() -> &'static str {
    "</tbody></table>\n"
}

pub fn end() -> &'static str {
    "</body></html>\n"
}
