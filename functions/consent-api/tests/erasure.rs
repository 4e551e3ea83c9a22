//! Erasure end to end (P7, P11, P12): after `POST /erasure` nothing of the contact can be read
//! through any route, the store holds no item of it but the suppression entry, its exports are
//! gone, and a later WhatsApp message from the same person is stored with the opt-out in force,
//! so the AI does not answer it.

mod support;

use mizan_shared::adapters::local_archives::LocalArchives;
use mizan_shared::domain::audit::Outcome;
use mizan_shared::domain::consent::{Decision, Purpose};
use mizan_shared::domain::export::{ExportJob, ExportScope, ExportState};
use mizan_shared::domain::identity_hash::IdentifierKind;
use mizan_shared::domain::ids::{ContactId, ExportId};
use mizan_shared::domain::retention::Category;
use mizan_shared::domain::time::{days, Timestamp};
use mizan_shared::ports::archives::ArchiveStore;
use mizan_shared::ports::records::Query;
use mizan_shared::store::layout;
use serde_json::json;
use support::{harness, Harness, Party, USER_ID, WA_ID};

/// Every contact route for `reference`.
fn contact_routes(reference: &str) -> Vec<(&'static str, String)> {
    let c = format!("/v1/contacts/{reference}");
    vec![
        ("GET", c.clone()),
        ("PATCH", c.clone()),
        ("GET", format!("{c}/consent")),
        ("POST", format!("{c}/consent")),
        ("POST", format!("{c}/restriction")),
        ("DELETE", format!("{c}/restriction")),
        ("POST", format!("{c}/takeover")),
        ("DELETE", format!("{c}/takeover")),
        ("POST", format!("{c}/erasure")),
        ("POST", format!("{c}/minor")),
    ]
}

fn valid_body(method: &str, path: &str) -> Option<serde_json::Value> {
    match (method, path.rsplit('/').next().unwrap()) {
        ("PATCH", _) => Some(json!({"name": "X"})),
        ("POST", "consent") => {
            Some(json!({"purpose": "all", "action": "opt_in", "source": "api", "evidence": "e-1"}))
        }
        _ => None,
    }
}

/// A ready export of the contact with its archive file on disk.
async fn ready_export(
    h: &Harness,
    party: &Party,
    contact: &ContactId,
    object_key: &str,
) -> ExportId {
    let now = h.store().now();
    let job = ExportJob {
        id: ExportId::generate(),
        tenant: party.tenant.id.clone(),
        scope: ExportScope::Contact {
            contact: contact.clone(),
        },
        state: ExportState::Ready {
            object_key: object_key.to_owned(),
            size_bytes: 3,
        },
        requested_at: now,
        expires_at: now.plus(days(7)),
        requested_by: "tests".into(),
        downloads: 0,
        last_audited_download_at: None,
        chat_request: None,
        download_limit: None,
    };
    h.store().create_export(&job).await.unwrap();
    job.id
}

fn write_archive(h: &Harness, object_key: &str) {
    let path = LocalArchives::new(h.system.dir.path())
        .path_of(object_key)
        .unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, b"zip").unwrap();
}

/// Every record left in the contact's partition, expired ones included.
async fn partition_items(h: &Harness, party: &Party, contact: &ContactId) -> usize {
    let query = Query::prefix(layout::contact_partition(&party.tenant.id, contact), "");
    h.store()
        .records()
        .query(&query, Timestamp::EPOCH)
        .await
        .unwrap()
        .items
        .len()
}

async fn alias_and_suppression(h: &Harness, kind: IdentifierKind, value: &str) -> (bool, bool) {
    let tenant = &h.a.tenant.id;
    let hash = h.store().hasher().identifier(tenant, kind, value);
    let records = h.store().records();
    let now = h.store().now();
    (
        records
            .get(&layout::alias(tenant, &hash), now)
            .await
            .unwrap()
            .is_some(),
        records
            .get(&layout::suppression(tenant, &hash), now)
            .await
            .unwrap()
            .is_some(),
    )
}

