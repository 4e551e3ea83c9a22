//! Export archives as encrypted files under the embedded data directory (`<data dir>/exports/…`).
//!
//! Each file is AES-256-GCM in the STREAM construction (one segment per uploaded part, the last
//! one marked), under a key kept in `<data dir>/archive.key` (mode 0600) and bound to its object
//! key, so a file moved, truncated or reordered does not decrypt.

use crate::ports::archives::{
    valid_object_key, ArchiveError, ArchiveLocation, ArchiveStore, ArchiveUpload,
};
use aes_gcm::aead::stream::{DecryptorBE32, EncryptorBE32};
use aes_gcm::aead::{KeyInit, Payload};
use aes_gcm::Aes256Gcm;
use async_trait::async_trait;
use rand::RngCore;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub const ARCHIVE_DIR: &str = "exports";
pub const ARCHIVE_KEY_FILE: &str = "archive.key";
const MAGIC: &[u8; 4] = b"MZA1";
const NONCE_PREFIX: usize = 7;

#[derive(Clone, Debug)]
pub struct LocalArchives {
    root: PathBuf,
    key_file: PathBuf,
    key: std::sync::Arc<OnceLock<[u8; 32]>>,
}

impl LocalArchives {
    /// Archives under `<data_dir>/exports`, encrypted with `<data_dir>/archive.key` (made on
    /// first use).
    pub fn new(data_dir: &Path) -> Self {
        LocalArchives {
            root: data_dir.join(ARCHIVE_DIR),
            key_file: data_dir.join(ARCHIVE_KEY_FILE),
            key: std::sync::Arc::new(OnceLock::new()),
        }
    }

    /// The file of an object key, refused when the key is not one Mizan makes.
    pub fn path_of(&self, object_key: &str) -> Result<PathBuf, ArchiveError> {
        if !valid_object_key(object_key) {
            return Err(ArchiveError::InvalidKey);
        }
        Ok(self.root.join(object_key))
    }

    fn cipher(&self) -> Result<Aes256Gcm, ArchiveError> {
        if let Some(key) = self.key.get() {
            return Ok(Aes256Gcm::new(key.into()));
        }
        let key = load_or_create_key(&self.key_file)?;
        let key = self.key.get_or_init(|| key);
        Ok(Aes256Gcm::new(key.into()))
    }
}

fn io_error(e: std::io::Error) -> ArchiveError {
    ArchiveError::Unavailable(e.to_string())
}

fn load_or_create_key(path: &Path) -> Result<[u8; 32], ArchiveError> {
    match std::fs::read_to_string(path) {
        Ok(text) => hex::decode(text.trim())
            .ok()
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .ok_or_else(|| ArchiveError::Corrupt(format!("{} is not a key", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            rand::rng().fill_bytes(&mut key);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(io_error)?;
            }
            let created = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path);
            match created {
                Ok(mut file) => {
                    file.write_all(hex::encode(key).as_bytes())
                        .and_then(|()| file.sync_all())
                        .map_err(io_error)?;
                    Ok(key)
                }
                // Another writer made it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_create_key(path),
                Err(e) => Err(io_error(e)),
            }
        }
        Err(e) => Err(io_error(e)),
    }
}

struct LocalUpload {
    object_key: String,
    partial: PathBuf,
    path: PathBuf,
    file: std::fs::File,
    encryptor: Option<EncryptorBE32<Aes256Gcm>>,
    size: u64,
}

impl LocalUpload {
    fn segment(&mut self, last: bool, ciphertext: &[u8]) -> Result<(), ArchiveError> {
        let len = u32::try_from(ciphertext.len())
            .map_err(|_| ArchiveError::Refused("part too large".into()))?;
        self.file
            .write_all(&[u8::from(last)])
            .and_then(|()| self.file.write_all(&len.to_be_bytes()))
            .and_then(|()| self.file.write_all(ciphertext))
            .map_err(io_error)
    }
}

fn sealing_failed(_: aes_gcm::aead::Error) -> ArchiveError {
    ArchiveError::Refused("encryption failed".into())
}

