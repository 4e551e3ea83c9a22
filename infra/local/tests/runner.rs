//! The runner as a user meets it: the binary, a fresh data directory, a free port.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_mizan-local");
const DEMO_FIELDS: [&str; 6] = [
    "tenant_id",
    "phone_number_id",
    "api_key",
    "app_secret",
    "verify_token",
    "base_url",
];

/// A `mizan-local` command with no configuration inherited from the caller's environment.
fn command() -> Command {
    let mut command = Command::new(BIN);
    for var in [
        "MIZAN_BACKEND",
        "MIZAN_DATA_DIR",
        "MIZAN_HASH_KEY",
        "MIZAN_AI_BASE_URL",
        "MIZAN_WHATSAPP_ACCESS_TOKEN",
        "MIZAN_EXPORT_TOKEN_SECRET",
        "MIZAN_EXPORT_DOWNLOAD_LIMIT",
    ] {
        command.env_remove(var);
    }
    command
}

/// A running server; killed if a test fails before stopping it.
struct Server {
    child: Child,
    base_url: String,
    stdout: Vec<String>,
    /// Every line it wrote to stdout and stderr so far, kept while it runs.
    written: Arc<Mutex<Written>>,
}

#[derive(Default)]
struct Written {
    stdout: Vec<String>,
    stderr: Vec<String>,
}

impl Server {
    fn start(data_dir: &Path) -> Server {
        Server::start_with(data_dir, &[])
    }

    fn start_with(data_dir: &Path, env: &[(&str, &str)]) -> Server {
        let mut child = command()
            .envs(env.iter().copied())
            .args(["serve", "--port", "0", "--data-dir"])
            .arg(data_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("mizan-local starts");
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let written = Arc::new(Mutex::new(Written::default()));
        let (lines, received) = mpsc::channel();
        // Both keep reading to the end, so the server never blocks on a full pipe.
        let kept = written.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                kept.lock().unwrap().stdout.push(line.clone());
                let _ = lines.send(line);
            }
        });
        let kept = written.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                eprintln!("{line}");
                kept.lock().unwrap().stderr.push(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match received.recv_timeout(left) {
                Ok(line) => line,
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("no `listening on` line; stdout so far: {seen:#?}");
                }
            };
            if let Some(url) = line.trim().strip_prefix("listening on ") {
                let base_url = url.trim().to_owned();
                seen.push(line);
                return Server {
                    child,
                    base_url,
                    stdout: seen,
                    written,
                };
            }
            seen.push(line);
        }
    }

    /// Everything written to stdout and to stderr so far, each as one text.
    fn written(&self) -> (String, String) {
        let written = self.written.lock().unwrap();
        (written.stdout.join("\n"), written.stderr.join("\n"))
    }

    fn port(&self) -> u16 {
        self.base_url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("the address ends with a port")
    }

    /// Sends SIGTERM and waits for the exit status.
    fn terminate(mut self) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "mizan-local did not exit within 10 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A one-shot HTTP/1.1 GET: the status code and the body.
fn get(port: u16, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("the server accepts");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response
        .split_once("\r\n\r\n")
        .expect("a response with a head and a body");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    (status, body.to_owned())
}

fn demo_json(data_dir: &Path) -> Value {
    let text = std::fs::read_to_string(data_dir.join("demo.json")).expect("demo.json exists");
    serde_json::from_str(&text).expect("demo.json is JSON")
}

fn admin(data_dir: &Path, args: &[&str]) -> Output {
    command()
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .expect("mizan-local runs")
}

fn json_of(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "exit {:?}, stderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is one JSON document")
}

#[test]
fn first_start_seeds_the_demo_tenant_and_answers_health() {
    // Given an empty data directory
    let dir = tempfile::tempdir().unwrap();

    // When the runner starts on a free port
    let server = Server::start(dir.path());

    // Then demo.json holds exactly the six fields, owner-readable only
    let demo = demo_json(dir.path());
    let fields: Vec<&str> = demo
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = DEMO_FIELDS.to_vec();
    expected.sort_unstable();
    let mut actual = fields.clone();
    actual.sort_unstable();
    assert_eq!(actual, expected);
    assert!(demo["api_key"].as_str().unwrap().starts_with("mzn_"));
    assert_eq!(demo["phone_number_id"], "100000000000001");
    assert_eq!(demo["app_secret"].as_str().unwrap().len(), 64);
    assert_eq!(demo["verify_token"].as_str().unwrap().len(), 32);
    assert_eq!(demo["base_url"], server.base_url.as_str());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("demo.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // And health answers, and unknown routes get a JSON 404
    let (status, body) = get(server.port(), "/local/health");
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["backend"], "embedded");
    let feed = &body["change_feed"];
    assert_eq!(
        feed["pending"].as_i64().unwrap(),
        feed["latest"].as_i64().unwrap() - feed["position"].as_i64().unwrap()
    );
    let (status, body) = get(server.port(), "/no/such/route");
    assert_eq!(status, 404);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    assert!(body["error"]["message"].is_string());

    // And the banner names the health check that works now
    assert!(server.stdout.iter().any(|l| l.contains("listening on")));
    assert!(server.terminate().success());
}

