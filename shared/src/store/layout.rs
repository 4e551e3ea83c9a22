//! The single-table layout: every entity's partition and sort key, in one place.
//!
//! Contacts own a partition each (`T#{tenant}#C#{contact}`), so one busy WhatsApp number spreads
//! its writes over as many partitions as it has customers. Point lookups (phone number id, API key
//! hash, identity alias) get their own partitions; nothing is keyed by personal data in plaintext.

use crate::domain::api_key::ApiKeyHash;
use crate::domain::identity_hash::IdentityHash;
use crate::domain::ids::{
    ApiKeyId, AuditId, CampaignId, ContactId, ExportId, MessageId, PhoneNumberId, RightsRequestId,
    TenantId, WabaId,
};
use crate::domain::retention::{retention_shard, Category, RETENTION_SHARDS};
use crate::domain::template::{LanguageCode, TemplateName};
use crate::domain::time::Timestamp;
use crate::domain::webhook::EndpointId;
use crate::ports::records::{Key, RetentionEntry};

pub mod kind {
    pub const TENANT: &str = "tenant";
    pub const TENANT_ENTRY: &str = "tenant_entry";
    pub const PHONE_NUMBER: &str = "phone_number";
    pub const API_KEY: &str = "api_key";
    pub const API_KEY_LOOKUP: &str = "api_key_lookup";
    pub const CONTACT: &str = "contact";
    pub const ALIAS: &str = "alias";
    pub const SUPPRESSION: &str = "suppression";
    pub const ERASURE_TOMBSTONE: &str = "erasure_tombstone";
    pub const MESSAGE_IN: &str = "message_in";
    pub const MESSAGE_OUT: &str = "message_out";
    pub const CONSENT: &str = "consent";
    pub const PENDING_STATUS: &str = "pending_status";
    pub const RAW_PAYLOAD: &str = "raw_payload";
    pub const RAW_DAY_KEY: &str = "raw_day_key";
    pub const PURGE_CURSOR: &str = "purge_cursor";
    pub const EXPORT_JOB: &str = "export_job";
    pub const AUDIT: &str = "audit";
    pub const LEGAL_HOLD: &str = "legal_hold";
    pub const RETAINED_CATEGORY: &str = "retained_category";
    pub const RETENTION_SWEPT: &str = "retention_swept";
    pub const TEMPLATE: &str = "template";
    pub const BUSINESS_ACCOUNT: &str = "business_account";
    pub const RIGHTS_REQUEST: &str = "rights_request";
    pub const PENDING_ERASURE: &str = "pending_erasure";
    pub const CHAT_EXPORT: &str = "chat_export";
    pub const EXPORT_NOTICE: &str = "export_notice";
    pub const WEBHOOK_ENDPOINT: &str = "webhook_endpoint";
    pub const WEBHOOK_DELIVERY: &str = "webhook_delivery";
    pub const WEBHOOK_DELIVERY_REF: &str = "webhook_delivery_ref";
    pub const CONTACT_LISTING: &str = "contact_listing";
    pub const ACCOUNT_DETAILS: &str = "account_details";
    pub const BILLING_STATEMENT: &str = "billing_statement";
}

pub const MESSAGE_PREFIX: &str = "MSG#";
pub const CONSENT_PREFIX: &str = "CONSENT#";
pub const API_KEY_PREFIX: &str = "KEY#";

pub fn tenant(tenant: &TenantId) -> Key {
    Key::new(format!("T#{tenant}"), "TENANT")
}

/// Where the retention purge's next run starts.
pub fn purge_cursor() -> Key {
    Key::new("PURGE", "CURSOR")
}

/// The directory of tenants: how the purge finds every tenant without scanning the table.
pub const TENANT_DIRECTORY: &str = "TENANTS";

pub fn tenant_directory_entry(tenant: &TenantId) -> Key {
    Key::new(TENANT_DIRECTORY, tenant.as_str())
}

