//! The archive's `index.html` in a real headless Chromium: the first thing a person opens. In
//! Arabic the page is laid out right to left, every message of the fixture is visible, messages
//! of the same second appear in the order they were stored (newest first), times carry their
//! time zone and no heading is an internal id. In French the page is French, left to right.

use mizan_shared::adapters::local_archives::LocalArchives;
use mizan_shared::domain::consent::{ConsentAction, ConsentEvent, Purpose};
use mizan_shared::domain::contact::ContactProfile;
use mizan_shared::domain::export::{ExportJob, ExportScope, ExportState};
use mizan_shared::domain::ids::{ApiKeyId, ContactId, ExportId, Wamid};
use mizan_shared::domain::message::{Direction, Message, MessageContent, MessageKind};
use mizan_shared::domain::tenant::Tenant;
use mizan_shared::domain::time::days;
use mizan_shared::ports::archives::ArchiveStore;
use mizan_shared::ports::clock::Clock;
use mizan_shared::workflows::export::{self, JobOutcome};
use mizan_test_support::browser::Browser;
use mizan_test_support::store::{embedded, Harness};
use serde_json::Value;
use std::io::Read;
use std::time::Duration;

/// The person's messages, in the order they were stored; the first three in the same second.
const ARABIC: [(&str, Direction); 5] = [
    ("السلام عليكم، هل الشاي الأخضر متوفر؟", Direction::Inbound),
    ("نعم، متوفر في جميع فروعنا.", Direction::Outbound),
    ("وكم سعره؟", Direction::Inbound),
    ("السعر 45 درهماً للعلبة.", Direction::Outbound),
    ("شكراً جزيلاً", Direction::Inbound),
];

async fn contact_with(
    h: &Harness,
    tenant: &Tenant,
    wa_id: &str,
    texts: &[(&str, Direction)],
) -> ContactId {
    let profile = ContactProfile {
        wa_id: Some(wa_id.to_owned().into()),
        name: Some("Amina Benali".to_owned().into()),
        ..ContactProfile::default()
    };
    let contact = h
        .store
        .upsert_contact(&tenant.id, &profile)
        .await
        .unwrap()
        .contact
        .value
        .id;
    let opt_out = ConsentEvent::from_api(
        tenant.id.clone(),
        contact.clone(),
        h.clock.now(),
        Purpose::Marketing,
        ConsentAction::OptOut,
        format!("browser-test:{wa_id}"),
        &ApiKeyId::new("key_0123456789ab"),
    );
    h.store.record_consent(&opt_out, None).await.unwrap();
    // WhatsApp's times have whole seconds: the first three share one.
    let second = h.clock.now();
    for (i, (text, direction)) in texts.iter().enumerate() {
        let wamid = Wamid::new(format!("wamid.PAGE{wa_id}{i}"));
        let make = match direction {
            Direction::Inbound => Message::inbound,
            Direction::Outbound => Message::outbound,
        };
        let sent_at = if i < 3 {
            second
        } else {
            second.plus(Duration::from_secs(60 * i as u64))
        };
        let mut message = make(
            tenant.id.clone(),
            contact.clone(),
            h.store.message_id(&tenant.id, &wamid),
            wamid,
            MessageKind::Text,
            MessageContent::text(text),
            sent_at,
        );
        message.stored_at = h.clock.now();
        h.store.put_message(&message).await.unwrap();
        h.clock.advance(Duration::from_millis(150));
    }
    h.clock.advance(Duration::from_secs(3600));
    contact
}

/// The contact's archive, its `index.html` written to a file in `dir`.
async fn page_of(
    h: &Harness,
    tenant: &Tenant,
    contact: &ContactId,
    dir: &std::path::Path,
) -> String {
    let archives = LocalArchives::new(dir);
    let job = ExportJob {
        id: ExportId::generate(),
        tenant: tenant.id.clone(),
        scope: ExportScope::Contact {
            contact: contact.clone(),
        },
        state: ExportState::Pending,
        requested_at: h.clock.now(),
        expires_at: h.clock.now().plus(days(1)),
        requested_by: "key_0123456789ab".into(),
        downloads: 0,
        download_limit: None,
        last_audited_download_at: None,
        chat_request: None,
    };
    h.store.create_export(&job).await.unwrap();
    let JobOutcome::Ready(built) = export::run_job(&h.store, &archives, &tenant.id, &job.id)
        .await
        .unwrap()
    else {
        panic!("the archive is built");
    };
    let bytes = archives.read(&built.object_key).await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut html = String::new();
    zip.by_name("index.html")
        .unwrap()
        .read_to_string(&mut html)
        .unwrap();
    let path = dir.join(format!("{}.html", job.id));
    std::fs::write(&path, &html).unwrap();
    format!("file://{}", path.display())
}