#[test]
fn demo_secrets_reach_the_terminal_once_and_never_the_log_stream() {
    let dir = tempfile::tempdir().unwrap();
    let first = Server::start(dir.path());
    let demo = demo_json(dir.path());
    let secrets: Vec<String> = ["api_key", "app_secret", "verify_token"]
        .iter()
        .map(|field| demo[field].as_str().unwrap().to_owned())
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    // Two threads read the two pipes: wait until both have the whole of what was printed.
    let printed = |(stdout, stderr): &(String, String)| {
        stdout.contains("Stop with Ctrl-C") && stderr.contains(secrets[0].as_str())
    };
    while !printed(&first.written()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let (stdout, stderr) = first.written();
    for secret in &secrets {
        assert!(!stdout.contains(secret.as_str()), "stdout: {stdout}");
        assert!(
            stderr.contains(secret.as_str()),
            "first start shows it: {stderr}"
        );
    }
    assert!(stdout.contains("demo.json"), "{stdout}");
    assert!(first.terminate().success());

    let second = Server::start(dir.path());
    assert_eq!(get(second.port(), "/local/health").0, 200);
    // Whatever it prints at start-up is out by now.
    std::thread::sleep(Duration::from_millis(300));
    let (stdout, stderr) = second.written();
    for secret in &secrets {
        assert!(
            !stdout.contains(secret.as_str()) && !stderr.contains(secret.as_str()),
            "a restart shows no secret:\n{stdout}\n{stderr}"
        );
    }
    assert!(second.terminate().success());
}

#[test]
fn restart_reuses_the_demo_tenant_and_data_survives() {
    // Given a runner that seeded its demo tenant and stopped
    let dir = tempfile::tempdir().unwrap();
    let first = Server::start(dir.path());
    let seeded = demo_json(dir.path());
    assert!(first.terminate().success());

    // When it starts again on the same data directory
    let second = Server::start(dir.path());
    let reused = demo_json(dir.path());

    // Then the demo tenant and its credentials are the same, at the new address
    for field in ["tenant_id", "api_key", "app_secret", "verify_token"] {
        assert_eq!(reused[field], seeded[field], "{field} changed on restart");
    }
    assert_eq!(reused["base_url"], second.base_url.as_str());
    let (status, _) = get(second.port(), "/local/health");
    assert_eq!(status, 200);
    assert!(second.terminate().success());

    // And, with the server stopped, the store still holds the tenant and its number
    let tenant_id = seeded["tenant_id"].as_str().unwrap();
    let tenant = json_of(&admin(dir.path(), &["tenant", "show", tenant_id]));
    assert_eq!(tenant["id"], tenant_id);
    assert_eq!(tenant["name"], "Mizan Demo");
    assert_eq!(
        tenant["phone_numbers"],
        serde_json::json!(["100000000000001"])
    );
}

#[test]
fn an_admin_command_beside_a_running_runner_is_refused_and_changes_nothing() {
    // Given a running runner
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let tenant_id = demo_json(dir.path())["tenant_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // When an admin command writes to its data directory meanwhile
    let refused = admin(
        dir.path(),
        &["settings", "set", &tenant_id, "--chat-retention-days", "7"],
    );

    // Then it stops with a message naming the reason, and the tenant is unchanged
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("in use by another process"), "{stderr}");
    assert!(refused.stdout.is_empty());
    assert!(server.terminate().success());
    let tenant = json_of(&admin(dir.path(), &["tenant", "show", &tenant_id]));
    assert_eq!(tenant["settings"]["chat_retention_days"], 30);
}

#[test]
fn sigterm_stops_the_runner_with_exit_code_zero() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let started = Instant::now();
    let status = server.terminate();
    assert_eq!(status.code(), Some(0));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn admin_commands_manage_tenants_keys_and_settings() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    // tenant create
    let created = json_of(&admin(
        &data,
        &["tenant", "create", "--name", "Acme Trading"],
    ));
    let tenant_id = created["tenant_id"].as_str().unwrap().to_owned();
    assert!(tenant_id.starts_with("ten_"));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&data).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "a new data directory is owner-only");

    // phone attach
    let attached = json_of(&admin(
        &data,
        &["phone", "attach", &tenant_id, "123456789012345"],
    ));
    assert_eq!(
        attached["phone_numbers"],
        serde_json::json!(["123456789012345"])
    );

    // apikey issue: the token once, with its id
    let issued = json_of(&admin(
        &data,
        &["apikey", "issue", &tenant_id, "--label", "ci"],
    ));
    let key_id = issued["key_id"].as_str().unwrap().to_owned();
    let token = issued["api_key"].as_str().unwrap().to_owned();
    assert!(token.starts_with("mzn_"));
    assert!(token.contains(&key_id));

    // apikey list: never the token or its hash
    let listed = admin(&data, &["apikey", "list", &tenant_id]);
    let listing = json_of(&listed);
    let listing_text = String::from_utf8_lossy(&listed.stdout);
    assert!(!listing_text.contains(&token));
    assert!(!listing_text.contains("hash"));
    assert_eq!(listing[0]["key_id"], key_id.as_str());
    assert_eq!(listing[0]["label"], "ci");
    assert_eq!(listing[0]["revoked"], false);

    // apikey revoke
    let revoked = json_of(&admin(&data, &["apikey", "revoke", &tenant_id, &key_id]));
    assert!(revoked["revoked_at"].is_string());
    let listing = json_of(&admin(&data, &["apikey", "list", &tenant_id]));
    assert_eq!(listing[0]["revoked"], true);

    // apikey issue with scopes and an expiry; revoke given the whole key by mistake: it is
    // revoked all the same and never printed back
    let scoped = json_of(&admin(
        &data,
        &[
            "apikey",
            "issue",
            &tenant_id,
            "--label",
            "helpdesk",
            "--scopes",
            "read,messages",
            "--expires-at",
            "2099-01-01T00:00:00Z",
        ],
    ));
    assert_eq!(scoped["scopes"], serde_json::json!(["read", "messages"]));
    let whole = scoped["api_key"].as_str().unwrap().to_owned();
    let revoked = admin(&data, &["apikey", "revoke", &tenant_id, &whole]);
    assert!(revoked.status.success());
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&revoked.stdout),
        String::from_utf8_lossy(&revoked.stderr)
    );
    assert!(!printed.contains(&whole), "{printed}");
    assert_eq!(json_of(&revoked)["key_id"], scoped["key_id"]);
    let unknown = admin(
        &data,
        &[
            "apikey",
            "revoke",
            &tenant_id,
            "mzn_key_ffffffffffff_0123456789abcdef",
        ],
    );
    assert_eq!(unknown.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&unknown.stderr).contains("0123456789abcdef"));

    // a legal hold needs a reason, and one set here is the operator's
    let no_reason = admin(
        &data,
        &["settings", "set", &tenant_id, "--legal-hold", "on"],
    );
    assert_eq!(no_reason.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_reason.stderr).contains("legal_hold_reason"));
    let held = json_of(&admin(
        &data,
        &[
            "settings",
            "set",
            &tenant_id,
            "--legal-hold",
            "on",
            "--legal-hold-reason",
            "case 2026-114",
        ],
    ));
    assert_eq!(held["settings"]["legal_hold_by_operator"], true);
    json_of(&admin(
        &data,
        &[
            "settings",
            "set",
            &tenant_id,
            "--legal-hold",
            "off",
            "--legal-hold-reason",
            "case closed",
        ],
    ));

    // settings set: valid changes are saved and named
    let set = json_of(&admin(
        &data,
        &[
            "settings",
            "set",
            &tenant_id,
            "--chat-retention-days",
            "60",
            "--automation",
            "off",
        ],
    ));
    assert_eq!(
        set["changed"],
        serde_json::json!(["chat_retention_days", "automation_enabled"])
    );
    let tenant = json_of(&admin(&data, &["tenant", "show", &tenant_id]));
    assert_eq!(tenant["settings"]["chat_retention_days"], 60);
    assert_eq!(tenant["settings"]["automation_enabled"], false);

    // settings set: an out-of-range retention is refused, naming the field, and nothing changes
    let refused = admin(
        &data,
        &[
            "settings",
            "set",
            &tenant_id,
            "--chat-retention-days",
            "999",
        ],
    );
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("chat_retention_days"), "stderr: {stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "stderr: {stderr}");
    let tenant = json_of(&admin(&data, &["tenant", "show", &tenant_id]));
    assert_eq!(tenant["settings"]["chat_retention_days"], 60);
}

