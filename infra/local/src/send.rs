//! `mizan-local send`: a WhatsApp text message from a made-up customer, signed with the demo
//! app secret exactly as Meta signs deliveries, posted to the running local system.

use crate::demo;
use crate::error::CliError;
use mizan_shared::domain::ids::{random_id, PhoneNumberId};
use mizan_shared::domain::signature::sign;
use mizan_shared::domain::time::Timestamp;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

pub struct SendArgs {
    pub text: String,
    pub from: String,
    pub name: String,
    /// The business number it goes to; `None`: the demo tenant's.
    pub phone_number_id: Option<String>,
    /// When it was sent (RFC 3339); `None`: now.
    pub at: Option<String>,
}

pub fn run(data_dir: &Path, args: &SendArgs) -> Result<(), CliError> {
    let file = demo::path(data_dir);
    let credentials = demo::read(&file)?.ok_or_else(|| {
        CliError::NotFound(format!(
            "{} not found: start the runner once (mizan-local serve) to seed the demo tenant",
            file.display()
        ))
    })?;
    let sent_at = match &args.at {
        None => Timestamp::now(),
        Some(text) => Timestamp::parse_rfc3339(text).map_err(|_| {
            CliError::Usage(format!(
                "--at {text:?} is not an RFC 3339 time (2026-12-01T09:30:00Z)"
            ))
        })?,
    };
    let phone_number_id = match &args.phone_number_id {
        None => credentials.phone_number_id.as_str().to_owned(),
        Some(id) => PhoneNumberId::parse(id)
            .map_err(|e| CliError::Usage(format!("--phone-number-id: {e}")))?
            .as_str()
            .to_owned(),
    };
    let wamid = random_id("wamid.local");
    let body = serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "0", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100000",
                         "phone_number_id": phone_number_id},
            "contacts": [{"profile": {"name": args.name}, "wa_id": args.from}],
            "messages": [{"from": args.from, "id": wamid,
                          "timestamp": sent_at.as_unix_seconds().to_string(),
                          "type": "text", "text": {"body": args.text}}]
        }}]}]
    });
    let body = serde_json::to_vec(&body)
        .map_err(|e| CliError::Failed(format!("cannot build the delivery: {e}")))?;
    // Signed as the runner checks it: with MIZAN_WHATSAPP_APP_SECRETS's current secret when it
    // is set, else the demo's.
    let webhook = crate::config::webhook(&credentials)?;
    let signature = sign(&body, webhook.app_secrets.current());
    let (status, answer) = request(
        &credentials.base_url,
        "POST",
        "/webhooks/whatsapp",
        &body,
        Some(&signature),
    )?;
    println!(
        "POST {}/webhooks/whatsapp -> {status} {answer}",
        credentials.base_url
    );
    if status != 200 {
        return Err(CliError::Failed(format!("the webhook answered {status}")));
    }
    match wait_for_reply(&credentials.base_url, &wamid)? {
        Some(reply) => println!("reply <- {reply}"),
        None => println!(
            "no reply within {}s (automation off, an opted-out contact, or ai-reply sending \
             through the Graph API): see GET {}/local/outbox and the runner's logs",
            REPLY_WAIT.as_secs(),
            credentials.base_url
        ),
    }
    Ok(())
}

/// How long `send` waits for ai-reply's answer to show up in the runner's outbox.
const REPLY_WAIT: Duration = Duration::from_secs(10);

/// The text of the outbox entry that quotes `wamid`, once ai-reply has answered it.
fn wait_for_reply(base_url: &str, wamid: &str) -> Result<Option<String>, CliError> {
    let deadline = std::time::Instant::now() + REPLY_WAIT;
    while std::time::Instant::now() < deadline {
        let (status, body) = request(base_url, "GET", "/local/outbox", b"", None)?;
        if status == 200 {
            let entries: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap_or_default();
            let reply = entries.iter().find(|e| {
                e["body"]["type"] == "text" && e["body"]["context"]["message_id"] == wamid
            });
            if let Some(text) = reply.and_then(|e| e["body"]["text"]["body"].as_str()) {
                return Ok(Some(text.to_owned()));
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(None)
}

/// A minimal HTTP/1.1 request to the local runner (loopback only, no TLS).
fn request(
    base_url: &str,
    method: &str,
    path: &str,
    body: &[u8],
    signature: Option<&str>,
) -> Result<(u16, String), CliError> {
    let address = base_url
        .strip_prefix("http://")
        .ok_or_else(|| CliError::Failed(format!("base_url {base_url} is not http://host:port")))?;
    let unreachable = |e: std::io::Error| {
        CliError::Failed(format!(
            "cannot reach the runner at {base_url} ({e}); is `mizan-local serve` running?"
        ))
    };
    let mut stream = TcpStream::connect(address).map_err(unreachable)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(unreachable)?;
    let signature = signature
        .map(|s| format!("X-Hub-Signature-256: {s}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         {signature}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).map_err(unreachable)?;
    stream.write_all(body).map_err(unreachable)?;
    let mut response = String::new();
    stream.read_to_string(&mut response).map_err(unreachable)?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| CliError::Failed("the runner's answer is not HTTP".into()))?;
    let answer = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.trim().to_owned())
        .unwrap_or_default();
    Ok((status, answer))
}
