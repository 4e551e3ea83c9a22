//! The contact list (`GET /v1/contacts`): newest activity first, paged; searched by the start of
//! a phone number or words of a name without a profile stored readable; filtered by flags; kept
//! in step with every change of a contact and gone with its erasure. On the embedded backend and
//! DynamoDB Local alike.

use mizan_shared::domain::audit::{Actor, AuditEvent};
use mizan_shared::domain::consent::{ConsentAction, ConsentEvent, ConsentSource, Purpose};
use mizan_shared::domain::contact::ContactProfile;
use mizan_shared::domain::contact_change::ContactChange;
use mizan_shared::domain::contact_search::{ContactFlag, ContactQuery};
use mizan_shared::domain::ids::ContactId;
use mizan_shared::domain::phone_country::Country;
use mizan_shared::domain::rectification::ProfileCorrection;
use mizan_shared::domain::tenant::Tenant;
use mizan_shared::ports::records::{Condition, Key, Query, Record, Write};
use mizan_shared::store::{layout, ContactFilter, ErasureReason};
use mizan_test_support::on_both_backends;
use mizan_test_support::store::Harness;
use std::time::Duration;

async fn tenant(h: &Harness, name: &str) -> Tenant {
    let tenant = Tenant::new(name, h.now());
    h.store.create_tenant(&tenant).await.unwrap();
    tenant
}

async fn contact(h: &Harness, t: &Tenant, wa_id: &str, name: &str) -> ContactId {
    let profile = ContactProfile {
        wa_id: Some(wa_id.into()),
        name: Some(name.into()),
        ..ContactProfile::default()
    };
    h.store
        .upsert_contact(&t.id, &profile)
        .await
        .unwrap()
        .contact
        .value
        .id
}

fn hours(n: u64) -> Duration {
    Duration::from_secs(3600 * n)
}

/// Every page of the list `filter` selects, `limit` at a time: the ids, in order.
async fn listed(h: &Harness, t: &Tenant, filter: &ContactFilter, limit: usize) -> Vec<ContactId> {
    let mut ids = Vec::new();
    let mut after = None;
    loop {
        let page = h
            .store
            .list_contacts(&t.id, filter, limit, after)
            .await
            .unwrap();
        assert!(page.items.len() <= limit);
        ids.extend(page.items.into_iter().map(|c| c.value.id));
        match page.next {
            Some(next) => after = Some(next),
            None => return ids,
        }
    }
}

fn search(text: &str) -> ContactFilter {
    ContactFilter {
        query: Some(ContactQuery::parse(text, Country::parse("MA")).unwrap()),
        flags: Vec::new(),
    }
}

fn flagged(flags: &[ContactFlag]) -> ContactFilter {
    ContactFilter {
        query: None,
        flags: flags.to_vec(),
    }
}

async fn list_entries(h: &Harness, t: &Tenant) -> Vec<Record> {
    h.records
        .query(
            &Query::prefix(layout::contact_list_partition(&t.id), ""),
            h.now(),
        )
        .await
        .unwrap()
        .items
}

async fn newest_activity_first_one_entry_per_contact_paged(h: Harness) {
    let t = tenant(&h, "Atlas Tea").await;
    let amina = contact(&h, &t, "212600000001", "Amina").await;
    h.clock.advance(hours(2));
    let omar = contact(&h, &t, "212600000002", "Omar").await;
    h.clock.advance(hours(2));
    let sara = contact(&h, &t, "212600000003", "Sara").await;
    let other = tenant(&h, "Other shop").await;
    contact(&h, &other, "212600000004", "Yassine").await;

    let all = ContactFilter::default();
    assert_eq!(
        listed(&h, &t, &all, 2).await,
        vec![sara.clone(), omar.clone(), amina.clone()]
    );
    // Amina writes again two hours later: she comes first, and is listed once.
    h.clock.advance(hours(2));
    contact(&h, &t, "212600000001", "Amina").await;
    assert_eq!(
        listed(&h, &t, &all, 50).await,
        vec![amina.clone(), sara.clone(), omar.clone()]
    );
    assert_eq!(list_entries(&h, &t).await.len(), 3);
}

