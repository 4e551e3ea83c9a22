//! The change log: every committed write as an INSERT, MODIFY or REMOVE with old and new images,
//! in commit order. The local runner turns it into DynamoDB Streams events.

use super::sqlite_error;
use crate::domain::time::Timestamp;
use crate::ports::records::{Key, Record, StoreError};
use rusqlite::{params, Connection};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeEvent {
    Insert,
    Modify,
    Remove,
}

impl ChangeEvent {
    /// DynamoDB Streams' `eventName`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeEvent::Insert => "INSERT",
            ChangeEvent::Modify => "MODIFY",
            ChangeEvent::Remove => "REMOVE",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "INSERT" => Some(ChangeEvent::Insert),
            "MODIFY" => Some(ChangeEvent::Modify),
            "REMOVE" => Some(ChangeEvent::Remove),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub seq: i64,
    pub at: Timestamp,
    pub event: ChangeEvent,
    pub key: Key,
    pub old: Option<Record>,
    pub new: Option<Record>,
}

impl Change {
    /// The change from `old` to `new`, or `None` when nothing existed before or after.
    pub(crate) fn between(
        key: Option<Key>,
        old: Option<Record>,
        new: Option<Record>,
        at: Timestamp,
    ) -> Option<Change> {
        let event = match (&old, &new) {
            (None, Some(_)) => ChangeEvent::Insert,
            (Some(_), Some(_)) => ChangeEvent::Modify,
            (Some(_), None) => ChangeEvent::Remove,
            (None, None) => return None,
        };
        Some(Change {
            seq: 0,
            at,
            event,
            key: key?,
            old,
            new,
        })
    }
}

fn image(record: &Option<Record>) -> Result<Option<String>, StoreError> {
    record
        .as_ref()
        .map(|r| {
            serde_json::to_string(r)
                .map_err(|e| StoreError::Rejected(format!("record does not serialize: {e}")))
        })
        .transpose()
}

pub(crate) fn append(tx: &Connection, mut change: Change) -> Result<Change, StoreError> {
    let old = image(&change.old)?;
    let new = image(&change.new)?;
    tx.prepare_cached(
        "INSERT INTO changes (at, event, pk, sk, old, new) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            change.at.as_millis(),
            change.event.as_str(),
            change.key.pk,
            change.key.sk,
            old,
            new,
        ])
    })
    .map_err(sqlite_error)?;
    change.seq = tx.last_insert_rowid();
    Ok(change)
}

fn parse_image(text: Option<String>) -> Result<Option<Record>, StoreError> {
    text.map(|t| {
        serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(format!("change image: {e}")))
    })
    .transpose()
}

pub(crate) fn read_after(
    conn: &Connection,
    seq: i64,
    limit: usize,
) -> Result<Vec<Change>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT seq, at, event, pk, sk, old, new FROM changes WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )
        .map_err(sqlite_error)?;
    type Row = (
        i64,
        i64,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Row> = stmt
        .query_map(
            params![seq, i64::try_from(limit).unwrap_or(i64::MAX)],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            },
        )
        .map_err(sqlite_error)?
        .collect::<rusqlite::Result<_>>()
        .map_err(sqlite_error)?;
    rows.into_iter()
        .map(|(seq, at, event, pk, sk, old, new)| {
            Ok(Change {
                seq,
                at: Timestamp::from_millis(at),
                event: ChangeEvent::parse(&event)
                    .ok_or_else(|| StoreError::Corrupt(format!("change event {event}")))?,
                key: Key { pk, sk },
                old: parse_image(old)?,
                new: parse_image(new)?,
            })
        })
        .collect()
}

pub(crate) fn position(conn: &Connection, consumer: &str) -> Result<i64, StoreError> {
    conn.query_row(
        "SELECT COALESCE((SELECT seq FROM feed_positions WHERE consumer = ?1), 0)",
        params![consumer],
        |r| r.get(0),
    )
    .map_err(sqlite_error)
}

/// The sequence number of the newest change ever appended (0 for none), kept by SQLite even after
/// handled changes are dropped.
pub(crate) fn latest(conn: &Connection) -> Result<i64, StoreError> {
    conn.query_row(
        "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0)",
        [],
        |r| r.get(0),
    )
    .map_err(sqlite_error)
}

pub(crate) fn set_position(conn: &Connection, consumer: &str, seq: i64) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO feed_positions (consumer, seq) VALUES (?1, ?2) \
         ON CONFLICT(consumer) DO UPDATE SET seq = max(seq, excluded.seq)",
        params![consumer, seq],
    )
    .map_err(sqlite_error)?;
    // Like a stream's 24-hour window, handled changes are not kept: they hold sealed content.
    conn.execute(
        "DELETE FROM changes WHERE seq <= (SELECT min(seq) FROM feed_positions)",
        [],
    )
    .map_err(sqlite_error)?;
    Ok(())
}
