//! Clients of the AWS emulators: DynamoDB Local for the tables, and moto for S3, KMS and Secrets
//! Manager. Each takes an optional call recorder, so a suite can give every function's role its
//! own recorded clients, as the IAM contract test needs. The emulators' URLs come from
//! `MIZAN_TEST_DYNAMODB_ENDPOINT` and `MIZAN_TEST_AWS_ENDPOINT` (set by `infra/test.sh`); a test
//! fails, never skips, without them.

use crate::aws_calls::AwsCalls;
use crate::store::{endpoint, unique, AWS_ENDPOINT_VAR, DYNAMODB_ENDPOINT_VAR, HASH_KEY, START};
use mizan_shared::adapters::dynamodb::tables::{create_table, data_table, key_table};
use mizan_shared::adapters::dynamodb::{DynamoKeyStore, DynamoStore};
use mizan_shared::adapters::kms::KmsVault;
use mizan_shared::adapters::s3_archives::S3Archives;
use mizan_shared::adapters::secrets_manager;
use mizan_shared::config::{layered, Config, SecretValues};
use mizan_shared::crypto::envelope::{CacheSettings, Envelope};
use mizan_shared::domain::identity_hash::IdentityHasher;
use mizan_shared::domain::time::Timestamp;
use mizan_shared::ports::clock::ManualClock;
use mizan_shared::store::Store;
use std::sync::Arc;

fn moto() -> String {
    endpoint(AWS_ENDPOINT_VAR, "moto (S3, KMS, Secrets Manager)")
}

fn credentials() -> aws_sdk_s3::config::Credentials {
    aws_sdk_s3::config::Credentials::new("test", "test", None, None, "tests")
}

fn region() -> aws_sdk_s3::config::Region {
    aws_sdk_s3::config::Region::new("us-east-1")
}

pub fn dynamodb(recorder: Option<&AwsCalls>) -> aws_sdk_dynamodb::Client {
    let mut config = aws_sdk_dynamodb::config::Builder::new()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(region())
        .credentials_provider(credentials())
        .endpoint_url(endpoint(DYNAMODB_ENDPOINT_VAR, "DynamoDB Local"));
    if let Some(recorder) = recorder {
        config = config.interceptor(recorder.clone());
    }
    aws_sdk_dynamodb::Client::from_conf(config.build())
}

pub fn kms(recorder: Option<&AwsCalls>) -> aws_sdk_kms::Client {
    let mut config = aws_sdk_kms::config::Builder::new()
        .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
        .region(region())
        .credentials_provider(credentials())
        .endpoint_url(moto());
    if let Some(recorder) = recorder {
        config = config.interceptor(recorder.clone());
    }
    aws_sdk_kms::Client::from_conf(config.build())
}

/// The S3 client's configuration (path-style, as moto serves it), for a suite to add its own
/// interceptors to before building.
pub fn s3_config(recorder: Option<&AwsCalls>) -> aws_sdk_s3::config::Builder {
    let mut config = aws_sdk_s3::config::Builder::new()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(region())
        .credentials_provider(credentials())
        .endpoint_url(moto())
        .force_path_style(true);
    if let Some(recorder) = recorder {
        config = config.interceptor(recorder.clone());
    }
    config
}

pub fn s3(recorder: Option<&AwsCalls>) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(s3_config(recorder).build())
}

pub fn secrets(recorder: Option<&AwsCalls>) -> aws_sdk_secretsmanager::Client {
    let mut config = aws_sdk_secretsmanager::config::Builder::new()
        .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
        .region(region())
        .credentials_provider(credentials())
        .endpoint_url(moto());
    if let Some(recorder) = recorder {
        config = config.interceptor(recorder.clone());
    }
    aws_sdk_secretsmanager::Client::from_conf(config.build())
}

pub fn sqs(recorder: Option<&AwsCalls>) -> aws_sdk_sqs::Client {
    let mut config = aws_sdk_sqs::config::Builder::new()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .region(region())
        .credentials_provider(credentials())
        .endpoint_url(moto());
    if let Some(recorder) = recorder {
        config = config.interceptor(recorder.clone());
    }
    aws_sdk_sqs::Client::from_conf(config.build())
}

/// A new queue (FIFO when `fifo`, its name ending `.fifo`); its URL.
pub async fn create_queue(name: &str, fifo: bool) -> String {
    let name = if fifo {
        format!("{}.fifo", unique(name))
    } else {
        unique(name)
    };
    let mut request = sqs(None).create_queue().queue_name(name);
    if fifo {
        request = request.attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true");
    }
    request
        .send()
        .await
        .expect("create queue")
        .queue_url()
        .expect("a queue URL")
        .to_owned()
}

/// The name at the end of a queue's URL.
pub fn queue_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}

/// A new secret holding `value` (a JSON object of secret variables); its ARN.
pub async fn create_secret(name: &str, value: &serde_json::Value) -> String {
    secrets(None)
        .create_secret()
        .name(mizan_shared::domain::ids::random_id(name))
        .secret_string(value.to_string())
        .send()
        .await
        .expect("create secret")
        .arn()
        .expect("an ARN")
        .to_owned()
}

