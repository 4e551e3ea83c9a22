//! What the test suites and benches of every crate share: one harness. A dev-dependency only:
//! nothing here reaches a Lambda binary.
//!
//! - `store`: the same `Store` on the embedded backend or DynamoDB Local, on a manual clock,
//!   and `on_both_backends!` (the storage contract suite and every storage-facing test).
//! - `system`: the embedded system as the runner wires it, with the change feed read as
//!   DynamoDB Streams events (the function suites build their `Deps` over it).
//! - `seed`: tenants, API keys, contacts and messages as the system writes them; `events`:
//!   the sample events the handler suites are driven by.
//! - `fakes`: Meta's Graph API and an OpenAI-compatible server as local HTTP servers;
//!   `receiver`: a business's webhook endpoint that records and verifies deliveries.
//! - `bench`: the percentiles the latency benches print; `counting`: a record store that
//!   counts its reads and index queries (the purge's cost).
//! - `aws_emulators`: clients of DynamoDB Local and moto, each with an optional call recorder.
//! - `logs` (P10 log capture), `aws_calls` and `iam_policy` (the IAM contract test).
//! - `runtime_api` and `lambda_binary`: a function's real binary started as Lambda starts it,
//!   against a Runtime API of our own.
//! - `browser`: a real headless Chromium (WebDriver) for pages a person looks at.

pub mod aws_calls;
pub mod aws_emulators;
pub mod bench;
pub mod browser;
pub mod counting;
pub mod events;
pub mod fakes;
pub mod iam_policy;
pub mod lambda_binary;
pub mod logs;
pub mod receiver;
pub mod runtime_api;
pub mod seed;
pub mod store;
pub mod system;
