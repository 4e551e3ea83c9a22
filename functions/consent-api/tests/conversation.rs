//! `GET /v1/contacts/{contact}/messages`: a contact's conversation, newest first, in pages bound
//! to the tenant and the contact; every read audited; content past the chat retention read as
//! removed; other tenants' contacts and bad input refused.

mod support;

use mizan_shared::domain::audit::Actor;
use mizan_shared::domain::message::Direction;
use mizan_shared::domain::time::days;
use mizan_test_support::seed;
use support::{api_request, harness, Answer, Harness, WA_ID};

async fn page(h: &Harness, contact: &str, query: &[(&str, &str)]) -> Answer {
    h.call(api_request(
        "GET",
        &format!("/v1/contacts/{contact}/messages"),
        query,
        Some(&h.a.token),
        None,
    ))
    .await
}

#[tokio::test]
async fn a_conversation_reads_newest_first_in_pages_and_every_read_is_audited() {
    let h = harness().await;
    // One a second, the last two in the same second (a burst).
    let start = h.store().now().minus(std::time::Duration::from_secs(60));
    for n in 1..=5u64 {
        let second = start.plus(std::time::Duration::from_secs(n.min(4)));
        let status = h
            .whatsapp_text_at(
                &format!("wamid.CONV{n}"),
                WA_ID,
                &format!("message {n}"),
                second,
            )
            .await;
        assert_eq!(status, 200);
        // Stored at distinct milliseconds: within one second of WhatsApp's, that is the order.
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    let mut texts = Vec::new();
    let mut cursor: Option<String> = None;
    let mut reads = 0;
    loop {
        let mut query = vec![("limit", "3")];
        if let Some(c) = &cursor {
            query.push(("cursor", c.as_str()));
        }
        let answer = page(&h, WA_ID, &query).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        reads += 1;
        let messages = answer.body["messages"].as_array().unwrap();
        assert!(messages.len() <= 3);
        for m in messages {
            assert_eq!(m["direction"], "inbound");
            assert_eq!(m["sender"], "customer");
            assert_eq!(m["kind"], "text");
            assert_eq!(m["content_removed"], false);
            assert!(m["id"].as_str().is_some_and(|id| !id.contains("wamid")));
            texts.push(m["text"].as_str().unwrap().to_owned());
        }
        match answer.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        texts,
        [
            "message 5",
            "message 4",
            "message 3",
            "message 2",
            "message 1"
        ]
    );
    let audit = h.audit_of_a().await;
    let read: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "conversation.read")
        .collect();
    assert_eq!(read.len(), reads, "every page read is audited");
    assert!(read
        .iter()
        .all(|e| e.subject.is_some() && matches!(e.actor, Actor::ApiKey(_))));
    let counted: u64 = read
        .iter()
        .map(|e| e.detail["messages"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, 5, "the audit says how many messages were read");
}

#[tokio::test]
async fn content_past_the_chat_retention_reads_as_removed() {
    let h = harness().await;
    let contact = h.contact_of(&h.a, WA_ID, None).await;
    let store = h.store();
    let now = store.now();
    seed::text_message(
        store,
        (&h.a.tenant.id, &contact.id),
        "wamid.OLD",
        Direction::Inbound,
        "an old question",
        now.minus(days(40)),
    )
    .await;
    seed::text_message(
        store,
        (&h.a.tenant.id, &contact.id),
        "wamid.NEW",
        Direction::Outbound,
        "a recent answer",
        now,
    )
    .await;
    let answer = page(&h, WA_ID, &[]).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let messages = answer.body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["text"], "a recent answer");
    assert_eq!(messages[0]["sender"], "ai");
    assert_eq!(
        messages[1]["content_removed"], true,
        "past the 30-day chat retention"
    );
    assert!(messages[1]["text"].is_null());
    assert!(!answer.body.to_string().contains("an old question"));
}

#[tokio::test]
async fn other_tenants_contacts_foreign_cursors_and_bad_paging_are_refused() {
    let h = harness().await;
    h.whatsapp_text("wamid.X1", WA_ID, "one").await;
    h.whatsapp_text("wamid.X2", WA_ID, "two").await;
    h.whatsapp_text("wamid.Y1", "15550100002", "other").await;
    let from_b = h
        .as_b("GET", &format!("/v1/contacts/{WA_ID}/messages"), None)
        .await;
    assert_eq!(from_b.status, 404, "another tenant's contact is not found");

    let first = page(&h, WA_ID, &[("limit", "1")]).await;
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let elsewhere = page(&h, "15550100002", &[("limit", "1"), ("cursor", &cursor)]).await;
    assert_eq!(
        (elsewhere.status, elsewhere.error_field()),
        (400, Some("cursor")),
        "a cursor pages only the conversation it was issued for"
    );
    let forged = page(&h, WA_ID, &[("cursor", "bm90LWEtY3Vyc29y.0000")]).await;
    assert_eq!((forged.status, forged.error_field()), (400, Some("cursor")));
    for limit in ["0", "201", "ten"] {
        let bad = page(&h, WA_ID, &[("limit", limit)]).await;
        assert_eq!(
            (bad.status, bad.error_field()),
            (400, Some("limit")),
            "{limit}"
        );
    }
    let unknown = page(&h, WA_ID, &[("since", "yesterday")]).await;
    assert_eq!(
        (unknown.status, unknown.error_field()),
        (400, Some("since"))
    );
    let nobody = page(&h, "15550109876", &[]).await;
    assert_eq!(nobody.status, 404);
}