/// The contact whose partition holds `key`, if any.
pub fn contact_of(tenant: &TenantId, key: &Key) -> Option<ContactId> {
    let prefix = format!("T#{tenant}#C#");
    key.pk
        .strip_prefix(&prefix)
        .and_then(|id| ContactId::parse(id).ok())
}

pub const ANALYTICS_COUNTER_KIND: &str = "analytics_counter";
pub const ANALYTICS_MARK_KIND: &str = "analytics_mark";

/// A tenant's usage counters: one partition, sorted by day.
pub fn analytics_partition(tenant: &TenantId) -> String {
    format!("T#{tenant}#AN")
}

/// One shard of a tenant's day of counters (`day` is `YYYY-MM-DD`).
pub fn analytics_counter(tenant: &TenantId, day: &str, shard: u64) -> Key {
    Key::new(analytics_partition(tenant), format!("{day}#{shard:02}"))
}

/// The mark that a change of the tenant (by its stream event id) was counted.
pub fn analytics_mark(tenant: &TenantId, event_id: &str) -> Key {
    Key::new(format!("AM#{tenant}#{event_id}"), "M")
}

/// A tenant's monthly usage statements, by month.
pub fn billing_partition(tenant: &TenantId) -> String {
    format!("T#{tenant}#BILL")
}

pub fn billing_statement(tenant: &TenantId, month: &str) -> Key {
    Key::new(billing_partition(tenant), month)
}

/// The business's own details (sealed under the account's key).
pub fn account_details(tenant: &TenantId) -> Key {
    Key::new(format!("T#{tenant}"), "ACCOUNT")
}

pub fn api_key_listing(tenant: &TenantId, key: &ApiKeyId) -> Key {
    Key::new(format!("T#{tenant}"), format!("{API_KEY_PREFIX}{key}"))
}

pub fn tenant_partition(tenant: &TenantId) -> String {
    format!("T#{tenant}")
}

/// A tenant's message templates.
pub fn template_partition(tenant: &TenantId) -> String {
    format!("T#{tenant}#TPL")
}

pub fn template(tenant: &TenantId, name: &TemplateName, language: &LanguageCode) -> Key {
    Key::new(template_partition(tenant), format!("{name}#{language}"))
}

/// Which tenant a WhatsApp Business Account (the owner of templates) belongs to.
pub fn business_account(account: &WabaId) -> Key {
    Key::new(format!("WABA#{account}"), "WABA")
}

pub fn phone_number(phone: &PhoneNumberId) -> Key {
    Key::new(format!("PHONE#{phone}"), "PHONE")
}

pub fn api_key_lookup(hash: &ApiKeyHash) -> Key {
    Key::new(format!("APIKEY#{}", hash.as_str()), "APIKEY")
}

pub fn contact_partition(tenant: &TenantId, contact: &ContactId) -> String {
    format!("T#{tenant}#C#{contact}")
}

pub fn contact(tenant: &TenantId, contact: &ContactId) -> Key {
    Key::new(contact_partition(tenant, contact), "PROFILE")
}

/// The tenant's contact list, newest activity last: one entry per contact, keyed by when it
/// last wrote (to the hour), so a page of the list is a range read.
pub fn contact_list_partition(tenant: &TenantId) -> String {
    format!("T#{tenant}#CL")
}

pub fn contact_listing(tenant: &TenantId, last_seen: Timestamp, contact: &ContactId) -> Key {
    Key::new(
        contact_list_partition(tenant),
        format!("{:013}#{contact}", last_seen.as_millis().max(0)),
    )
}

pub fn alias(tenant: &TenantId, hash: &IdentityHash) -> Key {
    Key::new(format!("T#{tenant}#A#{hash}"), "ALIAS")
}

pub fn suppression(tenant: &TenantId, hash: &IdentityHash) -> Key {
    Key::new(format!("T#{tenant}#S#{hash}"), "SUPPRESSED")
}

