//! Mizan's shared crate: domain rules, ports, and the adapters that implement them.

pub mod adapters;
pub mod backend;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod erasure;
pub mod export;
pub mod http_api;
pub mod intake;
pub mod ports;
pub mod purge;
pub mod startup;
pub mod store;
pub mod stream_batch;
pub mod telemetry;