#[async_trait]
impl ArchiveUpload for LocalUpload {
    async fn write_part(&mut self, bytes: Vec<u8>) -> Result<(), ArchiveError> {
        let encryptor = self
            .encryptor
            .as_mut()
            .ok_or_else(|| ArchiveError::Refused("upload already finished".into()))?;
        let aad = self.object_key.clone();
        let sealed = encryptor
            .encrypt_next(Payload {
                msg: &bytes,
                aad: aad.as_bytes(),
            })
            .map_err(sealing_failed)?;
        self.size += bytes.len() as u64;
        self.segment(false, &sealed)
    }

    async fn finish(mut self: Box<Self>) -> Result<u64, ArchiveError> {
        let encryptor = self
            .encryptor
            .take()
            .ok_or_else(|| ArchiveError::Refused("upload already finished".into()))?;
        let aad = self.object_key.clone();
        let sealed = encryptor
            .encrypt_last(Payload {
                msg: &[],
                aad: aad.as_bytes(),
            })
            .map_err(sealing_failed)?;
        self.segment(true, &sealed)?;
        self.file.sync_all().map_err(io_error)?;
        std::fs::rename(&self.partial, &self.path).map_err(io_error)?;
        Ok(self.size)
    }

    async fn abort(self: Box<Self>) -> Result<(), ArchiveError> {
        match std::fs::remove_file(&self.partial) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error(e)),
            _ => Ok(()),
        }
    }
}

#[async_trait]
impl ArchiveStore for LocalArchives {
    async fn create(&self, object_key: &str) -> Result<Box<dyn ArchiveUpload>, ArchiveError> {
        let path = self.path_of(object_key)?;
        let cipher = self.cipher()?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io_error)?;
        }
        let partial = path.with_extension("partial");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&partial)
            .map_err(io_error)?;
        let mut prefix = [0u8; NONCE_PREFIX];
        rand::rng().fill_bytes(&mut prefix);
        file.write_all(MAGIC)
            .and_then(|()| file.write_all(&prefix))
            .map_err(io_error)?;
        Ok(Box::new(LocalUpload {
            object_key: object_key.to_owned(),
            partial,
            path,
            file,
            encryptor: Some(EncryptorBE32::from_aead(cipher, (&prefix).into())),
            size: 0,
        }))
    }

    async fn location(
        &self,
        object_key: &str,
        _valid_for: std::time::Duration,
    ) -> Result<ArchiveLocation, ArchiveError> {
        self.path_of(object_key)?;
        Ok(ArchiveLocation::Served)
    }

    async fn read(&self, object_key: &str) -> Result<Vec<u8>, ArchiveError> {
        let path = self.path_of(object_key)?;
        let bytes = match tokio::fs::read(&path).await {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ArchiveError::NotFound)
            }
            Err(e) => return Err(io_error(e)),
        };
        decrypt(self.cipher()?, object_key, &bytes)
    }

    async fn delete(&self, object_key: &str) -> Result<(), ArchiveError> {
        match tokio::fs::remove_file(self.path_of(object_key)?).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error(e)),
            _ => Ok(()),
        }
    }

    async fn exists(&self, object_key: &str) -> Result<bool, ArchiveError> {
        tokio::fs::try_exists(self.path_of(object_key)?)
            .await
            .map_err(io_error)
    }
}

