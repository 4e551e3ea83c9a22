//! data-export on the AWS adapters: DynamoDB Local for the tables, moto for S3 and KMS. The
//! archive is stored with SSE-KMS under the CMK with a bucket key, the link redirects to a
//! presigned URL that returns it, bad links are refused, and tenants stay apart. Needs
//! `MIZAN_TEST_DYNAMODB_ENDPOINT` and `MIZAN_TEST_AWS_ENDPOINT` (set by `infra/test.sh`); fails,
//! never skips, without them.

mod support;

use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use lambda_http::Request;
use mizan_data_export::{handle, Deps, PRESIGNED_URL_LIFETIME};
use mizan_shared::adapters::dynamodb::tables::{create_table, data_table, key_table};
use mizan_shared::adapters::dynamodb::{DynamoKeyStore, DynamoStore};
use mizan_shared::adapters::kms::KmsVault;
use mizan_shared::adapters::s3_archives::S3Archives;
use mizan_shared::crypto::envelope::{CacheSettings, Envelope};
use mizan_shared::domain::download_token::TokenSigner;
use mizan_shared::domain::export::ExportState;
use mizan_shared::domain::identity_hash::IdentityHasher;
use mizan_shared::domain::ids::{random_id, ExportId};
use mizan_shared::domain::time::{days, Timestamp};
use mizan_shared::export::run_job;
use mizan_shared::ports::clock::ManualClock;
use mizan_shared::store::Store;
use std::sync::{Arc, Mutex};
use support::{api_event, contact_with_messages, party, unzip, Party, WA_ID};

fn endpoint(var: &str, what: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!(
            "{var} is not set: this test needs {what}. Run the whole suite with infra/test.sh, \
             which starts it, or export {var}=http://127.0.0.1:PORT"
        )
    })
}

fn credentials() -> aws_sdk_s3::config::Credentials {
    aws_sdk_s3::config::Credentials::new("test", "test", None, None, "tests")
}

fn region() -> aws_sdk_s3::config::Region {
    aws_sdk_s3::config::Region::new("us-east-1")
}

/// The S3 requests the adapter sends that start an upload, with their encryption headers:
/// moto stores SSE-KMS but does not echo the bucket-key setting of a multipart upload.
#[derive(Clone, Debug, Default)]
struct UploadHeaders(Arc<Mutex<Vec<(String, String)>>>);

const BUCKET_KEY_HEADER: &str = "x-amz-server-side-encryption-bucket-key-enabled";
const SSE_HEADER: &str = "x-amz-server-side-encryption";

impl Intercept for UploadHeaders {
    fn name(&self) -> &'static str {
        "UploadHeaders"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let request = context.request();
        if request.method() == "POST" && request.uri().contains("uploads") {
            let header = |name| request.headers().get(name).unwrap_or_default().to_owned();
            self.0
                .lock()
                .unwrap()
                .push((header(SSE_HEADER), header(BUCKET_KEY_HEADER)));
        }
        Ok(())
    }
}

struct Aws {
    deps: Deps,
    uploads: UploadHeaders,
    s3: aws_sdk_s3::Client,
    bucket: String,
    key_arn: String,
    clock: Arc<ManualClock>,
    a: Party,
    b: Party,
}

