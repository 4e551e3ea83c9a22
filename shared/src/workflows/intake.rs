//! What a verified webhook delivery does to the data: every message, status, preference and error
//! of every entry and change, each stored once however often Meta delivers it (DESIGN §3, §7).

use crate::domain::consent::{ConsentAction, ConsentEvent};
use crate::domain::contact::{Contact, ContactProfile};
use crate::domain::ids::{PhoneNumberId, TenantId};
use crate::domain::keywords;
use crate::domain::message::{Message, MessageContent};
use crate::domain::phone_country::calling_code;
use crate::domain::template::{TemplateRef, TemplateUpdate, APPROVED};
use crate::domain::tenant::Tenant;
use crate::domain::time::Timestamp;
use crate::domain::whatsapp::{
    Delivery, DeliveryItem, InboundMessage, PreferenceChange, StatusReport,
};
use crate::store::{
    DataError, PutOutcome, SenderOutcome, StatusFields, StatusOutcome, Store, TemplateUpdateOutcome,
};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

/// Counts of what one delivery did; logged per delivery (no personal data) and returned.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct IntakeReport {
    pub messages_stored: u32,
    pub duplicates: u32,
    /// Stored, but too late after sending to be answered automatically.
    pub late: u32,
    pub consent_recorded: u32,
    pub statuses_applied: u32,
    pub statuses_pending: u32,
    pub statuses_stale: u32,
    /// Items for a phone number id no tenant owns: acknowledged, counted and kept sealed in the
    /// quarantine (also counted in `kept_raw`) until the number is attached and they are replayed.
    pub unrouted: u32,
    /// Webhook-level errors Meta reported (logged with their codes).
    pub errors_reported: u32,
    /// Parts Mizan does not model, kept sealed and expiring.
    pub kept_raw: u32,
    /// Template status, category and quality changes applied to a tenant's registry.
    pub templates_updated: u32,
    /// Template changes older than what the registry holds (or repeats).
    pub templates_stale: u32,
    /// Campaigns paused because Meta stopped their template.
    pub campaigns_paused: u32,
    /// Messages and preferences sent before their sender's contact was erased (Meta's
    /// redeliveries, replays): acknowledged, not stored.
    pub dropped_after_erasure: u32,
    /// Items for a closed account: acknowledged and counted, nothing of them stored.
    pub account_closed: u32,
}

/// Applies every item of `delivery`. Stops at the first storage failure so the caller can answer
/// 5xx and Meta retries the whole delivery; what was stored before is idempotent on the retry.
pub async fn ingest(store: &Store, delivery: &Delivery) -> Result<IntakeReport, DataError> {
    let mut report = IntakeReport::default();
    let mut tenants: HashMap<PhoneNumberId, Option<Arc<Tenant>>> = HashMap::new();
    for item in &delivery.items {
        let tenant = match item.phone_number_id() {
            Some(phone) => {
                if !tenants.contains_key(phone) {
                    let found = store.tenant_by_phone_number(phone).await?;
                    tenants.insert(phone.clone(), found);
                }
                tenants.get(phone).cloned().flatten()
            }
            None => None,
        };
        // A closed account stores nothing more: Meta's deliveries are acknowledged and counted.
        if let (Some(closed), false) = (&tenant, item_is_error(item)) {
            if !closed.is_active() {
                report.account_closed += 1;
                tracing::info!(
                    tenant = %closed.id,
                    metric = "delivery_item_for_closed_account",
                    "delivery item for a closed account: acknowledged, not stored"
                );
                continue;
            }
        }
        match (item, tenant) {
            (DeliveryItem::Error(error), tenant) => {
                report.errors_reported += 1;
                tracing::warn!(
                    code = error.code,
                    title = %error.title,
                    tenant = tenant.as_ref().map(|t| t.id.as_str()),
                    "webhook reported an error"
                );
            }
            (DeliveryItem::Other(other), tenant) => {
                let raw = serde_json::to_vec(other.raw.expose()).map_err(|e| {
                    DataError::Invalid(format!("raw change does not serialize: {e}"))
                })?;
                let owner = tenant.as_ref().map(|t| &t.id);
                store
                    .keep_raw(owner, &format!("unmodeled:{}", other.field), &raw)
                    .await?;
                report.kept_raw += 1;
            }
            (DeliveryItem::Template(update), _) => {
                ingest_template_update(store, update, &mut report).await?
            }
            (item, None) => {
                report.unrouted += 1;
                if let Some(phone) = item.phone_number_id() {
                    store.keep_unrouted(phone, item).await?;
                    report.kept_raw += 1;
                }
                tracing::warn!(
                    metric = "unrouted_delivery_item",
                    phone_number_id = item.phone_number_id().map(PhoneNumberId::as_str),
                    "delivery item for a phone number no tenant owns: kept sealed for 14 days \
                     until the number is attached and its deliveries replayed"
                );
            }
            (DeliveryItem::Message(message), Some(tenant)) => {
                ingest_message(store, &tenant, message, &mut report).await?
            }
            (DeliveryItem::Status(status), Some(tenant)) => {
                ingest_status(store, &tenant.id, status, &mut report).await?
            }
            (DeliveryItem::Preference(change), Some(tenant)) => {
                ingest_preference(store, &tenant.id, change, &mut report).await?
            }
        }
    }
    Ok(report)
}

