//! A person's sends in the store: accepted with the message, its order and the idempotency key
//! all or nothing; a key replays within 24 hours and is free again after; the order is claimed
//! once; the wamid WhatsApp gives is routed so statuses (also those that came first) reach the
//! message; erasure leaves nothing of it. Every case runs against the embedded backend and
//! DynamoDB Local.

use mizan_test_support::on_both_backends;
use mizan_test_support::seed;
use mizan_test_support::store as support;

use mizan_shared::domain::audit::{Actor, AuditEvent};
use mizan_shared::domain::ids::{ApiKeyId, ContactId, Wamid};
use mizan_shared::domain::message::{Message, MessageContent, MessageKind, Status};
use mizan_shared::domain::tenant::Tenant;
use mizan_shared::ports::records::Query;
use mizan_shared::store::{
    layout, Acceptance, IdempotencyClaim, OrderState, OutboundOrder, StatusFields, StatusOutcome,
    IDEMPOTENCY_WINDOW,
};
use std::time::Duration;
use support::Harness;

async fn tenant_and_contact(h: &Harness) -> (Tenant, ContactId) {
    let tenant = seed::tenant(&h.store, "Atlas Tea", None, Some("100000000000001")).await;
    let contact = seed::contact(&h.store, &tenant.id, "15550100001").await;
    (tenant, contact)
}

fn agent_text(
    h: &Harness,
    tenant: &Tenant,
    contact: &ContactId,
    text: &str,
) -> (Message, OutboundOrder) {
    let message = Message::from_agent(
        tenant.id.clone(),
        contact.clone(),
        ApiKeyId::new("key_0123456789ab"),
        MessageKind::Text,
        MessageContent::text(text),
        None,
        h.now(),
    );
    let order = OutboundOrder::for_message(&message, None).unwrap();
    (message, order)
}

fn audit(tenant: &Tenant, h: &Harness) -> AuditEvent {
    AuditEvent::new(
        tenant.id.clone(),
        Actor::System("test".into()),
        "message.accepted",
        None,
        h.now(),
    )
}

fn claim(fingerprint: &str) -> IdempotencyClaim {
    IdempotencyClaim {
        key_hash: "k1".into(),
        fingerprint: fingerprint.into(),
    }
}

async fn idempotency_keys_replay_conflict_and_expire(h: Harness) {
    let (tenant, contact) = tenant_and_contact(&h).await;
    let (first, order) = agent_text(&h, &tenant, &contact, "hello");
    let accepted = h
        .store
        .accept_outbound(&first, &order, Some(&claim("same")), &audit(&tenant, &h))
        .await
        .unwrap();
    assert_eq!(accepted, Acceptance::Accepted);
    let (second, order2) = agent_text(&h, &tenant, &contact, "hello");
    let replay = h
        .store
        .accept_outbound(&second, &order2, Some(&claim("same")), &audit(&tenant, &h))
        .await
        .unwrap();
    assert_eq!(
        replay,
        Acceptance::Replay {
            contact: contact.clone(),
            message: first.id.clone()
        }
    );
    let conflict = h
        .store
        .accept_outbound(&second, &order2, Some(&claim("other")), &audit(&tenant, &h))
        .await
        .unwrap();
    assert_eq!(conflict, Acceptance::Conflict);
    // All or nothing: the refused second message and its order were not stored.
    let policy = tenant.retention();
    assert!(h
        .store
        .message_by_id(&tenant.id, &contact, &second.id, &policy)
        .await
        .unwrap()
        .is_none());
    assert!(h
        .store
        .outbound_order(&tenant.id, &contact, &second.id)
        .await
        .unwrap()
        .is_none());
    // After 24 hours the key is free again (even before TTL removes it).
    h.clock.advance(IDEMPOTENCY_WINDOW + Duration::from_secs(1));
    let (third, order3) = agent_text(&h, &tenant, &contact, "hello again");
    let fresh = h
        .store
        .accept_outbound(&third, &order3, Some(&claim("other")), &audit(&tenant, &h))
        .await
        .unwrap();
    assert_eq!(fresh, Acceptance::Accepted);
}

