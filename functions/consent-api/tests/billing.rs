//! `GET /v1/billing/statements` and `GET /v1/billing/statements/{month}`: a statement issued by
//! the purge read back as JSON and CSV, one tenant's only; a month not issued is a 404, a
//! malformed one a 400 naming it.

mod support;

use mizan_shared::domain::analytics::Counts;
use mizan_shared::domain::billing::Statement;
use serde_json::json;
use support::{api_request, harness};

#[tokio::test]
async fn statements_are_listed_and_read_as_json_and_csv() {
    let h = harness().await;
    let counts: Counts = [
        ("billable.marketing.212".to_owned(), 40),
        ("free.service.212".to_owned(), 12),
    ]
    .into();
    let statement = Statement::of(h.a.tenant.id.clone(), "2026-11", &counts, h.store().now());
    assert!(h.store().issue_statement(&statement).await.unwrap());
    assert!(
        !h.store().issue_statement(&statement).await.unwrap(),
        "issued once"
    );

    let listed = h.as_a("GET", "/v1/billing/statements", None).await;
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    assert_eq!(listed.body["statements"][0]["month"], "2026-11");
    assert_eq!(listed.body["statements"][0]["billable"], 40);

    let one = h.as_a("GET", "/v1/billing/statements/2026-11", None).await;
    assert_eq!(one.status, 200);
    assert_eq!(
        one.body["lines"],
        json!([
            {"category": "marketing", "country_code": "212", "billable": 40, "free": 0},
            {"category": "service", "country_code": "212", "billable": 0, "free": 12}
        ])
    );
    let csv = h
        .call(api_request(
            "GET",
            "/v1/billing/statements/2026-11",
            &[("format", "csv")],
            Some(&h.a.token),
            None,
        ))
        .await;
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    assert_eq!(
        csv.text(),
        "month,category,country_code,billable,free\n\
         2026-11,marketing,212,40,0\n\
         2026-11,service,212,0,12\n\
         2026-11,total,,40,12\n"
    );

    // Another tenant's key sees its own: none.
    let other = h.as_b("GET", "/v1/billing/statements", None).await;
    assert_eq!(other.body["statements"], json!([]));
    let hidden = h.as_b("GET", "/v1/billing/statements/2026-11", None).await;
    assert_eq!(hidden.status, 404);

    let missing = h.as_a("GET", "/v1/billing/statements/2026-10", None).await;
    assert_eq!(
        (missing.status, missing.error_code()),
        (404, "statement_not_found")
    );
    for (path, query, field) in [
        ("/v1/billing/statements/2026-13", vec![], "month"),
        (
            "/v1/billing/statements/2026-11",
            vec![("format", "pdf")],
            "format",
        ),
        (
            "/v1/billing/statements",
            vec![("month", "2026-11")],
            "month",
        ),
    ] {
        let refused = h
            .call(api_request("GET", path, &query, Some(&h.a.token), None))
            .await;
        assert_eq!(
            (refused.status, refused.error_field()),
            (400, Some(field)),
            "{path} {query:?}"
        );
    }
}