async fn aws() -> Aws {
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::new()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(region())
            .credentials_provider(credentials())
            .endpoint_url(endpoint("MIZAN_TEST_DYNAMODB_ENDPOINT", "DynamoDB Local"))
            .build(),
    );
    let moto = endpoint("MIZAN_TEST_AWS_ENDPOINT", "moto (S3 and KMS)");
    let kms = aws_sdk_kms::Client::from_conf(
        aws_sdk_kms::config::Builder::new()
            .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
            .region(region())
            .credentials_provider(credentials())
            .endpoint_url(&moto)
            .build(),
    );
    let uploads = UploadHeaders::default();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::new()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(region())
            .credentials_provider(credentials())
            .endpoint_url(&moto)
            .force_path_style(true)
            .interceptor(uploads.clone())
            .build(),
    );
    let (data, keys) = (random_id("data"), random_id("keys"));
    create_table(&dynamodb, &data, &data_table()).await.unwrap();
    create_table(&dynamodb, &keys, &key_table()).await.unwrap();
    let key = kms
        .create_key()
        .description("mizan exports test")
        .send()
        .await
        .unwrap();
    let key = key.key_metadata().unwrap();
    let key_arn = key.arn().unwrap().to_owned();
    let bucket = random_id("exports").replace('_', "-");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let envelope = Envelope::new(
        Arc::new(KmsVault::new(kms, key.key_id().to_owned())),
        Arc::new(DynamoKeyStore::new(dynamodb.clone(), keys)),
        CacheSettings::default(),
    );
    let clock = Arc::new(ManualClock::at(Timestamp::now()));
    let store = Store::new(
        Arc::new(DynamoStore::new(dynamodb, data)),
        Arc::new(envelope),
        Arc::new(IdentityHasher::new(support::HASH_KEY)),
        clock.clone(),
    );
    let a = party(&store, "Atlas Tea", None).await;
    let b = party(&store, "Baraka Bakery", None).await;
    Aws {
        deps: Deps {
            store,
            archives: Arc::new(S3Archives::new(s3.clone(), bucket.clone(), key_arn.clone())),
            signer: Arc::new(TokenSigner::new(support::TOKEN_KEY.to_vec())),
            link_days: 7,
            download_limit: None,
            public_base_url: None,
        },
        uploads,
        s3,
        bucket,
        key_arn,
        clock,
        a,
        b,
    }
}

struct Answer {
    status: u16,
    location: String,
    body: serde_json::Value,
}

impl Aws {
    async fn call(&self, request: Request) -> Answer {
        let response = handle(&self.deps, request).await.unwrap();
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let bytes: &[u8] = response.body().as_ref();
        Answer {
            status: response.status().as_u16(),
            location,
            body: serde_json::from_slice(bytes).unwrap_or_default(),
        }
    }

    /// Asks for an export as `party`, builds it as the worker does, and returns its id.
    async fn ready_export(&self, party: &Party, event: &str) -> ExportId {
        let asked = self.call(api_event(event, &party.token, "", "")).await;
        assert_eq!(asked.status, 202, "{}", asked.body);
        let id = ExportId::new(asked.body["id"].as_str().unwrap());
        run_job(
            &self.deps.store,
            self.deps.archives.as_ref(),
            &party.tenant.id,
            &id,
        )
        .await
        .unwrap();
        id
    }

    async fn download_url(&self, party: &Party, id: &ExportId) -> String {
        let view = self
            .call(api_event("get-export", &party.token, id.as_str(), ""))
            .await;
        assert_eq!(view.body["status"], "ready", "{}", view.body);
        view.body["download_url"].as_str().unwrap().to_owned()
    }
}

fn token_of(url: &str) -> &str {
    url.split_once("token=").unwrap().1
}

fn query_value<'a>(url: &'a str, name: &str) -> Option<&'a str> {
    url.split_once('?')?
        .1
        .split('&')
        .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
}

