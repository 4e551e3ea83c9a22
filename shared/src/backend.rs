//! Builds the adapters a configuration names, once per process.

use crate::adapters::dynamodb::{DynamoKeyStore, DynamoStore};
use crate::adapters::embedded::{EmbeddedKeyStore, EmbeddedStore};
use crate::adapters::in_process_pace_ledger::InProcessPaceLedger;
use crate::adapters::kms::KmsVault;
use crate::adapters::local_archives::LocalArchives;
use crate::adapters::local_vault::LocalVault;
use crate::adapters::refusing_archives::RefusingArchives;
use crate::adapters::s3_archives::{S3ArchiveDeleter, S3Archives};
use crate::adapters::table_pace_ledger::TablePaceLedger;
use crate::config::{parse_hash_key, Backend, Config, ExportConfig};
use crate::crypto::envelope::Envelope;
use crate::domain::identity_hash::IdentityHasher;
use crate::ports::archives::ArchiveStore;
use crate::ports::clock::{Clock, SystemClock};
use crate::ports::pace_ledger::PaceLedger;
use crate::store::Store;
use rand::RngCore;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;

/// What AWS clients are made from (re-exported so functions need not depend on aws-config).
pub use aws_config::SdkConfig;

pub const MASTER_KEY_FILE: &str = "master.key";
pub const HASH_KEY_FILE: &str = "hash.key";
pub const EXPORT_TOKEN_KEY_FILE: &str = "export-token.key";

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("cannot open the embedded store: {0}")]
    Embedded(String),
    #[error("cannot read or create {path}: {reason}")]
    KeyFile { path: String, reason: String },
    #[error(
        "a Lambda function runs on the aws backend (MIZAN_BACKEND=aws); the embedded system \
         runs in mizan-local, which hosts every function"
    )]
    NotAws,
}

/// The connected system: the typed store, where export archives live, and the embedded store
/// when that is the backend (the local runner reads its change feed).
pub struct Services {
    pub store: Store,
    pub archives: Arc<dyn ArchiveStore>,
    pub embedded: Option<EmbeddedStore>,
    /// Where a number's sends outside campaigns are noted for the campaign sender's pacing:
    /// memory when every function shares one process (embedded), the data table on AWS.
    pub pace_ledger: Arc<dyn PaceLedger>,
    /// The AWS SDK configuration the clients were made from (the aws backend only), for the
    /// clients a function adds of its own (SQS).
    pub aws: Option<aws_config::SdkConfig>,
}

pub async fn connect(config: &Config) -> Result<Services, BackendError> {
    connect_with_clock(config, Arc::new(SystemClock)).await
}

pub async fn connect_with_clock(
    config: &Config,
    clock: Arc<dyn Clock>,
) -> Result<Services, BackendError> {
    connect_with(config, clock, None).await
}

/// The same, over the AWS SDK configuration the caller loaded already (a function that read its
/// secrets first): loaded once per start, not twice.
pub async fn connect_with(
    config: &Config,
    clock: Arc<dyn Clock>,
    sdk: Option<&aws_config::SdkConfig>,
) -> Result<Services, BackendError> {
    match &config.backend {
        Backend::Embedded { data_dir } => {
            let records = EmbeddedStore::open_with(data_dir, config.embedded_durability)
                .map_err(|e| BackendError::Embedded(e.to_string()))?;
            let keys = EmbeddedKeyStore::open(data_dir)
                .map_err(|e| BackendError::Embedded(e.to_string()))?;
            let vault = LocalVault::open_or_create(&data_dir.join(MASTER_KEY_FILE))
                .map_err(|e| BackendError::Embedded(e.to_string()))?;
            let hash_key = match config.hash_key {
                Some(key) => key,
                None => key_file(&data_dir.join(HASH_KEY_FILE), "MIZAN_HASH_KEY")?,
            };
            let envelope = Envelope::new(Arc::new(vault), Arc::new(keys), config.key_cache());
            Ok(Services {
                store: Store::new(
                    Arc::new(records.clone()),
                    Arc::new(envelope),
                    Arc::new(IdentityHasher::new(hash_key)),
                    clock,
                ),
                archives: Arc::new(LocalArchives::new(data_dir)),
                embedded: Some(records),
                pace_ledger: Arc::new(InProcessPaceLedger::default()),
                aws: None,
            })
        }
        Backend::Aws { .. } => {
            let loaded;
            let sdk = match sdk {
                Some(sdk) => sdk,
                None => {
                    loaded = aws_config::load_from_env().await;
                    &loaded
                }
            };
            connect_aws(config, clock, sdk, s3_archives).await
        }
    }
}

/// How a function on AWS reaches export archives. data-export names [`s3_archives`]; the
/// functions that only delete archives (consent-api's erasure, the purge) name
/// [`s3_archive_deletion`], which links S3's DeleteObject alone; the others name
/// [`no_archives`], so the S3 client is not even linked into their binaries.
pub type AwsArchives = fn(&aws_config::SdkConfig, &Config) -> Arc<dyn ArchiveStore>;

