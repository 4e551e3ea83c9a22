//! `GET /v1/analytics` and `GET /v1/analytics/report`: a known fixture of counters read back by
//! day and by month, as JSON and CSV, one tenant's only; the report page in a real headless
//! Chromium draws the fixture's numbers (bars in proportion, points where there are values) and
//! loads nothing from anywhere; bad ranges name their parameter.

mod support;

use mizan_shared::domain::analytics::Counts;
use mizan_test_support::browser::Browser;
use serde_json::{json, Value};
use support::{api_request, harness, Answer, Harness};

/// Three days of November: a busy one, a quieter one, and one with nothing.
async fn fixture(h: &Harness) {
    let counts = |pairs: &[(&str, u64)]| -> Counts {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    };
    let days = [
        (
            "2026-11-01",
            counts(&[
                ("messages.in.text", 10),
                ("messages.out.ai.text", 6),
                ("messages.out.agent.text", 2),
                ("consent.opt_out.keyword", 1),
                ("response.le_30", 4),
                ("response.le_120", 2),
            ]),
        ),
        (
            "2026-11-02",
            counts(&[
                ("messages.in.text", 4),
                ("messages.out.ai.text", 4),
                ("consent.opt_in.api", 2),
                ("response.le_10", 1),
            ]),
        ),
    ];
    for (n, (day, counts)) in days.into_iter().enumerate() {
        h.store()
            .count_once(&h.a.tenant.id, day, &[(format!("fixture-{n}"), counts)])
            .await
            .unwrap();
    }
}

async fn get(h: &Harness, path: &str, query: &[(&str, &str)]) -> Answer {
    h.call(api_request("GET", path, query, Some(&h.a.token), None))
        .await
}

const NOVEMBER: [(&str, &str); 2] = [("from", "2026-11-01"), ("to", "2026-11-03")];

#[tokio::test]
async fn counters_are_read_by_day_and_by_month_as_json_and_csv() {
    let h = harness().await;
    fixture(&h).await;
    let by_day = get(&h, "/v1/analytics", &NOVEMBER).await;
    assert_eq!(by_day.status, 200, "{:?}", by_day.body);
    let periods = by_day.body["periods"].as_array().unwrap();
    assert_eq!(periods.len(), 3, "every day, the empty one too");
    let first = &periods[0]["summary"];
    assert_eq!(first["messages_in"], 10);
    assert_eq!(first["messages_out"], 8);
    assert_eq!(first["automation_rate"], 60.0);
    assert_eq!(first["opt_outs"], 1);
    assert_eq!(first["response_median_seconds"], 30);
    assert_eq!(first["response_p90_seconds"], 120);
    assert_eq!(periods[2]["counts"], json!({}));
    assert_eq!(periods[2]["summary"]["automation_rate"], Value::Null);
    assert_eq!(by_day.body["total"]["summary"]["messages_in"], 14);
    assert_eq!(by_day.body["total"]["counts"]["consent.opt_in.api"], 2);

    let mut monthly: Vec<(&str, &str)> = NOVEMBER.to_vec();
    monthly.push(("granularity", "month"));
    let by_month = get(&h, "/v1/analytics", &monthly).await;
    assert_eq!(by_month.body["periods"][0]["period"], "2026-11");
    assert_eq!(by_month.body["periods"][0]["summary"]["messages_out"], 12);

    let mut csv: Vec<(&str, &str)> = NOVEMBER.to_vec();
    csv.push(("format", "csv"));
    let sheet = get(&h, "/v1/analytics", &csv).await;
    assert_eq!(sheet.status, 200);
    let text = sheet.text();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 4, "{text}");
    assert!(rows[0].starts_with("period,messages_in,messages_out,ai_replies"));
    assert!(rows[0].ends_with("messages.out.ai.text,response.le_10,response.le_120,response.le_30"));
    assert!(
        rows[1].starts_with("2026-11-01,10,8,6,2,0,60,0,0,1,6,30,120,"),
        "{}",
        rows[1]
    );
    assert!(
        rows[3].starts_with("2026-11-03,0,0,0,0,0,,0,0,0,0,,,"),
        "{}",
        rows[3]
    );

    // Another tenant's key reads its own counters: none.
    let other = h
        .call(api_request(
            "GET",
            "/v1/analytics",
            &NOVEMBER,
            Some(&h.b.token),
            None,
        ))
        .await;
    assert_eq!(other.body["total"]["summary"]["messages_in"], 0);

    for (query, field) in [
        (vec![("from", "2026-13-01")], "from"),
        (vec![("to", "yesterday")], "to"),
        (vec![("from", "2026-11-05"), ("to", "2026-11-01")], "from"),
        (vec![("from", "2020-01-01"), ("to", "2026-11-01")], "from"),
        (vec![("granularity", "week")], "granularity"),
        (vec![("format", "xml")], "format"),
        (vec![("tenant", "other")], "tenant"),
    ] {
        let refused = get(&h, "/v1/analytics", &query).await;
        assert_eq!(
            (refused.status, refused.error_field()),
            (400, Some(field)),
            "{query:?}"
        );
    }
    let refused = get(&h, "/v1/analytics/report", &[("format", "csv")]).await;
    assert_eq!(
        (refused.status, refused.error_field()),
        (400, Some("format"))
    );
}

