//! Why a webhook body is not a WhatsApp delivery at all. Anything smaller (one odd message, an
//! unknown field) is not an error: it is kept as `DeliveryItem::Other`.

/// Never worth retrying: the same bytes fail the same way. Messages name no body content, so they
/// are safe to log.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    #[error("not a WhatsApp Business Account delivery: {0}")]
    NotWhatsApp(String),
    /// The envelope (`entry[]`, `changes[]`, `field`) is broken, so nothing inside can be placed.
    #[error("invalid delivery at {path}: {reason}")]
    Invalid { path: String, reason: String },
}