async fn found_by_the_start_of_a_number_or_words_of_a_name_stored_as_hashes(h: Harness) {
    let t = tenant(&h, "Atlas Tea").await;
    let helene = contact(&h, &t, "212612345678", "Hélène El Amrani").await;
    let omar = contact(&h, &t, "212700000002", "Omar Amrani").await;
    let french = contact(&h, &t, "33612345678", "Hélène Martin").await;

    let found = |text: &'static str| {
        let h = &h;
        let t = &t;
        async move {
            let mut ids = listed(h, t, &search(text), 50).await;
            ids.sort();
            ids
        }
    };
    let sorted = |mut ids: Vec<ContactId>| {
        ids.sort();
        ids
    };
    assert_eq!(found("+212 6").await, vec![helene.clone()]);
    assert_eq!(
        found("06 12").await,
        vec![helene.clone()],
        "a local number of MA"
    );
    assert_eq!(found("2127").await, vec![omar.clone()]);
    assert_eq!(
        found("helene").await,
        sorted(vec![helene.clone(), french.clone()])
    );
    assert_eq!(
        found("amr").await,
        sorted(vec![helene.clone(), omar.clone()])
    );
    assert_eq!(found("HEL amr").await, vec![helene.clone()]);
    assert!(found("zineb").await.is_empty());

    // The business corrects a name: found by the new one, no longer by the old.
    let corrected = ContactChange::Rectify(ProfileCorrection {
        name: Some(Some("Zineb Alaoui".into())),
        username: None,
    });
    h.store
        .change_contact(&t.id, &omar, &corrected, &Actor::Admin)
        .await
        .unwrap();
    assert_eq!(found("zineb").await, vec![omar.clone()]);
    assert_eq!(found("amrani").await, vec![helene.clone()]);

    // Nothing the list keeps reads as a number or a name.
    for entry in list_entries(&h, &t).await {
        let text = entry.doc.to_string().to_lowercase();
        for clear in [
            "212612", "2126", "helene", "hélène", "amrani", "zineb", "omar",
        ] {
            assert!(!text.contains(clear), "{clear} in {text}");
        }
    }
}

async fn flags_follow_every_change_of_a_contact(h: Harness) {
    let t = tenant(&h, "Atlas Tea").await;
    let amina = contact(&h, &t, "212600000001", "Amina").await;
    let omar = contact(&h, &t, "212600000002", "Omar").await;
    let sara = contact(&h, &t, "212600000003", "Sara").await;
    let until = h.now().plus(hours(24));
    let change = |id: &ContactId, change: ContactChange, actor: Actor| {
        let h = &h;
        let t = &t;
        let id = id.clone();
        async move {
            h.store
                .change_contact(&t.id, &id, &change, &actor)
                .await
                .unwrap();
        }
    };
    let with = |flags: &'static [ContactFlag]| {
        let h = &h;
        let t = &t;
        async move {
            let mut ids = listed(h, t, &flagged(flags), 50).await;
            ids.sort();
            ids
        }
    };
    change(
        &amina,
        ContactChange::HandOff { until },
        Actor::System("ai-reply".into()),
    )
    .await;
    change(&omar, ContactChange::TakeOver { until }, Actor::Admin).await;
    change(&sara, ContactChange::Restrict, Actor::Admin).await;
    let stop = ConsentEvent {
        tenant: t.id.clone(),
        contact: omar.clone(),
        at: h.now(),
        purpose: Purpose::Marketing,
        action: ConsentAction::OptOut,
        source: ConsentSource::Webhook,
        evidence: "stop_1".into(),
        actor: "meta".into(),
    };
    h.store.record_consent(&stop, None).await.unwrap();

    let mut taken = vec![amina.clone(), omar.clone()];
    taken.sort();
    assert_eq!(with(&[ContactFlag::TakenOver]).await, taken);
    assert_eq!(
        with(&[ContactFlag::AwaitingPerson]).await,
        vec![amina.clone()]
    );
    assert_eq!(with(&[ContactFlag::OptedOut]).await, vec![omar.clone()]);
    assert_eq!(with(&[ContactFlag::Restricted]).await, vec![sara.clone()]);
    assert_eq!(
        with(&[ContactFlag::TakenOver, ContactFlag::OptedOut]).await,
        vec![omar.clone()]
    );
    // A person takes what was handed off: no longer awaiting, still taken over.
    change(&amina, ContactChange::TakeOver { until }, Actor::Admin).await;
    assert!(with(&[ContactFlag::AwaitingPerson]).await.is_empty());
    assert_eq!(with(&[ContactFlag::TakenOver]).await, taken);
    // A take-over ends by itself at its time, without a write.
    h.clock.set(until);
    assert!(with(&[ContactFlag::TakenOver]).await.is_empty());
    // A filter that matches few reads on, and every page is full or the last.
    let page = h
        .store
        .list_contacts(&t.id, &flagged(&[ContactFlag::Restricted]), 1, None)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
}

