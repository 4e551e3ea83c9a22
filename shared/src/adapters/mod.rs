//! One module per technology, each implementing ports. Nothing else imports an SDK.

pub mod aws_errors;
pub mod backoff;
pub mod counted_messenger;
pub mod dynamodb;
pub mod embedded;
pub mod faq;
pub mod graph;
pub mod graph_templates;
pub mod in_process_delivery_queue;
pub mod in_process_pace_ledger;
pub mod kms;
pub mod lambda_sdk_config;
pub mod lazy_http;
pub mod local_archives;
pub mod local_templates;
pub mod local_vault;
pub mod openai;
pub mod outbox;
pub mod refusing_archives;
pub mod s3_archives;
pub mod secrets_manager;
pub mod sqs_queues;
pub mod table_pace_ledger;
pub mod webhook_http;