fn item_is_error(item: &DeliveryItem) -> bool {
    matches!(item, DeliveryItem::Error(_))
}

/// A template webhook, applied to the registry of the tenant its business account belongs to;
/// for an account no tenant names yet it is kept raw (nothing lost).
async fn ingest_template_update(
    store: &Store,
    update: &TemplateUpdate,
    report: &mut IntakeReport,
) -> Result<(), DataError> {
    let found = store.tenant_by_business_account(&update.account).await?;
    if let Some(closed) = found.as_ref().filter(|t| !t.is_active()) {
        report.account_closed += 1;
        tracing::info!(tenant = %closed.id, "template webhook for a closed account: not applied");
        return Ok(());
    }
    let Some(tenant) = found else {
        let raw = serde_json::to_vec(update)
            .map_err(|e| DataError::Invalid(format!("template update does not serialize: {e}")))?;
        store
            .keep_raw(None, "unrouted:template_update", &raw)
            .await?;
        report.kept_raw += 1;
        tracing::warn!(
            metric = "unrouted_template_update",
            business_account = update.account.as_str(),
            "template webhook for a business account no tenant names: kept raw"
        );
        return Ok(());
    };
    match store.apply_template_update(&tenant.id, update).await? {
        TemplateUpdateOutcome::Applied(change) => {
            report.templates_updated += 1;
            // A template Meta stopped (paused, disabled, rejected) stops its campaigns now.
            if let Some((_, status)) = change.status.filter(|(_, s)| s != APPROVED) {
                let reference = TemplateRef {
                    name: update.name.clone(),
                    language: update.language.clone(),
                };
                let reason = format!("Meta set the template {}", status.to_lowercase());
                report.campaigns_paused += crate::workflows::campaigns::pause_using(
                    store, &tenant.id, &reference, &reason,
                )
                .await?;
            }
        }
        TemplateUpdateOutcome::Stale => report.templates_stale += 1,
    }
    Ok(())
}

/// How long a delivery from a contact whose erasure is under way is answered 5xx (Meta retries
/// it, and it starts a new contact once the erasure is done) before it is quarantined instead.
pub const ERASURE_RETRY_WINDOW: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// What replaying a number's kept deliveries did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReplayReport {
    /// Items applied to the tenant that now owns the number (and removed from the quarantine).
    pub replayed: u32,
    /// Items still for no tenant: the number is not attached yet; they stay kept.
    pub still_unrouted: u32,
    /// What the replayed items did, as for a delivery.
    pub intake: IntakeReport,
}

