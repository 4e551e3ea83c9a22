//! The audit trail filtered by time range (a range of sort keys), action and subject, paged
//! newest first, on the embedded backend and DynamoDB Local alike.

use mizan_shared::domain::audit::{Actor, AuditEvent, AuditFilter};
use mizan_shared::domain::ids::{ContactId, TenantId};
use mizan_shared::ports::clock::Clock;
use mizan_test_support::on_both_backends;
use mizan_test_support::store::Harness;
use std::time::Duration;

async fn audit_filters_select_by_time_action_and_subject(h: Harness) {
    let tenant = TenantId::generate();
    let (amina, omar) = (ContactId::new("c1"), ContactId::new("c2"));
    let start = h.clock.now();
    let mut times = Vec::new();
    for (i, (action, subject)) in [
        ("rights.erasure_requested", &amina),
        ("consent.recorded", &omar),
        ("rights.access_requested", &omar),
        ("rights.erasure_confirmation", &amina),
        ("contact.erasure_requested", &amina),
    ]
    .into_iter()
    .enumerate()
    {
        let at = start.plus(Duration::from_secs(60 * i as u64));
        times.push(at);
        let event = AuditEvent::new(
            tenant.clone(),
            Actor::DataSubject,
            action,
            Some(subject.clone()),
            at,
        );
        h.store.append_audit(&event).await.unwrap();
    }
    let actions = |filter: AuditFilter| {
        let store = h.store.clone();
        let tenant = tenant.clone();
        async move {
            let mut all = Vec::new();
            let mut after = None;
            loop {
                let page = store
                    .audit_events_matching(&tenant, &filter, 2, after)
                    .await
                    .unwrap();
                all.extend(page.items.into_iter().map(|e| e.action));
                match page.next {
                    Some(next) => after = Some(next),
                    None => return all,
                }
            }
        }
    };
    assert_eq!(
        actions(AuditFilter {
            action: Some("rights.".into()),
            ..AuditFilter::default()
        })
        .await,
        vec![
            "rights.erasure_confirmation",
            "rights.access_requested",
            "rights.erasure_requested"
        ]
    );
    assert_eq!(
        actions(AuditFilter {
            subject: Some(amina.clone()),
            from: Some(times[1]),
            ..AuditFilter::default()
        })
        .await,
        vec!["contact.erasure_requested", "rights.erasure_confirmation"]
    );
    assert_eq!(
        actions(AuditFilter {
            from: Some(times[1]),
            to: Some(times[2]),
            ..AuditFilter::default()
        })
        .await,
        vec!["rights.access_requested", "consent.recorded"]
    );
    assert_eq!(
        actions(AuditFilter {
            action: Some("consent.recorded".into()),
            subject: Some(amina),
            ..AuditFilter::default()
        })
        .await,
        Vec::<String>::new()
    );
}

on_both_backends!(audit_filters_select_by_time_action_and_subject);
