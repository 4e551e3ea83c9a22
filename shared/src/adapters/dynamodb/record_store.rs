//! The storage port on DynamoDB: single table, conditional writes, the `by_time` local index for
//! conversations and the sparse `retention` index for the purge.

use super::errors::store_error;
use super::item::{self, Item};
use super::tables::{attr, RETENTION_INDEX, TIME_INDEX};
use crate::domain::time::Timestamp;
use crate::ports::records::{
    Changes, Condition, Cursor, Due, Key, Page, Query, Range, Record, RecordStore, StoreError,
    Write, MAX_DUE_PARTITIONS, MAX_TRANSACTION_WRITES,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    AttributeValue as SdkValue, ConsumedCapacity, Delete, DeleteRequest, Put,
    ReturnConsumedCapacity, TransactWriteItem, Update, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use serde_dynamo::AttributeValue;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// BatchWriteItem's limit.
const BATCH_SIZE: usize = 25;
const MAX_BATCH_ATTEMPTS: u32 = 8;

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    usage: Arc<WriteUsage>,
}

/// Write requests sent and write capacity DynamoDB reports consumed, for cost measurements.
#[derive(Debug, Default)]
pub struct WriteUsage {
    requests: AtomicU64,
    capacity_millis: AtomicU64,
}

impl WriteUsage {
    fn record(&self, capacity: Option<f64>) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let millis = (capacity.unwrap_or(0.0) * 1000.0).round() as u64;
        self.capacity_millis.fetch_add(millis, Ordering::Relaxed);
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn capacity_units(&self) -> f64 {
        self.capacity_millis.load(Ordering::Relaxed) as f64 / 1000.0
    }
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore {
            client,
            table: table.into(),
            usage: Arc::default(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// What this store's writes have cost so far.
    pub fn write_usage(&self) -> &WriteUsage {
        &self.usage
    }
}

fn total_capacity(consumed: &[ConsumedCapacity]) -> Option<f64> {
    Some(consumed.iter().filter_map(|c| c.capacity_units()).sum())
}

/// A condition as expression text with its names and values.
#[derive(Default)]
struct Expression {
    text: Option<String>,
    names: HashMap<String, String>,
    values: HashMap<String, SdkValue>,
}

fn condition_expression(condition: &Condition, must_exist: bool) -> Expression {
    let mut e = Expression::default();
    let exists = "attribute_exists(#pk)";
    let text = match condition {
        Condition::Always if must_exist => Some(exists.to_owned()),
        Condition::Always => None,
        Condition::Absent => Some("attribute_not_exists(#pk)".to_owned()),
        Condition::Exists => Some(exists.to_owned()),
        Condition::VersionBelow(v) => {
            e.values.insert(":cv".into(), SdkValue::N(v.to_string()));
            Some(format!("{exists} AND #v < :cv"))
        }
        Condition::VersionIs(v) => {
            e.values.insert(":cv".into(), SdkValue::N(v.to_string()));
            Some(format!("{exists} AND #v = :cv"))
        }
    };
    if let Some(text) = &text {
        e.names.insert("#pk".into(), attr::PK.into());
        if text.contains("#v") {
            e.names.insert("#v".into(), attr::VERSION.into());
        }
    }
    e.text = text;
    e
}

/// `SET …` and `REMOVE …` for a partial update, on top of its condition's names and values.
fn update_expression(changes: &Changes, e: &mut Expression) -> Result<String, StoreError> {
    let mut set: Vec<String> = Vec::new();
    let mut remove: Vec<String> = Vec::new();
    let put = |e: &mut Expression, name: &str, value: SdkValue, set: &mut Vec<String>| {
        e.names.insert(format!("#u_{name}"), name.to_owned());
        e.values.insert(format!(":u_{name}"), value);
        set.push(format!("#u_{name} = :u_{name}"));
    };
    let drop = |e: &mut Expression, name: &str, remove: &mut Vec<String>| {
        e.names.insert(format!("#u_{name}"), name.to_owned());
        remove.push(format!("#u_{name}"));
    };
    if let Some(doc) = &changes.doc {
        let text = serde_json::to_string(doc)
            .map_err(|err| StoreError::Rejected(format!("doc does not serialize: {err}")))?;
        put(e, attr::DOC, SdkValue::S(text), &mut set);
    }
    if let Some(version) = changes.version {
        put(e, attr::VERSION, SdkValue::N(version.to_string()), &mut set);
    }
    match &changes.sealed {
        Some(Some(bytes)) => put(
            e,
            attr::SEALED,
            SdkValue::B(aws_sdk_dynamodb::primitives::Blob::new(bytes.clone())),
            &mut set,
        ),
        Some(None) => drop(e, attr::SEALED, &mut remove),
        None => {}
    }
    match &changes.retention {
        Some(Some(entry)) => {
            put(
                e,
                attr::RETENTION_PARTITION,
                SdkValue::S(entry.partition.clone()),
                &mut set,
            );
            put(
                e,
                attr::RETENTION_TIME,
                SdkValue::N(entry.at.as_millis().to_string()),
                &mut set,
            );
        }
        Some(None) => {
            drop(e, attr::RETENTION_PARTITION, &mut remove);
            drop(e, attr::RETENTION_TIME, &mut remove);
        }
        None => {}
    }
    match changes.expires_at {
        Some(Some(at)) => {
            put(
                e,
                attr::TTL,
                SdkValue::N(at.as_unix_seconds().to_string()),
                &mut set,
            );
            put(
                e,
                attr::EXPIRES,
                SdkValue::N(at.as_millis().to_string()),
                &mut set,
            );
        }
        Some(None) => {
            drop(e, attr::TTL, &mut remove);
            drop(e, attr::EXPIRES, &mut remove);
        }
        None => {}
    }
    let mut text = String::new();
    if !set.is_empty() {
        text.push_str("SET ");
        text.push_str(&set.join(", "));
    }
    if !remove.is_empty() {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str("REMOVE ");
        text.push_str(&remove.join(", "));
    }
    if text.is_empty() {
        // Nothing to change: touch the version so the condition is still checked.
        e.names.insert("#u_v".into(), attr::VERSION.into());
        text = "SET #u_v = #u_v".into();
    }
    Ok(text)
}

fn non_empty<K, V>(map: HashMap<K, V>) -> Option<HashMap<K, V>> {
    (!map.is_empty()).then_some(map)
}

fn encode_cursor(last_key: Item) -> Cursor {
    Cursor(serde_json::to_string(&last_key).expect("attribute values serialize"))
}

fn decode_cursor(cursor: &Option<Cursor>) -> Result<Option<HashMap<String, SdkValue>>, StoreError> {
    cursor
        .as_ref()
        .map(|c| {
            serde_json::from_str::<Item>(&c.0)
                .map(item::to_sdk)
                .map_err(|_| StoreError::Rejected("cursor is not one this store issued".into()))
        })
        .transpose()
}

/// The start key that resumes a query right after `record` in the given index.
fn resume_key(record: &Record, range: &Range) -> Item {
    let mut key = item::key_item(&record.key);
    if let (Range::Time { .. }, Some(time)) = (range, record.time) {
        key.insert(
            attr::TIME.into(),
            AttributeValue::N(time.as_millis().to_string()),
        );
    }
    key
}

impl DynamoStore {
    fn transact_item(&self, write: Write) -> Result<TransactWriteItem, StoreError> {
        let built = match write {
            Write::Put { record, condition } => {
                let e = condition_expression(&condition, false);
                TransactWriteItem::builder().put(
                    Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(item::to_sdk(item::record_to_item(&record)?)))
                        .set_condition_expression(e.text)
                        .set_expression_attribute_names(non_empty(e.names))
                        .set_expression_attribute_values(non_empty(e.values))
                        .build()
                        .map_err(|err| StoreError::Rejected(err.to_string()))?,
                )
            }
            Write::Update {
                key,
                changes,
                condition,
            } => {
                let mut e = condition_expression(&condition, true);
                let update = update_expression(&changes, &mut e)?;
                TransactWriteItem::builder().update(
                    Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(item::to_sdk(item::key_item(&key))))
                        .update_expression(update)
                        .set_condition_expression(e.text)
                        .set_expression_attribute_names(non_empty(e.names))
                        .set_expression_attribute_values(non_empty(e.values))
                        .build()
                        .map_err(|err| StoreError::Rejected(err.to_string()))?,
                )
            }
            Write::Delete { key, condition } => {
                let e = condition_expression(&condition, false);
                TransactWriteItem::builder().delete(
                    Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(item::to_sdk(item::key_item(&key))))
                        .set_condition_expression(e.text)
                        .set_expression_attribute_names(non_empty(e.names))
                        .set_expression_attribute_values(non_empty(e.values))
                        .build()
                        .map_err(|err| StoreError::Rejected(err.to_string()))?,
                )
            }
        };
        Ok(built.build())
    }

    /// A refused write is still a request (a failed condition costs capacity DynamoDB does not
    /// report back).
    fn refused<E, R>(&self, error: aws_sdk_dynamodb::error::SdkError<E, R>) -> StoreError
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata
            + std::error::Error
            + Send
            + Sync
            + 'static,
        R: std::fmt::Debug,
    {
        self.usage.record(None);
        store_error(error)
    }

    /// One write without a transaction: half the write capacity of a one-item transaction.
    async fn single(&self, write: Write) -> Result<(), StoreError> {
        match write {
            Write::Put { record, condition } => {
                let e = condition_expression(&condition, false);
                self.client
                    .put_item()
                    .table_name(&self.table)
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .set_item(Some(item::to_sdk(item::record_to_item(&record)?)))
                    .set_condition_expression(e.text)
                    .set_expression_attribute_names(non_empty(e.names))
                    .set_expression_attribute_values(non_empty(e.values))
                    .send()
                    .await
                    .map(|out| {
                        self.usage
                            .record(out.consumed_capacity().and_then(|c| c.capacity_units()))
                    })
                    .map_err(|e| self.refused(e))
            }
            Write::Update {
                key,
                changes,
                condition,
            } => {
                let mut e = condition_expression(&condition, true);
                let update = update_expression(&changes, &mut e)?;
                self.client
                    .update_item()
                    .table_name(&self.table)
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .set_key(Some(item::to_sdk(item::key_item(&key))))
                    .update_expression(update)
                    .set_condition_expression(e.text)
                    .set_expression_attribute_names(non_empty(e.names))
                    .set_expression_attribute_values(non_empty(e.values))
                    .send()
                    .await
                    .map(|out| {
                        self.usage
                            .record(out.consumed_capacity().and_then(|c| c.capacity_units()))
                    })
                    .map_err(|e| self.refused(e))
            }
            Write::Delete { key, condition } => {
                let e = condition_expression(&condition, false);
                self.client
                    .delete_item()
                    .table_name(&self.table)
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .set_key(Some(item::to_sdk(item::key_item(&key))))
                    .set_condition_expression(e.text)
                    .set_expression_attribute_names(non_empty(e.names))
                    .set_expression_attribute_values(non_empty(e.values))
                    .send()
                    .await
                    .map(|out| {
                        self.usage
                            .record(out.consumed_capacity().and_then(|c| c.capacity_units()))
                    })
                    .map_err(|e| self.refused(e))
            }
        }
    }
}

