//! One module per technology, each implementing ports. Nothing else imports an SDK.

pub mod dynamodb;
pub mod embedded;
pub mod kms;
pub mod local_archives;
pub mod local_vault;
pub mod s3_archives;
