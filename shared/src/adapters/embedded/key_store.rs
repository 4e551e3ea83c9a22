//! The key table on SQLite, in its own file: a backup of the data file never carries the keys.

use super::schema;
use crate::ports::keys::{KeyContext, KeyStore, KeyStoreError};
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub struct EmbeddedKeyStore {
    conn: Arc<Mutex<Connection>>,
}

fn unavailable(e: impl std::fmt::Display) -> KeyStoreError {
    KeyStoreError::Unavailable(e.to_string())
}

impl EmbeddedKeyStore {
    pub fn open(dir: &Path) -> Result<Self, KeyStoreError> {
        super::create_private_dir(dir).map_err(unavailable)?;
        let conn = Connection::open(dir.join(schema::KEYS_FILE)).map_err(unavailable)?;
        // Keys are written once per contact: always fsync'd.
        schema::configure(&conn, schema::Durability::Full).map_err(unavailable)?;
        schema::create_key_table(&conn).map_err(unavailable)?;
        Ok(EmbeddedKeyStore {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn run<T, F>(&self, f: F) -> Result<T, KeyStoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let conn = conn
                .lock()
                .map_err(|_| unavailable("key store lock poisoned"))?;
            f(&conn).map_err(unavailable)
        })
        .await
        .map_err(unavailable)?
    }

    /// A point read runs right here when the connection is free (microseconds, less than a hop
    /// to another thread and back); otherwise it waits off the async threads.
    async fn read<T, F>(&self, f: F) -> Result<T, KeyStoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        if let Ok(conn) = self.conn.try_lock() {
            return f(&conn).map_err(unavailable);
        }
        self.run(f).await
    }
}

#[async_trait]
impl KeyStore for EmbeddedKeyStore {
    async fn get(&self, context: &KeyContext) -> Result<Option<Vec<u8>>, KeyStoreError> {
        let c = context.clone();
        self.read(move |conn| {
            conn.prepare_cached("SELECT wrapped FROM data_keys WHERE tenant = ?1 AND contact = ?2")?
                .query_row(params![c.tenant.as_str(), c.contact.as_str()], |r| r.get(0))
                .optional()
        })
        .await
    }

    async fn put_if_absent(
        &self,
        context: &KeyContext,
        wrapped: Vec<u8>,
    ) -> Result<Vec<u8>, KeyStoreError> {
        let c = context.clone();
        self.run(move |conn| {
            conn.execute(
                "INSERT OR IGNORE INTO data_keys (tenant, contact, wrapped) VALUES (?1, ?2, ?3)",
                params![c.tenant.as_str(), c.contact.as_str(), wrapped],
            )?;
            conn.query_row(
                "SELECT wrapped FROM data_keys WHERE tenant = ?1 AND contact = ?2",
                params![c.tenant.as_str(), c.contact.as_str()],
                |r| r.get(0),
            )
        })
        .await
    }

    async fn delete(&self, context: &KeyContext) -> Result<(), KeyStoreError> {
        let c = context.clone();
        self.run(move |conn| {
            conn.execute(
                "DELETE FROM data_keys WHERE tenant = ?1 AND contact = ?2",
                params![c.tenant.as_str(), c.contact.as_str()],
            )?;
            // Fold the WAL into the main file so the old page does not linger in the log.
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        })
        .await
    }
}