/// When the contact an identifier belonged to was erased (for the redelivery window only).
pub fn erasure_tombstone(tenant: &TenantId, hash: &IdentityHash) -> Key {
    Key::new(format!("T#{tenant}#E#{hash}"), "ERASED")
}

pub fn message(tenant: &TenantId, contact: &ContactId, id: &MessageId) -> Key {
    Key::new(
        contact_partition(tenant, contact),
        format!("{MESSAGE_PREFIX}{}", id.as_str()),
    )
}

/// Status reports that arrived before their message, by message id hash.
pub fn pending_status_partition(tenant: &TenantId, id: &MessageId) -> String {
    format!("T#{tenant}#W#{id}")
}

pub fn pending_status(tenant: &TenantId, id: &MessageId, rank: i64) -> Key {
    Key::new(
        pending_status_partition(tenant, id),
        format!("STATUS#{rank:03}"),
    )
}

/// Raw payloads kept for inspection, one partition per owner and day.
/// The day key's marker in a day of kept payloads: due when the day's last payload is, so the
/// purge destroys the day's data key (crypto-shredding what backups still hold).
pub fn raw_day_key(owner: &TenantId, day: &str) -> Key {
    Key::new(format!("RAW#{owner}#{day}"), RAW_DAY_KEY_SK)
}

pub const RAW_DAY_KEY_SK: &str = "DAYKEY";

/// The owner and day a raw day-key marker names.
pub fn raw_day_of(key: &Key) -> Option<(TenantId, String)> {
    if key.sk != RAW_DAY_KEY_SK {
        return None;
    }
    let (owner, day) = key.pk.strip_prefix("RAW#")?.rsplit_once('#')?;
    Some((TenantId::new(owner), day.to_owned()))
}

pub fn raw_payload(owner: &TenantId, day: &str, at: Timestamp, id: &str) -> Key {
    Key::new(
        format!("RAW#{owner}#{day}"),
        format!("{:013}#{id}", at.as_millis().max(0)),
    )
}

/// Consent events sort by time; the evidence hash makes a replayed decision land on the same key.
pub fn consent(tenant: &TenantId, contact: &ContactId, at: Timestamp, evidence: &str) -> Key {
    Key::new(
        contact_partition(tenant, contact),
        format!(
            "{CONSENT_PREFIX}{:013}#{}",
            at.as_millis().max(0),
            evidence_key(evidence)
        ),
    )
}

/// Evidence ids go into keys hashed, since they may be message ids.
fn evidence_key(evidence: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(evidence.as_bytes())[..8])
}

/// Contacts under legal hold, one partition per tenant: the purge reads it once per run.
pub fn legal_holds_partition(tenant: &TenantId) -> String {
    format!("T#{tenant}#HOLDS")
}

pub fn legal_hold(tenant: &TenantId, contact: &ContactId) -> Key {
    Key::new(legal_holds_partition(tenant), contact.as_str())
}

pub fn exports_partition(tenant: &TenantId) -> String {
    format!("T#{tenant}#EXPORTS")
}

pub fn export(tenant: &TenantId, id: &ExportId) -> Key {
    Key::new(exports_partition(tenant), id.as_str())
}

/// A tenant's rights requests, sorted by id (ids sort by arrival).
pub fn rights_partition(tenant: &TenantId) -> String {
    format!("T#{tenant}#RIGHTS")
}

pub fn rights_request(tenant: &TenantId, id: &RightsRequestId) -> Key {
    Key::new(rights_partition(tenant), id.as_str())
}

/// A deletion asked in the chat, waiting for its code: the contact's, erased with it.
pub fn pending_erasure(tenant: &TenantId, contact: &ContactId) -> Key {
    Key::new(contact_partition(tenant, contact), "RIGHTS#ERASURE")
}

/// The export the contact last asked for in the chat: the contact's, erased with it.
pub fn chat_export(tenant: &TenantId, contact: &ContactId) -> Key {
    Key::new(contact_partition(tenant, contact), "RIGHTS#EXPORT")
}