#[tokio::test]
async fn after_erasure_nothing_is_readable_nothing_stored_but_suppression_and_the_opt_out_holds() {
    let h = harness().await;
    // Given a person who wrote in, is known by phone number and user id, opted out, and has an
    // export waiting for download,
    assert_eq!(h.whatsapp_text("wamid.F1", WA_ID, "Salam").await, 200);
    let contact = h.contact_of(&h.a, WA_ID, Some(USER_ID)).await;
    assert_eq!(h.whatsapp_text("wamid.F2", WA_ID, "STOP").await, 200);
    let object_key = format!("{}/exp-f.zip", h.a.tenant.id);
    write_archive(&h, &object_key);
    let export = ready_export(&h, &h.a, &contact.id, &object_key).await;
    assert!(partition_items(&h, &h.a, &contact.id).await >= 3);
    // when the business erases them,
    let answer = h
        .as_a("POST", &format!("/v1/contacts/{WA_ID}/erasure"), None)
        .await;
    assert_eq!(answer.status, 202, "{:?}", answer.body);
    assert_eq!(answer.body["status"], "erased");
    assert_eq!(answer.body["content_unreadable"], true);
    assert_eq!(answer.body["suppressed"], true);
    assert_eq!(answer.body["exports_removed"], 1);
    // then no route reads anything of them, by either identifier: they are like a stranger,
    for reference in [WA_ID, USER_ID] {
        for (method, path) in contact_routes(reference) {
            let gone = h.as_a(method, &path, valid_body(method, &path)).await;
            let stranger_path = path.replace(reference, "15550100999");
            let stranger = h
                .as_a(method, &stranger_path, valid_body(method, &path))
                .await;
            assert_eq!(gone.status, 404, "{method} {path}: {:?}", gone.body);
            assert_eq!(gone.body, stranger.body, "{method} {path}");
        }
    }
    // the store holds no item of theirs but the suppression entry of each identifier,
    assert_eq!(partition_items(&h, &h.a, &contact.id).await, 0);
    assert_eq!(
        alias_and_suppression(&h, IdentifierKind::WaId, WA_ID).await,
        (false, true)
    );
    assert_eq!(
        alias_and_suppression(&h, IdentifierKind::UserId, USER_ID).await,
        (false, true)
    );
    // their export job and its archive are gone,
    assert_eq!(
        h.store().export(&h.a.tenant.id, &export).await.unwrap(),
        None
    );
    let archives = LocalArchives::new(h.system.dir.path());
    assert!(!archives.exists(&object_key).await.unwrap());
    // the request is on the audit trail (without personal data),
    let audit = h.audit_of_a().await;
    let request = audit
        .iter()
        .find(|e| e.action == "contact.erasure_requested")
        .unwrap();
    assert_eq!(request.outcome, Outcome::Succeeded);
    assert_eq!(request.subject.as_ref(), Some(&contact.id));
    assert_eq!(request.detail["reason"], "request");
    let listed = h.as_a("GET", "/v1/audit", None).await.body.to_string();
    assert!(!listed.contains(WA_ID) && !listed.contains(USER_ID) && !listed.contains("Amina"));
    // and when they write again, the message is stored and their opt-out is still in force.
    assert_eq!(h.whatsapp_text("wamid.F3", WA_ID, "Hello again").await, 200);
    let again = h.find(&h.a, WA_ID).await.unwrap();
    assert_eq!(again.consent.automated_replies, Decision::Withdrawn);
    assert!(
        !again.may_send(Purpose::AutomatedReplies),
        "the AI must not answer"
    );
    assert!(!again.may_send(Purpose::Marketing));
    let conversation = h
        .store()
        .conversation(&h.a.tenant.id, &again.id, &h.a.tenant.retention(), 10, None)
        .await
        .unwrap();
    assert_eq!(conversation.items.len(), 1, "only the new message");
}

#[tokio::test]
async fn erasing_a_contact_who_never_opted_out_leaves_no_suppression_entry() {
    let h = harness().await;
    assert_eq!(h.whatsapp_text("wamid.G1", WA_ID, "Bonjour").await, 200);
    let answer = h
        .as_a("POST", &format!("/v1/contacts/%2B{WA_ID}/erasure"), None)
        .await;
    assert_eq!(answer.status, 202, "{:?}", answer.body);
    assert_eq!(answer.body["suppressed"], false);
    assert_eq!(
        alias_and_suppression(&h, IdentifierKind::WaId, WA_ID).await,
        (false, false)
    );
    // Writing again makes them a new contact with nothing carried over.
    assert_eq!(h.whatsapp_text("wamid.G2", WA_ID, "Re-bonjour").await, 200);
    let again = h.find(&h.a, WA_ID).await.unwrap();
    assert!(again.may_send(Purpose::AutomatedReplies));
    assert_eq!(again.consent.automated_replies, Decision::Unset);
}

#[tokio::test]
async fn an_api_opt_out_survives_erasure_as_suppression_of_a_recreated_contact() {
    let h = harness().await;
    let contact = h.contact_of(&h.a, WA_ID, None).await;
    let consent = h
        .as_a(
            "POST",
            &format!("/v1/contacts/{WA_ID}/consent"),
            Some(json!({"purpose": "marketing", "action": "opt_out", "source": "web_form", "evidence": "f-9"})),
        )
        .await;
    assert_eq!(consent.status, 201);
    assert_eq!(
        h.as_a("POST", &format!("/v1/contacts/{WA_ID}/erasure"), None)
            .await
            .status,
        202
    );
    assert_eq!(partition_items(&h, &h.a, &contact.id).await, 0);
    // Re-created by intake or by anything else, the contact is born opted out.
    let recreated = h.contact_of(&h.a, WA_ID, None).await;
    assert_eq!(recreated.consent.marketing, Decision::Withdrawn);
    assert!(!recreated.may_send(Purpose::Marketing));
}

