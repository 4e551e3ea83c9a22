//! Export archives (P6, rights of access and portability): one contact's data, or a whole
//! tenant's, as a zip of `data.json`, `messages.csv`, `consent.csv`, `index.html` and a README,
//! streamed into archive storage part by part, so memory stays bounded however many messages
//! there are. Content is opened with each contact's data key while it is written; the archive
//! is encrypted at rest by its storage (SSE-KMS in S3, AES-256-GCM locally).

mod page;
mod readme;
pub mod records;
mod revocation;
mod spreadsheet_cell;
mod zip_stream;

use crate::domain::contact::Contact;
use crate::domain::export::{ExportJob, ExportScope, ExportState};
use crate::domain::ids::{ContactId, ExportId, TenantId};
use crate::domain::keywords::Language;
use crate::domain::message::Direction;
use crate::domain::reply::{customer_text, guess_language};
use crate::domain::tenant::Tenant;
use crate::ports::archives::{ArchiveError, ArchiveStore};
use crate::store::{DataError, Store};
use page::Page;
use rand::RngCore;
use records::{
    ExportHeader, ExportedAudit, ExportedConsent, ExportedContact, ExportedMessage, TenantHeader,
    SCHEMA_ID, SCHEMA_VERSION,
};
pub use revocation::{revoke_export, RevocationError, Revoked};
use spreadsheet_cell::neutralised;
use zip_stream::ZipStream;
pub use zip_stream::ZipStreamError;

/// Messages read (and held in memory) at a time.
pub const MESSAGE_PAGE: usize = 200;

/// The JSON Schema `data.json` follows.
pub const DATA_SCHEMA: &str = include_str!("data.schema.json");

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error("the archive could not be written: {0}")]
    Zip(#[from] ZipStreamError),
    /// What the export was for no longer exists (erased, closed).
    #[error("the {0} of this export no longer exists")]
    Gone(&'static str),
}

impl ExportError {
    pub fn is_retryable(&self) -> bool {
        match self {
            ExportError::Data(e) => e.is_retryable(),
            ExportError::Archive(e) => e.is_retryable(),
            ExportError::Zip(ZipStreamError::Archive(e)) => e.is_retryable(),
            ExportError::Zip(_) | ExportError::Gone(_) => false,
        }
    }
}

/// A finished archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Built {
    pub object_key: String,
    pub size_bytes: u64,
}

/// What the worker did with a job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobOutcome {
    Ready(Built),
    /// Built by another invocation, or no longer pending: nothing done.
    AlreadyDone,
    /// The job is gone (expired and purged, or erased with its contact).
    Missing,
    /// Cannot be built (its contact was erased, …): the job says why.
    Failed(String),
}

