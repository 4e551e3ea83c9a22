//! The pace ledger in the data table: sends noted by one function are seen by the campaign
//! sender's pacer in another, for the window they count in, per number. Runs against the
//! embedded backend and DynamoDB Local.

use mizan_shared::adapters::table_pace_ledger::TablePaceLedger;
use mizan_shared::domain::ids::PhoneNumberId;
use mizan_shared::ports::pace_ledger::PaceLedger;
use mizan_shared::workflows::pacing::PACING_WINDOW;
use mizan_test_support::on_both_backends;
use mizan_test_support::store::Harness;
use std::time::Duration;

async fn a_numbers_sends_are_seen_for_the_window_they_count_in(h: Harness) {
    let ledger = TablePaceLedger::new(h.store.clone());
    let number = PhoneNumberId::new("100000000000001");
    let other = PhoneNumberId::new("100000000000002");
    ledger.record(&number).await.unwrap();
    h.clock.advance(Duration::from_millis(600));
    ledger.record(&number).await.unwrap();
    ledger.record(&number).await.unwrap();
    ledger.record(&other).await.unwrap();
    let ages = ledger.recent(&number, PACING_WINDOW).await.unwrap();
    assert_eq!(ages.len(), 3, "{ages:?}");
    assert_eq!(
        ages.iter()
            .filter(|a| **a == Duration::from_millis(600))
            .count(),
        1,
        "the first send, across a second's boundary or not: {ages:?}"
    );
    h.clock.advance(Duration::from_millis(500));
    assert_eq!(
        ledger.recent(&number, PACING_WINDOW).await.unwrap().len(),
        2,
        "the first send left the window"
    );
    h.clock.advance(Duration::from_secs(2));
    assert!(ledger
        .recent(&number, PACING_WINDOW)
        .await
        .unwrap()
        .is_empty());
    assert!(ledger
        .recent(&other, PACING_WINDOW)
        .await
        .unwrap()
        .is_empty());
}

on_both_backends!(a_numbers_sends_are_seen_for_the_window_they_count_in);
