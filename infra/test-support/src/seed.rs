//! Data as the system itself writes it, for tests and benches to start from: tenants with a
//! WhatsApp number and an API key, contacts as intake creates them, messages as intake and
//! ai-reply store them, templates as a sync stores them.

use mizan_shared::domain::audit::{Actor, AuditEvent};
use mizan_shared::domain::contact::ContactProfile;
use mizan_shared::domain::export::{ExportJob, ExportScope, ExportState};
use mizan_shared::domain::ids::ExportId;
use mizan_shared::domain::ids::{ContactId, PhoneNumberId, TenantId, Wamid};
use mizan_shared::domain::message::{Direction, Message, MessageContent, MessageKind};
use mizan_shared::domain::personal::Personal;
use mizan_shared::domain::template::{
    AppliedAt, LanguageCode, ParameterFormat, Template, TemplateCategory, TemplateName,
};
use mizan_shared::domain::tenant::Tenant;
use mizan_shared::domain::time::Timestamp;
use mizan_shared::ports::archives::ArchiveStore;
use mizan_shared::store::Store;
use secrecy::ExposeSecret;

/// A tenant named `name` (with the fixed `id` when given, as sample events name one), owning
/// `phone` when given.
pub async fn tenant(store: &Store, name: &str, id: Option<&str>, phone: Option<&str>) -> Tenant {
    let mut tenant = Tenant::new(name, store.now());
    if let Some(id) = id {
        tenant.id = TenantId::new(id);
    }
    store.create_tenant(&tenant).await.expect("create tenant");
    match phone {
        Some(phone) => store
            .attach_phone_number(&tenant.id, &PhoneNumberId::new(phone))
            .await
            .expect("attach phone number"),
        None => tenant,
    }
}

/// A new API key of `tenant` with every scope, as the whole token.
pub async fn api_key(store: &Store, tenant: &TenantId) -> String {
    let (_, token) = store
        .issue_api_key(tenant, "tests", Actor::Admin)
        .await
        .expect("issue API key");
    token.expose_secret().to_owned()
}

/// A WhatsApp profile: the phone number `wa_id`, and the name Amina.
pub fn profile(wa_id: &str) -> ContactProfile {
    ContactProfile {
        wa_id: Some(wa_id.into()),
        name: Some("Amina".into()),
        ..ContactProfile::default()
    }
}

/// The contact of `tenant` whose WhatsApp profile is [`profile`]`(wa_id)`, as intake creates it.
pub async fn contact(store: &Store, tenant: &TenantId, wa_id: &str) -> ContactId {
    store
        .upsert_contact(tenant, &profile(wa_id))
        .await
        .expect("upsert contact")
        .contact
        .value
        .id
}

/// WhatsApp's payload of a text message.
pub fn text_content(text: &str) -> MessageContent {
    MessageContent(Personal::new(
        serde_json::json!({ "text": { "body": text } }),
    ))
}

/// A text message of the contact (inbound) or to it (outbound) sent at `at`, stored.
pub async fn text_message(
    store: &Store,
    (tenant, contact): (&TenantId, &ContactId),
    wamid: &str,
    direction: Direction,
    text: &str,
    at: Timestamp,
) -> Message {
    let wamid = Wamid::new(wamid);
    let make = match direction {
        Direction::Inbound => Message::inbound,
        Direction::Outbound => Message::outbound,
    };
    let message = make(
        tenant.clone(),
        contact.clone(),
        store.message_id(tenant, &wamid),
        wamid,
        MessageKind::Text,
        text_content(text),
        at,
    );
    store.put_message(&message).await.expect("put message");
    message
}

/// A contact of `tenant` with `count` inbound text messages sent now.
pub async fn contact_with_messages(
    store: &Store,
    tenant: &TenantId,
    wa_id: &str,
    count: usize,
) -> ContactId {
    let contact = self::contact(store, tenant, wa_id).await;
    for i in 0..count {
        text_message(
            store,
            (tenant, &contact),
            &format!("wamid.{wa_id}.{i}"),
            Direction::Inbound,
            &format!("message {i} from {wa_id}"),
            store.now(),
        )
        .await;
    }
    contact
}

/// A ready export of `contact` whose archive is stored in `archives`, its link lasting
/// `link_days`; the job and the archive's object key.
pub async fn ready_export(
    store: &Store,
    archives: &dyn ArchiveStore,
    tenant: &TenantId,
    contact: &ContactId,
    link_days: u64,
) -> (ExportJob, String) {
    let object_key = format!("{tenant}/{}.zip", ExportId::generate());
    let mut upload = archives
        .create(&object_key)
        .await
        .expect("start the archive");
    upload
        .write_part(b"zip".to_vec())
        .await
        .expect("write the archive");
    upload.finish().await.expect("finish the archive");
    let now = store.now();
    let mut job = ExportJob {
        id: ExportId::generate(),
        tenant: tenant.clone(),
        scope: ExportScope::Contact {
            contact: contact.clone(),
        },
        state: ExportState::Pending,
        requested_at: now,
        expires_at: now.plus(mizan_shared::domain::time::days(link_days)),
        requested_by: "key_1".into(),
        downloads: 0,
        last_audited_download_at: None,
        chat_request: None,
        download_limit: None,
    };
    job.mark_ready(object_key.clone(), 3)
        .expect("a pending job becomes ready");
    store.create_export(&job).await.expect("create the export");
    (job, object_key)
}

/// A template in the tenant's registry as a sync from the Graph API stores it: `status`
/// (`APPROVED` to be sendable), GREEN quality, positional placeholders, these components.
pub async fn template(
    store: &Store,
    tenant: &TenantId,
    (name, language): (&str, &str),
    category: TemplateCategory,
    status: &str,
    components: Vec<serde_json::Value>,
) -> Template {
    let template = Template {
        tenant: tenant.clone(),
        name: TemplateName::parse(name).expect("a template name"),
        language: LanguageCode::parse(language).expect("a language code"),
        meta_id: None,
        category,
        status: status.into(),
        quality: "GREEN".into(),
        reason: None,
        parameter_format: ParameterFormat::Positional,
        components: Some(components),
        updated_at: store.now(),
        applied: AppliedAt::default(),
    };
    let audit = AuditEvent::new(
        tenant.clone(),
        Actor::Admin,
        "template.synced",
        None,
        store.now(),
    );
    store
        .save_template(&template, &audit)
        .await
        .expect("save the template")
}
