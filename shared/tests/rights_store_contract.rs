//! The storage of rights requests and of what a chat request keeps between two messages (the
//! deletion code, the day's export, the notice of a built export), on the embedded backend and
//! DynamoDB Local alike.

use mizan_shared::domain::audit::{Actor, AuditEvent};
use mizan_shared::domain::export::{ExportJob, ExportScope, ExportState};
use mizan_shared::domain::ids::{ContactId, ExportId, TenantId};
use mizan_shared::domain::keywords::Language;
use mizan_shared::domain::rights_request::{
    ChatExport, PendingErasure, RightsChannel, RightsKind, RightsRequest, RightsState,
};
use mizan_shared::ports::clock::Clock;
use mizan_shared::ports::records::Key;
use mizan_shared::store::{layout, ChatExportOutcome, DataError, ErasureReason};
use mizan_test_support::store::Harness;
use mizan_test_support::{on_both_backends, seed};
use std::time::Duration;

fn request(
    h: &Harness,
    tenant: &TenantId,
    contact: &ContactId,
    state: RightsState,
) -> RightsRequest {
    RightsRequest::new(
        tenant.clone(),
        contact.clone(),
        RightsKind::Erasure,
        RightsChannel::Chat,
        Language::English,
        h.clock.now(),
        state,
    )
}

fn audit(h: &Harness, tenant: &TenantId, action: &str) -> AuditEvent {
    AuditEvent::new(
        tenant.clone(),
        Actor::DataSubject,
        action,
        None,
        h.clock.now(),
    )
}

async fn exists(h: &Harness, key: &Key) -> bool {
    h.store.stored_record(key).await.unwrap().is_some()
}

async fn requests_page_newest_first_refuse_stale_saves_and_outlive_their_contact(h: Harness) {
    let t = seed::tenant(&h.store, "Atlas Tea", None, None).await;
    let c = seed::contact(&h.store, &t.id, "212600000001").await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let r = request(&h, &t.id, &c, RightsState::PendingBusiness);
        h.store
            .record_rights_request(&r, &audit(&h, &t.id, "rights.erasure_requested"))
            .await
            .unwrap();
        ids.push(r.id);
        h.clock.advance(Duration::from_secs(1));
    }
    let first = h.store.rights_requests(&t.id, 2, None).await.unwrap();
    let second = h
        .store
        .rights_requests(&t.id, 2, first.next.clone())
        .await
        .unwrap();
    let listed: Vec<_> = first
        .items
        .iter()
        .chain(&second.items)
        .map(|r| r.id.clone())
        .collect();
    ids.reverse();
    assert_eq!(listed, ids);

    let read = h
        .store
        .rights_request(&t.id, &ids[0])
        .await
        .unwrap()
        .unwrap();
    let mut closed = read.clone();
    closed
        .value
        .close_by_business("erased", None, h.clock.now())
        .unwrap();
    h.store
        .save_rights_request(&closed, &audit(&h, &t.id, "rights_request.closed"))
        .await
        .unwrap();
    let stale = h
        .store
        .save_rights_request(&closed, &audit(&h, &t.id, "rights_request.closed"))
        .await;
    assert!(matches!(stale, Err(DataError::Conflict(_))), "{stale:?}");

    let contact = h.store.contact(&t.id, &c).await.unwrap().unwrap();
    h.store
        .request_erasure(
            &contact,
            ErasureReason::Request,
            &audit(&h, &t.id, "contact.erasure_requested"),
        )
        .await
        .unwrap();
    h.store.erase_contact(&t.id, &c).await.unwrap();
    assert_eq!(
        h.store
            .rights_requests(&t.id, 10, None)
            .await
            .unwrap()
            .items
            .len(),
        3
    );
}

