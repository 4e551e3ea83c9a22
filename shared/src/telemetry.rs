//! Structured JSON logs through `tracing`, level from `RUST_LOG` (default `info`).
//! Personal data never reaches a log line: its types print redacted (see `domain::personal`),
//! and the libraries that log whole payloads are capped at INFO whatever `RUST_LOG` says.

use tracing::{Level, Metadata};
use tracing_subscriber::filter::{filter_fn, FilterFn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// Libraries whose DEBUG and TRACE events carry whole payloads: lambda_runtime logs every
/// invocation's event (a webhook body with message text and phone numbers) at TRACE, and the
/// HTTP stacks log request and response details. P10 must not depend on `RUST_LOG`.
pub const PAYLOAD_TARGETS: [&str; 7] = [
    "lambda_runtime",
    "lambda_runtime_api_client",
    "lambda_http",
    "hyper",
    "hyper_util",
    "h2",
    "reqwest",
];

/// Whether an event or span may be logged at all: anything from our code at the level the
/// filter allows, the payload libraries at INFO and above only.
pub fn may_log(metadata: &Metadata<'_>) -> bool {
    if *metadata.level() <= Level::INFO {
        return true;
    }
    let target = metadata.target();
    !PAYLOAD_TARGETS.iter().any(|library| {
        target
            .strip_prefix(library)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    })
}

/// The cap as a layer, for every subscriber Mizan installs (and the tests' log capture).
pub fn payload_cap() -> FilterFn<fn(&Metadata<'_>) -> bool> {
    filter_fn(may_log as fn(&Metadata<'_>) -> bool)
}

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // A second init (tests, the local runner hosting several handlers) keeps the first.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(payload_cap())
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(false)
                .with_target(false)
                .without_time(),
        )
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::payload_cap;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::layer::SubscriberExt;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lambda_payloads_stay_out_of_the_logs_even_at_trace() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::EnvFilter::new("trace"))
            .with(payload_cap())
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(move || writer.clone()),
            );
        tracing::subscriber::with_default(subscriber, || {
            // Stand-ins for a whole event body: any of them in the output is a leak.
            tracing::trace!(target: "lambda_runtime::layers::api_response", body = "EVENT-BODY-1", "sending invocation");
            tracing::debug!(target: "lambda_http", body = "EVENT-BODY-2", "request");
            tracing::trace!(target: "reqwest::connect", body = "EVENT-BODY-3", "body");
            tracing::info!(target: "lambda_runtime", "runtime started");
            tracing::trace!(target: "mizan_shared::workflows::intake", "our own trace");
            tracing::trace!(target: "lambda_runtimes_look_alike", "not a capped library");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        for payload in ["EVENT-BODY-1", "EVENT-BODY-2", "EVENT-BODY-3"] {
            assert!(!text.contains(payload), "{payload} logged:\n{text}");
        }
        for kept in ["runtime started", "our own trace", "not a capped library"] {
            assert!(text.contains(kept), "{kept} missing:\n{text}");
        }
    }
}