/// An export asked for in the chat is built (or failed): ai-reply sends the link from its stream.
pub fn export_notice(tenant: &TenantId, export: &ExportId) -> Key {
    Key::new(format!("T#{tenant}#EXPORT_NOTICES"), export.as_str())
}

/// A tenant's webhook endpoints.
pub fn webhook_partition(tenant: &TenantId) -> String {
    format!("T#{tenant}#WEBHOOKS")
}

pub fn webhook_endpoint(tenant: &TenantId, endpoint: &EndpointId) -> Key {
    Key::new(webhook_partition(tenant), endpoint.as_str())
}

/// One endpoint's delivery log, sorted by id (ids sort by the event's time).
pub fn webhook_deliveries_partition(tenant: &TenantId, endpoint: &EndpointId) -> String {
    format!("T#{tenant}#WHD#{endpoint}")
}

pub fn webhook_delivery(tenant: &TenantId, endpoint: &EndpointId, delivery: &str) -> Key {
    Key::new(webhook_deliveries_partition(tenant, endpoint), delivery)
}

/// Where a delivery about a contact is noted in the contact's partition, so its erasure finds
/// (and removes) the deliveries that name it.
pub fn webhook_delivery_ref(
    tenant: &TenantId,
    contact: &ContactId,
    endpoint: &EndpointId,
    delivery: &str,
) -> Key {
    Key::new(
        contact_partition(tenant, contact),
        format!("WHD#{endpoint}#{delivery}"),
    )
}

pub fn audit_partition(tenant: &TenantId) -> String {
    format!("T#{tenant}#AUDIT")
}

pub fn audit(tenant: &TenantId, at: Timestamp, id: &AuditId) -> Key {
    Key::new(
        audit_partition(tenant),
        format!("{:013}#{}", at.as_millis().max(0), id.as_str()),
    )
}

/// The retention-index partition of one shard of a tenant's category.
pub fn retention_partition(tenant: &TenantId, category: Category, shard: u8) -> String {
    format!("{tenant}#{}#{shard:02}", category.code())
}

/// Every shard's retention-index partition of `category` for the tenant.
pub fn retention_partitions(tenant: &TenantId, category: Category) -> Vec<String> {
    (0..RETENTION_SHARDS)
        .map(|shard| retention_partition(tenant, category, shard))
        .collect()
}

/// The tenant and category of a retention-index partition (`{tenant}#{category}#{shard}`),
/// borrowed from it: every write filed for retention asks, so nothing is allocated.
pub fn retention_partition_parts(partition: &str) -> Option<(&str, Category)> {
    let mut parts = partition.rsplitn(3, '#');
    let _shard = parts.next()?;
    let category = Category::from_code(parts.next()?)?;
    let tenant = parts.next()?;
    Some((tenant, category))
}

/// Marks in the tenant's partition: which rare categories it has filed records under, and
/// whether the purge has swept every category of it once (then only marked rare categories are
/// queried). They go with the tenant.
pub const RETAINED_PREFIX: &str = "RETAINS#";

pub fn retained_category(tenant: &TenantId, category: Category) -> Key {
    Key::new(
        tenant_partition(tenant),
        format!("{RETAINED_PREFIX}{}", category.code()),
    )
}

/// Sorts after every category's mark (`~` follows the letters).
pub fn retention_swept(tenant: &TenantId) -> Key {
    Key::new(tenant_partition(tenant), format!("{RETAINED_PREFIX}~swept"))
}

/// The retention-index entry of a record at `key`.
pub fn retention_entry(
    tenant: &TenantId,
    category: Category,
    key: &Key,
    at: Timestamp,
) -> RetentionEntry {
    RetentionEntry {
        partition: retention_partition(tenant, category, retention_shard(&key.pk, &key.sk)),
        at,
    }
}

