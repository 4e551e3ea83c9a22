//! Records every AWS operation a client performs, as IAM sees it: the action
//! (`dynamodb:GetItem`, `kms:Decrypt`, `s3:PutObject`, `secretsmanager:GetSecretValue`, …) and
//! the resource, named by its logical id in `template.yaml` (`DataTable`,
//! `DataTable/index/retention`, `KeyTable`, `DataKey`, `ExportBucket/exports/…`, `CoreSecret`). Attached to the clients a function's tests use, it lets the IAM
//! contract test compare what the code does with what the function's policy grants, which
//! DynamoDB Local and moto never check.

use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

/// One operation on one resource.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AwsCall {
    pub action: String,
    pub resource: String,
}

#[derive(Default)]
struct Inner {
    calls: BTreeSet<AwsCall>,
    /// Physical names (a table, a bucket, a key id or ARN) to logical ids of the template.
    names: HashMap<String, String>,
}

/// The recorder; clones share what was recorded.
#[derive(Clone, Default)]
pub struct AwsCalls(Arc<Mutex<Inner>>);

impl std::fmt::Debug for AwsCalls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsCalls").finish_non_exhaustive()
    }
}

impl AwsCalls {
    /// Names `physical` (a table or bucket name, a KMS key id or ARN) as the template's `logical`.
    pub fn name(&self, physical: impl Into<String>, logical: impl Into<String>) {
        self.0
            .lock()
            .expect("recorder")
            .names
            .insert(physical.into(), logical.into());
    }

    /// Records a call made outside an SDK client (a presigned URL followed with the signing
    /// role's authority, for instance).
    pub fn record(&self, action: &str, physical_resource: &str) {
        let mut inner = self.0.lock().expect("recorder");
        let resource = logical(&inner.names, physical_resource);
        inner.calls.insert(AwsCall {
            action: action.to_owned(),
            resource,
        });
    }

    pub fn calls(&self) -> BTreeSet<AwsCall> {
        self.0.lock().expect("recorder").calls.clone()
    }
}

/// `physical` named by its logical id: a whole name (a table, a key id or ARN), an ARN that
/// ends with a named key id, or a bucket's object (`bucket/key` → `ExportBucket/key`).
fn logical(names: &HashMap<String, String>, physical: &str) -> String {
    if let Some(logical) = names.get(physical) {
        return logical.clone();
    }
    if let Some((_, logical)) = names
        .iter()
        .find(|(name, _)| physical.ends_with(&format!("/{name}")))
    {
        return logical.clone();
    }
    match physical.split_once('/') {
        Some((head, rest)) => match names.get(head) {
            Some(logical) => format!("{logical}/{rest}"),
            None => format!("unnamed:{physical}"),
        },
        None => format!("unnamed:{physical}"),
    }
}

/// The IAM actions and resources of one DynamoDB request.
fn dynamodb_calls(operation: &str, body: &serde_json::Value) -> Vec<(String, String)> {
    let table_of = |item: &serde_json::Value| {
        let table = item["TableName"].as_str().unwrap_or_default().to_owned();
        match item["IndexName"].as_str() {
            Some(index) => format!("{table}/index/{index}"),
            None => table,
        }
    };
    match operation {
        "TransactWriteItems" | "TransactGetItems" => body["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|item| {
                [
                    ("Put", "PutItem"),
                    ("Update", "UpdateItem"),
                    ("Delete", "DeleteItem"),
                    ("ConditionCheck", "ConditionCheckItem"),
                    ("Get", "GetItem"),
                ]
                .into_iter()
                .filter(|(part, _)| !item[*part].is_null())
                .map(|(part, action)| (format!("dynamodb:{action}"), table_of(&item[part])))
                .collect::<Vec<_>>()
            })
            .collect(),
        "BatchWriteItem" | "BatchGetItem" => body["RequestItems"]
            .as_object()
            .into_iter()
            .flat_map(|tables| tables.keys())
            .map(|table| (format!("dynamodb:{operation}"), table.clone()))
            .collect(),
        "ExecuteStatement" => vec![partiql_call(body["Statement"].as_str().unwrap_or_default())],
        _ => vec![(format!("dynamodb:{operation}"), table_of(body))],
    }
}

/// The IAM action of a PartiQL statement (`PartiQLSelect`, …) and what it names after `FROM`
/// (`"table"."index"` → `table/index/index`).
fn partiql_call(statement: &str) -> (String, String) {
    let verb = statement.split_whitespace().next().unwrap_or_default();
    let action = format!(
        "dynamodb:PartiQL{}{}",
        verb[..1.min(verb.len())].to_uppercase(),
        verb.get(1..).unwrap_or_default().to_lowercase()
    );
    let after_from = statement
        .split_once(" FROM ")
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let names: Vec<&str> = after_from
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .split('.')
        .map(|name| name.trim_matches('"'))
        .collect();
    let resource = match names.as_slice() {
        [table, index] => format!("{table}/index/{index}"),
        [table] => (*table).to_owned(),
        _ => String::new(),
    };
    (action, resource)
}