fn decrypt(cipher: Aes256Gcm, object_key: &str, bytes: &[u8]) -> Result<Vec<u8>, ArchiveError> {
    let corrupt = |what: &str| ArchiveError::Corrupt(what.to_owned());
    let header = MAGIC.len() + NONCE_PREFIX;
    if bytes.len() < header || &bytes[..MAGIC.len()] != MAGIC {
        return Err(corrupt("not a Mizan archive"));
    }
    let prefix: [u8; NONCE_PREFIX] = bytes[MAGIC.len()..header]
        .try_into()
        .map_err(|_| corrupt("short header"))?;
    let mut decryptor = Some(DecryptorBE32::from_aead(cipher, (&prefix).into()));
    let mut rest = &bytes[header..];
    let mut plain = Vec::new();
    while !rest.is_empty() {
        if rest.len() < 5 {
            return Err(corrupt("truncated segment"));
        }
        let last = rest[0] == 1;
        let len = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
        let segment = rest
            .get(5..5 + len)
            .ok_or_else(|| corrupt("truncated segment"))?;
        rest = &rest[5 + len..];
        let payload = Payload {
            msg: segment,
            aad: object_key.as_bytes(),
        };
        if last {
            let d = decryptor
                .take()
                .ok_or_else(|| corrupt("data after the end"))?;
            plain.extend(
                d.decrypt_last(payload)
                    .map_err(|_| corrupt("does not decrypt"))?,
            );
        } else {
            let d = decryptor
                .as_mut()
                .ok_or_else(|| corrupt("data after the end"))?;
            plain.extend(
                d.decrypt_next(payload)
                    .map_err(|_| corrupt("does not decrypt"))?,
            );
        }
    }
    if decryptor.is_some() {
        return Err(corrupt("truncated: the last segment is missing"));
    }
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_archive_is_encrypted_at_rest_and_reads_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let archives = LocalArchives::new(dir.path());
        let mut upload = archives.create("t1/a.zip").await.unwrap();
        upload.write_part(b"PK first part ".to_vec()).await.unwrap();
        upload.write_part(b"second part".to_vec()).await.unwrap();
        assert_eq!(upload.finish().await.unwrap(), 25);
        let on_disk = std::fs::read(archives.path_of("t1/a.zip").unwrap()).unwrap();
        assert!(
            !on_disk.windows(5).any(|w| w == b"first"),
            "nothing in the clear"
        );
        assert_eq!(
            archives.read("t1/a.zip").await.unwrap(),
            b"PK first part second part"
        );
        assert_eq!(
            archives
                .location("t1/a.zip", std::time::Duration::from_secs(60))
                .await
                .unwrap(),
            ArchiveLocation::Served
        );
    }

    #[tokio::test]
    async fn moved_or_truncated_archives_do_not_decrypt() {
        let dir = tempfile::tempdir().unwrap();
        let archives = LocalArchives::new(dir.path());
        let mut upload = archives.create("t1/a.zip").await.unwrap();
        upload.write_part(vec![1; 100]).await.unwrap();
        upload.finish().await.unwrap();
        let bytes = std::fs::read(archives.path_of("t1/a.zip").unwrap()).unwrap();
        std::fs::create_dir_all(dir.path().join("exports/t2")).unwrap();
        std::fs::write(archives.path_of("t2/b.zip").unwrap(), &bytes).unwrap();
        assert!(matches!(
            archives.read("t2/b.zip").await,
            Err(ArchiveError::Corrupt(_))
        ));
        std::fs::write(
            archives.path_of("t1/a.zip").unwrap(),
            &bytes[..bytes.len() - 30],
        )
        .unwrap();
        assert!(matches!(
            archives.read("t1/a.zip").await,
            Err(ArchiveError::Corrupt(_))
        ));
        assert!(matches!(
            archives.read("t1/none.zip").await,
            Err(ArchiveError::NotFound)
        ));
    }

    #[tokio::test]
    async fn an_aborted_upload_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let archives = LocalArchives::new(dir.path());
        let mut upload = archives.create("t1/a.zip").await.unwrap();
        upload.write_part(vec![1; 10]).await.unwrap();
        upload.abort().await.unwrap();
        assert!(!archives.exists("t1/a.zip").await.unwrap());
        assert!(!dir.path().join("exports/t1/a.partial").exists());
    }

    #[tokio::test]
    async fn delete_removes_the_file_and_repeats_harmlessly() {
        let dir = tempfile::tempdir().unwrap();
        let archives = LocalArchives::new(dir.path());
        archives
            .create("t1/x.zip")
            .await
            .unwrap()
            .finish()
            .await
            .unwrap();
        assert!(archives.exists("t1/x.zip").await.unwrap());
        archives.delete("t1/x.zip").await.unwrap();
        assert!(!archives.exists("t1/x.zip").await.unwrap());
        archives.delete("t1/x.zip").await.unwrap();
        assert!(matches!(
            archives.delete("../x").await,
            Err(ArchiveError::InvalidKey)
        ));
    }
}