#[tokio::test]
async fn the_archive_is_stored_with_sse_kms_and_the_link_redirects_to_a_presigned_url() {
    let aws = aws().await;
    contact_with_messages(&aws.deps.store, &aws.a.tenant, WA_ID, 3).await;
    let id = aws.ready_export(&aws.a, "post-export-contact").await;
    let job = aws
        .deps
        .store
        .export(&aws.a.tenant.id, &id)
        .await
        .unwrap()
        .unwrap()
        .value;
    let ExportState::Ready {
        object_key,
        size_bytes,
    } = job.state
    else {
        panic!("the export is ready: {:?}", job.state);
    };
    assert!(object_key.starts_with(&format!("exports/{}/", aws.a.tenant.id)));

    let head = aws
        .s3
        .head_object()
        .bucket(&aws.bucket)
        .key(&object_key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.server_side_encryption(),
        Some(&aws_sdk_s3::types::ServerSideEncryption::AwsKms)
    );
    assert_eq!(head.ssekms_key_id(), Some(aws.key_arn.as_str()));
    assert_eq!(
        *aws.uploads.0.lock().unwrap(),
        [("aws:kms".to_owned(), "true".to_owned())],
        "one upload, SSE-KMS with the bucket key"
    );
    assert_eq!(head.content_length(), Some(size_bytes as i64));

    let url = aws.download_url(&aws.a, &id).await;
    let redirect = aws
        .call(api_event("get-download", "", "", token_of(&url)))
        .await;
    assert_eq!(redirect.status, 302);
    let presigned = redirect.location;
    assert!(presigned.contains(&object_key), "{presigned}");
    assert_eq!(
        query_value(&presigned, "X-Amz-Expires"),
        Some(PRESIGNED_URL_LIFETIME.as_secs().to_string().as_str())
    );
    assert!(query_value(&presigned, "X-Amz-Signature").is_some());
    assert!(query_value(&presigned, "response-content-disposition").is_some());

    let fetched = reqwest::get(&presigned).await.unwrap();
    assert_eq!(fetched.status(), 200);
    let bytes = fetched.bytes().await.unwrap();
    let data: serde_json::Value = serde_json::from_str(&unzip(&bytes)["data.json"]).unwrap();
    assert_eq!(data["contacts"][0]["messages"].as_array().unwrap().len(), 3);
    assert!(data.to_string().contains("message 1 from 15550100001"));

    // moto does not check presigned signatures (S3 does): what it cannot prove is checked in
    // the URL, which signs the host only and is bound to one credential and date.
    assert_eq!(query_value(&presigned, "X-Amz-SignedHeaders"), Some("host"));
    assert!(query_value(&presigned, "X-Amz-Credential").is_some_and(|c| c.starts_with("test%2F")));
}

#[tokio::test]
async fn tampered_and_expired_links_are_refused_before_anything_is_presigned() {
    let aws = aws().await;
    contact_with_messages(&aws.deps.store, &aws.a.tenant, WA_ID, 1).await;
    let id = aws.ready_export(&aws.a, "post-export-contact").await;
    let url = aws.download_url(&aws.a, &id).await;
    let token = token_of(&url);
    let tampered = support::tamper(token);
    let refused = aws.call(api_event("get-download", "", "", &tampered)).await;
    assert_eq!((refused.status, refused.location.as_str()), (403, ""));
    aws.clock.advance(days(7));
    let expired = aws.call(api_event("get-download", "", "", token)).await;
    assert_eq!((expired.status, expired.location.as_str()), (410, ""));
}

#[tokio::test]
async fn tenants_see_and_export_only_their_own_data() {
    let aws = aws().await;
    contact_with_messages(&aws.deps.store, &aws.a.tenant, WA_ID, 2).await;
    contact_with_messages(&aws.deps.store, &aws.b.tenant, "15550100007", 1).await;
    let a_export = aws.ready_export(&aws.a, "post-export-contact").await;
    let seen = aws
        .call(api_event("get-export", &aws.b.token, a_export.as_str(), ""))
        .await;
    assert_eq!(seen.status, 404);
    let named = aws
        .call(api_event("post-export-contact", &aws.b.token, "", ""))
        .await;
    assert_eq!(named.status, 404, "B cannot name A's contact");

    let b_export = aws.ready_export(&aws.b, "post-export-tenant").await;
    let url = aws.download_url(&aws.b, &b_export).await;
    let redirect = aws
        .call(api_event("get-download", "", "", token_of(&url)))
        .await;
    assert!(redirect
        .location
        .contains(&format!("exports/{}/", aws.b.tenant.id)));
    let bytes = reqwest::get(&redirect.location)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let files = unzip(&bytes);
    let data: serde_json::Value = serde_json::from_str(&files["data.json"]).unwrap();
    assert_eq!(data["contacts"].as_array().unwrap().len(), 1);
    assert!(!files.values().any(|f| f.contains(WA_ID)));
}
