//! A contact is named in the API by its phone number in international form, by a local number
//! of the tenant's `default_country`, by WhatsApp's user id or by Mizan's own contact id (what
//! the audit trail shows); anything else is a 400 saying which forms are accepted.

mod support;

use serde_json::json;
use support::{harness, USER_ID};

#[tokio::test]
async fn every_accepted_form_names_the_same_contact() {
    let h = harness().await;
    let contact = h.contact_of(&h.a, "212612345678", Some(USER_ID)).await;
    let local = h.as_a("GET", "/v1/contacts/0612345678", None).await;
    assert_eq!(local.status, 400, "{:?}", local.body);
    assert!(local.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("default_country"));

    let set = h
        .as_a(
            "PATCH",
            "/v1/settings",
            Some(json!({"default_country": "ma"})),
        )
        .await;
    assert_eq!(set.status, 200, "{:?}", set.body);
    assert_eq!(set.body["default_country"], "MA");
    let unknown = h
        .as_a(
            "PATCH",
            "/v1/settings",
            Some(json!({"default_country": "XX"})),
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.error_field()),
        (400, Some("default_country"))
    );

    for reference in [
        "0612345678".to_owned(),
        "%2B212612345678".to_owned(),
        "00212612345678".to_owned(),
        "212612345678".to_owned(),
        USER_ID.to_owned(),
        contact.id.to_string(),
    ] {
        let found = h
            .as_a("GET", &format!("/v1/contacts/{reference}"), None)
            .await;
        assert_eq!(found.status, 200, "{reference}: {:?}", found.body);
        assert_eq!(found.body["id"], json!(contact.id), "{reference}");
    }
    // Another tenant's contact id is a 404 like any unknown contact.
    let theirs = h
        .as_b("GET", &format!("/v1/contacts/{}", contact.id), None)
        .await;
    assert_eq!(theirs.status, 404);
    let bad = h.as_a("GET", "/v1/contacts/a%23b", None).await;
    assert_eq!((bad.status, bad.error_field()), (400, Some("contact")));
    let message = bad.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("local number") && message.contains("contact id"),
        "{message}"
    );
}