#[tokio::test]
async fn flagging_a_minor_erases_the_contact_like_an_erasure_request() {
    let h = harness().await;
    assert_eq!(h.whatsapp_text("wamid.H1", WA_ID, "salut").await, 200);
    let contact = h.find(&h.a, WA_ID).await.unwrap();
    let answer = h
        .as_a("POST", &format!("/v1/contacts/{WA_ID}/minor"), None)
        .await;
    assert_eq!(answer.status, 202, "{:?}", answer.body);
    assert_eq!(answer.body["reason"], "minor");
    assert_eq!(answer.body["status"], "erased");
    assert_eq!(partition_items(&h, &h.a, &contact.id).await, 0);
    assert_eq!(
        h.as_a("GET", &format!("/v1/contacts/{WA_ID}"), None)
            .await
            .status,
        404
    );
    let audit = h.audit_of_a().await;
    let flagged = audit
        .iter()
        .find(|e| e.action == "contact.flagged_minor")
        .unwrap();
    assert_eq!(flagged.detail["reason"], "minor");
}

#[tokio::test]
async fn a_legal_hold_refuses_erasure_keeps_everything_and_audits_the_refusal() {
    let h = harness().await;
    assert_eq!(h.whatsapp_text("wamid.I1", WA_ID, "salam").await, 200);
    let contact = h.find(&h.a, WA_ID).await.unwrap();
    let hold = h
        .as_a(
            "PATCH",
            "/v1/settings",
            Some(json!({"legal_hold": true, "legal_hold_reason": "dispute 2026-114"})),
        )
        .await;
    assert_eq!(hold.status, 200);
    for route in ["erasure", "minor"] {
        let answer = h
            .as_a("POST", &format!("/v1/contacts/{WA_ID}/{route}"), None)
            .await;
        assert_eq!(
            (answer.status, answer.error_code()),
            (409, "legal_hold"),
            "{route}"
        );
    }
    assert_eq!(h.find(&h.a, WA_ID).await.unwrap(), contact);
    assert_eq!(
        h.as_a("GET", &format!("/v1/contacts/{WA_ID}"), None)
            .await
            .status,
        200
    );
    let refused: Vec<_> = h
        .audit_of_a()
        .await
        .into_iter()
        .filter(|e| e.outcome == Outcome::Refused)
        .collect();
    assert_eq!(refused.len(), 2);
    assert_eq!(refused[0].detail["refused_because"], "legal_hold");
    // Lifted, the erasure goes through.
    assert_eq!(
        h.as_a(
            "PATCH",
            "/v1/settings",
            Some(json!({"legal_hold": false, "legal_hold_reason": "dispute settled"})),
        )
        .await
        .status,
        200
    );
    assert_eq!(
        h.as_a("POST", &format!("/v1/contacts/{WA_ID}/erasure"), None)
            .await
            .status,
        202
    );
}

#[tokio::test]
async fn when_removal_fails_the_erasure_is_accepted_unreadable_and_left_to_the_purge() {
    let h = harness().await;
    assert_eq!(h.whatsapp_text("wamid.J1", WA_ID, "hi").await, 200);
    let contact = h.find(&h.a, WA_ID).await.unwrap();
    // An archive the archive store cannot remove (a directory where the file should be).
    let object_key = format!("{}/stuck.zip", h.a.tenant.id);
    let path = LocalArchives::new(h.system.dir.path())
        .path_of(&object_key)
        .unwrap();
    std::fs::create_dir_all(path.join("inside")).unwrap();
    ready_export(&h, &h.a, &contact.id, &object_key).await;
    let answer = h
        .as_a("POST", &format!("/v1/contacts/{WA_ID}/erasure"), None)
        .await;
    assert_eq!(answer.status, 202, "{:?}", answer.body);
    assert_eq!(answer.body["status"], "erasure_pending");
    assert_eq!(answer.body["content_unreadable"], true);
    let requested =
        Timestamp::parse_rfc3339(answer.body["requested_at"].as_str().unwrap()).unwrap();
    let by = Timestamp::parse_rfc3339(answer.body["completes_by"].as_str().unwrap()).unwrap();
    assert_eq!(by, requested.plus(days(1)));
    // Unreadable at once, through the API and in the store,
    assert_eq!(
        h.as_a("GET", &format!("/v1/contacts/{WA_ID}"), None)
            .await
            .status,
        404
    );
    let stored = h
        .store()
        .contact(&h.a.tenant.id, &contact.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.value.profile, None, "the data key is destroyed");
    assert!(stored.value.is_erasure_due() && !stored.value.may_process());
    // and filed where the retention purge finds it now.
    let due = h
        .store()
        .all_due(&h.a.tenant.id, Category::Erasure, h.store().now())
        .await
        .unwrap();
    assert!(due
        .iter()
        .any(|d| d.key == layout::contact(&h.a.tenant.id, &contact.id)));
}