#[test]
fn bad_input_and_missing_things_exit_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    json_of(&admin(data, &["tenant", "create", "--name", "Exists"]));
    let cases: [&[&str]; 6] = [
        &["tenant", "show", "ten_missing"],
        &["tenant", "show", "T#ten#x"],
        &["tenant", "create", "--name", "  "],
        &["apikey", "revoke", "ten_missing", "key_missing"],
        &["phone", "attach", "ten_missing", "+1 555"],
        &[
            "settings",
            "set",
            "ten_missing",
            "--chat-retention-days",
            "-1",
        ],
    ];
    for args in cases {
        let output = admin(data, args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
    let missing = admin(data, &["tenant", "show", "ten_missing"]);
    assert_eq!(
        String::from_utf8_lossy(&missing.stderr).trim(),
        "mizan-local: tenant ten_missing not found"
    );
}

#[test]
fn send_posts_a_signed_message_that_is_stored_and_survives_a_restart() {
    // Given a running runner
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());

    // When a newcomer sends a message with one command
    let sent = admin(dir.path(), &["send", "Bonjour, vous êtes ouverts ? مرحبا"]);
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    assert!(String::from_utf8_lossy(&sent.stdout).contains("200"));
    assert!(server.terminate().success());

    // Then, after the runner stopped, the store holds the message with its text
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut config = mizan_shared::config::Config::from_lookup(|_| None).unwrap();
        config.backend = mizan_shared::config::Backend::Embedded {
            data_dir: dir.path().to_owned(),
        };
        let services = mizan_shared::backend::connect(&config).await.unwrap();
        let demo = demo_json(dir.path());
        let tenant = mizan_shared::domain::ids::TenantId::new(demo["tenant_id"].as_str().unwrap());
        let tenant = services.store.tenant(&tenant).await.unwrap().unwrap();
        let contact = services
            .store
            .find_contact(
                &tenant.id,
                mizan_shared::domain::identity_hash::IdentifierKind::WaId,
                "15550100001",
            )
            .await
            .unwrap()
            .expect("the sender is a contact");
        let page = services
            .store
            .conversation(&tenant.id, &contact.value.id, &tenant.retention(), 10, None)
            .await
            .unwrap();
        let inbound: Vec<_> = page
            .items
            .iter()
            .filter(|m| m.direction == mizan_shared::domain::message::Direction::Inbound)
            .collect();
        assert_eq!(inbound.len(), 1);
        let content = inbound[0].content.as_ref().unwrap().0.expose();
        assert_eq!(
            content["text"]["body"],
            "Bonjour, vous êtes ouverts ? مرحبا"
        );
        // And ai-reply's answer is stored with it, sealed like the rest.
        assert_eq!(page.items.len(), 2, "the message and its reply");
    });
}

#[test]
fn purge_dry_run_as_of_shows_what_would_go_then_purge_does_it() {
    // Given a message and its automated reply stored by the runner, which is then stopped
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let sent = admin(dir.path(), &["send", "Bonjour"]);
    assert!(sent.status.success());
    assert!(server.terminate().success());
    let tenant = demo_json(dir.path())["tenant_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let in_31_days = mizan_shared::domain::time::Timestamp::now()
        .plus(mizan_shared::domain::time::days(31))
        .to_rfc3339();
    let chat_counts = |report: &Value, field: &str| {
        report["tenants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["tenant"] == tenant.as_str())
            .map(|t| t["categories"]["chat"][field].as_u64().unwrap_or(0))
            .unwrap_or(0)
    };

    // When an operator asks what the purge would do now, and in 31 days
    let today = json_of(&admin(dir.path(), &["purge", "--dry-run"]));
    let ahead = json_of(&admin(
        dir.path(),
        &["purge", "--dry-run", "--as-of", &in_31_days],
    ));

    // Then nothing is due today, both contents are in 31 days, and nothing changed
    assert_eq!(today["dry_run"], true);
    assert_eq!(chat_counts(&today, "due"), 0);
    assert_eq!(chat_counts(&ahead, "content_removed"), 2);
    let again = json_of(&admin(
        dir.path(),
        &["purge", "--dry-run", "--as-of", &in_31_days],
    ));
    assert_eq!(chat_counts(&again, "content_removed"), 2);

    // A legal hold on the contact keeps everything, and the report says so
    let hold = json_of(&admin(
        dir.path(),
        &["contact", "legal-hold", &tenant, "15550100001", "on"],
    ));
    assert_eq!(hold["legal_hold"], true);
    let held = json_of(&admin(dir.path(), &["purge", "--as-of", &in_31_days]));
    assert_eq!(chat_counts(&held, "held"), 2);
    assert_eq!(chat_counts(&held, "content_removed"), 0);
    json_of(&admin(
        dir.path(),
        &["contact", "legal-hold", &tenant, "15550100001", "off"],
    ));
    let unknown = admin(
        dir.path(),
        &["contact", "legal-hold", &tenant, "15550109999", "on"],
    );
    assert_eq!(unknown.status.code(), Some(2));
    // The contact is in the contact list already: a reindex lists nothing more.
    let reindexed = json_of(&admin(dir.path(), &["contact", "reindex", &tenant]));
    assert_eq!(reindexed["listed"], 0);

    // And once it is lifted, the real purge at that moment removes both, once
    let done = json_of(&admin(dir.path(), &["purge", "--as-of", &in_31_days]));
    assert_eq!(done["dry_run"], false);
    assert_eq!(chat_counts(&done, "content_removed"), 2);
    let after = json_of(&admin(
        dir.path(),
        &["purge", "--dry-run", "--as-of", &in_31_days],
    ));
    assert_eq!(chat_counts(&after, "due"), 0);

    // A time that is not RFC 3339 is bad input
    let bad = admin(dir.path(), &["purge", "--as-of", "next tuesday"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn send_shows_the_demo_faq_answer_and_the_outbox_holds_the_exact_graph_bodies() {
    // Given a running runner with no model and no Graph API token configured
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());

    // When a newcomer asks the demo tenant for its opening hours
    let sent = admin(
        dir.path(),
        &[
            "send",
            "What are your opening hours?",
            "--from",
            "15550100042",
        ],
    );

    // Then `send` prints the demo FAQ's answer, with how to opt out
    let stdout = String::from_utf8_lossy(&sent.stdout).into_owned();
    assert!(sent.status.success(), "{stdout}");
    assert!(
        stdout.contains("reply <- We are open Monday to Saturday"),
        "{stdout}"
    );
    assert!(stdout.contains("Reply STOP to stop automated messages."));

    // And the outbox holds the read receipt and the reply exactly as the Graph API gets them
    let (status, body) = get(server.port(), "/local/outbox");
    assert_eq!(status, 200);
    let entries: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(entries.len(), 2, "{body}");
    let phone = demo_json(dir.path())["phone_number_id"].clone();
    assert!(entries.iter().all(|e| e["phone_number_id"] == phone));
    assert_eq!(entries[0]["body"]["status"], "read");
    assert_eq!(entries[0]["body"]["typing_indicator"]["type"], "text");
    let reply = &entries[1]["body"];
    assert_eq!(reply["messaging_product"], "whatsapp");
    assert_eq!(reply["to"], "15550100042");
    assert_eq!(reply["type"], "text");
    assert_eq!(
        reply["context"]["message_id"],
        entries[0]["body"]["message_id"]
    );
    assert!(server.terminate().success());
}

#[test]
fn background_work_only_takes_idle_processor_time_and_health_shows_the_feed_catching_up() {
    // Given a running runner
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());

    // Then its background thread (stream consumers, schedules) is in the idle scheduling class
    // (policy 5, SCHED_IDLE), and no request or storage thread is
    const SCHED_IDLE: u32 = 5;
    let tasks = std::fs::read_dir(format!("/proc/{}/task", server.child.id())).unwrap();
    let mut background = Vec::new();
    for task in tasks {
        let stat = std::fs::read_to_string(task.unwrap().path().join("stat")).unwrap();
        // The name is in parentheses; the policy is the 39th field after it.
        let (name, rest) = stat.split_once(") ").unwrap();
        let name = name.split_once(" (").unwrap().1.to_owned();
        let policy: u32 = rest.split(' ').nth(38).unwrap().parse().unwrap();
        if name == "mizan-backgroun" {
            background.push(policy);
        } else if name == "tokio-rt-worker" || name.starts_with("mizan-embedded") {
            assert_ne!(policy, SCHED_IDLE, "{name} is in the idle class");
        }
    }
    assert_eq!(background, vec![SCHED_IDLE]);

    // When a message arrives and ai-reply answers it through the change feed
    let sent = admin(dir.path(), &["send", "What are your opening hours?"]);
    assert!(sent.status.success());

    // Then health shows the feed caught up with every change
    let feed = (0..100)
        .find_map(|_| {
            let (_, body) = get(server.port(), "/local/health");
            let feed = serde_json::from_str::<Value>(&body).unwrap()["change_feed"].clone();
            if feed["pending"] == 0 {
                return Some(feed);
            }
            std::thread::sleep(Duration::from_millis(100));
            None
        })
        .expect("the change feed catches up");
    assert!(feed["latest"].as_i64().unwrap() > 0);
    assert_eq!(feed["position"], feed["latest"]);
    assert!(server.terminate().success());
}

/// A client that never finishes its headers or its body is dropped, as API Gateway does, and
/// the runner keeps serving others.
#[test]
fn slow_clients_are_cut_off_after_the_read_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &[("MIZAN_LOCAL_READ_TIMEOUT_SECONDS", "1")]);
    let port = server.port();
    let read_all = |stream: &mut TcpStream| {
        stream
            .set_read_timeout(Some(Duration::from_secs(15)))
            .unwrap();
        let started = Instant::now();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        (answer, started.elapsed())
    };

    // Headers that never end: the connection is closed.
    let mut headers = TcpStream::connect(("127.0.0.1", port)).unwrap();
    headers
        .write_all(b"GET /local/health HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let (answer, waited) = read_all(&mut headers);
    assert!(waited < Duration::from_secs(10), "closed after {waited:?}");
    assert!(!answer.contains("200 OK"), "{answer}");

    // A body that never arrives in full: 408.
    let mut body = TcpStream::connect(("127.0.0.1", port)).unwrap();
    body.write_all(
        b"POST /webhooks/whatsapp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"object\":",
    )
    .unwrap();
    let (answer, waited) = read_all(&mut body);
    assert!(
        waited < Duration::from_secs(10),
        "answered after {waited:?}"
    );
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");

    // Everyone else is served as usual.
    assert_eq!(get(port, "/local/health").0, 200);
    assert!(server.terminate().success());
}

#[test]
fn send_without_a_runner_says_how_to_start_one() {
    let dir = tempfile::tempdir().unwrap();
    let output = admin(dir.path(), &["send", "hello"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("mizan-local serve"));
}

/// A signed one-message delivery of `wamid` from `wa_id`, posted on a fresh connection; the
/// status code, or `None` when the runner is gone.
fn post_delivery(
    port: u16,
    app_secret: &str,
    phone: &str,
    wa_id: &str,
    wamid: &str,
) -> Option<u16> {
    let now = mizan_shared::domain::time::Timestamp::now();
    let body = text_delivery(phone, wa_id, wamid, now, "Salam, ça marche ?");
    post_signed(port, app_secret, &body)
}

fn text_delivery(
    phone: &str,
    wa_id: &str,
    wamid: &str,
    sent_at: mizan_shared::domain::time::Timestamp,
    text: &str,
) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100000", "phone_number_id": phone},
            "contacts": [{"profile": {"name": "Load"}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": wamid, "timestamp": sent_at.as_unix_seconds().to_string(),
                          "type": "text", "text": {"body": text}}]
        }}]}]
    }))
    .unwrap()
}

