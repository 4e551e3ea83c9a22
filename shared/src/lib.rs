//! Mizan's shared crate, in layers; each uses only the ones below it.
//!
//! - `domain`: types and rules, no I/O (consent, retention, reply planning, redaction, …).
//! - `ports`: the traits the rules need from the world (records, keys, archives, clock, …);
//!   `crypto`: envelope encryption over the key port.
//! - `store`: the typed store over the record port, where storage rules live (idempotent
//!   writes, sealing, retention filing).
//! - `workflows`: the use cases (intake, erasure, export, purge) over the store and ports.
//! - `adapters`: one module per technology implementing the ports (DynamoDB, S3, KMS, Graph,
//!   OpenAI-compatible chat, and the embedded equivalents); `backend` connects them.
//! - At the edges: `config` (every environment variable), `startup` (the one way a function
//!   is wired, and what stops it from starting), `http_api` (API requests and error answers),
//!   `stream_batch` (stream records), `telemetry` (logs).

pub mod domain;
pub mod ports;

pub mod crypto;
pub mod store;

pub mod workflows;

pub mod adapters;
pub mod backend;

pub mod config;
pub mod http_api;
pub mod queue_batch;
pub mod startup;
pub mod stream_batch;
pub mod telemetry;