/// What the browser laid out: each chart's marks with their period, value and drawn size.
const LAYOUT: &str = r#"
const marks = (selector) => [...document.querySelectorAll(selector)].map(m => {
  const box = m.getBoundingClientRect();
  return {period: m.dataset.period, value: Number(m.dataset.value),
          height: box.height, top: box.top, visible: box.width > 0};
});
const card = (id) => document.querySelector('#' + id + ' .value').textContent;
return {
  title: document.title,
  received: marks('#messages rect.bar.in'),
  sent: marks('#messages rect.bar.out'),
  rate: marks('#automation circle.point'),
  opt_outs: marks('#consent rect.bar.opt_out'),
  opt_ins: marks('#consent rect.bar.opt_in'),
  median: marks('#response circle.point.median'),
  p90: marks('#response circle.point.p90'),
  cards: {in: card('messages-in'), out: card('messages-out'), rate: card('automation-rate'),
          opt_outs: card('opt-outs'), median: card('response-median')},
  chart_widths: [...document.querySelectorAll('svg')].map(s => s.getBoundingClientRect().width),
  scripts: document.querySelectorAll('script').length,
  fetched: performance.getEntriesByType('resource').length,
  rows: document.querySelectorAll('tbody tr').length,
};
"#;

#[tokio::test]
async fn the_report_page_draws_the_fixture_in_a_real_browser() {
    let h = harness().await;
    fixture(&h).await;
    h.as_a(
        "PATCH",
        "/v1/account",
        Some(json!({"business_name": "Thé de l'Atlas <Casablanca>"})),
    )
    .await;
    let page = get(&h, "/v1/analytics/report", &NOVEMBER).await;
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/html")));
    assert!(page
        .header("content-security-policy")
        .is_some_and(|csp| csp.contains("default-src 'none'")));
    let html = page.text();
    assert!(
        html.contains("Thé de l'Atlas &lt;Casablanca&gt;"),
        "the name is escaped"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.html");
    std::fs::write(&path, &html).unwrap();
    let browser = Browser::start().await;
    browser.open(&format!("file://{}", path.display())).await;
    let layout = browser.eval(LAYOUT).await;

    assert!(layout["title"]
        .as_str()
        .unwrap()
        .starts_with("Usage report"));
    let values = |name: &str| -> Vec<(String, f64)> {
        layout[name]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["period"].as_str().unwrap().to_owned(),
                    m["value"].as_f64().unwrap(),
                )
            })
            .collect()
    };
    let days = ["2026-11-01", "2026-11-02", "2026-11-03"];
    let series = |numbers: &[f64]| -> Vec<(String, f64)> {
        days.iter()
            .map(|d| d.to_string())
            .zip(numbers.iter().copied())
            .collect()
    };
    assert_eq!(values("received"), series(&[10.0, 4.0, 0.0]));
    assert_eq!(values("sent"), series(&[8.0, 4.0, 0.0]));
    assert_eq!(values("opt_outs"), series(&[1.0, 0.0, 0.0]));
    assert_eq!(values("opt_ins"), series(&[0.0, 2.0, 0.0]));
    // Points only where there is a value: no rate or response time on the empty day.
    assert_eq!(values("rate"), series(&[60.0, 100.0]));
    assert_eq!(values("median"), series(&[30.0, 10.0]));
    assert_eq!(values("p90"), series(&[120.0, 10.0]));

    // Bars are drawn in proportion to their values, on one baseline.
    let heights = |name: &str| -> Vec<f64> {
        layout[name]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["height"].as_f64().unwrap())
            .collect()
    };
    let received = heights("received");
    assert!(received[0] > 50.0, "{received:?}");
    assert!(
        (received[1] / received[0] - 0.4).abs() < 0.02,
        "{received:?}"
    );
    assert_eq!(received[2], 0.0);
    let sent = heights("sent");
    assert!((sent[0] / received[0] - 0.8).abs() < 0.02, "{sent:?}");
    // A higher rate is drawn higher.
    let rate_tops: Vec<f64> = layout["rate"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["top"].as_f64().unwrap())
        .collect();
    assert!(rate_tops[1] < rate_tops[0], "{rate_tops:?}");

    assert_eq!(layout["cards"]["in"], "14");
    assert_eq!(layout["cards"]["out"], "12");
    assert_eq!(layout["cards"]["rate"], "71.4%");
    assert_eq!(layout["cards"]["opt_outs"], "1");
    assert_eq!(layout["cards"]["median"], "≤ 30 s");
    assert_eq!(layout["rows"], 3);
    let widths = layout["chart_widths"].as_array().unwrap();
    assert_eq!(widths.len(), 4);
    assert!(
        widths.iter().all(|w| w.as_f64().unwrap() > 600.0),
        "{widths:?}"
    );
    assert_eq!(layout["scripts"], 0);
    assert_eq!(layout["fetched"], 0, "nothing loaded from anywhere");
}