/// Associated data binding sealed content to the record that holds it.
pub fn aad(key: &Key) -> Vec<u8> {
    let mut out = key.pk.as_bytes().to_vec();
    out.push(0);
    out.extend_from_slice(key.sk.as_bytes());
    out
}

// ai-reply: the exactly-once claim of a reply to an inbound message, and the contact's reply
// state (when the opt-out hint was last sent). In the contact's partition, so erasure takes them.

pub const CAMPAIGN_KIND: &str = "campaign";
pub const CAMPAIGN_AUDIENCE_KIND: &str = "campaign_audience";
pub const CAMPAIGN_RECIPIENT_KIND: &str = "campaign_recipient";
pub const CAMPAIGN_COUNTER_KIND: &str = "campaign_counts";
pub const CAMPAIGN_MEMBER_KIND: &str = "campaign_member";
pub const ACTIVE_CAMPAIGN_KIND: &str = "active_campaign";
pub const CAMPAIGN_AUDIENCE_PREFIX: &str = "A#";
pub const CAMPAIGN_RECIPIENT_PREFIX: &str = "R#";
pub const CAMPAIGN_COUNTER_PREFIX: &str = "N#";
pub const CAMPAIGN_MEMBER_PREFIX: &str = "CAMP#";
/// The directory of campaigns not yet final: where the sender finds its work.
pub const ACTIVE_CAMPAIGNS: &str = "CAMPAIGNS";

pub fn campaign_partition(tenant: &TenantId, campaign: &CampaignId) -> String {
    format!("T#{tenant}#CAMP#{campaign}")
}

pub fn campaign(tenant: &TenantId, campaign: &CampaignId) -> Key {
    Key::new(campaign_partition(tenant, campaign), "CAMPAIGN")
}

pub fn campaign_audience(tenant: &TenantId, campaign: &CampaignId, chunk: usize) -> Key {
    Key::new(
        campaign_partition(tenant, campaign),
        format!("{CAMPAIGN_AUDIENCE_PREFIX}{chunk:05}"),
    )
}

pub fn campaign_recipient(tenant: &TenantId, campaign: &CampaignId, ordinal: u32) -> Key {
    Key::new(
        campaign_partition(tenant, campaign),
        format!("{CAMPAIGN_RECIPIENT_PREFIX}{ordinal:07}"),
    )
}

pub fn campaign_counter(tenant: &TenantId, campaign: &CampaignId, shard: u32) -> Key {
    Key::new(
        campaign_partition(tenant, campaign),
        format!("{CAMPAIGN_COUNTER_PREFIX}{shard:02}"),
    )
}

/// A person's place in a campaign, in the partition of the identifier the business named, so
/// erasure finds it.
pub fn campaign_member(
    tenant: &TenantId,
    alias_hash: &IdentityHash,
    campaign: &CampaignId,
    ordinal: u32,
) -> Key {
    Key::new(
        alias(tenant, alias_hash).pk,
        format!("{CAMPAIGN_MEMBER_PREFIX}{campaign}#{ordinal:07}"),
    )
}

pub fn active_campaign(tenant: &TenantId, campaign: &CampaignId) -> Key {
    Key::new(ACTIVE_CAMPAIGNS, format!("{tenant}#{campaign}"))
}

pub const OUTBOUND_ORDER_KIND: &str = "outbound_order";
pub const WAMID_ROUTE_KIND: &str = "wamid_route";
pub const IDEMPOTENCY_KIND: &str = "idempotency_key";

/// A person's send waiting for (or done with) its turn: what the sender works from.
pub fn outbound_order(tenant: &TenantId, contact: &ContactId, message: &MessageId) -> Key {
    Key::new(
        contact_partition(tenant, contact),
        format!("SEND#{}", message.as_str()),
    )
}

