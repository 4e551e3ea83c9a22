//! The records table's rows: one record read, written or removed inside the caller's
//! transaction, and the write rules (conditions, partial changes) that the direct path
//! (`record_store`) and the group committer (`group_commit`) both apply.

use super::sqlite_error;
use crate::domain::time::Timestamp;
use crate::ports::records::{Changes, Condition, Key, Record, RetentionEntry, StoreError};
use rusqlite::{params, Connection, OptionalExtension, Row};

pub(super) const COLUMNS: &str = "pk, sk, kind, doc, sealed, version, time, rk, rt, ttl";

pub(super) fn row_to_record(row: &Row<'_>) -> rusqlite::Result<Result<Record, StoreError>> {
    let pk: String = row.get(0)?;
    let sk: String = row.get(1)?;
    let kind: String = row.get(2)?;
    let doc: String = row.get(3)?;
    let sealed: Option<Vec<u8>> = row.get(4)?;
    let version: i64 = row.get(5)?;
    let time: Option<i64> = row.get(6)?;
    let rk: Option<String> = row.get(7)?;
    let rt: Option<i64> = row.get(8)?;
    let ttl: Option<i64> = row.get(9)?;
    let doc = match serde_json::from_str(&doc) {
        Ok(doc) => doc,
        Err(e) => return Ok(Err(StoreError::Corrupt(format!("doc of {pk}/{sk}: {e}")))),
    };
    Ok(Ok(Record {
        key: Key { pk, sk },
        kind,
        doc,
        sealed,
        version,
        time: time.map(Timestamp::from_millis),
        retention: match (rk, rt) {
            (Some(partition), Some(at)) => Some(RetentionEntry {
                partition,
                at: Timestamp::from_millis(at),
            }),
            _ => None,
        },
        expires_at: ttl.map(Timestamp::from_millis),
    }))
}

pub(super) fn load(conn: &Connection, key: &Key) -> Result<Option<Record>, StoreError> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM records WHERE pk = ?1 AND sk = ?2"
    ))
    .and_then(|mut stmt| {
        stmt.query_row(params![key.pk, key.sk], row_to_record)
            .optional()
    })
    .map_err(sqlite_error)?
    .transpose()
}

pub(super) fn store(tx: &Connection, record: &Record) -> Result<(), StoreError> {
    let doc = serde_json::to_string(&record.doc)
        .map_err(|e| StoreError::Rejected(format!("doc does not serialize: {e}")))?;
    tx.prepare_cached(&format!(
        "INSERT OR REPLACE INTO records ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
    ))
    .and_then(|mut stmt| {
        stmt.execute(params![
            record.key.pk,
            record.key.sk,
            record.kind,
            doc,
            record.sealed,
            record.version,
            record.time.map(Timestamp::as_millis),
            record.retention.as_ref().map(|r| r.partition.as_str()),
            record.retention.as_ref().map(|r| r.at.as_millis()),
            // Exact expiry in millis; reads compare whole seconds like DynamoDB's TTL.
            record.expires_at.map(Timestamp::as_millis),
        ])
    })
    .map_err(sqlite_error)?;
    Ok(())
}

pub(super) fn remove(tx: &Connection, key: &Key) -> Result<(), StoreError> {
    tx.prepare_cached("DELETE FROM records WHERE pk = ?1 AND sk = ?2")
        .and_then(|mut stmt| stmt.execute(params![key.pk, key.sk]))
        .map_err(sqlite_error)?;
    Ok(())
}

pub(super) fn holds(condition: &Condition, existing: Option<&Record>) -> bool {
    match (condition, existing) {
        (Condition::Always, _) => true,
        (Condition::Absent, existing) => existing.is_none(),
        (Condition::Exists, existing) => existing.is_some(),
        (Condition::VersionBelow(v), Some(r)) => r.version < *v,
        (Condition::VersionIs(v), Some(r)) => r.version == *v,
        (Condition::VersionBelow(_) | Condition::VersionIs(_), None) => false,
    }
}

pub(super) fn apply_changes(mut record: Record, changes: &Changes) -> Record {
    if let Some(doc) = &changes.doc {
        record.doc = doc.clone();
    }
    if let Some(version) = changes.version {
        record.version = version;
    }
    if let Some(sealed) = &changes.sealed {
        record.sealed = sealed.clone();
    }
    if let Some(retention) = &changes.retention {
        record.retention = retention.clone();
    }
    if let Some(expires_at) = changes.expires_at {
        record.expires_at = expires_at;
    }
    record
}