#[async_trait]
impl RecordStore for DynamoStore {
    async fn get(&self, key: &Key, now: Timestamp) -> Result<Option<Record>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(item::to_sdk(item::key_item(key))))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        let Some(found) = output.item else {
            return Ok(None);
        };
        let record = item::item_to_record(&item::from_sdk(found))?;
        Ok((!record.is_expired(now)).then_some(record))
    }

    async fn query(&self, query: &Query, now: Timestamp) -> Result<Page<Record>, StoreError> {
        let limit = query.limit.max(1);
        let mut start = decode_cursor(&query.after)?;
        let mut items = Vec::new();
        loop {
            let mut names = HashMap::from([
                ("#pk".to_owned(), attr::PK.to_owned()),
                ("#ttl".to_owned(), attr::TTL.to_owned()),
            ]);
            let mut values = HashMap::from([
                (":pk".to_owned(), SdkValue::S(query.pk.clone())),
                (
                    ":now".to_owned(),
                    SdkValue::N(now.as_unix_seconds().to_string()),
                ),
            ]);
            let mut request = self.client.query().table_name(&self.table);
            let condition = match &query.range {
                // DynamoDB refuses an empty key value, so "every sort key" is the bare partition.
                Range::Prefix(prefix) if prefix.is_empty() => "#pk = :pk",
                Range::Prefix(prefix) => {
                    names.insert("#sk".into(), attr::SK.into());
                    values.insert(":prefix".into(), SdkValue::S(prefix.clone()));
                    "#pk = :pk AND begins_with(#sk, :prefix)"
                }
                Range::Keys { from, to } => {
                    names.insert("#sk".into(), attr::SK.into());
                    values.insert(":from".into(), SdkValue::S(from.clone()));
                    values.insert(":to".into(), SdkValue::S(to.clone()));
                    "#pk = :pk AND #sk BETWEEN :from AND :to"
                }
                Range::Time { from, to } => {
                    request = request.index_name(TIME_INDEX);
                    names.insert("#t".into(), attr::TIME.into());
                    values.insert(":from".into(), SdkValue::N(from.as_millis().to_string()));
                    values.insert(":to".into(), SdkValue::N(to.as_millis().to_string()));
                    "#pk = :pk AND #t BETWEEN :from AND :to"
                }
            };
            let output = request
                .key_condition_expression(condition)
                .filter_expression("attribute_not_exists(#ttl) OR #ttl > :now")
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(Some(values))
                .scan_index_forward(!query.newest_first)
                .consistent_read(true)
                .limit(i32::try_from(limit - items.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(store_error)?;
            for found in output.items.unwrap_or_default() {
                items.push(item::item_to_record(&item::from_sdk(found))?);
            }
            match output.last_evaluated_key {
                Some(last) if items.len() < limit => start = Some(last),
                Some(_) => break,
                None => {
                    return Ok(Page { items, next: None });
                }
            }
        }
        let next = items
            .last()
            .map(|last| encode_cursor(resume_key(last, &query.range)));
        Ok(Page { items, next })
    }

    async fn due(
        &self,
        partitions: &[String],
        up_to: Timestamp,
        limit: usize,
        after: Option<Cursor>,
    ) -> Result<Page<Due>, StoreError> {
        if partitions.is_empty() || partitions.len() > MAX_DUE_PARTITIONS {
            return Err(StoreError::Rejected(format!(
                "a due read names 1 to {MAX_DUE_PARTITIONS} partitions, not {}",
                partitions.len()
            )));
        }
        // One PartiQL SELECT over every partition (an equality IN on the index's partition
        // key is a query of each, never a scan): one request where a query per shard took
        // sixteen, and one connection on a cold start instead of sixteen TLS handshakes.
        let placeholders = vec!["?"; partitions.len()].join(", ");
        let statement = format!(
            r#"SELECT * FROM "{table}"."{RETENTION_INDEX}" WHERE "{rk}" IN [{placeholders}] AND "{rt}" <= ?"#,
            table = self.table,
            rk = attr::RETENTION_PARTITION,
            rt = attr::RETENTION_TIME,
        );
        let mut parameters: Vec<SdkValue> =
            partitions.iter().map(|p| SdkValue::S(p.clone())).collect();
        parameters.push(SdkValue::N(up_to.as_millis().to_string()));
        let output = self
            .client
            .execute_statement()
            .statement(statement)
            .set_parameters(Some(parameters))
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            .set_next_token(after.map(|c| c.0))
            .send()
            .await
            .map_err(store_error)?;
        let items = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|found| {
                let found = item::from_sdk(found);
                let at = item::get_n(&found, attr::RETENTION_TIME)?
                    .ok_or_else(|| StoreError::Corrupt("retention entry without time".into()))?;
                Ok(Due {
                    key: item::item_to_key(&found)?,
                    at: Timestamp::from_millis(at),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Page {
            items,
            next: output.next_token.map(Cursor),
        })
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        if writes.len() > MAX_TRANSACTION_WRITES {
            return Err(StoreError::Rejected(format!(
                "a transaction holds at most {MAX_TRANSACTION_WRITES} writes"
            )));
        }
        if writes.len() == 1 {
            let write = writes.into_iter().next().expect("one write");
            return self.single(write).await;
        }
        if writes.is_empty() {
            return Ok(());
        }
        let items = writes
            .into_iter()
            .map(|w| self.transact_item(w))
            .collect::<Result<Vec<_>, _>>()?;
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match result {
            Ok(out) => {
                self.usage.record(total_capacity(out.consumed_capacity()));
                Ok(())
            }
            Err(error) => {
                if let Some(
                    aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(cancelled),
                ) = error.as_service_error()
                {
                    let reasons = cancelled.cancellation_reasons();
                    if let Some(index) = reasons
                        .iter()
                        .position(|r| r.code() == Some("ConditionalCheckFailed"))
                    {
                        return Err(StoreError::ConditionFailed { index });
                    }
                    if reasons.iter().any(|r| {
                        matches!(
                            r.code(),
                            Some("TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded")
                        )
                    }) {
                        return Err(StoreError::Busy("transaction conflict".into()));
                    }
                }
                Err(store_error(error))
            }
        }
    }

    async fn delete_many(&self, keys: Vec<Key>) -> Result<(), StoreError> {
        for chunk in keys.chunks(BATCH_SIZE) {
            let mut pending: Vec<WriteRequest> = chunk
                .iter()
                .map(|key| {
                    DeleteRequest::builder()
                        .set_key(Some(item::to_sdk(item::key_item(key))))
                        .build()
                        .map(|d| WriteRequest::builder().delete_request(d).build())
                        .map_err(|e| StoreError::Rejected(e.to_string()))
                })
                .collect::<Result<_, _>>()?;
            let mut attempt = 0;
            while !pending.is_empty() {
                if attempt > 0 {
                    // Unprocessed items mean throttling: back off before retrying them.
                    tokio::time::sleep(Duration::from_millis(25 << attempt.min(6))).await;
                }
                attempt += 1;
                if attempt > MAX_BATCH_ATTEMPTS {
                    return Err(StoreError::Busy(format!(
                        "{} deletes still unprocessed after {MAX_BATCH_ATTEMPTS} attempts",
                        pending.len()
                    )));
                }
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .send()
                    .await
                    .map_err(store_error)?;
                self.usage
                    .record(total_capacity(output.consumed_capacity()));
                pending = output
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.table))
                    .unwrap_or_default();
            }
        }
        Ok(())
    }
}
