//! Envelope encryption (P9) for both key adapters: the local master key with the embedded key
//! table, and KMS (moto) with the DynamoDB key table (DynamoDB Local).

use mizan_test_support::store as support;

use mizan_shared::adapters::dynamodb::tables::{create_table, key_table};
use mizan_shared::adapters::dynamodb::DynamoKeyStore;
use mizan_shared::adapters::embedded::EmbeddedKeyStore;
use mizan_shared::adapters::kms::KmsVault;
use mizan_shared::adapters::local_vault::LocalVault;
use mizan_shared::crypto::envelope::{CacheSettings, CryptoError, Envelope};
use mizan_shared::crypto::sealed::SealError;
use mizan_shared::domain::ids::{ContactId, TenantId};
use mizan_shared::ports::keys::{KeyContext, KeyStore, KeyVault, VaultError};
use std::sync::Arc;
use std::time::Duration;

struct Keys {
    vault: Arc<dyn KeyVault>,
    store: Arc<dyn KeyStore>,
    _dir: tempfile::TempDir,
}

impl Keys {
    fn envelope(&self) -> Envelope {
        Envelope::new(
            self.vault.clone(),
            self.store.clone(),
            CacheSettings::default(),
        )
    }
}

fn local() -> Keys {
    let dir = tempfile::tempdir().unwrap();
    Keys {
        vault: Arc::new(LocalVault::open_or_create(&dir.path().join("master.key")).unwrap()),
        store: Arc::new(EmbeddedKeyStore::open(dir.path()).unwrap()),
        _dir: dir,
    }
}

