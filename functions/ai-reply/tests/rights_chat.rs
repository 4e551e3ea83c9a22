//! A person exercises their rights by writing to the business (issue: privacy in the chat):
//! "privacy", "my data" and "delete my data" in English, French and Arabic, through webhook
//! intake and the stream as in production, against the embedded store, a fake Graph API and the
//! export worker's workflow with local archives.

use mizan_ai_reply::{handle_batch, BatchReport, Deps, Outcome};
use mizan_shared::adapters::backoff::RetryPolicy;
use mizan_shared::adapters::faq::FaqResponder;
use mizan_shared::adapters::graph::{GraphMessenger, GraphSettings};
use mizan_shared::adapters::in_process_pace_ledger::InProcessPaceLedger;
use mizan_shared::adapters::local_archives::LocalArchives;
use mizan_shared::domain::audit::Actor;
use mizan_shared::domain::consent::{ConsentAction, ConsentEvent, Purpose};
use mizan_shared::domain::contact_change::ContactChange;
use mizan_shared::domain::download_token::{TokenSigner, DOWNLOAD_PATH};
use mizan_shared::domain::identity_hash::IdentifierKind;
use mizan_shared::domain::ids::{ApiKeyId, ContactId, PhoneNumberId, TenantId};
use mizan_shared::domain::reply::{ReplyKind, SkipReason};
use mizan_shared::domain::rights_request::{RightsKind, RightsRequest, RightsState};
use mizan_shared::domain::tenant::{Tenant, TenantSettings};
use mizan_shared::domain::whatsapp::parse_delivery;
use mizan_shared::store::Store;
use mizan_shared::workflows::export::run_job;
use mizan_shared::workflows::intake;
use mizan_shared::workflows::rights_chat::{ExportLinks, NoticeOutcome};
use mizan_test_support::fakes::graph::FakeGraph;
use mizan_test_support::logs::captured_logs;
use mizan_test_support::system::TestSystem;
use std::sync::Arc;
use std::time::Duration;

const PHONE: &str = "100000000000001";
const BASE: &str = "https://api.atlas.example";

struct Harness {
    system: TestSystem,
    deps: Deps,
    tenant: Tenant,
    graph: FakeGraph,
    archives: Arc<LocalArchives>,
    _archive_dir: tempfile::TempDir,
    sequence: std::sync::atomic::AtomicU32,
}

async fn harness(settings: TenantSettings) -> Harness {
    let system = TestSystem::start().await;
    let store = system.store().clone();
    let mut tenant = Tenant::new("Atlas Tea", store.now());
    tenant.settings = settings;
    store.create_tenant(&tenant).await.unwrap();
    let tenant = store
        .attach_phone_number(&tenant.id, &PhoneNumberId::new(PHONE))
        .await
        .unwrap();
    let graph = FakeGraph::start().await;
    let messenger = GraphMessenger::new(GraphSettings {
        base_url: graph.base_url.clone(),
        version: "v24.0".into(),
        access_token: "EAAG-test-token".into(),
        timeout: Duration::from_millis(500),
        retry: RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        },
    });
    let dir = tempfile::tempdir().unwrap();
    let archives = Arc::new(LocalArchives::new(dir.path()));
    let links = Arc::new(ExportLinks {
        signer: Arc::new(TokenSigner::new(vec![7; 32])),
        base_url: BASE.into(),
    });
    let deps = Deps::from_parts(
        store,
        Arc::new(FaqResponder),
        Arc::new(messenger),
        Arc::new(InProcessPaceLedger::default()),
        20,
    )
    .with_archives(archives.clone())
    .with_links(Some(links));
    system.skip_changes().await;
    Harness {
        system,
        deps,
        tenant,
        graph,
        archives,
        _archive_dir: dir,
        sequence: Default::default(),
    }
}

impl Harness {
    fn store(&self) -> &Store {
        &self.deps.store
    }

    /// The person writes; intake stores it and the stream hands it to ai-reply.
    async fn says(&self, wa_id: &str, text: &str) -> BatchReport {
        self.writes(wa_id, text).await;
        self.deliver().await
    }

