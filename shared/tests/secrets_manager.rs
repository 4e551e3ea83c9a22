//! Secrets read at start-up from AWS Secrets Manager (moto here): the configuration a function
//! builds from them is the one it would build from plain variables, and a secret that is missing,
//! malformed or overlapping another stops the start with an error naming it.

use mizan_shared::adapters::secrets_manager;
use mizan_shared::config::{layered, Config, SecretsError, WebhookConfig};
use mizan_shared::domain::signature::{sign, verify, AppSecret};
use mizan_test_support::store::{endpoint, unique, AWS_ENDPOINT_VAR};

fn client() -> aws_sdk_secretsmanager::Client {
    let config = aws_sdk_secretsmanager::config::Builder::new()
        .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
        .region(aws_sdk_secretsmanager::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .endpoint_url(endpoint(AWS_ENDPOINT_VAR, "moto (Secrets Manager)"))
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

/// A new secret holding `value`; its ARN.
async fn secret(client: &aws_sdk_secretsmanager::Client, value: &str) -> String {
    client
        .create_secret()
        .name(unique("mizan"))
        .secret_string(value)
        .send()
        .await
        .expect("create secret")
        .arn()
        .expect("an ARN")
        .to_owned()
}

#[tokio::test]
async fn the_configuration_comes_from_the_secrets_and_the_plain_environment() {
    let client = client();
    let hash_key = "ab".repeat(32);
    let core = secret(&client, &format!(r#"{{"MIZAN_HASH_KEY": "{hash_key}"}}"#)).await;
    let webhook = secret(
        &client,
        r#"{"MIZAN_WHATSAPP_APP_SECRETS": "app-secret-1,app-secret-2", "MIZAN_WHATSAPP_VERIFY_TOKEN": "hs-token-7"}"#,
    )
    .await;
    let values = secrets_manager::read(&client, &[core.clone(), webhook.clone()])
        .await
        .unwrap();
    assert_eq!(
        values.variables().collect::<Vec<_>>(),
        [
            "MIZAN_HASH_KEY",
            "MIZAN_WHATSAPP_APP_SECRETS",
            "MIZAN_WHATSAPP_VERIFY_TOKEN"
        ]
    );
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().display().to_string();
    let env = |var: &str| match var {
        "MIZAN_SECRETS" => Some(format!("{core},{webhook}")),
        "MIZAN_DATA_DIR" => Some(data_dir.clone()),
        _ => None,
    };
    let lookup = layered(&env, &values, true).unwrap();
    let config = Config::from_lookup(&lookup).unwrap();
    assert_eq!(config.hash_key, Some([0xab; 32]));
    let webhook_config = WebhookConfig::from_lookup(&lookup).unwrap();
    let signed = sign(b"{}", &AppSecret::new("app-secret-2"));
    assert!(verify(Some(&signed), b"{}", &webhook_config.app_secrets).is_ok());
    let shown = format!("{config:?} {webhook_config:?} {values:?}");
    assert!(
        !shown.contains(&hash_key)
            && !shown.contains("hs-token-7")
            && !shown.contains("app-secret"),
        "{shown}"
    );
}

#[tokio::test]
async fn a_missing_malformed_or_overlapping_secret_stops_the_start_naming_it() {
    let client = client();
    let missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:mizan-absent-AbCdEf";
    match secrets_manager::read(&client, &[missing.to_owned()]).await {
        Err(SecretsError::Unreadable {
            secret, retryable, ..
        }) => {
            assert_eq!(secret, missing);
            assert!(!retryable, "a secret that does not exist stays so");
        }
        other => panic!("expected Unreadable, got {other:?}"),
    }
    let text = secret(&client, "MIZAN_HASH_KEY=abc").await;
    let malformed = secrets_manager::read(&client, std::slice::from_ref(&text)).await;
    assert!(
        matches!(&malformed, Err(SecretsError::Malformed { secret, .. }) if *secret == text),
        "{malformed:?}"
    );
    let one = secret(&client, r#"{"MIZAN_AI_API_KEY": "a"}"#).await;
    let two = secret(&client, r#"{"MIZAN_AI_API_KEY": "b"}"#).await;
    let overlapping = secrets_manager::read(&client, &[one, two]).await;
    assert!(
        matches!(&overlapping, Err(SecretsError::Duplicate { var }) if var == "MIZAN_AI_API_KEY"),
        "{overlapping:?}"
    );
}