/// Where the statuses of a wamid go when its message was stored under Mizan's own id (a
/// person's send): the hash of the wamid names the message.
pub fn wamid_route(tenant: &TenantId, contact: &ContactId, wamid_id: &MessageId) -> Key {
    Key::new(
        contact_partition(tenant, contact),
        format!("WAMID#{}", wamid_id.as_str()),
    )
}

/// A client's idempotency key (its keyed hash), for 24 hours.
pub fn idempotency_key(tenant: &TenantId, key_hash: &str) -> Key {
    Key::new(format!("T#{tenant}#IDEM#{key_hash}"), "IDEM")
}

pub const REPLY_CLAIM_KIND: &str = "reply_claim";
pub const REPLY_STATE_KIND: &str = "reply_state";
pub const REPLY_CLAIM_PREFIX: &str = "REPLY#";

/// The claim of the reply to one inbound message.
pub fn reply_claim(tenant: &TenantId, contact: &ContactId, message: &MessageId) -> Key {
    Key::new(
        contact_partition(tenant, contact),
        format!("{REPLY_CLAIM_PREFIX}{}", message.as_str()),
    )
}

pub fn reply_state(tenant: &TenantId, contact: &ContactId) -> Key {
    Key::new(contact_partition(tenant, contact), "REPLYSTATE")
}

/// Where a kind of record stands in the record of processing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filing {
    /// Personal data (or records about it) of this retention category.
    Under(Category),
    /// Holds nothing about a person: a cursor, a mark, a counter, a pace.
    Operational,
}

/// The category every kind of record the store writes is kept under (`None`: a kind this
/// list does not know, which a test refuses).
pub fn filing_of(record_kind: &str) -> Option<Filing> {
    use Category::*;
    use Filing::{Operational, Under};
    let filing = match record_kind {
        kind::TENANT
        | kind::ACCOUNT_DETAILS
        | kind::TENANT_ENTRY
        | kind::PHONE_NUMBER
        | kind::API_KEY
        | kind::API_KEY_LOOKUP
        | kind::BUSINESS_ACCOUNT
        | kind::TEMPLATE
        | kind::LEGAL_HOLD
        | kind::SUPPRESSION
        | kind::WEBHOOK_ENDPOINT
        | CAMPAIGN_KIND => Under(AccountData),
        kind::CONTACT
        | kind::CONTACT_LISTING
        | kind::ALIAS
        | kind::CONSENT
        | kind::PENDING_ERASURE
        | kind::CHAT_EXPORT => Under(Contact),
        kind::MESSAGE_IN | kind::MESSAGE_OUT | OUTBOUND_ORDER_KIND => Under(ChatContent),
        kind::PENDING_STATUS
        | WAMID_ROUTE_KIND
        | IDEMPOTENCY_KIND
        | REPLY_CLAIM_KIND
        | REPLY_STATE_KIND
        | CAMPAIGN_AUDIENCE_KIND
        | CAMPAIGN_RECIPIENT_KIND
        | CAMPAIGN_MEMBER_KIND
        | kind::WEBHOOK_DELIVERY
        | kind::WEBHOOK_DELIVERY_REF
        | ANALYTICS_MARK_KIND => Under(MessageMetadata),
        kind::RAW_PAYLOAD | kind::RAW_DAY_KEY => Under(Quarantine),
        ANALYTICS_COUNTER_KIND => Under(Analytics),
        kind::BILLING_STATEMENT => Under(Payment),
        kind::EXPORT_JOB | kind::EXPORT_NOTICE => Under(ExportArchive),
        kind::AUDIT | kind::RIGHTS_REQUEST => Under(Audit),
        kind::ERASURE_TOMBSTONE => Under(ErasureTombstone),
        kind::PURGE_CURSOR
        | kind::RETAINED_CATEGORY
        | kind::RETENTION_SWEPT
        | ACTIVE_CAMPAIGN_KIND
        | CAMPAIGN_COUNTER_KIND
        | crate::adapters::table_pace_ledger::PACE_MARK_KIND => Operational,
        _ => return None,
    };
    Some(filing)
}
