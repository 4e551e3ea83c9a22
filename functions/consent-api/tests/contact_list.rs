//! `GET /v1/contacts`: newest activity first and paged, searched by number (international or
//! local) and by name, filtered by flags the API sets, one tenant's only; bad filters name
//! their parameter, and a cursor keeps its filters.

mod support;

use serde_json::Value;
use support::{api_request, harness, Answer, Harness};

async fn get(h: &Harness, query: &[(&str, &str)]) -> Answer {
    h.call(api_request(
        "GET",
        "/v1/contacts",
        query,
        Some(&h.a.token),
        None,
    ))
    .await
}

fn wa_ids(answer: &Answer) -> Vec<String> {
    answer.body["contacts"]
        .as_array()
        .unwrap_or_else(|| panic!("{:?}", answer.body))
        .iter()
        .map(|c| c["profile"]["wa_id"].as_str().unwrap().to_owned())
        .collect()
}

const FATIMA: &str = "212612345678";
const OMAR: &str = "212700000002";
const HELENE: &str = "33612345678";

async fn three_customers(h: &Harness) {
    for (wamid, wa_id, name) in [
        ("wamid.L1", FATIMA, "Fatima Zahra"),
        ("wamid.L2", OMAR, "Omar Benali"),
        ("wamid.L3", HELENE, "Hélène Martin"),
    ] {
        assert_eq!(
            h.whatsapp_text_from(wamid, wa_id, name, "Bonjour").await,
            200
        );
        // Distinct times: the list orders by when each last wrote.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn contacts_are_listed_newest_first_in_pages_and_searched() {
    let h = harness().await;
    three_customers(&h).await;

    let all = get(&h, &[]).await;
    assert_eq!(all.status, 200, "{:?}", all.body);
    assert_eq!(wa_ids(&all), vec![HELENE, OMAR, FATIMA]);
    assert_eq!(all.body["next_cursor"], Value::Null);
    assert_eq!(all.body["contacts"][0]["profile"]["name"], "Hélène Martin");

    let first = get(&h, &[("limit", "2")]).await;
    assert_eq!(wa_ids(&first), vec![HELENE, OMAR]);
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let rest = get(&h, &[("limit", "2"), ("cursor", &cursor)]).await;
    assert_eq!(wa_ids(&rest), vec![FATIMA]);
    // A cursor belongs to its filters.
    let moved = get(
        &h,
        &[("limit", "2"), ("cursor", &cursor), ("query", "omar")],
    )
    .await;
    assert_eq!((moved.status, moved.error_field()), (400, Some("cursor")));

    for (query, expected) in [
        ("fat", vec![FATIMA]),
        ("ZAHRA fat", vec![FATIMA]),
        ("helene", vec![HELENE]),
        ("+212", vec![OMAR, FATIMA]),
        ("+212 6", vec![FATIMA]),
        ("00336", vec![HELENE]),
        ("nobody", vec![]),
    ] {
        let found = get(&h, &[("query", query)]).await;
        assert_eq!(found.status, 200, "{query}: {:?}", found.body);
        assert_eq!(wa_ids(&found), expected, "{query}");
    }

    // A local number needs the tenant's country.
    let local = get(&h, &[("query", "0612")]).await;
    assert_eq!((local.status, local.error_field()), (400, Some("query")));
    let country = h
        .as_a(
            "PATCH",
            "/v1/settings",
            Some(serde_json::json!({"default_country": "MA"})),
        )
        .await;
    assert_eq!(country.status, 200, "{:?}", country.body);
    assert_eq!(wa_ids(&get(&h, &[("query", "0612")]).await), vec![FATIMA]);

    // The business corrects a name: the list finds the new one.
    let renamed = h
        .as_a(
            "PATCH",
            &format!("/v1/contacts/{OMAR}"),
            Some(serde_json::json!({"name": "Omar Tazi"})),
        )
        .await;
    assert_eq!(renamed.status, 200, "{:?}", renamed.body);
    assert_eq!(wa_ids(&get(&h, &[("query", "tazi")]).await), vec![OMAR]);
    assert!(wa_ids(&get(&h, &[("query", "benali")]).await).is_empty());

    // Another tenant's key lists its own contacts: none.
    let other = h
        .call(api_request(
            "GET",
            "/v1/contacts",
            &[("query", "fat")],
            Some(&h.b.token),
            None,
        ))
        .await;
    assert_eq!(other.status, 200);
    assert!(wa_ids(&other).is_empty());
}

#[tokio::test]
async fn contacts_are_filtered_by_the_flags_the_api_sets() {
    let h = harness().await;
    three_customers(&h).await;
    let post = |path: String, body: Option<Value>| {
        let h = &h;
        async move {
            let answer = h.as_a("POST", &path, body).await;
            assert!(answer.status < 300, "{path}: {:?}", answer.body);
        }
    };
    post(format!("/v1/contacts/{FATIMA}/takeover"), None).await;
    post(format!("/v1/contacts/{OMAR}/restriction"), None).await;
    post(
        format!("/v1/contacts/{HELENE}/consent"),
        Some(serde_json::json!({
            "purpose": "marketing", "action": "opt_out", "source": "api", "evidence": "call-17"
        })),
    )
    .await;

    for (flags, expected) in [
        (vec![("flag", "taken_over")], vec![FATIMA]),
        (vec![("flag", "restricted")], vec![OMAR]),
        (vec![("flag", "opted_out")], vec![HELENE]),
        (vec![("flag", "awaiting_person")], vec![]),
        (vec![("flag", "taken_over,restricted")], vec![]),
        (
            vec![("flag", "taken_over"), ("query", "fatima")],
            vec![FATIMA],
        ),
    ] {
        let found = get(&h, &flags).await;
        assert_eq!(found.status, 200, "{flags:?}: {:?}", found.body);
        assert_eq!(wa_ids(&found), expected, "{flags:?}");
    }
    let taken = get(&h, &[("flag", "taken_over")]).await;
    assert_eq!(taken.body["contacts"][0]["taken_over"], true);
    assert_eq!(taken.body["contacts"][0]["awaiting_person"], false);

    // Handing back takes it off the list of taken-over conversations.
    let back = h
        .as_a("DELETE", &format!("/v1/contacts/{FATIMA}/takeover"), None)
        .await;
    assert_eq!(back.status, 200);
    assert!(wa_ids(&get(&h, &[("flag", "taken_over")]).await).is_empty());

    // An erased contact is not listed.
    post(format!("/v1/contacts/{OMAR}/erasure"), None).await;
    assert_eq!(wa_ids(&get(&h, &[]).await), vec![HELENE, FATIMA]);
}

#[tokio::test]
async fn bad_filters_name_their_parameter() {
    let h = harness().await;
    for (query, field) in [
        (vec![("flag", "vip")], "flag"),
        (vec![("flag", "taken_over,")], "flag"),
        (vec![("query", "  ")], "query"),
        (vec![("query", "+0")], "query"),
        (vec![("limit", "0")], "limit"),
        (vec![("sort", "name")], "sort"),
        (vec![("cursor", "forged.cursor")], "cursor"),
    ] {
        let answer = get(&h, &query).await;
        assert_eq!(
            (answer.status, answer.error_field()),
            (400, Some(field)),
            "{query:?}: {:?}",
            answer.body
        );
        assert!(answer.body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
}
