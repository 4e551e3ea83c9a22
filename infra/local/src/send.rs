//! `mizan-local send`: a WhatsApp text message from a made-up customer, signed with the demo
//! app secret exactly as Meta signs deliveries, posted to the running local system.

use crate::demo;
use crate::error::CliError;
use mizan_shared::domain::ids::random_id;
use mizan_shared::domain::signature::{sign, AppSecret};
use mizan_shared::domain::time::Timestamp;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

pub struct SendArgs {
    pub text: String,
    pub from: String,
    pub name: String,
}

pub fn run(data_dir: &Path, args: &SendArgs) -> Result<(), CliError> {
    let file = demo::path(data_dir);
    let credentials = demo::read(&file)?.ok_or_else(|| {
        CliError::NotFound(format!(
            "{} not found: start the runner once (mizan-local serve) to seed the demo tenant",
            file.display()
        ))
    })?;
    let now = Timestamp::now();
    let body = serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "0", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100000",
                         "phone_number_id": credentials.phone_number_id.as_str()},
            "contacts": [{"profile": {"name": args.name}, "wa_id": args.from}],
            "messages": [{"from": args.from, "id": random_id("wamid.local"),
                          "timestamp": now.as_unix_seconds().to_string(),
                          "type": "text", "text": {"body": args.text}}]
        }}]}]
    });
    let body = serde_json::to_vec(&body)
        .map_err(|e| CliError::Failed(format!("cannot build the delivery: {e}")))?;
    let signature = sign(&body, &AppSecret::new(credentials.app_secret.as_bytes()));
    let (status, answer) = post(
        &credentials.base_url,
        "/webhooks/whatsapp",
        &body,
        &signature,
    )?;
    println!(
        "POST {}/webhooks/whatsapp -> {status} {answer}",
        credentials.base_url
    );
    if status == 200 {
        Ok(())
    } else {
        Err(CliError::Failed(format!("the webhook answered {status}")))
    }
}

/// A minimal HTTP/1.1 POST to the local runner (loopback only, no TLS).
fn post(
    base_url: &str,
    path: &str,
    body: &[u8],
    signature: &str,
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
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         X-Hub-Signature-256: {signature}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
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