/// The IAM action of an S3 REST request (path-style: `/{bucket}/{key}`), and its resource.
fn s3_call(method: &str, uri: &str) -> (String, String) {
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let path = path
        .split_once("://")
        .map_or(path, |(_, rest)| {
            rest.split_once('/').map_or("", |(_, p)| p)
        })
        .trim_start_matches('/');
    let has = |name: &str| {
        query
            .split('&')
            .any(|pair| pair == name || pair.starts_with(&format!("{name}=")))
    };
    let action = match method {
        "GET" | "HEAD" => "s3:GetObject",
        // CreateMultipartUpload, UploadPart and CompleteMultipartUpload are s3:PutObject.
        "PUT" | "POST" => "s3:PutObject",
        "DELETE" if has("uploadId") => "s3:AbortMultipartUpload",
        "DELETE" => "s3:DeleteObject",
        _ => "s3:Unknown",
    };
    (action.to_owned(), percent_decoded(path))
}

fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(byte) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Intercept for AwsCalls {
    fn name(&self) -> &'static str {
        "AwsCalls"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let request = context.request();
        let target = request.headers().get("x-amz-target").map(str::to_owned);
        let calls = match target.as_deref().and_then(|t| t.split_once('.')) {
            Some((service, operation)) => {
                let body: serde_json::Value = request
                    .body()
                    .bytes()
                    .and_then(|b| serde_json::from_slice(b).ok())
                    .unwrap_or_default();
                if service.starts_with("DynamoDB") {
                    dynamodb_calls(operation, &body)
                } else if service.starts_with("TrentService") {
                    let key = body["KeyId"].as_str().unwrap_or_default().to_owned();
                    vec![(format!("kms:{operation}"), key)]
                } else if service == "secretsmanager" && operation == "BatchGetSecretValue" {
                    // IAM checks the batch action on `*` and reading each secret it names.
                    let mut calls = vec![(
                        "secretsmanager:BatchGetSecretValue".to_owned(),
                        "*".to_owned(),
                    )];
                    for id in body["SecretIdList"].as_array().into_iter().flatten() {
                        let secret = id.as_str().unwrap_or_default().to_owned();
                        calls.push(("secretsmanager:GetSecretValue".to_owned(), secret));
                    }
                    calls
                } else if service == "AmazonSQS" {
                    // IAM knows a batch by its single action.
                    let action = operation.strip_suffix("Batch").unwrap_or(operation);
                    let queue = body["QueueUrl"].as_str().unwrap_or_default().to_owned();
                    vec![(format!("sqs:{action}"), queue)]
                } else if service == "secretsmanager" {
                    let secret = body["SecretId"].as_str().unwrap_or_default().to_owned();
                    vec![(format!("secretsmanager:{operation}"), secret)]
                } else {
                    vec![(format!("{service}:{operation}"), String::new())]
                }
            }
            None => vec![s3_call(request.method(), request.uri())],
        };
        for (action, resource) in calls {
            self.record(&action, &resource);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_read_as_iam_actions_on_logical_resources() {
        let calls = dynamodb_calls(
            "TransactWriteItems",
            &serde_json::json!({"TransactItems": [
                {"Put": {"TableName": "data-1"}},
                {"ConditionCheck": {"TableName": "data-1"}}
            ]}),
        );
        assert_eq!(
            calls,
            [
                ("dynamodb:PutItem".to_owned(), "data-1".to_owned()),
                (
                    "dynamodb:ConditionCheckItem".to_owned(),
                    "data-1".to_owned()
                )
            ]
        );
        assert_eq!(
            dynamodb_calls(
                "Query",
                &serde_json::json!({"TableName": "t", "IndexName": "by_time"})
            ),
            [("dynamodb:Query".to_owned(), "t/index/by_time".to_owned())]
        );
        assert_eq!(
            dynamodb_calls(
                "ExecuteStatement",
                &serde_json::json!({"Statement":
                    r#"SELECT * FROM "data-1"."retention" WHERE "rk" IN [?, ?] AND "rt" <= ?"#})
            ),
            [(
                "dynamodb:PartiQLSelect".to_owned(),
                "data-1/index/retention".to_owned()
            )]
        );
        assert_eq!(
            s3_call(
                "DELETE",
                "http://127.0.0.1:5000/bucket-1/exports/a.zip?uploadId=x"
            ),
            (
                "s3:AbortMultipartUpload".to_owned(),
                "bucket-1/exports/a.zip".to_owned()
            )
        );
        let recorder = AwsCalls::default();
        recorder.name("bucket-1", "ExportBucket");
        recorder.name("1234abcd", "DataKey");
        recorder.record("s3:GetObject", "bucket-1/exports/t/x%2By.zip");
        recorder.record(
            "kms:Decrypt",
            "arn:aws:kms:us-east-1:123456789012:key/1234abcd",
        );
        assert_eq!(
            recorder
                .calls()
                .into_iter()
                .map(|c| c.resource)
                .collect::<Vec<_>>(),
            ["DataKey", "ExportBucket/exports/t/x%2By.zip"]
        );
    }
}