/// Applies the items kept for `phone` while no tenant owned it, oldest first, as if Meta had
/// delivered them now; each is removed from the quarantine once applied. Safe to run twice:
/// what was applied is idempotent, as for a redelivery.
pub async fn replay_unrouted(
    store: &Store,
    phone: &PhoneNumberId,
) -> Result<ReplayReport, DataError> {
    let mut report = ReplayReport::default();
    if store.tenant_by_phone_number(phone).await?.is_none() {
        report.still_unrouted =
            u32::try_from(store.unrouted_items(phone).await?.len()).unwrap_or(u32::MAX);
        return Ok(report);
    }
    for kept in store.unrouted_items(phone).await? {
        let delivery = Delivery {
            items: vec![kept.item],
        };
        let applied = ingest(store, &delivery).await?;
        store.forget_raw(&kept.key).await?;
        report.replayed += 1;
        merge(&mut report.intake, &applied);
    }
    Ok(report)
}

fn merge(total: &mut IntakeReport, one: &IntakeReport) {
    total.messages_stored += one.messages_stored;
    total.duplicates += one.duplicates;
    total.late += one.late;
    total.consent_recorded += one.consent_recorded;
    total.statuses_applied += one.statuses_applied;
    total.statuses_pending += one.statuses_pending;
    total.statuses_stale += one.statuses_stale;
    total.unrouted += one.unrouted;
    total.errors_reported += one.errors_reported;
    total.kept_raw += one.kept_raw;
    total.dropped_after_erasure += one.dropped_after_erasure;
    total.templates_updated += one.templates_updated;
    total.templates_stale += one.templates_stale;
    total.campaigns_paused += one.campaigns_paused;
}