/// Archives in the export bucket, under SSE-KMS with the data key.
pub fn s3_archives(sdk: &aws_config::SdkConfig, config: &Config) -> Arc<dyn ArchiveStore> {
    let (bucket, kms_key_id) = export_bucket(config);
    Arc::new(S3Archives::new(
        aws_sdk_s3::Client::new(sdk),
        bucket,
        kms_key_id,
    ))
}

/// Archives in the export bucket for a function that only deletes them.
pub fn s3_archive_deletion(sdk: &aws_config::SdkConfig, config: &Config) -> Arc<dyn ArchiveStore> {
    let (bucket, _) = export_bucket(config);
    Arc::new(RefusingArchives::deleting_only(Arc::new(
        S3ArchiveDeleter::new(aws_sdk_s3::Client::new(sdk), bucket),
    )))
}

/// The export bucket and the KMS key its archives are encrypted under.
fn export_bucket(config: &Config) -> (String, String) {
    match &config.backend {
        Backend::Aws {
            export_bucket,
            kms_key_id,
            ..
        } => (export_bucket.clone(), kms_key_id.clone()),
        Backend::Embedded { .. } => (String::new(), String::new()),
    }
}

/// For a function that never touches export archives.
pub fn no_archives(_: &aws_config::SdkConfig, _: &Config) -> Arc<dyn ArchiveStore> {
    refusing_archives()
}

/// Archives that refuse every call, saying this function does not reach them.
pub fn refusing_archives() -> Arc<dyn ArchiveStore> {
    Arc::new(RefusingArchives::unreachable())
}

/// The AWS backend alone, as a Lambda function connects (none runs the embedded store: the
/// local runner hosts them all). Nothing of the embedded backend is reached from here, so a
/// function's binary does not carry it (SQLite and the local adapters).
pub async fn connect_aws(
    config: &Config,
    clock: Arc<dyn Clock>,
    sdk: &aws_config::SdkConfig,
    archives: AwsArchives,
) -> Result<Services, BackendError> {
    let Backend::Aws {
        data_table,
        key_table,
        kms_key_id,
        ..
    } = &config.backend
    else {
        return Err(BackendError::NotAws);
    };
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    let kms = aws_sdk_kms::Client::new(sdk);
    let envelope = Envelope::new(
        Arc::new(KmsVault::new(kms, kms_key_id.clone())),
        Arc::new(DynamoKeyStore::new(dynamodb.clone(), key_table.clone())),
        config.key_cache(),
    );
    let hash_key = config.hash_key.ok_or_else(|| BackendError::KeyFile {
        path: "MIZAN_HASH_KEY".into(),
        reason: "required with the aws backend".into(),
    })?;
    let store = Store::new(
        Arc::new(DynamoStore::new(dynamodb, data_table.clone())),
        Arc::new(envelope),
        Arc::new(IdentityHasher::new(hash_key)),
        clock,
    );
    Ok(Services {
        pace_ledger: Arc::new(TablePaceLedger::new(store.clone())),
        store,
        archives: archives(sdk, config),
        embedded: None,
        aws: Some(sdk.clone()),
    })
}

/// The key that signs export download links: `MIZAN_EXPORT_TOKEN_SECRET`, else (embedded
/// backend only) a key file in the data directory.
pub fn export_token_key(config: &Config, export: &ExportConfig) -> Result<[u8; 32], BackendError> {
    match (export.token_secret, &config.backend) {
        (Some(key), _) => Ok(key),
        (None, Backend::Embedded { data_dir }) => key_file(
            &data_dir.join(EXPORT_TOKEN_KEY_FILE),
            "MIZAN_EXPORT_TOKEN_SECRET",
        ),
        (None, Backend::Aws { .. }) => Err(BackendError::KeyFile {
            path: "MIZAN_EXPORT_TOKEN_SECRET".into(),
            reason: "required with the aws backend".into(),
        }),
    }
}

/// A key of the embedded backend (the hash key, the link-signing key): 64 hex characters in a
/// 0600 file, made on first start.
fn key_file(path: &Path, var: &'static str) -> Result<[u8; 32], BackendError> {
    let fail = |reason: String| BackendError::KeyFile {
        path: path.display().to_string(),
        reason,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => parse_hash_key(var, &text).map_err(|e| fail(e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            rand::rng().fill_bytes(&mut key);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| fail(e.to_string()))?;
            }
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| fail(e.to_string()))?;
            file.write_all(hex::encode(key).as_bytes())
                .and_then(|_| file.sync_all())
                .map_err(|e| fail(e.to_string()))?;
            Ok(key)
        }
        Err(e) => Err(fail(e.to_string())),
    }
}
