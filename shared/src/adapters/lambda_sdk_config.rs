//! The AWS SDK's configuration as a Lambda function needs it, from the environment Lambda gives
//! it: the region (`AWS_REGION`) and the execution role's temporary credentials
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`). aws-config's default
//! chains look much further (profiles, SSO, web identity, ECS, IMDS) and link the STS client
//! into every binary; a function never needs them. Endpoint overrides are honoured as the AWS
//! SDKs document them (`AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`), which is how the
//! real-binary tests and benches reach DynamoDB Local and moto.

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

/// The configuration every SDK client of a Lambda function is built from.
pub fn from_lambda_environment() -> SdkConfig {
    let region = ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
        .map(Region::new);
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(region)
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ))
        .time_source(aws_smithy_async::time::SystemTimeSource::new())
        .service_config(EndpointOverrides);
    if let Some(sleep) = aws_smithy_async::rt::sleep::default_async_sleep() {
        builder = builder.sleep_impl(sleep);
    }
    builder.build()
}

/// `AWS_ENDPOINT_URL_<SERVICE>` (the service id upper-cased, spaces as underscores:
/// `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SECRETS_MANAGER`), then the global variable.
#[derive(Debug)]
struct EndpointOverrides;

impl LoadServiceConfig for EndpointOverrides {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        let service = key.service_id().to_uppercase().replace(' ', "_");
        [format!("{}_{service}", key.env()), key.env().to_owned()]
            .iter()
            .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
    }
}
