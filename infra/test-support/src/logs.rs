//! Captures every log line a test binary writes, as the functions write them (JSON), so P10
//! tests can prove that no message text, phone number or name reaches the logs.

use std::sync::{Arc, Mutex, OnceLock};
use tracing_subscriber::layer::SubscriberExt;

/// Every log line this test binary writes, at every level (one global subscriber per binary).
#[derive(Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Everything captured so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer")).into_owned()
    }

    /// Panics naming the first of `secrets` found in the logs.
    pub fn assert_free_of(&self, secrets: &[&str]) {
        let text = self.text();
        for secret in secrets {
            assert!(!text.contains(secret), "the logs hold {secret:?}:\n{text}");
        }
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("log buffer poisoned"))?
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The logs of this test binary: installs the JSON subscriber on first use.
pub fn captured_logs() -> &'static CapturedLogs {
    static LOGS: OnceLock<CapturedLogs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = CapturedLogs::default();
        let writer = logs.clone();
        // Every level of every target, less what production's payload cap drops whatever
        // RUST_LOG says: the tests see what a deploy with RUST_LOG=trace would log.
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::filter::LevelFilter::TRACE)
            .with(mizan_shared::telemetry::payload_cap())
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(move || writer.clone()),
            );
        tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
        logs
    })
}