/// What the browser laid out: direction, language, headings, and each message row's visible
/// text in page order.
const LAYOUT: &str = r#"
    const visible = (el) => {
        const r = el.getBoundingClientRect();
        return el.checkVisibility() && r.width > 0 && r.height > 0;
    };
    return {
        lang: document.documentElement.lang,
        dir: document.documentElement.dir,
        direction: getComputedStyle(document.body).direction,
        headings: [...document.querySelectorAll('h1, h2, h3')].map(h => h.textContent),
        rows: [...document.querySelectorAll('tr.message')].map(tr => ({
            visible: visible(tr),
            cells: [...tr.cells].map(td => td.textContent),
            textVisible: visible(tr.cells[3]),
        })),
    };
"#;

#[tokio::test]
async fn the_arabic_page_reads_right_to_left_with_every_message_visible_in_stored_order() {
    let h = embedded().await;
    let tenant = Tenant::new("Atlas Tea", h.clock.now());
    h.store.create_tenant(&tenant).await.unwrap();
    let contact = contact_with(&h, &tenant, "212600000951", &ARABIC).await;
    let dir = tempfile::tempdir().unwrap();
    let url = page_of(&h, &tenant, &contact, dir.path()).await;

    let browser = Browser::start().await;
    browser.open(&url).await;
    let layout: Value = browser.eval(LAYOUT).await;
    assert_eq!(layout["lang"], "ar");
    assert_eq!(layout["dir"], "rtl");
    assert_eq!(
        layout["direction"], "rtl",
        "the layout itself is right to left"
    );

    let rows = layout["rows"].as_array().unwrap();
    let texts: Vec<&str> = rows
        .iter()
        .map(|r| r["cells"][3].as_str().unwrap())
        .collect();
    // Newest first: the two later ones, then the same second's three, the last stored first.
    let expected: Vec<&str> = vec![
        ARABIC[4].0,
        ARABIC[3].0,
        ARABIC[2].0,
        ARABIC[1].0,
        ARABIC[0].0,
    ];
    assert_eq!(texts, expected);
    for row in rows {
        assert_eq!(row["visible"], true, "{row}");
        assert_eq!(row["textVisible"], true, "{row}");
        let sent = row["cells"][0].as_str().unwrap();
        assert!(sent.ends_with("UTC") && sent.contains("2026"), "{sent}");
    }
    let from: Vec<&str> = rows
        .iter()
        .map(|r| r["cells"][1].as_str().unwrap())
        .collect();
    assert_eq!(from[0], "أنت");
    assert_eq!(from[1], "الشركة (آلياً)");

    let headings: Vec<&str> = layout["headings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    assert_eq!(headings[0], "بياناتك لدى Atlas Tea");
    for heading in &headings {
        assert!(
            !heading.contains(contact.as_str())
                && !heading.contains("exp_")
                && !heading.contains("ctc"),
            "no internal id as a heading: {heading}"
        );
    }
}

#[tokio::test]
async fn a_french_speakers_page_is_in_french_left_to_right() {
    let h = embedded().await;
    let tenant = Tenant::new("Atlas Tea", h.clock.now());
    h.store.create_tenant(&tenant).await.unwrap();
    let french = [
        ("Bonjour, vous livrez à Rabat ?", Direction::Inbound),
        ("Oui, sous 24 heures.", Direction::Outbound),
        ("Merci beaucoup", Direction::Inbound),
    ];
    let contact = contact_with(&h, &tenant, "212600000952", &french).await;
    let dir = tempfile::tempdir().unwrap();
    let url = page_of(&h, &tenant, &contact, dir.path()).await;
    let browser = Browser::start().await;
    browser.open(&url).await;
    let layout: Value = browser.eval(LAYOUT).await;
    assert_eq!(
        (layout["lang"].as_str(), layout["direction"].as_str()),
        (Some("fr"), Some("ltr"))
    );
    assert_eq!(layout["headings"][0], "Vos données détenues par Atlas Tea");
    assert_eq!(layout["headings"][1], "Vous concernant");
    let rows = layout["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r["visible"] == true));
    assert_eq!(rows[0]["cells"][1], "Vous");
    assert!(rows[0]["cells"][0].as_str().unwrap().contains(" à "));
}
