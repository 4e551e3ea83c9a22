//! A zip archive written as a stream into an `ArchiveUpload`: entries are compressed into a
//! buffer that is shipped as an upload part whenever it holds `PART_BYTES`, so memory stays
//! bounded however large the archive grows.

use crate::domain::time::Timestamp;
use crate::ports::archives::{ArchiveError, ArchiveUpload, PART_BYTES};
use std::io::Write;
use std::sync::{Arc, Mutex};
use zip::write::{SimpleFileOptions, StreamWriter};
use zip::ZipWriter;

/// The bytes the zip writer has produced and not yet shipped.
#[derive(Clone, Default)]
struct PartBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for PartBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("part buffer poisoned"))?
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ZipStreamError {
    #[error("zip: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("zip: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Archive(#[from] ArchiveError),
}

pub struct ZipStream {
    zip: ZipWriter<StreamWriter<PartBuffer>>,
    /// Every file's modification time: when the archive was made (UTC).
    modified: zip::DateTime,
    buffer: PartBuffer,
    upload: Box<dyn ArchiveUpload>,
}

impl ZipStream {
    pub fn new(upload: Box<dyn ArchiveUpload>, made_at: Timestamp) -> Self {
        let buffer = PartBuffer::default();
        ZipStream {
            zip: ZipWriter::new_stream(buffer.clone()),
            modified: zip_time(made_at),
            buffer,
            upload,
        }
    }

    /// Starts the next file of the archive (deflated, readable by every unzip tool).
    pub fn start(&mut self, name: &str) -> Result<(), ZipStreamError> {
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(0o644)
            .last_modified_time(self.modified);
        self.zip.start_file(name, options)?;
        Ok(())
    }

    pub fn write(&mut self, bytes: &[u8]) -> Result<(), ZipStreamError> {
        self.zip.write_all(bytes)?;
        Ok(())
    }

    /// Ships what is buffered once it makes a full part.
    pub async fn ship_full_parts(&mut self) -> Result<(), ZipStreamError> {
        let part = {
            let mut buffer = self
                .buffer
                .0
                .lock()
                .map_err(|_| std::io::Error::other("part buffer poisoned"))?;
            if buffer.len() < PART_BYTES {
                return Ok(());
            }
            std::mem::take(&mut *buffer)
        };
        self.upload.write_part(part).await?;
        Ok(())
    }

    /// Writes the central directory, ships the rest and completes the upload; its size.
    pub async fn finish(self) -> Result<u64, ZipStreamError> {
        let ZipStream {
            zip,
            buffer,
            mut upload,
            ..
        } = self;
        zip.finish()?;
        let rest = std::mem::take(
            &mut *buffer
                .0
                .lock()
                .map_err(|_| std::io::Error::other("part buffer poisoned"))?,
        );
        if !rest.is_empty() {
            upload.write_part(rest).await?;
        }
        Ok(upload.finish().await?)
    }

    /// Gives up: the partial object is removed.
    pub async fn abort(self) -> Result<(), ArchiveError> {
        self.upload.abort().await
    }
}

/// Zip's DOS time of `at` (UTC); outside zip's range (1980–2107), its earliest time.
fn zip_time(at: Timestamp) -> zip::DateTime {
    time::OffsetDateTime::from_unix_timestamp(at.as_unix_seconds())
        .ok()
        .and_then(|t| {
            zip::DateTime::from_date_and_time(
                u16::try_from(t.year()).ok()?,
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
            )
            .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::zip_time;
    use crate::domain::time::Timestamp;

    #[test]
    fn files_carry_the_time_the_archive_was_made() {
        // 2026-01-01T12:34:56Z
        let t = zip_time(Timestamp::from_unix_seconds(1_767_270_896));
        assert_eq!(
            (
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            ),
            (2026, 1, 1, 12, 34, 56)
        );
        assert_eq!(
            zip_time(Timestamp::from_millis(0)),
            zip::DateTime::default()
        );
    }
}