/// `body` signed with `app_secret` as Meta signs it, posted to the webhook route.
fn post_signed(port: u16, app_secret: &str, body: &[u8]) -> Option<u16> {
    let signature = mizan_shared::domain::signature::sign(
        body,
        &mizan_shared::domain::signature::AppSecret::new(app_secret.as_bytes()),
    );
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let head = format!(
        "POST /webhooks/whatsapp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         X-Hub-Signature-256: {signature}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split(' ').nth(1)?.parse().ok()
}

/// How many messages the runner's ai-reply has sent, once the change feed is idle (it runs in
/// the idle scheduling class, so a busy machine can hold it back for a while).
fn sent_replies(port: u16) -> usize {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, body) = get(port, "/local/health");
        let pending = serde_json::from_str::<Value>(&body).unwrap()["change_feed"]["pending"]
            .as_i64()
            .unwrap();
        assert!(
            Instant::now() < deadline,
            "the change feed did not catch up"
        );
        if pending == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let (_, body) = get(port, "/local/outbox");
    let outbox: Vec<Value> = serde_json::from_str(&body).unwrap();
    outbox
        .iter()
        .filter(|entry| entry["body"]["type"] == "text")
        .count()
}

#[test]
fn a_webhook_replayed_after_an_erasure_brings_nothing_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let demo = demo_json(dir.path());
    let key = demo["api_key"].as_str().unwrap();
    let secret = demo["app_secret"].as_str().unwrap();
    let phone = demo["phone_number_id"].as_str().unwrap();
    let port = server.port();
    let contact_path = "/v1/contacts/%2B15550100077";

    // A customer wrote a minute ago, and the AI answered.
    let sent = mizan_shared::domain::time::Timestamp::now().minus(Duration::from_secs(60));
    let body = text_delivery(
        phone,
        "15550100077",
        "wamid.REPLAYED",
        sent,
        "What are your opening hours?",
    );
    assert_eq!(post_signed(port, secret, &body), Some(200));
    assert_eq!(call(port, "GET", contact_path, Some(key), None).0, 200);
    let answered = sent_replies(port);
    assert!(answered >= 1, "the AI answered");

    // The business erases them; then the signed body arrives again (Meta's redelivery, or
    // anyone who kept it).
    let (status, erased) = call(
        port,
        "POST",
        &format!("{contact_path}/erasure"),
        Some(key),
        None,
    );
    assert_eq!(status, 202, "{erased}");
    assert_eq!(post_signed(port, secret, &body), Some(200), "acknowledged");

    // Nothing is back: no contact, no answer to the erased text.
    let (status, gone) = call(port, "GET", contact_path, Some(key), None);
    assert_eq!(status, 404, "{gone}");
    assert_eq!(
        sent_replies(port),
        answered,
        "the AI does not answer it again"
    );
    assert!(server.terminate().success());
}

#[test]
fn every_acknowledged_delivery_survives_a_sigkill_under_load() {
    acknowledged_deliveries_survive_a_sigkill("full");
}

#[test]
fn every_acknowledged_delivery_survives_a_sigkill_under_load_without_fsync() {
    acknowledged_deliveries_survive_a_sigkill("normal");
}

