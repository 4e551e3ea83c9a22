//! Structured JSON logs through `tracing`, level from `RUST_LOG` (default `info`).
//! Personal data never reaches a log line: its types print redacted (see `domain::personal`),
//! and the libraries that log whole payloads are capped at INFO whatever `RUST_LOG` says.

use tracing::{Level, Metadata};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::filter::{filter_fn, FilterFn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

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

/// The level filter `RUST_LOG` names (`info`, `warn,mizan_shared=debug`, …; default `info`).
/// `Targets` rather than `EnvFilter`: the same syntax without span filters, and no regex
/// engine in every binary.
pub fn level_filter(rust_log: Option<&str>) -> Targets {
    let targets: Targets = rust_log
        .and_then(|value| value.parse().ok())
        .unwrap_or_default();
    // Without a default level (`mizan_shared=debug`, or a typo read as a target) everything
    // else would be silent: it stays at INFO.
    match targets.default_level() {
        Some(_) => targets,
        None => targets.with_default(Level::INFO),
    }
}

pub fn init() {
    let filter = level_filter(std::env::var("RUST_LOG").ok().as_deref());
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
    fn rust_log_names_the_level_and_per_target_levels() {
        use tracing::level_filters::LevelFilter;
        assert_eq!(
            super::level_filter(None).default_level(),
            Some(LevelFilter::INFO)
        );
        assert_eq!(
            super::level_filter(Some("mizan_shared=debug")).default_level(),
            Some(LevelFilter::INFO),
            "a RUST_LOG naming no default level leaves the rest at INFO"
        );
        let filter = super::level_filter(Some("warn,mizan_shared=debug"));
        assert!(filter.would_enable("mizan_shared::store", &tracing::Level::DEBUG));
        assert!(!filter.would_enable("hyper", &tracing::Level::INFO));
    }

    #[test]
    fn lambda_payloads_stay_out_of_the_logs_even_at_trace() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::registry()
            .with(super::level_filter(Some("trace")))
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
