//! The embedded key vault: data keys wrapped with AES-256-GCM under a master key file (mode 0600)
//! created on first use. Same wrapped-key contract as KMS: the context must match to unwrap.

use crate::ports::keys::{DataKey, KeyContext, KeyVault, VaultError};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use async_trait::async_trait;
use rand::RngCore;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use zeroize::Zeroizing;

const WRAP_V1: u8 = 1;

pub struct LocalVault {
    master: Zeroizing<[u8; 32]>,
}

#[derive(Debug, thiserror::Error)]
pub enum LocalVaultError {
    #[error("cannot read or create the master key file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the master key file {path} must hold exactly 32 bytes")]
    BadLength { path: String },
    #[error(
        "the master key file {path} is readable by others (mode {mode:o}); run chmod 600 on it"
    )]
    TooOpen { path: String, mode: u32 },
}

impl LocalVault {
    /// Reads the master key at `path`, creating it (mode 0600) if it does not exist.
    pub fn open_or_create(path: &Path) -> Result<Self, LocalVaultError> {
        let shown = path.display().to_string();
        let io = |source| LocalVaultError::Io {
            path: shown.clone(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let mut fresh = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(fresh.as_mut());
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(mut file) => {
                file.write_all(fresh.as_ref()).map_err(io)?;
                file.sync_all().map_err(io)?;
                return Ok(LocalVault { master: fresh });
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(e)),
        }
        let mode = std::fs::metadata(path).map_err(io)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(LocalVaultError::TooOpen { path: shown, mode });
        }
        let bytes = Zeroizing::new(std::fs::read(path).map_err(io)?);
        let master: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| LocalVaultError::BadLength { path: shown })?;
        Ok(LocalVault {
            master: Zeroizing::new(master),
        })
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(self.master.as_ref().into())
    }
}

fn wrap_aad(context: &KeyContext) -> Vec<u8> {
    let mut aad = b"mizan/wrap/v1\0".to_vec();
    aad.extend_from_slice(&context.canonical());
    aad
}

#[async_trait]
impl KeyVault for LocalVault {
    async fn generate(&self, context: &KeyContext) -> Result<(DataKey, Vec<u8>), VaultError> {
        let mut key = [0u8; 32];
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut key);
        rand::rng().fill_bytes(&mut nonce);
        let aad = wrap_aad(context);
        let wrapped = self
            .cipher()
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &key,
                    aad: &aad,
                },
            )
            .map_err(|_| VaultError::Refused("wrapping failed".into()))?;
        let mut out = vec![WRAP_V1];
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&wrapped);
        Ok((DataKey::from_bytes(key), out))
    }

    async fn unwrap(&self, context: &KeyContext, wrapped: &[u8]) -> Result<DataKey, VaultError> {
        let Some((&WRAP_V1, rest)) = wrapped.split_first() else {
            return Err(VaultError::WrongContext);
        };
        if rest.len() < 12 {
            return Err(VaultError::WrongContext);
        }
        let (nonce, ciphertext) = rest.split_at(12);
        let aad = wrap_aad(context);
        let plain = Zeroizing::new(
            self.cipher()
                .decrypt(
                    Nonce::from_slice(nonce),
                    Payload {
                        msg: ciphertext,
                        aad: &aad,
                    },
                )
                .map_err(|_| VaultError::WrongContext)?,
        );
        DataKey::try_from_slice(&plain).ok_or(VaultError::WrongContext)
    }
}