fn acknowledged_deliveries_survive_a_sigkill(durability: &str) {
    // Given a runner taking deliveries from 8 concurrent senders
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &[("MIZAN_EMBEDDED_DURABILITY", durability)]);
    let demo = demo_json(dir.path());
    let (port, secret, phone) = (
        server.port(),
        demo["app_secret"].as_str().unwrap().to_owned(),
        demo["phone_number_id"].as_str().unwrap().to_owned(),
    );
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let senders: Vec<_> = (0..8)
        .map(|sender| {
            let (secret, phone, stop) = (secret.clone(), phone.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut acknowledged = Vec::new();
                for n in 0..100_000 {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    let wa_id = format!("1555{sender:03}{:04}", n % 20);
                    let wamid = format!("wamid.kill.{sender}.{n}");
                    match post_delivery(port, &secret, &phone, &wa_id, &wamid) {
                        Some(200) => acknowledged.push((wa_id, wamid)),
                        Some(other) => panic!("unexpected status {other}"),
                        None => break,
                    }
                }
                acknowledged
            })
        })
        .collect();

    // When the runner is killed with SIGKILL in the middle of it
    std::thread::sleep(Duration::from_millis(1500));
    let mut server = server;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let acknowledged: Vec<(String, String)> = senders
        .into_iter()
        .flat_map(|s| s.join().unwrap())
        .collect();
    assert!(
        acknowledged.len() > 50,
        "the load ran: {} acknowledged",
        acknowledged.len()
    );

    // Then every delivery it acknowledged is stored
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut config = mizan_shared::config::Config::from_lookup(|_| None).unwrap();
        config.backend = mizan_shared::config::Backend::Embedded {
            data_dir: dir.path().to_owned(),
        };
        let services = mizan_shared::backend::connect(&config).await.unwrap();
        let tenant = mizan_shared::domain::ids::TenantId::new(demo["tenant_id"].as_str().unwrap());
        let tenant = services.store.tenant(&tenant).await.unwrap().unwrap();
        let mut missing = 0;
        for (wa_id, wamid) in &acknowledged {
            let kind = mizan_shared::domain::identity_hash::IdentifierKind::WaId;
            let Some(contact) = services
                .store
                .find_contact(&tenant.id, kind, wa_id)
                .await
                .unwrap()
            else {
                missing += 1;
                continue;
            };
            let wamid = mizan_shared::domain::ids::Wamid::new(wamid.as_str());
            let found = services
                .store
                .message(&tenant.id, &contact.value.id, &wamid, &tenant.retention())
                .await
                .unwrap();
            missing += usize::from(found.is_none());
        }
        assert_eq!(
            missing,
            0,
            "{missing} of {} acknowledged deliveries were lost",
            acknowledged.len()
        );
    });
}

/// A one-shot HTTP/1.1 request with an optional bearer key and JSON body: status and JSON body.
fn call(
    port: u16,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<&str>,
) -> (u16, Value) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("the server accepts");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let auth = key
        .map(|k| format!("Authorization: Bearer {k}\r\n"))
        .unwrap_or_default();
    let body = body.unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n{auth}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("a head and a body");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    (status, serde_json::from_str(body).expect("a JSON body"))
}

#[test]
fn the_demo_api_key_reaches_the_consent_api_through_the_runner() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let demo = demo_json(dir.path());
    let key = demo["api_key"].as_str().unwrap();
    let port = server.port();

    let (status, settings) = call(port, "GET", "/v1/settings", Some(key), None);
    assert_eq!(status, 200, "{settings}");
    assert_eq!(settings["chat_retention_days"], 30);
    let (status, body) = call(port, "GET", "/v1/settings", None, None);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let (status, body) = call(
        port,
        "PATCH",
        "/v1/settings",
        Some(key),
        Some(r#"{"chat_retention_days": 400}"#),
    );
    assert_eq!(status, 400);
    assert_eq!(body["error"]["field"], "chat_retention_days");
    let (status, body) = call(port, "GET", "/v1/contacts/%2B15550100999", Some(key), None);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("contact_not_found"))
    );
    let (status, body) = call(port, "PUT", "/v1/settings", Some(key), None);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (405, Some("method_not_allowed"))
    );
    let (status, audit) = call(port, "GET", "/v1/audit?limit=5", Some(key), None);
    assert_eq!(status, 200, "{audit}");
    assert!(audit["events"].as_array().is_some_and(|e| !e.is_empty()));
    assert!(server.terminate().success());
}