async fn an_order_is_claimed_once_and_a_release_gives_it_back(h: Harness) {
    let (tenant, contact) = tenant_and_contact(&h).await;
    let (message, order) = agent_text(&h, &tenant, &contact, "hello");
    h.store
        .accept_outbound(&message, &order, None, &audit(&tenant, &h))
        .await
        .unwrap();
    assert!(h.store.claim_outbound(&order).await.unwrap());
    assert!(
        !h.store.claim_outbound(&order).await.unwrap(),
        "claimed once"
    );
    assert!(h.store.release_outbound(&order).await.unwrap());
    assert!(
        h.store.claim_outbound(&order).await.unwrap(),
        "released: claimable again"
    );
    assert!(h
        .store
        .finish_outbound(&order, OrderState::Sent)
        .await
        .unwrap());
    assert!(!h.store.claim_outbound(&order).await.unwrap());
    let stored = h
        .store
        .outbound_order(&tenant.id, &contact, &message.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.state, OrderState::Sent);
}

async fn statuses_reach_a_persons_message_through_its_wamid_even_those_that_came_first(h: Harness) {
    let (tenant, contact) = tenant_and_contact(&h).await;
    let (message, order) = agent_text(&h, &tenant, &contact, "hello");
    h.store
        .accept_outbound(&message, &order, None, &audit(&tenant, &h))
        .await
        .unwrap();
    let wamid = Wamid::new("wamid.HBgLMTU1NTAxMDAwMDEVAgARGBI5QUJDREVGMDEyMzQ1Njc4OQA=");
    // "delivered" arrives before the sender recorded the wamid: kept.
    let early = h
        .store
        .record_status(
            &tenant.id,
            Some(&contact),
            &wamid,
            StatusFields {
                status: Status::Delivered,
                at: h.now(),
                errors: Vec::new(),
                billing: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(early, StatusOutcome::Pending);
    h.store
        .record_outbound_sent(&message, &wamid)
        .await
        .unwrap();
    let policy = tenant.retention();
    let stored = h
        .store
        .message_by_id(&tenant.id, &contact, &message.id, &policy)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.status,
        Status::Delivered,
        "the early status is applied"
    );
    assert_eq!(
        stored.wamid.as_ref(),
        Some(&wamid),
        "the wamid is sealed with it"
    );
    let read = h
        .store
        .apply_status(
            &tenant.id,
            &contact,
            &wamid,
            Status::Read,
            h.now(),
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(
        read,
        StatusOutcome::UnknownMessage,
        "the wamid's own key holds nothing"
    );
    let routed = h
        .store
        .record_status(
            &tenant.id,
            Some(&contact),
            &wamid,
            StatusFields {
                status: Status::Read,
                at: h.now(),
                errors: Vec::new(),
                billing: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(routed, StatusOutcome::Advanced(Status::Read));
}

async fn erasure_leaves_nothing_of_a_persons_message(h: Harness) {
    let (tenant, contact) = tenant_and_contact(&h).await;
    let (message, order) = agent_text(&h, &tenant, &contact, "hello");
    h.store
        .accept_outbound(&message, &order, None, &audit(&tenant, &h))
        .await
        .unwrap();
    h.store
        .record_outbound_sent(&message, &Wamid::new("wamid.X1"))
        .await
        .unwrap();
    let versioned = h
        .store
        .contact(&tenant.id, &contact)
        .await
        .unwrap()
        .unwrap();
    h.store
        .request_erasure(
            &versioned,
            mizan_shared::store::ErasureReason::Request,
            &audit(&tenant, &h),
        )
        .await
        .unwrap();
    h.store.erase_contact(&tenant.id, &contact).await.unwrap();
    let left = h
        .records
        .query(
            &Query::prefix(layout::contact_partition(&tenant.id, &contact), ""),
            h.now(),
        )
        .await
        .unwrap();
    assert!(
        left.items.is_empty(),
        "{:?}",
        left.items.iter().map(|r| &r.kind).collect::<Vec<_>>()
    );
}

on_both_backends!(
    idempotency_keys_replay_conflict_and_expire,
    an_order_is_claimed_once_and_a_release_gives_it_back,
    statuses_reach_a_persons_message_through_its_wamid_even_those_that_came_first,
    erasure_leaves_nothing_of_a_persons_message,
);
