//! FAQ entries one by one, beside the whole-list setting: `GET/POST /v1/faq`,
//! `PUT/DELETE /v1/faq/{id}`. Each entry has an id, an optional language tag (`en`, `fr`, `ar`)
//! and a version (`etag`); changing or deleting one needs `If-Match` with the version read, so
//! two people editing the FAQ never overwrite each other unknowingly. Every change is audited.

use crate::{Deps, Reply};
use lambda_http::Request;
use mizan_shared::domain::audit::AuditEvent;
use mizan_shared::domain::tenant::{FaqEntry, SettingsError, MAX_FAQ_ENTRIES};
use mizan_shared::http_api::{input, ApiError, Caller};
use mizan_shared::store::DataError;
use serde_json::{json, Value};

const ATTEMPTS: usize = 3;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryInput {
    question: String,
    answer: String,
    #[serde(default)]
    language: Option<String>,
}

pub fn view(entry: &FaqEntry) -> Value {
    json!({
        "id": entry.id(),
        "question": entry.question,
        "answer": entry.answer,
        "language": entry.language,
        "etag": entry.etag(),
    })
}

pub async fn list(deps: &Deps, caller: &Caller) -> Result<Reply, ApiError> {
    let tenant = deps.store.tenant(&caller.tenant).await?.ok_or_else(gone)?;
    Ok(Reply::ok(json!({
        "entries": tenant.settings.faq.iter().map(view).collect::<Vec<_>>(),
    })))
}

fn gone() -> ApiError {
    ApiError::new(404, "tenant_not_found", "the API key's tenant is gone")
}

fn not_found() -> ApiError {
    ApiError::new(404, "faq_entry_not_found", "no FAQ entry has this id")
}

/// `If-Match` of a change: the version the caller read.
fn if_match(request: &Request) -> Result<String, ApiError> {
    request
        .headers()
        .get("if-match")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().trim_start_matches("W/").to_owned())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                428,
                "precondition_required",
                "send If-Match with the entry's etag (GET /v1/faq) so a change made meanwhile is not overwritten",
            )
            .with_field("If-Match")
        })
}

/// What a change does to the list: the entry it leaves (none for a deletion) and its audit action.
enum Change {
    Add(FaqEntry),
    Replace {
        id: String,
        etag: String,
        entry: FaqEntry,
    },
    Remove {
        id: String,
        etag: String,
    },
}

pub async fn add(deps: &Deps, caller: &Caller, request: &Request) -> Result<Reply, ApiError> {
    let entry = entry_of(input::json_body(request)?, Some(FaqEntry::generate_id()))?;
    let saved = apply(deps, caller, Change::Add(entry)).await?;
    Ok(Reply::created(view(&saved.expect("an added entry"))))
}

pub async fn replace(
    deps: &Deps,
    caller: &Caller,
    id: &str,
    request: &Request,
) -> Result<Reply, ApiError> {
    let etag = if_match(request)?;
    let entry = entry_of(input::json_body(request)?, Some(id.to_owned()))?;
    let change = Change::Replace {
        id: id.to_owned(),
        etag,
        entry,
    };
    let saved = apply(deps, caller, change).await?;
    Ok(Reply::ok(view(&saved.expect("a replaced entry"))))
}

pub async fn remove(
    deps: &Deps,
    caller: &Caller,
    id: &str,
    request: &Request,
) -> Result<Reply, ApiError> {
    let etag = if_match(request)?;
    input::empty_body(request)?;
    apply(
        deps,
        caller,
        Change::Remove {
            id: id.to_owned(),
            etag,
        },
    )
    .await?;
    Ok(Reply::ok(json!({ "deleted": id })))
}

fn entry_of(input: EntryInput, id: Option<String>) -> Result<FaqEntry, ApiError> {
    let question = input.question.trim().to_owned();
    let answer = input.answer.trim().to_owned();
    if question.is_empty() {
        return Err(ApiError::invalid("question", "question must not be empty"));
    }
    if answer.is_empty() {
        return Err(ApiError::invalid("answer", "answer must not be empty"));
    }
    Ok(FaqEntry {
        id,
        question,
        answer,
        language: input.language.map(|l| l.trim().to_ascii_lowercase()),
    })
}

async fn apply(deps: &Deps, caller: &Caller, change: Change) -> Result<Option<FaqEntry>, ApiError> {
    for _ in 0..ATTEMPTS {
        let mut tenant = deps
            .store
            .tenant_versioned(&caller.tenant)
            .await?
            .ok_or_else(gone)?;
        let faq = &mut tenant.value.settings.faq;
        let position = |faq: &[FaqEntry], id: &str| faq.iter().position(|e| e.id() == id);
        let check = |found: &FaqEntry, etag: &str| {
            if found.etag() == etag {
                Ok(())
            } else {
                Err(ApiError::new(
                    412,
                    "precondition_failed",
                    "the entry changed since it was read: read it again (GET /v1/faq)",
                )
                .with_field("If-Match"))
            }
        };
        let (action, id, kept) = match &change {
            Change::Add(entry) => {
                if faq.len() >= MAX_FAQ_ENTRIES {
                    return Err(ApiError::new(
                        409,
                        "faq_full",
                        format!("the FAQ holds at most {MAX_FAQ_ENTRIES} entries"),
                    ));
                }
                faq.push(entry.clone());
                ("faq.entry_added", entry.id(), Some(entry.clone()))
            }
            Change::Replace { id, etag, entry } => {
                let at = position(faq, id).ok_or_else(not_found)?;
                check(&faq[at], etag)?;
                faq[at] = entry.clone();
                ("faq.entry_updated", id.clone(), Some(entry.clone()))
            }
            Change::Remove { id, etag } => {
                let at = position(faq, id).ok_or_else(not_found)?;
                check(&faq[at], etag)?;
                faq.remove(at);
                ("faq.entry_deleted", id.clone(), None)
            }
        };
        tenant.value.settings.validate().map_err(|e| match e {
            SettingsError::DuplicateFaqQuestion => {
                ApiError::new(409, "faq_duplicate", e.to_string()).with_field("question")
            }
            e => ApiError::invalid(e.field(), e.to_string()),
        })?;
        let audit = AuditEvent::new(
            caller.tenant.clone(),
            caller.actor(),
            action,
            None,
            deps.store.now(),
        )
        .with_detail(json!({ "faq_entry": id }));
        match deps.store.save_tenant(&tenant, Some(&audit)).await {
            Ok(_) => return Ok(kept),
            Err(DataError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::new(
        409,
        "conflict",
        "the FAQ kept changing; retry",
    ))
}