/// The contact that sent `item` at `sent_at`, found or created; `None` when the item is not to
/// be stored for a contact (counted in `report`):
/// - its sender was erased after it was sent (a redelivery or a replay of what the erasure
///   removed): acknowledged and dropped;
/// - its sender's erasure is held up past `ERASURE_RETRY_WINDOW` (a legal hold, a failing
///   dependency): kept sealed in the quarantine, so Meta does not retry for days.
///
/// An erasure under way for less than that is `BeingErased`, retryable: Meta delivers the item
/// again once the erasure is done, and it then starts a new contact.
async fn sender(
    store: &Store,
    tenant: &TenantId,
    profile: &ContactProfile,
    sent_at: Timestamp,
    item: impl FnOnce() -> DeliveryItem,
    report: &mut IntakeReport,
) -> Result<Option<Contact>, DataError> {
    match store.upsert_sender(tenant, profile, sent_at).await {
        Ok(SenderOutcome::Contact(upsert)) => Ok(Some(upsert.contact.value)),
        Ok(SenderOutcome::ErasedAfterSending { .. }) => {
            tracing::info!(
                tenant = %tenant,
                metric = "dropped_after_erasure",
                "delivery item sent before its sender was erased: acknowledged, not stored"
            );
            report.dropped_after_erasure += 1;
            Ok(None)
        }
        Err(DataError::BeingErased { since })
            if store.now().since(since) > ERASURE_RETRY_WINDOW =>
        {
            let raw = serde_json::to_vec(&item()).map_err(|e| {
                DataError::Invalid(format!("delivery item does not serialize: {e}"))
            })?;
            store.keep_raw(Some(tenant), "being_erased", &raw).await?;
            report.kept_raw += 1;
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The consent decision a message's text carries, if it is only a keyword.
fn keyword_decision(message: &InboundMessage, stored: &Message) -> Option<ConsentEvent> {
    let text = message.keyword_text.as_ref()?;
    ConsentEvent::from_keyword(keywords::classify(text.expose())?.keyword, stored)
}

async fn ingest_message(
    store: &Store,
    tenant: &Tenant,
    message: &InboundMessage,
    report: &mut IntakeReport,
) -> Result<(), DataError> {
    let item = || DeliveryItem::Message(message.clone());
    let Some(contact) = sender(
        store,
        &tenant.id,
        &message.sender,
        message.sent_at,
        item,
        report,
    )
    .await?
    else {
        return Ok(());
    };
    if let Some(change) = &message.identity_change {
        store
            .link_identity(&tenant.id, &contact.id, &change.new)
            .await?;
    }
    let stored = Message::inbound(
        tenant.id.clone(),
        contact.id.clone(),
        store.message_id(&tenant.id, &message.wamid),
        message.wamid.clone(),
        message.kind,
        MessageContent(message.content.clone()),
        message.sent_at,
    )
    .received_at(store.now());
    let consent = keyword_decision(message, &stored);
    let outcome = store.ingest_message(&stored, consent.as_ref()).await?;
    match outcome {
        PutOutcome::Stored => {
            report.messages_stored += 1;
            report.late += u32::from(stored.late);
            report.consent_recorded += u32::from(consent.is_some());
        }
        PutOutcome::Duplicate => report.duplicates += 1,
    }
    Ok(())
}

async fn ingest_status(
    store: &Store,
    tenant: &TenantId,
    status: &StatusReport,
    report: &mut IntakeReport,
) -> Result<(), DataError> {
    let mut contact = None;
    for (kind, value) in status.recipient.identifiers() {
        if let Some(found) = store.find_contact(tenant, kind, value).await? {
            contact = Some(found.value.id);
            break;
        }
    }
    let report_fields = StatusFields {
        status: status.status,
        at: status.at,
        errors: status.errors.clone(),
        billing: billing_of(
            status.raw.expose(),
            status
                .recipient
                .wa_id
                .as_ref()
                .and_then(|w| calling_code(w.expose())),
        ),
    };
    let outcome = store
        .record_status(tenant, contact.as_ref(), &status.wamid, report_fields)
        .await?;
    // The person stopped marketing messages in WhatsApp (131050): that is their decision too.
    if let Some(contact) = &contact {
        let message = store.message_id(tenant, &status.wamid);
        let decisions = status.errors.iter().filter_map(|e| {
            ConsentEvent::from_delivery_error(
                tenant.clone(),
                contact.clone(),
                &message,
                e.code,
                status.at,
            )
        });
        for event in decisions {
            // Recorded once however often Meta delivers the status (keyed by its time and
            // evidence); counted the first time the status is applied.
            store.record_consent(&event, None).await?;
            report.consent_recorded += u32::from(matches!(outcome, StatusOutcome::Advanced(_)));
        }
    }
    match outcome {
        StatusOutcome::Advanced(_) => report.statuses_applied += 1,
        StatusOutcome::Unchanged(_) => report.statuses_stale += 1,
        StatusOutcome::Pending | StatusOutcome::UnknownMessage => report.statuses_pending += 1,
    }
    Ok(())
}

/// The pricing and conversation Meta reports with a status: what the message cost and in which
/// conversation window, and the recipient's country calling code (what prices depend on). No
/// personal data.
fn billing_of(raw: &serde_json::Value, country_code: Option<&str>) -> Option<serde_json::Value> {
    let mut billing = serde_json::Map::new();
    for field in ["pricing", "conversation"] {
        if let Some(value) = raw.get(field) {
            billing.insert(field.to_owned(), value.clone());
        }
    }
    if billing.contains_key("pricing") {
        if let Some(code) = country_code {
            billing.insert("country_code".to_owned(), serde_json::json!(code));
        }
    }
    (!billing.is_empty()).then_some(serde_json::Value::Object(billing))
}

async fn ingest_preference(
    store: &Store,
    tenant: &TenantId,
    change: &PreferenceChange,
    report: &mut IntakeReport,
) -> Result<(), DataError> {
    let Some(action) = ConsentAction::for_preference(&change.value) else {
        let raw = serde_json::to_vec(change.raw.expose())
            .map_err(|e| DataError::Invalid(format!("preference does not serialize: {e}")))?;
        store
            .keep_raw(Some(tenant), "unmodeled:user_preferences", &raw)
            .await?;
        report.kept_raw += 1;
        return Ok(());
    };
    let item = || DeliveryItem::Preference(change.clone());
    let Some(contact) = sender(store, tenant, &change.user, change.at, item, report).await? else {
        return Ok(());
    };
    let event = ConsentEvent::from_preference(tenant.clone(), contact.id, change, action);
    store.record_consent(&event, None).await?;
    report.consent_recorded += 1;
    Ok(())
}
