//! Encryption of personal data at rest.

pub mod envelope;
pub mod sealed;