async fn a_deletion_code_is_used_once_replaced_with_its_request_lapsing_and_erased_with_the_contact(
    h: Harness,
) {
    let t = seed::tenant(&h.store, "Atlas Tea", None, None).await;
    let c = seed::contact(&h.store, &t.id, "212600000002").await;
    let now = h.clock.now();
    let first = request(&h, &t.id, &c, RightsState::AwaitingConfirmation);
    let pending = PendingErasure::new(first.id.clone(), "1234".into(), now);
    h.store
        .ask_erasure_confirmation(
            &first,
            &pending,
            None,
            &audit(&h, &t.id, "rights.erasure_requested"),
        )
        .await
        .unwrap();
    // Asked again: the new code replaces the old one and the old request lapses, together.
    h.clock.advance(Duration::from_secs(1));
    let old = h.store.pending_erasure(&t.id, &c).await.unwrap().unwrap();
    let mut lapsed = h
        .store
        .rights_request(&t.id, &first.id)
        .await
        .unwrap()
        .unwrap();
    lapsed
        .value
        .finish(RightsState::Lapsed, "superseded", h.clock.now());
    let second = request(&h, &t.id, &c, RightsState::AwaitingConfirmation);
    let replacing = PendingErasure::new(second.id.clone(), "5678".into(), h.clock.now());
    h.store
        .ask_erasure_confirmation(
            &second,
            &replacing,
            Some((&old, &lapsed)),
            &audit(&h, &t.id, "rights.erasure_requested"),
        )
        .await
        .unwrap();
    let stored = h
        .store
        .rights_request(&t.id, &first.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.value.state, RightsState::Lapsed);
    // The old question read before the replacement cannot replace it again.
    let again = h
        .store
        .ask_erasure_confirmation(
            &request(&h, &t.id, &c, RightsState::AwaitingConfirmation),
            &replacing,
            Some((&old, &lapsed)),
            &audit(&h, &t.id, "rights.erasure_requested"),
        )
        .await;
    assert!(matches!(again, Err(DataError::Conflict(_))), "{again:?}");

    let mut current = h.store.pending_erasure(&t.id, &c).await.unwrap().unwrap();
    assert_eq!(current.value.code, "5678");
    current.value.wrong_codes = 1;
    h.store
        .save_pending_erasure(&t.id, &c, &current)
        .await
        .unwrap();
    let counted = h.store.pending_erasure(&t.id, &c).await.unwrap().unwrap();
    assert_eq!(counted.value.wrong_codes, 1);

    let mut done = h
        .store
        .rights_request(&t.id, &second.id)
        .await
        .unwrap()
        .unwrap();
    done.value
        .finish(RightsState::Completed, "erased", h.clock.now());
    h.store
        .settle_pending_erasure(
            &counted,
            &done,
            &audit(&h, &t.id, "rights.erasure_confirmation"),
        )
        .await
        .unwrap();
    assert!(h.store.pending_erasure(&t.id, &c).await.unwrap().is_none());
    let replay = h
        .store
        .settle_pending_erasure(
            &counted,
            &done,
            &audit(&h, &t.id, "rights.erasure_confirmation"),
        )
        .await;
    assert!(matches!(replay, Err(DataError::Conflict(_))), "{replay:?}");

    // A code still waiting goes with the contact's erasure.
    let third = request(&h, &t.id, &c, RightsState::AwaitingConfirmation);
    h.store
        .ask_erasure_confirmation(
            &third,
            &PendingErasure::new(third.id.clone(), "9999".into(), h.clock.now()),
            None,
            &audit(&h, &t.id, "rights.erasure_requested"),
        )
        .await
        .unwrap();
    let contact = h.store.contact(&t.id, &c).await.unwrap().unwrap();
    h.store
        .request_erasure(
            &contact,
            ErasureReason::Request,
            &audit(&h, &t.id, "contact.erasure_requested"),
        )
        .await
        .unwrap();
    h.store.erase_contact(&t.id, &c).await.unwrap();
    assert!(!exists(&h, &layout::pending_erasure(&t.id, &c)).await);
}

