//! A Lambda's start-up as `main` runs it (`startup::from_env`), with its secrets in Secrets
//! Manager (moto): the process environment names only the secrets, and the store the function
//! gets hashes with the key the secret holds. Its own test binary, with one test, because it
//! sets process environment variables.

use mizan_shared::backend::Services;
use mizan_shared::config::{Config, WebhookConfig};
use mizan_shared::domain::identity_hash::{IdentifierKind, IdentityHasher};
use mizan_shared::domain::ids::TenantId;
use mizan_shared::startup::{self, StartupError, Wiring};
use mizan_shared::store::Store;
use mizan_test_support::store::{endpoint, unique, AWS_ENDPOINT_VAR};

/// What a function like webhook-intake gets at start-up.
struct Started {
    store: Store,
    webhook: WebhookConfig,
}

impl Wiring for Started {
    type Settings = WebhookConfig;

    fn settings(lookup: &dyn Fn(&str) -> Option<String>) -> Result<WebhookConfig, StartupError> {
        Ok(WebhookConfig::from_lookup(lookup)?)
    }

    fn new(
        services: &Services,
        _config: &Config,
        webhook: &WebhookConfig,
    ) -> Result<Started, StartupError> {
        Ok(Started {
            store: services.store.clone(),
            webhook: webhook.clone(),
        })
    }
}

#[tokio::test]
async fn a_function_starts_from_its_secrets_and_refuses_a_secret_in_its_environment() {
    let moto = endpoint(AWS_ENDPOINT_VAR, "moto (Secrets Manager)");
    let sdk = aws_sdk_secretsmanager::config::Builder::new()
        .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
        .region(aws_sdk_secretsmanager::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .endpoint_url(&moto)
        .build();
    let client = aws_sdk_secretsmanager::Client::from_conf(sdk);
    let mut arns = Vec::new();
    for value in [
        format!(r#"{{"MIZAN_HASH_KEY": "{}"}}"#, "cd".repeat(32)),
        r#"{"MIZAN_WHATSAPP_APP_SECRETS": "app-secret-9", "MIZAN_WHATSAPP_VERIFY_TOKEN": "hs-verify-9"}"#
            .to_owned(),
    ] {
        let created = client
            .create_secret()
            .name(unique("mizan-startup"))
            .secret_string(value)
            .send()
            .await
            .unwrap();
        arns.push(created.arn().unwrap().to_owned());
    }
    let dir = tempfile::tempdir().unwrap();
    // SAFETY: this binary runs this one test; nothing else reads the environment meanwhile.
    unsafe {
        std::env::set_var("MIZAN_SECRETS", arns.join(","));
        std::env::set_var("MIZAN_DATA_DIR", dir.path());
        std::env::set_var("AWS_ENDPOINT_URL", &moto);
        std::env::set_var("AWS_REGION", "us-east-1");
        std::env::set_var("AWS_ACCESS_KEY_ID", "test");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
        for var in mizan_shared::config::SECRET_VARS {
            std::env::remove_var(var);
        }
    }
    let started: Started = startup::from_env().await.unwrap();
    let tenant = TenantId::new("ten_startup");
    let expected =
        IdentityHasher::new([0xcd; 32]).contact_id(&tenant, IdentifierKind::WaId, "2126");
    assert_eq!(
        started
            .store
            .hasher()
            .contact_id(&tenant, IdentifierKind::WaId, "2126"),
        expected,
        "the store hashes with the secret's key"
    );
    assert!(!format!("{:?}", started.webhook).contains("hs-verify-9"));

    // A secret left in the plain environment as well is refused, naming it.
    unsafe { std::env::set_var("MIZAN_WHATSAPP_VERIFY_TOKEN", "hs-verify-9") };
    let refused = startup::from_env::<Started>().await.err().unwrap();
    assert!(
        matches!(refused, StartupError::Secrets(_))
            && refused.to_string().contains("MIZAN_WHATSAPP_VERIFY_TOKEN"),
        "{refused}"
    );
}