async fn an_erased_contact_leaves_the_list_at_once(h: Harness) {
    let t = tenant(&h, "Atlas Tea").await;
    let amina = contact(&h, &t, "212600000001", "Amina").await;
    let omar = contact(&h, &t, "212600000002", "Omar").await;
    let found = h.store.contact(&t.id, &amina).await.unwrap().unwrap();
    let audit = AuditEvent::new(
        t.id.clone(),
        Actor::Admin,
        "contact.erasure_requested",
        Some(amina.clone()),
        h.now(),
    );
    h.store
        .request_erasure(&found, ErasureReason::Request, &audit)
        .await
        .unwrap();
    assert_eq!(
        listed(&h, &t, &ContactFilter::default(), 50).await,
        vec![omar.clone()]
    );
    assert!(listed(&h, &t, &search("amina"), 50).await.is_empty());
    h.store.erase_contact(&t.id, &amina).await.unwrap();
    h.store.erase_contact(&t.id, &omar).await.unwrap();
    assert!(list_entries(&h, &t).await.is_empty());
}

/// Contacts written before the list existed (no search terms, no entry) are listed by the
/// operator's reindex, once.
async fn contacts_from_before_the_list_are_listed_by_a_reindex(h: Harness) {
    let t = tenant(&h, "Atlas Tea").await;
    let amina = contact(&h, &t, "212600000001", "Amina Tazi").await;
    let omar = contact(&h, &t, "212600000002", "Omar").await;
    // As an older version wrote Amina: no terms in her record, no entry in the list.
    let key = layout::contact(&t.id, &amina);
    let mut record = h.records.get(&key, h.now()).await.unwrap().unwrap();
    record.doc.as_object_mut().unwrap().remove("search");
    h.records
        .write(Write::Put {
            record,
            condition: Condition::Always,
        })
        .await
        .unwrap();
    let entries: Vec<Key> = list_entries(&h, &t)
        .await
        .into_iter()
        .map(|r| r.key)
        .collect();
    h.records.delete_many(entries).await.unwrap();
    contact(&h, &t, "212600000002", "Omar").await;
    h.clock.advance(hours(2));
    contact(&h, &t, "212600000002", "Omar").await;
    assert_eq!(
        listed(&h, &t, &ContactFilter::default(), 50).await,
        vec![omar.clone()]
    );

    assert_eq!(h.store.reindex_contacts(&t.id).await.unwrap(), 1);
    assert_eq!(
        listed(&h, &t, &search("tazi"), 50).await,
        vec![amina.clone()]
    );
    assert_eq!(
        listed(&h, &t, &ContactFilter::default(), 50).await,
        vec![omar, amina]
    );
    assert_eq!(h.store.reindex_contacts(&t.id).await.unwrap(), 0, "once");
}

on_both_backends!(
    contacts_from_before_the_list_are_listed_by_a_reindex,
    newest_activity_first_one_entry_per_contact_paged,
    found_by_the_start_of_a_number_or_words_of_a_name_stored_as_hashes,
    flags_follow_every_change_of_a_contact,
    an_erased_contact_leaves_the_list_at_once,
);