    /// The person's message, signed by Meta and stored by intake (not yet delivered).
    async fn writes(&self, wa_id: &str, text: &str) {
        let n = self
            .sequence
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let body = serde_json::to_vec(&serde_json::json!({
            "object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550100000", "phone_number_id": PHONE},
                "contacts": [{"profile": {"name": "Amina Benali"}, "wa_id": wa_id}],
                "messages": [{"from": wa_id, "id": format!("wamid.RIGHTS{n:04}"),
                              "timestamp": self.store().now().as_unix_seconds().to_string(),
                              "type": "text", "text": {"body": text}}]
            }}]}]
        }))
        .unwrap();
        intake::ingest(self.store(), &parse_delivery(&body).unwrap())
            .await
            .unwrap();
    }

    /// Whatever the stream holds now, handled by ai-reply.
    async fn deliver(&self) -> BatchReport {
        let event = self.system.stream_event().await;
        handle_batch(&self.deps, event).await
    }

    /// The export worker builds every pending export (as the data-export worker does).
    async fn worker_builds(&self) {
        for job in self.store().exports(&self.tenant.id).await.unwrap() {
            run_job(self.store(), self.archives.as_ref(), &job.tenant, &job.id)
                .await
                .unwrap();
        }
    }

    fn later(&self, by: Duration) {
        self.system.clock().advance(by);
    }

    fn contact_id(&self, wa_id: &str) -> ContactId {
        self.store()
            .hasher()
            .contact_id(&self.tenant.id, IdentifierKind::WaId, wa_id)
    }

    /// The text of the last message sent.
    fn last_sent(&self) -> String {
        let sent = self.graph.text_attempts();
        sent.last().expect("a message was sent")["text"]["body"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn sent_count(&self) -> usize {
        self.graph.text_attempts().len()
    }

    async fn requests(&self) -> Vec<RightsRequest> {
        self.store()
            .rights_requests(&self.tenant.id, 100, None)
            .await
            .unwrap()
            .items
    }

    async fn code(&self, wa_id: &str) -> String {
        self.store()
            .pending_erasure(&self.tenant.id, &self.contact_id(wa_id))
            .await
            .unwrap()
            .expect("a deletion waits for its code")
            .value
            .code
    }

    async fn audit_actions(&self) -> Vec<(String, Actor)> {
        let page = self
            .store()
            .audit_events(&self.tenant.id, 200, None)
            .await
            .unwrap();
        page.items
            .into_iter()
            .map(|e| (e.action, e.actor))
            .collect()
    }
}

fn replied(report: &BatchReport) -> bool {
    matches!(
        report.outcomes.last().map(|o| &o.2),
        Some(Outcome::Replied(ReplyKind::RightsAnswer))
    )
}

#[tokio::test]
async fn privacy_answers_what_is_kept_and_for_how_long_in_the_persons_language() {
    let settings = TenantSettings {
        chat_retention_days: 45,
        privacy_notice_url: Some("https://atlas.example/privacy".into()),
        ..TenantSettings::default()
    };
    let h = harness(settings).await;
    for (wa_id, text, expect) in [
        ("212600000101", "privacy", "What Atlas Tea keeps about you"),
        (
            "212600000102",
            "Confidentialité",
            "Ce que Atlas Tea conserve",
        ),
        ("212600000103", "الخصوصية", "ما تحتفظ به Atlas Tea"),
    ] {
        let report = h.says(wa_id, text).await;
        assert!(replied(&report), "{report:?}");
        let answer = h.last_sent();
        assert!(answer.starts_with(expect), "{answer}");
        assert!(answer.contains("45") && answer.contains("https://atlas.example/privacy"));
    }
    let actions = h.audit_actions().await;
    assert_eq!(
        actions
            .iter()
            .filter(|(a, actor)| a == "rights.information_requested" && *actor == Actor::DataSubject)
            .count(),
        3
    );
}

#[tokio::test]
async fn my_data_builds_one_export_a_day_and_sends_its_single_use_link_in_the_chat() {
    let logs = captured_logs();
    let h = harness(TenantSettings::default()).await;
    let wa_id = "212600000201";
    let asked = h.says(wa_id, "mes données").await;
    assert!(replied(&asked), "{asked:?}");
    assert!(h
        .last_sent()
        .starts_with("Nous préparons une copie de vos données"));
    let requests = h.requests().await;
    assert_eq!(requests.len(), 1);
    assert_eq!(
        (requests[0].kind, requests[0].state),
        (RightsKind::Access, RightsState::InProgress)
    );

    // Asked again while it is built: the same export, "being prepared".
    h.says(wa_id, "MES DONNEES").await;
    assert!(h.last_sent().starts_with("Nous préparons"));
    assert_eq!(h.store().exports(&h.tenant.id).await.unwrap().len(), 1);

    // Built: the notice reaches ai-reply, which sends the link.
    h.worker_builds().await;
    let noticed = h.deliver().await;
    assert_eq!(
        noticed.notices,
        vec![Some(NoticeOutcome::LinkSent)],
        "{noticed:?}"
    );
    let link_message = h.last_sent();
    assert!(
        link_message.starts_with("Vos données sont prêtes"),
        "{link_message}"
    );
    let prefix = format!("{BASE}{DOWNLOAD_PATH}?token=");
    assert!(link_message.contains(&prefix), "{link_message}");
    let token = link_message
        .split(&prefix)
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    logs.assert_free_of(&[&token, wa_id, "mes données"]);
    let request = &h.requests().await[0];
    assert_eq!(request.state, RightsState::Completed);
    assert_eq!(request.outcome.as_deref(), Some("link_sent"));
    let job = &h.store().exports(&h.tenant.id).await.unwrap()[0];
    assert_eq!(
        (job.download_limit, job.expires_at),
        (
            Some(1),
            job.requested_at.plus(Duration::from_secs(24 * 3600))
        )
    );
    // The conversation keeps the words, never the token.
    let conversation = h
        .store()
        .conversation(
            &h.tenant.id,
            &h.contact_id(wa_id),
            &h.tenant.retention(),
            20,
            None,
        )
        .await
        .unwrap()
        .items;
    let kept: Vec<String> = conversation
        .iter()
        .filter_map(|m| m.content.as_ref().map(|c| format!("{:?}", c.0.expose())))
        .collect();
    assert!(
        kept.iter().any(|t| t.contains("[download link]")),
        "{kept:?}"
    );
    assert!(!kept.iter().any(|t| t.contains("token=")), "{kept:?}");

    // A redelivered notice sends nothing more.
    let before = h.sent_count();
    h.worker_builds().await;
    h.deliver().await;
    assert_eq!(h.sent_count(), before);

    // Within the day: the link again while unused; once used, "already sent".
    h.later(Duration::from_secs(3600));
    h.says(wa_id, "my data").await;
    assert!(h.last_sent().contains(&prefix), "{}", h.last_sent());
    let mut used = h
        .store()
        .export(&h.tenant.id, &job.id)
        .await
        .unwrap()
        .unwrap();
    used.value.count_download(h.store().now());
    h.store().save_export(&used).await.unwrap();
    h.says(wa_id, "my data").await;
    assert!(
        h.last_sent().starts_with("We already sent you a copy"),
        "{}",
        h.last_sent()
    );
    assert_eq!(
        h.requests().await.len(),
        1,
        "one request, asked three more times"
    );

    // A day later: a new export.
    h.later(Duration::from_secs(24 * 3600));
    h.says(wa_id, "بياناتي").await;
    assert!(h.last_sent().starts_with("نقوم بإعداد نسخة"));
    assert_eq!(h.store().exports(&h.tenant.id).await.unwrap().len(), 2);
}

#[tokio::test]
async fn delete_my_data_asks_for_a_code_and_the_right_one_erases_after_a_last_message() {
    let logs = captured_logs();
    let h = harness(TenantSettings::default()).await;
    let wa_id = "212600000301";
    h.says(wa_id, "Hello, is my order ready?").await;
    let stop = ConsentEvent::from_api(
        h.tenant.id.clone(),
        h.contact_id(wa_id),
        h.store().now(),
        Purpose::All,
        ConsentAction::OptOut,
        "test:stop".into(),
        &ApiKeyId::new("key_0123456789ab"),
    );
    h.store().record_consent(&stop, None).await.unwrap();
    h.system.skip_changes().await;

    let asked = h.says(wa_id, "delete my data").await;
    assert!(replied(&asked), "{asked:?}");
    let code = h.code(wa_id).await;
    let question = h.last_sent();
    assert!(question.contains(&format!("DELETE {code}")), "{question}");
    assert_eq!(
        h.requests().await[0].state,
        RightsState::AwaitingConfirmation
    );

    // A wrong code: nothing happens but the answer.
    let wrong = if code == "0000" { "1111" } else { "0000" };
    h.says(wa_id, &format!("DELETE {wrong}")).await;
    assert!(h.last_sent().starts_with("That code does not match"));
    assert!(h
        .store()
        .contact(&h.tenant.id, &h.contact_id(wa_id))
        .await
        .unwrap()
        .is_some());

    let erased = h.says(wa_id, &format!("delete {code}")).await;
    assert!(erased.failures.is_empty(), "{erased:?}");
    assert!(h
        .last_sent()
        .starts_with("Confirmed: your data is being deleted"));
    assert!(h
        .store()
        .contact(&h.tenant.id, &h.contact_id(wa_id))
        .await
        .unwrap()
        .is_none());
    let request = &h.requests().await[0];
    assert_eq!(
        (request.state, request.outcome.as_deref()),
        (RightsState::Completed, Some("erased"))
    );
    // The opt-out outlives the data (P12).
    assert!(h
        .store()
        .is_suppressed(&h.tenant.id, IdentifierKind::WaId, wa_id)
        .await
        .unwrap());
    let actions = h.audit_actions().await;
    for action in [
        "rights.erasure_requested",
        "rights.erasure_confirmation",
        "contact.erasure_requested",
    ] {
        assert!(
            actions
                .iter()
                .any(|(a, actor)| a == action && *actor == Actor::DataSubject),
            "{action} by the data subject: {actions:?}"
        );
    }
    assert!(actions
        .iter()
        .any(|(a, _)| a == "contact.erasure_completed"));

    // The code replayed: they are a new contact now, and nothing waits for a code.
    let sent = h.sent_count();
    h.later(Duration::from_secs(5));
    h.says(wa_id, &format!("DELETE {code}")).await;
    assert_eq!(h.sent_count(), sent + 1);
    assert!(h.last_sent().starts_with("No deletion request is waiting"));
    let fresh = h
        .store()
        .contact(&h.tenant.id, &h.contact_id(wa_id))
        .await
        .unwrap()
        .unwrap();
    assert!(fresh.value.erasure_requested_at.is_none());

    logs.assert_free_of(&[&code, wa_id, "delete my data", "Amina"]);
}

#[tokio::test]
async fn an_expired_code_or_three_wrong_ones_lapse_the_request_and_nothing_is_deleted() {
    let h = harness(TenantSettings::default()).await;
    let wa_id = "212600000401";
    h.says(wa_id, "supprimer mes données").await;
    let code = h.code(wa_id).await;
    assert!(h.last_sent().contains(&format!("SUPPRIMER {code}")));
    h.later(Duration::from_secs(11 * 60));
    h.says(wa_id, &format!("SUPPRIMER {code}")).await;
    assert!(
        h.last_sent().starts_with("Ce code a expiré"),
        "{}",
        h.last_sent()
    );
    let lapsed = &h.requests().await[0];
    assert_eq!(
        (lapsed.state, lapsed.outcome.as_deref()),
        (RightsState::Lapsed, Some("code_expired"))
    );
    assert!(h
        .store()
        .contact(&h.tenant.id, &h.contact_id(wa_id))
        .await
        .unwrap()
        .is_some());

    h.says(wa_id, "احذف بياناتي").await;
    let code = h.code(wa_id).await;
    let wrong = if code == "0000" { "1111" } else { "0000" };
    for _ in 0..3 {
        h.says(wa_id, &format!("احذف {wrong}")).await;
    }
    assert!(
        h.last_sent().starts_with("رموز خاطئة كثيرة"),
        "{}",
        h.last_sent()
    );
    h.says(wa_id, &format!("احذف {code}")).await;
    assert!(
        h.last_sent().starts_with("لا يوجد طلب حذف"),
        "{}",
        h.last_sent()
    );
    assert!(h
        .store()
        .contact(&h.tenant.id, &h.contact_id(wa_id))
        .await
        .unwrap()
        .is_some());
    let states: Vec<_> = h
        .requests()
        .await
        .iter()
        .map(|r| (r.state, r.outcome.clone()))
        .collect();
    assert_eq!(
        states,
        vec![
            (RightsState::Lapsed, Some("too_many_wrong_codes".into())),
            (RightsState::Lapsed, Some("code_expired".into())),
        ]
    );
}

#[tokio::test]
async fn under_legal_hold_the_request_is_held_for_the_business() {
    let settings = TenantSettings {
        legal_hold: true,
        legal_hold_reason: Some("case 2026-114".into()),
        ..TenantSettings::default()
    };
    let h = harness(settings).await;
    h.says("212600000501", "delete my data").await;
    assert!(h
        .last_sent()
        .starts_with("Your request is recorded. Some of your data must be kept"));
    let held = &h.requests().await[0];
    assert_eq!(
        (held.kind, held.state),
        (RightsKind::Erasure, RightsState::Held)
    );
    assert!(h
        .store()
        .pending_erasure(&h.tenant.id, &h.contact_id("212600000501"))
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn with_self_service_off_requests_wait_for_the_business() {
    let settings = TenantSettings {
        rights_self_service: false,
        ..TenantSettings::default()
    };
    let h = harness(settings).await;
    h.says("212600000601", "my data").await;
    assert!(h.last_sent().contains("passed on to Atlas Tea"));
    h.later(Duration::from_secs(1));
    h.says("212600000601", "delete my data").await;
    let states: Vec<_> = h
        .requests()
        .await
        .iter()
        .map(|r| (r.kind, r.state))
        .collect();
    assert_eq!(
        states,
        vec![
            (RightsKind::Erasure, RightsState::PendingBusiness),
            (RightsKind::Access, RightsState::PendingBusiness),
        ]
    );
    assert!(h.store().exports(&h.tenant.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn rights_are_answered_with_automation_off_a_take_over_or_a_block_and_nothing_else_is() {
    let settings = TenantSettings {
        automation_enabled: false,
        ..TenantSettings::default()
    };
    let h = harness(settings).await;
    let wa_id = "212600000701";
    let first = h.says(wa_id, "What are your opening hours?").await;
    assert_eq!(
        first.outcomes[0].2,
        Outcome::Skipped(SkipReason::AutomationOff)
    );
    assert_eq!(h.sent_count(), 0);
    h.says(wa_id, "privacy").await;
    assert_eq!(h.sent_count(), 1);

    let contact = h.contact_id(wa_id);
    h.store()
        .change_contact(
            &h.tenant.id,
            &contact,
            &ContactChange::TakeOver {
                until: h.store().now().plus(Duration::from_secs(3600)),
            },
            &Actor::System("test".into()),
        )
        .await
        .unwrap();
    let mut blocked = h
        .store()
        .contact(&h.tenant.id, &contact)
        .await
        .unwrap()
        .unwrap();
    blocked.value.consent.blocked = true;
    h.store().save_contact(&blocked, None).await.unwrap();
    h.system.skip_changes().await;
    h.says(wa_id, "privacy").await;
    assert_eq!(
        h.sent_count(),
        2,
        "the rights answer reaches a blocked, taken-over contact"
    );
    let other = h.says(wa_id, "Hello?").await;
    assert!(
        matches!(other.outcomes[0].2, Outcome::Skipped(_)),
        "{other:?}"
    );
    assert_eq!(h.sent_count(), 2, "nothing else does");
}

#[tokio::test]
async fn a_rights_request_in_the_middle_of_a_burst_is_answered_too() {
    let h = harness(TenantSettings::default()).await;
    let wa_id = "212600000801";
    for text in ["privacy", "thanks"] {
        h.writes(wa_id, text).await;
        h.later(Duration::from_secs(1));
    }
    let report = h.deliver().await;
    assert_eq!(report.outcomes.len(), 1);
    let sent: Vec<String> = h
        .graph
        .text_attempts()
        .iter()
        .map(|m| m["text"]["body"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(sent[0].starts_with("What Atlas Tea keeps about you"));
}

#[tokio::test]
async fn rights_requests_belong_to_their_tenant() {
    let h = harness(TenantSettings::default()).await;
    h.says("212600000901", "delete my data").await;
    let other = TenantId::generate();
    assert!(h
        .store()
        .rights_requests(&other, 100, None)
        .await
        .unwrap()
        .items
        .is_empty());
    let id = h.requests().await[0].id.clone();
    assert!(h
        .store()
        .rights_request(&other, &id)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn a_closed_account_answers_nothing_more() {
    use mizan_shared::workflows::account::{change_account, AccountChange};
    let h = harness(TenantSettings::default()).await;
    // Stored before the closure, handled after it.
    h.writes("212600000991", "privacy").await;
    change_account(h.store(), &h.tenant.id, AccountChange::Close, Actor::Admin)
        .await
        .unwrap();
    h.deliver().await;
    assert_eq!(h.sent_count(), 0);

    // Nor does an export asked for before the closure send its link after it.
    let asked = harness(TenantSettings::default()).await;
    asked.says("212600000992", "my data").await;
    let sent = asked.sent_count();
    change_account(
        asked.store(),
        &asked.tenant.id,
        AccountChange::Close,
        Actor::Admin,
    )
    .await
    .unwrap();
    asked.worker_builds().await;
    let noticed = asked.deliver().await;
    assert_eq!(
        noticed.notices,
        vec![Some(NoticeOutcome::LeftToBusiness(
            mizan_shared::domain::outbound::Refusal::AccountClosed
        ))]
    );
    assert_eq!(asked.sent_count(), sent);
}