/// A one-shot HTTP/1.1 GET of a full URL on the runner: status and raw body.
fn download(url: &str) -> (u16, Vec<u8>) {
    let rest = url.strip_prefix("http://").expect("an http link");
    let (authority, path) = rest.split_at(rest.find('/').expect("a path"));
    let mut stream = TcpStream::connect(authority).expect("the server accepts");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head and a body");
    let head = String::from_utf8_lossy(&response[..split]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    (status, response[split + 4..].to_vec())
}

#[test]
fn a_newcomer_exports_a_contact_and_opens_the_archive_even_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let key = demo_json(dir.path())["api_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let sent = admin(dir.path(), &["send", "What are your opening hours?"]);
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );

    let (status, asked) = call(
        server.port(),
        "POST",
        "/v1/exports",
        Some(&key),
        Some(r#"{"contact": "15550100001"}"#),
    );
    assert_eq!(status, 202, "{asked}");
    let path = format!("/v1/exports/{}", asked["id"].as_str().unwrap());
    // The worker builds it from the change feed.
    let deadline = Instant::now() + Duration::from_secs(30);
    let ready = loop {
        let (status, view) = call(server.port(), "GET", &path, Some(&key), None);
        assert_eq!(status, 200, "{view}");
        if view["status"] == "ready" {
            break view;
        }
        assert_eq!(view["status"], "pending", "{view}");
        assert!(Instant::now() < deadline, "the export is not built: {view}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let link = ready["download_url"].as_str().unwrap().to_owned();
    assert!(link.starts_with(&server.base_url), "{link}");
    let (status, zip_bytes) = download(&link);
    assert_eq!(status, 200);
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).unwrap();
    let mut data = String::new();
    archive
        .by_name("data.json")
        .unwrap()
        .read_to_string(&mut data)
        .unwrap();
    let data: Value = serde_json::from_str(&data).unwrap();
    let texts = data["contacts"][0]["messages"].to_string();
    assert!(texts.contains("What are your opening hours?"), "{texts}");
    assert!(
        texts.contains("We are open"),
        "the FAQ answer is exported too: {texts}"
    );
    assert!(archive.by_name("index.html").is_ok());

    // The link is signed with a key kept in the data directory: it outlives a restart.
    assert!(server.terminate().success());
    let server = Server::start(dir.path());
    let port = server.port().to_string();
    let old_port = link
        .rsplit_once(':')
        .and_then(|(_, rest)| rest.split('/').next())
        .unwrap()
        .to_owned();
    let (status, _) = download(&link.replacen(&old_port, &port, 1));
    assert_eq!(status, 200);
    assert!(server.terminate().success());
}

/// Waits for the export at `path` to be built by the runner's worker; its view.
fn ready_export(port: u16, key: &str, path: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, view) = call(port, "GET", path, Some(key), None);
        assert_eq!(status, 200, "{view}");
        if view["status"] == "ready" {
            return view;
        }
        assert_eq!(view["status"], "pending", "{view}");
        assert!(Instant::now() < deadline, "the export is not built: {view}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A business downloads its whole account, then erases one customer: the account archive held
/// that customer, so it goes too, and its link stops working.
#[test]
fn erasing_a_contact_takes_the_whole_account_export_that_held_them() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let port = server.port();
    let key = demo_json(dir.path())["api_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let sent = admin(dir.path(), &["send", "Bonjour, my number is on the order"]);
    assert!(sent.status.success());

    let (status, asked) = call(
        port,
        "POST",
        "/v1/exports",
        Some(&key),
        Some(r#"{"scope": "tenant"}"#),
    );
    assert_eq!(status, 202, "{asked}");
    let path = format!("/v1/exports/{}", asked["id"].as_str().unwrap());
    let link = ready_export(port, &key, &path)["download_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, zip_bytes) = download(&link);
    assert_eq!(status, 200);
    assert!(
        String::from_utf8_lossy(&zip_bytes).len() > 100,
        "an archive came back"
    );

    let (status, erased) = call(
        port,
        "POST",
        "/v1/contacts/%2B15550100001/erasure",
        Some(&key),
        None,
    );
    assert_eq!(status, 202, "{erased}");
    assert_eq!(erased["account_exports_revoked"], 1, "{erased}");
    assert_eq!(download(&link).0, 410, "the link no longer works");
    let (_, view) = call(port, "GET", &path, Some(&key), None);
    assert_eq!(
        (view["status"].as_str(), view["revoked_because"].as_str()),
        (Some("revoked"), Some("erasure")),
        "{view}"
    );
    assert!(server.terminate().success());
}

#[test]
fn a_person_answers_a_contact_and_submits_a_template_through_the_runner() {
    // Given a customer who wrote to the demo tenant
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let port = server.port();
    let key = demo_json(dir.path())["api_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let tenant = demo_json(dir.path())["tenant_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let sent = admin(
        dir.path(),
        &["send", "Can I talk to a person?", "--from", "15550100043"],
    );
    assert!(sent.status.success());

    // When a person answers through the API
    let (status, accepted) = call(
        port,
        "POST",
        "/v1/contacts/15550100043/messages",
        Some(&key),
        Some(r#"{"text": "Hello, this is Samir from Atlas Tea. How can I help?"}"#),
    );
    assert_eq!(status, 202, "{accepted}");
    assert_eq!(accepted["sender"], "agent");

    // Then the runner's sender puts it in the outbox, not quoting anything
    let mut answer = None;
    for _ in 0..100 {
        let (_, body) = get(port, "/local/outbox");
        let entries: Vec<Value> = serde_json::from_str(&body).unwrap();
        answer = entries.into_iter().find(|e| {
            e["body"]["text"]["body"] == "Hello, this is Samir from Atlas Tea. How can I help?"
        });
        if answer.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let answer = answer.expect("the person's message reaches the outbox");
    assert_eq!(answer["body"]["to"], "15550100043");
    assert!(answer["body"].get("context").is_none());
    let (_, conversation) = call(
        port,
        "GET",
        "/v1/contacts/15550100043/messages",
        Some(&key),
        None,
    );
    let mine = conversation["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == accepted["id"])
        .cloned()
        .unwrap();
    assert_eq!(mine["sender"], "agent");

    // And with a business account attached, a template submitted locally is approved at once
    let (status, refused) = call(port, "POST", "/v1/templates", Some(&key), Some(TEMPLATE));
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (409, Some("no_business_account"))
    );
    assert!(server.terminate().success());
    let attached = json_of(&admin(
        dir.path(),
        &["waba", "attach", &tenant, "100000000000900"],
    ));
    assert_eq!(attached["business_account"], "100000000000900");
    let server = Server::start(dir.path());
    let (status, template) = call(
        server.port(),
        "POST",
        "/v1/templates",
        Some(&key),
        Some(TEMPLATE),
    );
    assert_eq!(status, 201, "{template}");
    assert_eq!(
        (template["status"].as_str(), template["sendable"].as_bool()),
        (Some("APPROVED"), Some(true))
    );
    // And a campaign of it reaches the contact through the runner's campaign sender
    let body = r#"{"name": "Shipping", "template": {"name": "order_update", "language": "en_US"},
        "parameters": {"body": {"2": "Monday"}},
        "audience": {"contacts": [{"contact": "15550100043", "parameters": {"body": {"1": "Amina"}}}]}}"#;
    let (status, campaign) = call(
        server.port(),
        "POST",
        "/v1/campaigns",
        Some(&key),
        Some(body),
    );
    assert_eq!(status, 202, "{campaign}");
    let id = campaign["id"].as_str().unwrap().to_owned();
    let mut state = String::new();
    for _ in 0..100 {
        let (_, now) = call(
            server.port(),
            "GET",
            &format!("/v1/campaigns/{id}"),
            Some(&key),
            None,
        );
        state = now["state"].as_str().unwrap_or_default().to_owned();
        if state == "completed" {
            assert_eq!(now["counts"]["sent"], 1, "{now}");
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(state, "completed");
    let (_, body) = get(server.port(), "/local/outbox");
    let entries: Vec<Value> = serde_json::from_str(&body).unwrap();
    let sent = entries
        .iter()
        .find(|e| e["body"]["type"] == "template")
        .expect("the campaign's template is in the outbox");
    assert_eq!(sent["body"]["template"]["name"], "order_update");
    // A sync needs the Graph API: without its token the command says so.
    assert!(server.terminate().success());
    let sync = admin(dir.path(), &["templates", "sync", &tenant]);
    assert_eq!(sync.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&sync.stderr).contains("MIZAN_WHATSAPP_ACCESS_TOKEN"));
}

const TEMPLATE: &str = r#"{"name": "order_update", "language": "en_US", "category": "utility",
    "components": [{"type": "BODY", "text": "Hi {{1}}, your order ships on {{2}}."}]}"#;

/// The promise of DESIGN §8 for campaigns under crashes: a 20,000-recipient campaign against a
/// fake Graph API, the runner killed with SIGKILL at random moments three times and started
/// again each time. No recipient gets two messages, no ineligible one gets any, and every
/// eligible one gets exactly one, except a send a kill cut between its dispatch mark and Meta's
/// answer: that one is reported `unknown` (it may have gone out) and never sent again.
#[test]
fn a_campaign_survives_three_sigkills_and_sends_each_eligible_recipient_at_most_once() {
    const ELIGIBLE: usize = 18_000;
    const OPTED_OUT: usize = 1_000;
    const UNKNOWN: usize = 1_000;
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let graph = runtime.block_on(mizan_test_support::fakes::graph::FakeGraph::start());
    let env = [
        ("MIZAN_EMBEDDED_DURABILITY", "normal"),
        ("MIZAN_GRAPH_BASE_URL", graph.base_url.as_str()),
        ("MIZAN_WHATSAPP_ACCESS_TOKEN", "EAAG-crash-test"),
    ];
    let wa_id = |n: usize| format!("1555{n:07}");

    // Given the demo tenant with 19,000 contacts (1,000 opted out of everything), an approved
    // utility template and WhatsApp's highest throughput
    assert!(Server::start_with(dir.path(), &env).terminate().success());
    let demo = demo_json(dir.path());
    runtime.block_on(async {
        use mizan_shared::domain::consent::{ConsentAction, ConsentEvent, Purpose};
        let mut config = mizan_shared::config::Config::from_lookup(|_| None).unwrap();
        config.backend = mizan_shared::config::Backend::Embedded {
            data_dir: dir.path().to_owned(),
        };
        config.embedded_durability = mizan_shared::adapters::embedded::Durability::Normal;
        let services = mizan_shared::backend::connect(&config).await.unwrap();
        let store = &services.store;
        let tenant = mizan_shared::domain::ids::TenantId::new(demo["tenant_id"].as_str().unwrap());
        for n in 0..ELIGIBLE + OPTED_OUT {
            let profile = mizan_shared::domain::contact::ContactProfile {
                wa_id: Some(wa_id(n).as_str().into()),
                ..Default::default()
            };
            let contact = store
                .upsert_contact(&tenant, &profile)
                .await
                .unwrap()
                .contact
                .value;
            if n >= ELIGIBLE {
                let stop = ConsentEvent::from_api(
                    tenant.clone(),
                    contact.id.clone(),
                    store.now(),
                    Purpose::All,
                    ConsentAction::OptOut,
                    format!("crash-test:{n}"),
                    &mizan_shared::domain::ids::ApiKeyId::new("key_0123456789ab"),
                );
                store.record_consent(&stop, None).await.unwrap();
            }
        }
        mizan_test_support::seed::template(
            store,
            &tenant,
            ("order_update", "en_US"),
            mizan_shared::domain::template::TemplateCategory::Utility,
            "APPROVED",
            vec![serde_json::json!({"type": "BODY", "text": "Order {{1}} ships today."})],
        )
        .await;
        let mut versioned = store.tenant_versioned(&tenant).await.unwrap().unwrap();
        versioned.value.settings.messages_per_second = 1_000;
        store.save_tenant(&versioned, None).await.unwrap();
    });

    // When a campaign to all of them and 1,000 unknown numbers starts
    let mut server = Server::start_with(dir.path(), &env);
    let key = demo["api_key"].as_str().unwrap().to_owned();
    let contacts: Vec<Value> = (0..ELIGIBLE + OPTED_OUT + UNKNOWN)
        .map(|n| serde_json::json!({"contact": wa_id(n), "parameters": {"body": {"1": format!("#{n}")}}}))
        .collect();
    let body = serde_json::json!({
        "name": "Shipping notices", "template": {"name": "order_update", "language": "en_US"},
        "audience": {"contacts": contacts}
    })
    .to_string();
    let (status, campaign) = call(
        server.port(),
        "POST",
        "/v1/campaigns",
        Some(&key),
        Some(&body),
    );
    assert_eq!(status, 202, "{campaign}");
    let id = campaign["id"].as_str().unwrap().to_owned();

    // And the runner is killed three times while it sends
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("kill moments seeded with {seed}");
    for _ in 0..3 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        std::thread::sleep(Duration::from_millis(800 + (seed >> 33) % 2_000));
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        server = Server::start_with(dir.path(), &env);
    }
    let deadline = Instant::now() + Duration::from_secs(600);
    let finished = loop {
        let (_, now) = call(
            server.port(),
            "GET",
            &format!("/v1/campaigns/{id}"),
            Some(&key),
            None,
        );
        if now["state"] == "completed" || Instant::now() > deadline {
            break now;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    assert!(server.terminate().success());

    // Then nobody got two messages, no ineligible recipient got any, and every eligible one got
    // exactly one unless it is reported unknown
    assert_eq!(finished["state"], "completed", "{finished}");
    let mut per_recipient: std::collections::HashMap<String, usize> = Default::default();
    for request in graph.requests() {
        if request.body["type"] == "template" {
            *per_recipient
                .entry(request.body["to"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
    }
    let duplicates = per_recipient.values().filter(|n| **n > 1).count();
    assert_eq!(duplicates, 0, "recipients sent twice");
    let ineligible = (ELIGIBLE..ELIGIBLE + OPTED_OUT + UNKNOWN)
        .filter(|n| per_recipient.contains_key(&wa_id(*n)))
        .count();
    assert_eq!(ineligible, 0, "ineligible recipients reached");
    let missed = (0..ELIGIBLE)
        .filter(|n| !per_recipient.contains_key(&wa_id(*n)))
        .count();
    let counts = &finished["counts"];
    let unknown = counts["unknown"].as_u64().unwrap_or(0) as usize;
    eprintln!(
        "campaign of {} recipients, 3 kills: {} sent, {unknown} unknown, {missed} eligible never reached",
        ELIGIBLE + OPTED_OUT + UNKNOWN,
        per_recipient.len()
    );
    assert!(
        missed <= unknown,
        "{missed} eligible recipients were never sent, only {unknown} unknown"
    );
    assert_eq!(counts["skipped"]["opted_out"], OPTED_OUT as u64);
    assert_eq!(counts["skipped"]["unknown_contact"], UNKNOWN as u64);
    assert_eq!(counts["eligible"], ELIGIBLE as u64);
    assert_eq!(
        counts["sent"].as_u64().unwrap() as usize + unknown,
        ELIGIBLE,
        "{counts}"
    );
}

/// The text of every message the runner sent, in order, from its outbox.
fn outbox_texts(port: u16) -> Vec<String> {
    let (status, body) = get(port, "/local/outbox");
    assert_eq!(status, 200);
    let entries: Vec<Value> = serde_json::from_str(&body).unwrap();
    entries
        .iter()
        .filter_map(|e| e["body"]["text"]["body"].as_str().map(str::to_owned))
        .collect()
}

/// What `send` printed as the reply.
fn reply_of(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{stdout}");
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("reply <- "))
        .unwrap_or_else(|| panic!("no reply: {stdout}"))
        .to_owned()
}

#[test]
fn a_person_gets_their_data_and_erases_it_by_writing_in_the_chat() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let key = demo_json(dir.path())["api_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let from = "15550100077";

    // "mes données": an answer at once, then the link once the worker has built the archive.
    let asked = reply_of(&admin(dir.path(), &["send", "mes données", "--from", from]));
    assert!(
        asked.starts_with("Nous préparons une copie de vos données"),
        "{asked}"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let link = loop {
        let found = outbox_texts(server.port()).into_iter().find_map(|text| {
            text.split_whitespace()
                .find(|w| w.contains("/exports/download?token="))
                .map(str::to_owned)
        });
        if let Some(link) = found {
            break link;
        }
        assert!(Instant::now() < deadline, "no link in the outbox");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(link.starts_with(&server.base_url), "{link}");
    let (status, zip_bytes) = download(&link);
    assert_eq!(status, 200);
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).unwrap();
    let mut page = String::new();
    archive
        .by_name("index.html")
        .unwrap()
        .read_to_string(&mut page)
        .unwrap();
    assert!(page.contains("lang=\"fr\""), "the page speaks French");
    assert!(page.contains("mes données"));
    assert_eq!(download(&link).0, 410, "the link works once");

    // "supprimer mes données", then the code: the contact is gone from the API and exports.
    let question = reply_of(&admin(
        dir.path(),
        &["send", "supprimer mes données", "--from", from],
    ));
    let code = question
        .split("SUPPRIMER ")
        .nth(1)
        .map(|rest| rest.chars().take(4).collect::<String>())
        .unwrap_or_else(|| panic!("no code: {question}"));
    let contact = format!("/v1/contacts/{from}");
    assert_eq!(
        call(server.port(), "GET", &contact, Some(&key), None).0,
        200
    );
    let last = reply_of(&admin(
        dir.path(),
        &["send", &format!("SUPPRIMER {code}"), "--from", from],
    ));
    assert!(last.starts_with("C'est confirmé"), "{last}");
    let (status, gone) = call(server.port(), "GET", &contact, Some(&key), None);
    assert_eq!(status, 404, "{gone}");
    let body = format!(r#"{{"contact": "{from}"}}"#);
    let (status, refused) = call(
        server.port(),
        "POST",
        "/v1/exports",
        Some(&key),
        Some(&body),
    );
    assert_eq!(status, 404, "{refused}");
    let (status, register) = call(
        server.port(),
        "GET",
        "/v1/rights-requests",
        Some(&key),
        None,
    );
    assert_eq!(status, 200);
    let states: Vec<(String, String)> = register["rights_requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap().into(),
                r["state"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        states,
        vec![
            ("erasure".to_owned(), "completed".to_owned()),
            ("access".to_owned(), "completed".to_owned()),
        ]
    );
    assert!(server.terminate().success());
}

#[test]
fn ropa_prints_the_record_of_processing_of_the_only_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    assert!(server.terminate().success());
    let printed = admin(dir.path(), &["ropa"]);
    let text = String::from_utf8_lossy(&printed.stdout).into_owned();
    assert!(printed.status.success(), "{text}");
    assert!(
        text.starts_with("# Record of processing activities (GDPR Art. 30)"),
        "{text}"
    );
    assert!(text.contains("the operator's own server"), "{text}");
    let as_json = json_of(&admin(dir.path(), &["ropa", "--json"]));
    assert_eq!(as_json["processor"]["role"], "processor");
    assert_eq!(as_json["categories"].as_array().unwrap().len(), 11);
}

#[test]
fn the_operator_closes_and_reopens_an_account() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    assert!(server.terminate().success());
    let tenant = demo_json(dir.path())["tenant_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let closed = json_of(&admin(dir.path(), &["tenant", "close", &tenant]));
    assert_eq!(closed["status"], "closed");
    assert!(closed["removed_after"].is_string());
    let again = admin(dir.path(), &["tenant", "close", &tenant]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("closed already"));

    // Closed, the demo key only exports: the API says so.
    let server = Server::start(dir.path());
    let key = demo_json(dir.path())["api_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, refused) = call(server.port(), "GET", "/v1/settings", Some(&key), None);
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (403, Some("account_closed"))
    );
    assert!(server.terminate().success());

    let reopened = json_of(&admin(dir.path(), &["tenant", "reopen", &tenant]));
    assert_eq!(reopened["status"], "active");
    let server = Server::start(dir.path());
    assert_eq!(
        call(server.port(), "GET", "/v1/settings", Some(&key), None).0,
        200
    );
    assert!(server.terminate().success());
}

#[test]
fn send_reaches_any_tenants_number_and_dates_a_message_in_the_past() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    assert!(server.terminate().success());
    let created = json_of(&admin(
        dir.path(),
        &["tenant", "create", "--name", "Baraka Bakery"],
    ));
    let tenant = created["tenant_id"].as_str().unwrap().to_owned();
    json_of(&admin(
        dir.path(),
        &["phone", "attach", &tenant, "100000000000077"],
    ));
    let key = json_of(&admin(dir.path(), &["apikey", "issue", &tenant]))["api_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let server = Server::start(dir.path());

    let bad = admin(dir.path(), &["send", "Hello", "--at", "yesterday"]);
    assert_eq!(bad.status.code(), Some(2));
    let bad = admin(dir.path(), &["send", "Hello", "--phone-number-id", "12 34"]);
    assert_eq!(bad.status.code(), Some(2));

    let sent = admin(
        dir.path(),
        &[
            "send",
            "Bonjour, vous avez du pain ?",
            "--from",
            "212600000077",
            "--phone-number-id",
            "100000000000077",
            "--at",
            "2026-12-01T09:30:00Z",
        ],
    );
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    let (status, conversation) = call(
        server.port(),
        "GET",
        "/v1/contacts/212600000077/messages",
        Some(&key),
        None,
    );
    assert_eq!(status, 200, "{conversation}");
    let messages = conversation["messages"].as_array().unwrap();
    let first = messages.last().unwrap();
    assert!(
        first["sent_at"]
            .as_str()
            .unwrap()
            .starts_with("2026-12-01T09:30:00"),
        "{first}"
    );
    assert!(server.terminate().success());
}

/// A business connects its helpdesk: an endpoint registered through the API gets the
/// customer's message and the hand-off, signed, from the runner's in-process router and sender;
/// a delivery its endpoint failed is still delivered after the runner restarts.
#[test]
fn a_helpdesk_is_told_of_messages_and_hand_offs_even_across_a_restart() {
    use mizan_test_support::receiver::WebhookReceiver;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let receiver = runtime.block_on(WebhookReceiver::start());
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let demo = demo_json(dir.path());
    let key = demo["api_key"].as_str().unwrap();
    let port = server.port();

    let body = serde_json::json!({
        "url": receiver.url,
        "events": ["message.received", "handoff.requested"],
        "description": "helpdesk",
    })
    .to_string();
    let (status, added) = call(port, "POST", "/v1/webhooks", Some(key), Some(&body));
    assert_eq!(status, 201, "{added}");
    let secret = secrecy::SecretString::from(added["secret"].as_str().unwrap().to_owned());

    let sent = admin(dir.path(), &["send", "I want to talk to a human please"]);
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    let accepted = runtime.block_on(receiver.wait_for_accepted(2, Duration::from_secs(30)));
    let types: Vec<String> = accepted
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_owned())
        .collect();
    assert!(types.contains(&"message.received".to_owned()), "{types:?}");
    assert!(types.contains(&"handoff.requested".to_owned()), "{types:?}");
    assert!(accepted.iter().all(|r| r.verified(&secret)));
    assert!(accepted
        .iter()
        .all(|r| !String::from_utf8_lossy(&r.body).contains("15550100001")));

    // The helpdesk is down: the next message's delivery waits, and the runner stops.
    receiver.answer_all(Some(503));
    let sent = admin(dir.path(), &["send", "Bonjour"]);
    assert!(sent.status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    while receiver.received().len() < 3 {
        assert!(Instant::now() < deadline, "the failing attempt is made");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(server.terminate().success());

    // Back up, the helpdesk gets it from the restarted runner.
    receiver.answer_all(None);
    let server = Server::start(dir.path());
    let accepted = runtime.block_on(receiver.wait_for_accepted(3, Duration::from_secs(30)));
    assert_eq!(accepted[2].json()["type"], "message.received");
    // The log says so once the sender has noted the answer (just after it came).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, log) = call(
            server.port(),
            "GET",
            &format!("/v1/webhooks/{}/deliveries", added["id"].as_str().unwrap()),
            Some(key),
            None,
        );
        assert_eq!(status, 200, "{log}");
        let states: Vec<&str> = log["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["state"].as_str().unwrap())
            .collect();
        if states == ["delivered"; 3] {
            break;
        }
        assert!(Instant::now() < deadline, "{states:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(server.terminate().success());
}

/// With its own Meta app secrets configured, the runner checks deliveries with them (the demo's
/// secret no longer passes), and `send` signs with the current one, as Meta does.
#[test]
fn send_signs_with_the_configured_app_secret_and_the_demo_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = [(
        "MIZAN_WHATSAPP_APP_SECRETS",
        "my-meta-app-secret,an-older-one",
    )];
    let server = Server::start_with(dir.path(), &secrets);
    let demo = demo_json(dir.path());
    let sent = command()
        .envs(secrets)
        .args(["send", "Bonjour", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("mizan-local runs");
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    assert!(String::from_utf8_lossy(&sent.stdout).contains("200"));
    let body = text_delivery(
        demo["phone_number_id"].as_str().unwrap(),
        "15550100009",
        "wamid.DEMO1",
        mizan_shared::domain::time::Timestamp::now(),
        "Bonjour",
    );
    assert_eq!(
        post_signed(server.port(), demo["app_secret"].as_str().unwrap(), &body),
        Some(401),
        "the demo secret is not the app's"
    );
    assert!(server.terminate().success());
}