/// Builds the archive of a pending job and marks the job ready (or failed, when retrying
/// cannot help). Safe to repeat and to race: only one archive ends up named by the job.
pub async fn run_job(
    store: &Store,
    archives: &dyn ArchiveStore,
    tenant: &TenantId,
    id: &ExportId,
) -> Result<JobOutcome, ExportError> {
    let Some(mut job) = store.export(tenant, id).await? else {
        return Ok(JobOutcome::Missing);
    };
    if job.value.state != ExportState::Pending {
        return Ok(JobOutcome::AlreadyDone);
    }
    match build(store, archives, &job.value).await {
        Ok(built) => {
            if job
                .value
                .mark_ready(built.object_key.clone(), built.size_bytes)
                .is_err()
            {
                archives.delete(&built.object_key).await?;
                return Ok(JobOutcome::AlreadyDone);
            }
            match store.finish_export(&job).await {
                Ok(_) => Ok(JobOutcome::Ready(built)),
                Err(e) => {
                    // Another invocation finished first, or the save failed: either way this
                    // archive is named by no job and must not stay.
                    archives.delete(&built.object_key).await?;
                    match e {
                        DataError::Conflict(_) => Ok(JobOutcome::AlreadyDone),
                        e => Err(e.into()),
                    }
                }
            }
        }
        Err(e) if e.is_retryable() => Err(e),
        Err(e) => {
            let reason = e.to_string();
            if job.value.mark_failed(reason.clone()).is_ok() {
                match store.finish_export(&job).await {
                    Ok(_) | Err(DataError::Conflict(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(JobOutcome::Failed(reason))
        }
    }
}

/// Writes the job's archive under a new random object key.
pub async fn build(
    store: &Store,
    archives: &dyn ArchiveStore,
    job: &ExportJob,
) -> Result<Built, ExportError> {
    let tenant = store
        .tenant(&job.tenant)
        .await?
        .ok_or(ExportError::Gone("tenant"))?;
    let contacts = match &job.scope {
        ExportScope::Contact { contact } => {
            if store.contact(&tenant.id, contact).await?.is_none() {
                return Err(ExportError::Gone("contact"));
            }
            vec![contact.clone()]
        }
        ExportScope::Tenant => store.contact_ids(&tenant.id).await?,
    };
    let object_key = object_key(&tenant.id);
    let mut zip = ZipStream::new(archives.create(&object_key).await?, store.now());
    let written = Writer {
        store,
        tenant: &tenant,
        job,
        contacts: &contacts,
    }
    .write(&mut zip)
    .await;
    match written {
        Ok(()) => Ok(Built {
            size_bytes: zip.finish().await?,
            object_key,
        }),
        Err(e) => {
            if let Err(abort) = zip.abort().await {
                tracing::warn!(error = %abort, "export_upload_abort_failed");
            }
            Err(e)
        }
    }
}

/// `exports/{tenant}/{128 random bits}.zip`: unguessable, and nothing personal in it.
fn object_key(tenant: &TenantId) -> String {
    let mut random = [0u8; 16];
    rand::rng().fill_bytes(&mut random);
    format!("exports/{tenant}/{}.zip", hex::encode(random))
}

struct Writer<'a> {
    store: &'a Store,
    tenant: &'a Tenant,
    job: &'a ExportJob,
    contacts: &'a [ContactId],
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, ExportError> {
    serde_json::to_string(value)
        .map_err(|e| ExportError::Data(DataError::Invalid(format!("does not serialize: {e}"))))
}

impl Writer<'_> {
    async fn write(&self, zip: &mut ZipStream) -> Result<(), ExportError> {
        zip.start("README.txt")?;
        zip.write(readme::README.as_bytes())?;
        self.data_json(zip).await?;
        self.messages_csv(zip).await?;
        self.consent_csv(zip).await?;
        self.index_html(zip).await?;
        Ok(())
    }

    /// The contact with its consent history; `None` when it is gone (erased meanwhile).
    async fn contact(&self, id: &ContactId) -> Result<Option<ExportedContact>, ExportError> {
        let Some(contact) = self.store.contact(&self.tenant.id, id).await? else {
            return Ok(None);
        };
        let contact: Contact = contact.value;
        let history = self.store.consent_history(&self.tenant.id, id).await?;
        let replies = self.store.reply_claims(&self.tenant.id, id).await?;
        let hint = self.store.last_opt_out_hint(&self.tenant.id, id).await?;
        Ok(Some(ExportedContact::of(
            &contact,
            &history,
            &replies,
            hint,
            self.store.now(),
        )))
    }

    /// Calls `each` with every page of the contact's messages, newest first.
    async fn message_pages(
        &self,
        contact: &ContactId,
        zip: &mut ZipStream,
        each: impl Fn(&mut ZipStream, &[ExportedMessage], bool) -> Result<(), ExportError>,
    ) -> Result<(), ExportError> {
        let policy = self.tenant.retention();
        let mut after = None;
        let mut first = true;
        loop {
            let page = self
                .store
                .conversation(&self.tenant.id, contact, &policy, MESSAGE_PAGE, after)
                .await?;
            let messages: Vec<ExportedMessage> =
                page.items.iter().map(ExportedMessage::of).collect();
            each(zip, &messages, first)?;
            first = first && messages.is_empty();
            zip.ship_full_parts().await?;
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(()),
            }
        }
    }

    async fn data_json(&self, zip: &mut ZipStream) -> Result<(), ExportError> {
        zip.start("data.json")?;
        let header = format!(
            "{{\"$schema\":{},\"schema_version\":{SCHEMA_VERSION},\"generated_at\":{},\"export\":{},\"tenant\":{},\"contacts\":[",
            json(&SCHEMA_ID)?,
            json(&self.store.now().to_rfc3339())?,
            json(&ExportHeader::of(self.job))?,
            json(&TenantHeader::of(self.tenant))?,
        );
        zip.write(header.as_bytes())?;
        let mut first_contact = true;
        for id in self.contacts {
            let Some(contact) = self.contact(id).await? else {
                continue;
            };
            let object = json(&contact)?;
            // The contact's object, opened again for its messages array.
            let open = object.strip_suffix('}').unwrap_or(&object);
            let separator = if first_contact { "" } else { "," };
            zip.write(format!("{separator}{open},\"messages\":[").as_bytes())?;
            first_contact = false;
            self.message_pages(id, zip, |zip, messages, first_page| {
                for (i, message) in messages.iter().enumerate() {
                    if !(first_page && i == 0) {
                        zip.write(b",")?;
                    }
                    zip.write(json(message)?.as_bytes())?;
                }
                Ok(())
            })
            .await?;
            zip.write(b"]}")?;
        }
        zip.write(b"],\"audit\":[")?;
        let subject = match &self.job.scope {
            ExportScope::Contact { contact } => Some(contact),
            ExportScope::Tenant => None,
        };
        let mut after = None;
        let mut first = true;
        loop {
            let page = self.store.audit_events(&self.tenant.id, 500, after).await?;
            for event in &page.items {
                if subject.is_some_and(|s| event.subject.as_ref() != Some(s)) {
                    continue;
                }
                if !first {
                    zip.write(b",")?;
                }
                first = false;
                zip.write(json(&ExportedAudit::of(event))?.as_bytes())?;
            }
            zip.ship_full_parts().await?;
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        zip.write(b"]}")?;
        Ok(())
    }

    async fn messages_csv(&self, zip: &mut ZipStream) -> Result<(), ExportError> {
        zip.start("messages.csv")?;
        zip.write(
            b"contact,message_id,direction,sender,type,sent_at,stored_at,status,status_at,late,text,content_removed\n",
        )?;
        for id in self.contacts {
            self.message_pages(id, zip, |zip, messages, _| {
                let mut rows = csv::WriterBuilder::new()
                    .has_headers(false)
                    .from_writer(Vec::new());
                for m in messages {
                    let plain = |v: &serde_json::Value| ExportedConsent::plain(v);
                    let cells = [
                        m.contact.as_str(),
                        m.id.as_str(),
                        &plain(&m.direction),
                        &plain(&m.sender),
                        &plain(&m.kind),
                        &m.sent_at,
                        &m.stored_at,
                        &plain(&m.status),
                        &m.status_at,
                        if m.late { "true" } else { "false" },
                        m.text.as_deref().unwrap_or(""),
                        if m.content.is_none() { "true" } else { "false" },
                    ];
                    rows.write_record(cells.iter().map(|cell| neutralised(cell).into_owned()))
                        .map_err(csv_error)?;
                }
                zip.write(&rows.into_inner().map_err(|e| csv_error(e.into_error()))?)?;
                Ok(())
            })
            .await?;
        }
        Ok(())
    }

    async fn consent_csv(&self, zip: &mut ZipStream) -> Result<(), ExportError> {
        zip.start("consent.csv")?;
        zip.write(b"contact,at,purpose,action,source,evidence,actor\n")?;
        for id in self.contacts {
            let Some(contact) = self.contact(id).await? else {
                continue;
            };
            let mut rows = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(Vec::new());
            for e in &contact.consent_history {
                let cells = [
                    contact.id.as_str(),
                    &e.at,
                    &ExportedConsent::plain(&e.purpose),
                    &ExportedConsent::plain(&e.action),
                    &ExportedConsent::plain(&e.source),
                    &e.evidence,
                    &e.actor,
                ];
                rows.write_record(cells.iter().map(|cell| neutralised(cell).into_owned()))
                    .map_err(csv_error)?;
            }
            zip.write(&rows.into_inner().map_err(|e| csv_error(e.into_error()))?)?;
            zip.ship_full_parts().await?;
        }
        Ok(())
    }

    async fn index_html(&self, zip: &mut ZipStream) -> Result<(), ExportError> {
        zip.start("index.html")?;
        let page = Page::new(
            self.page_language().await?,
            self.job.scope == ExportScope::Tenant,
        );
        zip.write(
            page.start(&ExportHeader::of(self.job), &self.tenant.name)
                .as_bytes(),
        )?;
        for id in self.contacts {
            let Some(contact) = self.contact(id).await? else {
                continue;
            };
            zip.write(page.contact(&contact).as_bytes())?;
            self.message_pages(id, zip, |zip, messages, _| {
                zip.write(page.messages(messages).as_bytes())
                    .map_err(ExportError::from)
            })
            .await?;
            zip.write(page.end_contact().as_bytes())?;
        }
        zip.write(page.end().as_bytes())?;
        Ok(())
    }

    /// The person's language: the one they asked in (a request in the chat), else the one
    /// their newest message is written in (as a reply's language is guessed); a whole-account
    /// export is the business's, in English.
    async fn page_language(&self) -> Result<Language, ExportError> {
        if let Some(request) = &self.job.chat_request {
            if let Some(asked) = self.store.rights_request(&self.tenant.id, request).await? {
                return Ok(asked.value.language);
            }
        }
        let ExportScope::Contact { contact } = &self.job.scope else {
            return Ok(Language::English);
        };
        let policy = self.tenant.retention();
        let newest = self
            .store
            .conversation(&self.tenant.id, contact, &policy, 20, None)
            .await?;
        Ok(newest
            .items
            .iter()
            .filter(|m| m.direction == Direction::Inbound)
            .find_map(|m| m.content.as_ref().and_then(|c| customer_text(c.0.expose())))
            .map(|text| guess_language(&text))
            .unwrap_or(Language::English))
    }
}

fn csv_error(e: impl std::fmt::Display) -> ExportError {
    ExportError::Zip(ZipStreamError::Io(std::io::Error::other(e.to_string())))
}