async fn kms() -> Keys {
    let url = support::endpoint(support::AWS_ENDPOINT_VAR, "moto (KMS)");
    let config = aws_sdk_kms::config::Builder::new()
        .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
        .region(aws_sdk_kms::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_kms::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .endpoint_url(url)
        .build();
    let client = aws_sdk_kms::Client::from_conf(config);
    let key = client
        .create_key()
        .description("mizan test")
        .send()
        .await
        .expect("create KMS key");
    let key_id = key
        .key_metadata()
        .expect("key metadata")
        .key_id()
        .to_owned();
    let dynamodb = support::dynamodb_client();
    let table = support::unique("keys");
    create_table(&dynamodb, &table, &key_table()).await.unwrap();
    Keys {
        vault: Arc::new(KmsVault::new(client, key_id)),
        store: Arc::new(DynamoKeyStore::new(dynamodb, table)),
        _dir: tempfile::tempdir().unwrap(),
    }
}

fn context(contact: &str) -> KeyContext {
    KeyContext::new(TenantId::new("ten_1"), ContactId::new(contact))
}

async fn destroying_the_key_shreds_every_copy(keys: Keys) {
    let envelope = keys.envelope();
    let ctx = context("c1");
    let sealed = envelope
        .seal(&ctx, b"msg-1", "Bonjour, ça va ? مرحبا".as_bytes())
        .await
        .unwrap();
    let backup_copy = sealed.clone();
    assert_eq!(
        envelope.open(&ctx, b"msg-1", &sealed).await.unwrap(),
        "Bonjour, ça va ? مرحبا".as_bytes()
    );
    let other = context("c2");
    let other_sealed = envelope.seal(&other, b"msg-2", b"keep me").await.unwrap();

    envelope.destroy(&ctx).await.unwrap();

    // A fresh process (no cache) and this one alike: the content and any backup of it are gone.
    let fresh = keys.envelope();
    for e in [&envelope, &fresh] {
        assert!(matches!(
            e.open(&ctx, b"msg-1", &backup_copy).await,
            Err(CryptoError::KeyDestroyed)
        ));
    }
    assert!(keys.store.get(&ctx).await.unwrap().is_none());
    assert_eq!(
        fresh.open(&other, b"msg-2", &other_sealed).await.unwrap(),
        b"keep me"
    );
}

async fn tampered_content_and_wrong_context_are_rejected(keys: Keys) {
    let envelope = keys.envelope();
    let ctx = context("c3");
    let mut sealed = envelope.seal(&ctx, b"rec", b"secret").await.unwrap();
    assert!(matches!(
        envelope.open(&ctx, b"another-record", &sealed).await,
        Err(CryptoError::Sealed(SealError::Rejected))
    ));
    let middle = sealed.len() / 2;
    sealed[middle] ^= 0x01;
    assert!(matches!(
        envelope.open(&ctx, b"rec", &sealed).await,
        Err(CryptoError::Sealed(SealError::Rejected))
    ));
    // Another contact's key cannot open it either.
    envelope.seal(&context("c4"), b"x", b"y").await.unwrap();
    let genuine = envelope.seal(&ctx, b"rec", b"secret").await.unwrap();
    assert!(envelope
        .open(&context("c4"), b"rec", &genuine)
        .await
        .is_err());

    // The vault refuses to unwrap a data key under another context.
    let wrapped = keys.store.get(&ctx).await.unwrap().expect("key stored");
    assert!(matches!(
        keys.vault.unwrap(&context("c4"), &wrapped).await,
        Err(VaultError::WrongContext)
    ));
    assert!(keys.vault.unwrap(&ctx, &wrapped).await.is_ok());
}

async fn concurrent_first_use_agrees_on_one_key(keys: Keys) {
    let a = keys.envelope();
    let b = keys.envelope();
    let ctx = context("c5");
    let (x, y) = tokio::join!(a.seal(&ctx, b"r", b"one"), b.seal(&ctx, b"r", b"two"));
    let (x, y) = (x.unwrap(), y.unwrap());
    let reader = keys.envelope();
    assert_eq!(reader.open(&ctx, b"r", &x).await.unwrap(), b"one");
    assert_eq!(reader.open(&ctx, b"r", &y).await.unwrap(), b"two");
}

#[tokio::test]
async fn local_destroying_the_key_shreds_every_copy() {
    destroying_the_key_shreds_every_copy(local()).await;
}

#[tokio::test]
async fn kms_destroying_the_key_shreds_every_copy() {
    destroying_the_key_shreds_every_copy(kms().await).await;
}

#[tokio::test]
async fn local_tampered_content_and_wrong_context_are_rejected() {
    tampered_content_and_wrong_context_are_rejected(local()).await;
}

#[tokio::test]
async fn kms_tampered_content_and_wrong_context_are_rejected() {
    tampered_content_and_wrong_context_are_rejected(kms().await).await;
}

#[tokio::test]
async fn local_concurrent_first_use_agrees_on_one_key() {
    concurrent_first_use_agrees_on_one_key(local()).await;
}

#[tokio::test]
async fn kms_concurrent_first_use_agrees_on_one_key() {
    concurrent_first_use_agrees_on_one_key(kms().await).await;
}

#[tokio::test]
async fn master_key_file_is_private_and_reused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    let first = LocalVault::open_or_create(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let ctx = context("c6");
    let (_, wrapped) = first.generate(&ctx).await.unwrap();
    let again = LocalVault::open_or_create(&path).unwrap();
    assert!(
        again.unwrap(&ctx, &wrapped).await.is_ok(),
        "the same master key after a restart"
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(
        LocalVault::open_or_create(&path).is_err(),
        "a readable master key is refused"
    );
}

#[tokio::test]
async fn cached_keys_expire_so_a_destroyed_key_stops_working_elsewhere() {
    let keys = local();
    let ctx = context("c7");
    let short = Envelope::new(
        keys.vault.clone(),
        keys.store.clone(),
        CacheSettings {
            capacity: 10,
            ttl: Duration::from_millis(50),
        },
    );
    let sealed = short.seal(&ctx, b"r", b"x").await.unwrap();
    // Another instance destroys the key; this one's cache holds it only until the TTL passes.
    keys.envelope().destroy(&ctx).await.unwrap();
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert!(matches!(
        short.open(&ctx, b"r", &sealed).await,
        Err(CryptoError::KeyDestroyed)
    ));
}
