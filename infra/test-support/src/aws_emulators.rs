//! Clients of the AWS emulators: DynamoDB Local for the tables, and moto for S3, KMS and Secrets
//! Manager. Each takes an optional call recorder, so a suite can give every function's role its
//! own recorded clients, as the IAM contract test needs. The emulators' URLs come from
//! `MIZAN_TEST_DYNAMODB_ENDPOINT` and `MIZAN_TEST_AWS_ENDPOINT` (set by `infra/test.sh`); a test
//! fails, never skips, without them.

use crate::aws_calls::AwsCalls;
use crate::store::{endpoint, AWS_ENDPOINT_VAR, DYNAMODB_ENDPOINT_VAR};
use mizan_shared::adapters::secrets_manager;
use mizan_shared::config::SecretValues;

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
