//! Foundation figures: the embedded store's message put and conversation query, and envelope
//! seal/open of a 1 KB message. Run: `cargo bench -p mizan-shared --bench foundation`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use mizan_shared::adapters::embedded::{EmbeddedKeyStore, EmbeddedStore};
use mizan_shared::adapters::local_vault::LocalVault;
use mizan_shared::crypto::envelope::{CacheSettings, Envelope};
use mizan_shared::domain::contact::ContactProfile;
use mizan_shared::domain::identity_hash::IdentityHasher;
use mizan_shared::domain::ids::{ContactId, TenantId, Wamid};
use mizan_shared::domain::message::{Message, MessageContent, MessageKind};
use mizan_shared::domain::retention::RetentionPolicy;
use mizan_shared::domain::tenant::Tenant;
use mizan_shared::domain::time::Timestamp;
use mizan_shared::ports::clock::SystemClock;
use mizan_shared::ports::keys::KeyContext;
use mizan_shared::store::Store;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

struct Fixture {
    store: Store,
    envelope: Arc<Envelope>,
    tenant: Tenant,
    contact: ContactId,
    _dir: tempfile::TempDir,
}

fn fixture(rt: &tokio::runtime::Runtime) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let envelope = Arc::new(Envelope::new(
        Arc::new(LocalVault::open_or_create(&dir.path().join("master.key")).unwrap()),
        Arc::new(EmbeddedKeyStore::open(dir.path()).unwrap()),
        CacheSettings::default(),
    ));
    let store = Store::new(
        Arc::new(EmbeddedStore::open(dir.path()).unwrap()),
        envelope.clone(),
        Arc::new(IdentityHasher::new([1; 32])),
        Arc::new(SystemClock),
    );
    let tenant = Tenant::new("Bench", Timestamp::now());
    let contact = rt.block_on(async {
        store.create_tenant(&tenant).await.unwrap();
        let profile = ContactProfile {
            wa_id: Some("212600000000".into()),
            ..ContactProfile::default()
        };
        store
            .upsert_contact(&tenant.id, &profile)
            .await
            .unwrap()
            .contact
            .value
            .id
    });
    Fixture {
        store,
        envelope,
        tenant,
        contact,
        _dir: dir,
    }
}

fn message(f: &Fixture, n: u64, text: &str) -> Message {
    let now = Timestamp::now();
    let wamid = Wamid::new(format!("wamid.bench.{n}"));
    Message::inbound(
        f.tenant.id.clone(),
        f.contact.clone(),
        f.store.message_id(&f.tenant.id, &wamid),
        wamid,
        MessageKind::Text,
        MessageContent::text(text),
        now,
    )
}

/// 1,024 bytes of mixed French, Arabic and ASCII text.
fn text_of_1kb() -> String {
    let mut text = String::new();
    for c in "Bonjour, je voudrais commander du thé à la menthe. مرحبا "
        .chars()
        .cycle()
    {
        if text.len() + c.len_utf8() > 1024 {
            break;
        }
        text.push(c);
    }
    while text.len() < 1024 {
        text.push(' ');
    }
    text
}

fn store_benches(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let f = fixture(&rt);
    let policy = RetentionPolicy::default();
    let counter = AtomicU64::new(0);
    let text = "Salam, is the shop open today?";

    let mut group = c.benchmark_group("embedded_store");
    group.throughput(Throughput::Elements(1));
    group.bench_function("put_message (sealed, fsync per commit)", |b| {
        b.iter(|| {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            rt.block_on(f.store.put_message(&message(&f, n, text)))
                .unwrap()
        })
    });
    group.bench_function("conversation newest 20 (decrypted)", |b| {
        b.iter(|| {
            rt.block_on(
                f.store
                    .conversation(&f.tenant.id, &f.contact, &policy, 20, None),
            )
            .unwrap()
        })
    });
    group.finish();
}

fn envelope_benches(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let f = fixture(&rt);
    let context = KeyContext::new(f.tenant.id.clone(), f.contact.clone());
    let plaintext = text_of_1kb().into_bytes();
    let sealed = rt
        .block_on(f.envelope.seal(&context, b"rec", &plaintext))
        .unwrap();

    let mut group = c.benchmark_group("envelope_1kb");
    group.throughput(Throughput::Bytes(plaintext.len() as u64));
    group.bench_function("seal (cached key)", |b| {
        b.iter(|| {
            rt.block_on(f.envelope.seal(&context, b"rec", &plaintext))
                .unwrap()
        })
    });
    group.bench_function("open (cached key)", |b| {
        b.iter(|| {
            rt.block_on(f.envelope.open(&context, b"rec", &sealed))
                .unwrap()
        })
    });
    group.bench_function("seal (new contact: key generated and stored)", |b| {
        b.iter_batched(
            || {
                KeyContext::new(
                    TenantId::new("t"),
                    ContactId::new(mizan_shared::domain::ids::random_id("c")),
                )
            },
            |ctx| {
                rt.block_on(f.envelope.seal(&ctx, b"rec", &plaintext))
                    .unwrap()
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = store_benches, envelope_benches
}
criterion_main!(benches);