fn chat_job(
    h: &Harness,
    tenant: &TenantId,
    contact: &ContactId,
    request: &RightsRequest,
) -> ExportJob {
    let now = h.clock.now();
    ExportJob {
        id: ExportId::generate(),
        tenant: tenant.clone(),
        scope: ExportScope::Contact {
            contact: contact.clone(),
        },
        state: ExportState::Pending,
        requested_at: now,
        expires_at: now.plus(Duration::from_secs(24 * 3600)),
        requested_by: "data_subject".into(),
        downloads: 0,
        download_limit: Some(1),
        last_audited_download_at: None,
        chat_request: Some(request.id.clone()),
    }
}

async fn a_chat_export_is_made_once_per_marker_and_its_finish_leaves_a_notice(h: Harness) {
    let t = seed::tenant(&h.store, "Atlas Tea", None, None).await;
    let c = seed::contact(&h.store, &t.id, "212600000003").await;
    let mut asked = request(&h, &t.id, &c, RightsState::InProgress);
    asked.kind = RightsKind::Access;
    let job = chat_job(&h, &t.id, &c, &asked);
    let marker = ChatExport {
        export: job.id.clone(),
        request: asked.id.clone(),
        requested_at: h.clock.now(),
    };
    let made = h
        .store
        .request_chat_export(
            &job,
            &asked,
            &marker,
            None,
            &audit(&h, &t.id, "rights.access_requested"),
        )
        .await
        .unwrap();
    assert_eq!(made, ChatExportOutcome::Requested);
    // The same message handled twice: one export.
    let mut twice = request(&h, &t.id, &c, RightsState::InProgress);
    twice.kind = RightsKind::Access;
    let twin = chat_job(&h, &t.id, &c, &twice);
    let again = h
        .store
        .request_chat_export(
            &twin,
            &twice,
            &marker,
            None,
            &audit(&h, &t.id, "rights.access_requested"),
        )
        .await
        .unwrap();
    assert_eq!(again, ChatExportOutcome::AlreadyRequested);
    assert_eq!(h.store.exports(&t.id).await.unwrap().len(), 1);
    assert_eq!(
        h.store
            .rights_requests(&t.id, 10, None)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    let stored_marker = h.store.chat_export(&t.id, &c).await.unwrap().unwrap();
    assert_eq!(stored_marker.value, marker);

    // The worker finishes it: the notice is written with the job.
    let notice = layout::export_notice(&t.id, &job.id);
    assert!(!exists(&h, &notice).await);
    let mut built = h.store.export(&t.id, &job.id).await.unwrap().unwrap();
    built.value.mark_ready("exports/k.zip".into(), 10).unwrap();
    h.store.finish_export(&built).await.unwrap();
    assert!(exists(&h, &notice).await);
    // A download later saves the job again: no second notice is made.
    let mut downloaded = h.store.export(&t.id, &job.id).await.unwrap().unwrap();
    downloaded.value.count_download(h.clock.now());
    h.store.save_export(&downloaded).await.unwrap();

    // An export the business asked for leaves none.
    let mut api_job = chat_job(&h, &t.id, &c, &asked);
    api_job.chat_request = None;
    h.store.create_export(&api_job).await.unwrap();
    let mut api_built = h.store.export(&t.id, &api_job.id).await.unwrap().unwrap();
    api_built
        .value
        .mark_ready("exports/api.zip".into(), 10)
        .unwrap();
    h.store.finish_export(&api_built).await.unwrap();
    assert!(!exists(&h, &layout::export_notice(&t.id, &api_job.id)).await);

    // The contact's erasure takes the marker and the notice along.
    let contact = h.store.contact(&t.id, &c).await.unwrap().unwrap();
    h.store
        .request_erasure(
            &contact,
            ErasureReason::Request,
            &audit(&h, &t.id, "contact.erasure_requested"),
        )
        .await
        .unwrap();
    h.store.erase_contact(&t.id, &c).await.unwrap();
    assert!(!exists(&h, &notice).await);
    assert!(!exists(&h, &layout::chat_export(&t.id, &c)).await);
}

on_both_backends!(
    requests_page_newest_first_refuse_stale_saves_and_outlive_their_contact,
    a_deletion_code_is_used_once_replaced_with_its_request_lapsing_and_erased_with_the_contact,
    a_chat_export_is_made_once_per_marker_and_its_finish_leaves_a_notice,
);
