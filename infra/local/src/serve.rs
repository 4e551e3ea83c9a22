//! `mizan-local serve`: the whole system in one process on 127.0.0.1.

use crate::background::Background;
use crate::demo::{self, DemoCredentials, Seeding};
use crate::error::CliError;
use crate::feed::{Feed, FeedSettings};
use crate::routes::{self, AppState};
use crate::{config, functions, schedule, shutdown};
use mizan_shared::backend;
use mizan_shared::config::Config;
use mizan_shared::startup::Wiring;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

/// How long the change feed and the schedules get to finish their current work on shutdown.
const STOP_GRACE: Duration = Duration::from_secs(10);

pub async fn run(config: Config, port: u16) -> Result<(), CliError> {
    let data_dir = config::data_dir(&config)
        .ok_or_else(|| CliError::Usage("serve runs on the embedded backend only".into()))?
        .to_owned();
    // Caught from here on: a signal during start-up stops the server as soon as it is up.
    let mut signals = shutdown::Signals::install()
        .map_err(|e| CliError::Failed(format!("cannot catch SIGINT and SIGTERM: {e}")))?;
    config::create_private_dir(&data_dir)?;
    mizan_shared::telemetry::init();
    let services = backend::connect(&config).await?;
    let embedded = services
        .embedded
        .clone()
        .ok_or_else(|| CliError::Failed("the embedded backend has no change feed".into()))?;

    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))
        .await
        .map_err(|e| CliError::Failed(format!("cannot listen on 127.0.0.1:{port}: {e}")))?;
    let address = listener
        .local_addr()
        .map_err(|e| CliError::Failed(format!("cannot read the listening address: {e}")))?;
    let base_url = format!("http://{address}");
    let (credentials, seeding) = demo::ensure(&services.store, &data_dir, &base_url).await?;

    let read_timeout = config::read_timeout()?;
    let (trigger, shutdown) = shutdown::channel();
    let background = Background::start()
        .map_err(|e| CliError::Failed(format!("cannot start the background thread: {e}")))?;
    let outbox = functions::outbox()?;
    let export = functions::data_export(&config, &services, &base_url)?;
    let deliveries = functions::webhook_deliveries(&services);
    background.spawn(functions::resume_deliveries(
        services.store.clone(),
        deliveries.clone(),
    ));
    let feed = Feed::new(
        embedded.clone(),
        functions::stream_consumers(&services, &outbox, &export, &deliveries)?,
        FeedSettings::default(),
    );
    let feed = background.spawn(feed.run(shutdown.clone()));
    let timers = background.spawn(schedule::run_all(
        functions::schedules(&services, &config, &outbox)?,
        shutdown.clone(),
    ));
    let webhook = crate::config::webhook(&credentials)?;
    let app = routes::router(AppState {
        store: services.store.clone(),
        embedded: embedded.clone(),
        webhook: mizan_webhook_intake::Deps::new(&services, &config, &webhook)?,
        outbox,
        consent: functions::consent_api(&services, &config)?,
        export,
        read_timeout,
    });
    let signals = {
        let trigger = trigger.clone();
        tokio::spawn(async move {
            let signal = signals.recv().await;
            tracing::info!(signal, "shutting down");
            trigger.fire();
        })
    };

    print_banner(&banner(address, &data_dir, &credentials));
    if seeding == Seeding::Created {
        print_credentials(&credentials_text(&data_dir, &credentials));
    }
    tracing::info!(port = address.port(), "local runner listening");

    crate::http_server::serve(listener, app, read_timeout, shutdown.clone()).await;
    trigger.fire();
    signals.abort();
    let finished = tokio::time::timeout(STOP_GRACE, async {
        let _ = feed.await;
        let _ = timers.await;
    })
    .await;
    if finished.is_err() {
        tracing::warn!(
            grace_s = STOP_GRACE.as_secs(),
            "background work did not stop in time; exiting anyway"
        );
    }
    // Joins the background thread (its tasks are done, or given up on above) off the async threads.
    let _ = tokio::task::spawn_blocking(move || drop(background)).await;
    tracing::info!("stopped");
    Ok(())
}

/// The banner goes to stdout as plain text beside the JSON log lines, so it holds no secret:
/// the demo credentials are printed once, on first start, to the terminal (stderr), and are
/// in `demo.json` (mode 0600) after that.
fn print_banner(text: &str) {
    let mut out = std::io::stdout().lock();
    // A closed stdout must not stop the server.
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

fn print_credentials(text: &str) {
    let mut out = std::io::stderr().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

pub fn banner(address: SocketAddr, data_dir: &Path, demo: &DemoCredentials) -> String {
    let demo_file = demo::path(data_dir);
    format!(
        "\n\
         Mizan local runner: embedded backend, data in {data_dir}\n\
         listening on http://{address}\n\
         \n\
         Demo tenant {tenant_id}, WhatsApp phone number id {phone_number_id}: its API key, app\n\
         secret and verify token are in {demo_file} (mode 0600; shown on the terminal once, on\n\
         first start). KEY below stands for its api_key:\n\
         \x20 KEY=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[\"api_key\"])' {demo_file})\n\
         \n\
         Try it (from another terminal):\n\
         \x20 mizan-local --data-dir {data_dir} send \"Bonjour, vous êtes ouverts ?\"\n\
         \x20     (signs a WhatsApp text like Meta does and posts it to /webhooks/whatsapp;\n\
         \x20      with cargo: cargo run -p mizan-local -- --data-dir {data_dir} send \"...\")\n\
         \x20 curl http://{address}/local/health\n\
         \x20 curl http://{address}/local/outbox   (what ai-reply would have sent to WhatsApp)\n\
         \x20 curl -H \"Authorization: Bearer $KEY\" http://{address}/v1/settings\n\
         \x20 curl -H \"Authorization: Bearer $KEY\" -d '{{\"scope\":\"tenant\"}}' http://{address}/v1/exports\n\
         \x20     (a data export; GET /v1/exports/<id> with the same header gives its download_url)\n\
         \n\
         Routes: GET|POST /webhooks/whatsapp (webhook-intake), /v1/contacts/..., /v1/settings,\n\
         /v1/audit, /v1/api-keys (consent-api), /v1/exports, /exports/download (data-export),\n\
         GET /local/outbox (ai-reply's outbox), GET /local/health.\n\
         Stop with Ctrl-C; data stays in {data_dir}.\n\
         \n",
        data_dir = data_dir.display(),
        demo_file = demo_file.display(),
        tenant_id = demo.tenant_id,
        phone_number_id = demo.phone_number_id,
    )
}

/// The demo tenant's secrets, for the terminal on first start only.
pub fn credentials_text(data_dir: &Path, demo: &DemoCredentials) -> String {
    format!(
        "\n\
         Demo tenant seeded now; its credentials, shown this once (also in {demo_file}, mode 0600):\n\
         \x20 tenant_id        {tenant_id}\n\
         \x20 phone_number_id  {phone_number_id}\n\
         \x20 api_key          {api_key}\n\
         \x20 app_secret       {app_secret}\n\
         \x20 verify_token     {verify_token}\n\
         \n",
        demo_file = demo::path(data_dir).display(),
        tenant_id = demo.tenant_id,
        phone_number_id = demo.phone_number_id,
        api_key = demo.api_key,
        app_secret = demo.app_secret,
        verify_token = demo.verify_token,
    )
}
