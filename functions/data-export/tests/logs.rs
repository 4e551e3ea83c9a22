//! P10: whatever happens to an export — asked for, built, followed, downloaded, refused — the
//! logs carry no phone number, name, message text, API key or download token.

mod support;

use mizan_test_support::logs::captured_logs;
use support::{harness, WA_ID};

#[tokio::test]
async fn an_export_from_request_to_download_logs_nothing_personal() {
    let logs = captured_logs();
    let h = harness().await;
    h.contact_with_messages(&h.a, WA_ID, 2).await;
    let asked = h.call(h.event("post-export-contact", None, "", "")).await;
    let id = asked.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(h.run_worker().await.built, 1);
    let view = h.call(h.event("get-export", None, &id, "")).await.json();
    let url = view["download_url"].as_str().unwrap();
    let token = url.split_once("token=").unwrap().1;
    assert_eq!(
        h.call(h.event("get-download", None, "", token))
            .await
            .status,
        200
    );
    for refused in [
        "post-export-unknown-contact",
        "post-export-without-api-key",
        "get-download-tampered",
    ] {
        h.call(h.event(refused, None, "", "")).await;
    }

    let written = logs.text();
    assert!(written.contains("export built") && written.contains("request answered"));
    logs.assert_free_of(&[
        WA_ID,
        "15550109999",
        "Amina",
        "message 1 from",
        &h.a.token,
        token,
    ]);
}
