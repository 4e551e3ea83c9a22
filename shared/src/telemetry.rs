//! Structured JSON logs through `tracing`, level from `RUST_LOG` (default `info`).
//! Personal data never reaches a log line: its types print redacted (see `domain::personal`).

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // A second init (tests, the local runner hosting several handlers) keeps the first.
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_target(false)
        .without_time()
        .try_init();
}