/// What a function's role reads at start-up: `secrets`, each named for the recorder by its
/// logical id in `template.yaml` (`CoreSecret`, …), read with the role's recorded client.
pub async fn start_up_secrets(recorder: &AwsCalls, secrets: &[(&str, String)]) -> SecretValues {
    let mut ids = Vec::new();
    for (logical, arn) in secrets {
        recorder.name(arn.clone(), *logical);
        ids.push(arn.clone());
    }
    secrets_manager::read(&self::secrets(Some(recorder)), &ids)
        .await
        .expect("the role reads its secrets")
}

/// One role's view of the deployment: a store and archives over its own clients.
pub struct Role {
    pub store: Store,
    pub archives: S3Archives,
}

/// One deployment on the emulators, as `template.yaml` makes it: the data and key tables, the
/// KMS key, the export bucket and the core secret (the hash key), on a clock the test moves.
pub struct Deployment {
    pub data: String,
    pub keys: String,
    pub key_id: String,
    pub key_arn: String,
    pub bucket: String,
    pub core_secret: String,
    /// The webhook deliveries' FIFO queue and the export jobs' queue (URLs).
    pub webhook_queue: String,
    pub export_queue: String,
    /// Countable changes, from the router to the analytics counter.
    pub analytics_queue: String,
    pub clock: Arc<ManualClock>,
}

impl Deployment {
    pub async fn create() -> Deployment {
        let dynamodb = dynamodb(None);
        let (data, keys) = (unique("data"), unique("keys"));
        create_table(&dynamodb, &data, &data_table()).await.unwrap();
        create_table(&dynamodb, &keys, &key_table()).await.unwrap();
        let key = kms(None)
            .create_key()
            .description("mizan purge test")
            .send()
            .await
            .unwrap();
        let key = key.key_metadata().unwrap();
        let bucket = unique("exports").replace('_', "-").to_lowercase();
        s3(None)
            .create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
        let core_secret = create_secret(
            "mizan-core",
            &serde_json::json!({ "MIZAN_HASH_KEY": hex::encode(HASH_KEY) }),
        )
        .await;
        Deployment {
            data,
            keys,
            key_id: key.key_id().to_owned(),
            key_arn: key.arn().unwrap().to_owned(),
            bucket,
            core_secret,
            webhook_queue: create_queue("webhooks", true).await,
            export_queue: create_queue("export-jobs", false).await,
            analytics_queue: create_queue("analytics", false).await,
            clock: Arc::new(ManualClock::at(Timestamp::from_millis(START))),
        }
    }

    /// The role's clients, recorded when `recorder` is given, with the resources named by their
    /// logical ids in `template.yaml`; the hash key is the one the role read from its secret.
    pub fn role(&self, recorder: Option<&AwsCalls>, hash_key: [u8; 32]) -> Role {
        if let Some(r) = recorder {
            r.name(&self.data, "DataTable");
            r.name(&self.keys, "KeyTable");
            r.name(&self.bucket, "ExportBucket");
            r.name(&self.key_id, "DataKey");
            r.name(&self.key_arn, "DataKey");
            r.name(queue_name(&self.webhook_queue), "WebhookDeliveryQueue");
            r.name(queue_name(&self.export_queue), "ExportJobQueue");
            r.name(queue_name(&self.analytics_queue), "AnalyticsQueue");
        }
        let dynamodb = dynamodb(recorder);
        let envelope = Envelope::new(
            Arc::new(KmsVault::new(kms(recorder), self.key_id.clone())),
            Arc::new(DynamoKeyStore::new(dynamodb.clone(), self.keys.clone())),
            CacheSettings::default(),
        );
        Role {
            store: Store::new(
                Arc::new(DynamoStore::new(dynamodb, self.data.clone())),
                Arc::new(envelope),
                Arc::new(IdentityHasher::new(hash_key)),
                self.clock.clone(),
            ),
            archives: S3Archives::new(s3(recorder), self.bucket.clone(), self.key_arn.clone()),
        }
    }

    /// A function's role as its Lambda starts: its secrets read with its recorded client (the
    /// core secret and `more`, named by their logical ids), the configuration built from them,
    /// then its clients over the hash key it read. The secrets' variables come back too, for the
    /// function's own settings.
    pub async fn start_up(
        &self,
        recorder: &AwsCalls,
        more: &[(&str, String)],
    ) -> (Role, SecretValues) {
        let mut secrets = vec![("CoreSecret", self.core_secret.clone())];
        secrets.extend(more.iter().cloned());
        let values = start_up_secrets(recorder, &secrets).await;
        let env = |var: &str| (var == "MIZAN_DATA_DIR").then(|| "/unused".to_owned());
        let config = Config::from_lookup(layered(&env, &values, true).expect("layered"))
            .expect("the configuration from the secrets");
        let role = self.role(Some(recorder), config.hash_key.expect("the hash key"));
        (role, values)
    }
}
