//! Pure types and rules: no I/O, no async.

pub mod account_details;
pub mod analytics;
pub mod api_key;
pub mod audit;
pub mod billing;
pub mod business_event;
pub mod campaign;
pub mod consent;
pub mod contact;
pub mod contact_change;
pub mod contact_search;
pub mod download_token;
pub mod export;
pub mod identity_hash;
pub mod ids;
pub mod keywords;
pub mod message;
pub mod outbound;
pub mod personal;
pub mod phone_country;
pub mod record_of_processing;
pub mod redaction;
pub mod reply;
pub mod retention;
pub mod rights_keywords;
pub mod rights_request;
pub mod rights_wording;
pub mod signature;
pub mod template;
pub mod tenant;
pub mod time;
pub mod webhook;
pub mod webhook_signature;
pub mod whatsapp;

// Business API requests (consent-api).
pub mod contact_reference;
pub mod rectification;
pub mod send_request;
pub mod settings_patch;
