//! webhook-intake's start-up as its `main` runs it (`startup::start`), with its secrets in
//! Secrets Manager (moto): the process environment names only the secrets, and the function gets
//! the hash key and webhook secrets they hold. Its own test binary, with one test, because it sets
//! process environment variables.

use mizan_shared::domain::identity_hash::{IdentifierKind, IdentityHasher};
use mizan_shared::domain::ids::TenantId;
use mizan_shared::domain::signature::{sign, verify, AppSecret};
use mizan_shared::startup::{self, StartupError};
use mizan_test_support::aws_emulators::create_secret;
use mizan_test_support::store::{endpoint, AWS_ENDPOINT_VAR};
use mizan_webhook_intake::Deps;

#[tokio::test]
async fn a_function_starts_from_its_secrets_and_refuses_a_secret_in_its_environment() {
    let moto = endpoint(AWS_ENDPOINT_VAR, "moto (Secrets Manager)");
    let arns = [
        create_secret(
            "mizan-core",
            &serde_json::json!({ "MIZAN_HASH_KEY": "cd".repeat(32) }),
        )
        .await,
        create_secret(
            "mizan-webhook",
            &serde_json::json!({
                "MIZAN_WHATSAPP_APP_SECRETS": "app-secret-9",
                "MIZAN_WHATSAPP_VERIFY_TOKEN": "hs-verify-9",
            }),
        )
        .await,
    ];
    // SAFETY: this binary runs this one test; nothing else reads the environment meanwhile.
    unsafe {
        std::env::set_var("MIZAN_SECRETS", arns.join(","));
        // A function runs on the aws backend; starting makes no call to the tables or key.
        std::env::set_var("MIZAN_BACKEND", "aws");
        std::env::set_var("MIZAN_DATA_TABLE", "mizan-startup-data");
        std::env::set_var("MIZAN_KEY_TABLE", "mizan-startup-keys");
        std::env::set_var("MIZAN_KMS_KEY_ID", "alias/mizan-startup");
        std::env::set_var("MIZAN_EXPORT_BUCKET", "mizan-startup-exports");
        std::env::set_var("AWS_ENDPOINT_URL", &moto);
        std::env::set_var("AWS_REGION", "us-east-1");
        std::env::set_var("AWS_ACCESS_KEY_ID", "test");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
        for var in mizan_shared::config::SECRET_VARS {
            std::env::remove_var(var);
        }
    }
    let starting = startup::start::<Deps>().unwrap();
    let started: &Deps = starting.ready().await.unwrap();
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
    let signed = sign(b"{}", &AppSecret::new("app-secret-9"));
    assert!(
        verify(Some(&signed), b"{}", &started.webhook.app_secrets).is_ok(),
        "deliveries are verified with the secret's app secret"
    );
    assert!(!format!("{:?}", started.webhook).contains("hs-verify-9"));

    // A secret left in the plain environment as well is refused before anything is read,
    // naming it: the start fails (Lambda's init error).
    unsafe { std::env::set_var("MIZAN_WHATSAPP_VERIFY_TOKEN", "hs-verify-9") };
    let refused = startup::start::<Deps>().err().unwrap();
    assert!(
        matches!(refused, StartupError::Secrets(_))
            && refused.to_string().contains("MIZAN_WHATSAPP_VERIFY_TOKEN"),
        "{refused}"
    );

    // A secret that cannot be read is found after init: the invocation that waits fails, saying
    // which, and the next one reads again instead of keeping the failure.
    unsafe {
        std::env::remove_var("MIZAN_WHATSAPP_VERIFY_TOKEN");
        std::env::set_var("MIZAN_SECRETS", "mizan-no-such-secret");
    }
    let starting = startup::start::<Deps>().unwrap();
    for _ in 0..2 {
        let unreadable = starting.ready().await.err().unwrap();
        assert!(
            matches!(unreadable, StartupError::Secrets(_))
                && unreadable.to_string().contains("mizan-no-such-secret"),
            "{unreadable}"
        );
    }
}
