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
use mizan_shared::config::{layered, Config, ExportConfig};
use mizan_shared::crypto::envelope::{CacheSettings, Envelope};
use mizan_shared::domain::download_token::TokenSigner;
use mizan_shared::domain::export::ExportState;
use mizan_shared::domain::identity_hash::IdentityHasher;
use mizan_shared::domain::ids::{random_id, ExportId};
use mizan_shared::domain::time::{days, Timestamp};
use mizan_shared::ports::archives::ArchiveStore;
use mizan_shared::ports::clock::ManualClock;
use mizan_shared::store::Store;
use mizan_shared::workflows::export::run_job;
use mizan_test_support::aws_calls::AwsCalls;
use mizan_test_support::aws_emulators;
use mizan_test_support::iam_policy;
use serde_json::json;
use std::sync::{Arc, Mutex};
use support::{api_event, contact_with_messages, party, unzip, Party, WA_ID};

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
    /// The API function's dependencies (its clients record what it calls).
    deps: Deps,
    /// The worker function's store and archives (recorded apart).
    worker: (Store, Arc<dyn ArchiveStore>),
    /// The test's own store: seeding, reading back (never recorded).
    seed: Store,
    api_calls: AwsCalls,
    worker_calls: AwsCalls,
    uploads: UploadHeaders,
    s3: aws_sdk_s3::Client,
    bucket: String,
    key_arn: String,
    clock: Arc<ManualClock>,
    a: Party,
    b: Party,
}

/// DynamoDB, KMS and S3 clients on the emulators, with `recorder` on each when given, and the
/// S3 upload headers seen.
fn clients(
    recorder: Option<AwsCalls>,
    uploads: &UploadHeaders,
) -> (
    aws_sdk_dynamodb::Client,
    aws_sdk_kms::Client,
    aws_sdk_s3::Client,
) {
    let recorder = recorder.as_ref();
    let s3 = aws_emulators::s3_config(recorder).interceptor(uploads.clone());
    (
        aws_emulators::dynamodb(recorder),
        aws_emulators::kms(recorder),
        aws_sdk_s3::Client::from_conf(s3.build()),
    )
}

/// The function's secrets as `template.yaml` lays them out: `CoreSecret`, `ExportSecret`.
async fn create_secrets() -> [(&'static str, String); 2] {
    [
        (
            "CoreSecret",
            aws_emulators::create_secret(
                "mizan-core",
                &json!({ "MIZAN_HASH_KEY": hex::encode(support::HASH_KEY) }),
            )
            .await,
        ),
        (
            "ExportSecret",
            aws_emulators::create_secret(
                "mizan-export",
                &json!({ "MIZAN_EXPORT_TOKEN_SECRET": hex::encode(support::TOKEN_KEY) }),
            )
            .await,
        ),
    ]
}

/// What the function reads at start-up with its role (`MIZAN_SECRETS`): the hash key and the
/// link-signing key, through the configuration it builds from them.
async fn start_up_secrets(recorder: &AwsCalls, secrets: &[(&str, String)]) -> ([u8; 32], [u8; 32]) {
    let values = aws_emulators::start_up_secrets(recorder, secrets).await;
    let env = |var: &str| (var == "MIZAN_DATA_DIR").then(|| "/unused".to_owned());
    let lookup = layered(&env, &values, true).unwrap();
    let config = Config::from_lookup(&lookup).unwrap();
    let export = ExportConfig::from_lookup(&lookup).unwrap();
    (config.hash_key.unwrap(), export.token_secret.unwrap())
}

async fn aws() -> Aws {
    let uploads = UploadHeaders::default();
    let (dynamodb, kms, s3) = clients(None, &uploads);
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
    let key_id = key.key_id().to_owned();
    let bucket = random_id("exports").replace('_', "-");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let clock = Arc::new(ManualClock::at(Timestamp::now()));
    // One set of clients per role, as each Lambda function has its own.
    let role = |recorder: Option<AwsCalls>| {
        if let Some(r) = &recorder {
            r.name(&data, "DataTable");
            r.name(&keys, "KeyTable");
            r.name(&bucket, "ExportBucket");
            r.name(&key_id, "DataKey");
            r.name(&key_arn, "DataKey");
        }
        let (dynamodb, kms, s3) = clients(recorder, &uploads);
        let envelope = Envelope::new(
            Arc::new(KmsVault::new(kms, key_id.clone())),
            Arc::new(DynamoKeyStore::new(dynamodb.clone(), keys.clone())),
            CacheSettings::default(),
        );
        let store = Store::new(
            Arc::new(DynamoStore::new(dynamodb, data.clone())),
            Arc::new(envelope),
            Arc::new(IdentityHasher::new(support::HASH_KEY)),
            clock.clone(),
        );
        let archives: Arc<dyn ArchiveStore> =
            Arc::new(S3Archives::new(s3, bucket.clone(), key_arn.clone()));
        (store, archives)
    };
    let (seed, _) = role(None);
    let (api_calls, worker_calls) = (AwsCalls::default(), AwsCalls::default());
    let secrets = create_secrets().await;
    let (hash_key, token_key) = start_up_secrets(&api_calls, &secrets).await;
    assert_eq!(
        (hash_key, token_key),
        (support::HASH_KEY, support::TOKEN_KEY)
    );
    start_up_secrets(&worker_calls, &secrets).await;
    let (api_store, api_archives) = role(Some(api_calls.clone()));
    let worker = role(Some(worker_calls.clone()));
    let a = party(&seed, "Atlas Tea", None).await;
    let b = party(&seed, "Baraka Bakery", None).await;
    Aws {
        deps: Deps {
            store: api_store,
            archives: api_archives,
            signer: Arc::new(TokenSigner::new(token_key.to_vec())),
            link_days: 7,
            download_limit: None,
            public_base_url: None,
        },
        worker,
        seed,
        api_calls,
        worker_calls,
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
            &self.worker.0,
            self.worker.1.as_ref(),
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
    contact_with_messages(&aws.seed, &aws.a.tenant, WA_ID, 3).await;
    let id = aws.ready_export(&aws.a, "post-export-contact").await;
    let job = aws
        .seed
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
    contact_with_messages(&aws.seed, &aws.a.tenant, WA_ID, 1).await;
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
    contact_with_messages(&aws.seed, &aws.a.tenant, WA_ID, 2).await;
    contact_with_messages(&aws.seed, &aws.b.tenant, "15550100007", 1).await;
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

/// Grants used by AWS on the function's behalf, or on failure paths only, so no SDK call of a
/// passing test shows them. Each says why it is kept.
const API_INDIRECT: &[&str] = &[];
const WORKER_INDIRECT: &[&str] = &[
    // S3 asks KMS for the data key of an SSE-KMS upload with the uploader's permissions.
    "kms:GenerateDataKey",
    // Only when an upload fails midway (the adapter aborts it).
    "s3:AbortMultipartUpload",
    // Only when another invocation finished the job first (the duplicate archive goes).
    "s3:DeleteObject",
];

/// The IAM contract of data-export's two functions: every AWS call each makes while it serves
/// every route and builds archives is allowed by its policy in `template.yaml`, and every
/// action a policy grants is used (least privilege both ways). DynamoDB Local and moto check no
/// IAM: without this, a missing grant shows only on AWS, as the key-table read of contact
/// exports did (every contact export answered 503 there).
#[tokio::test]
async fn each_function_calls_exactly_what_its_iam_policy_grants() {
    let aws = aws().await;
    contact_with_messages(&aws.seed, &aws.a.tenant, WA_ID, 2).await;
    let contact_export = aws.ready_export(&aws.a, "post-export-contact").await;
    let url = aws.download_url(&aws.a, &contact_export).await;
    let redirect = aws
        .call(api_event("get-download", "", "", token_of(&url)))
        .await;
    assert_eq!(redirect.status, 302);
    // Whoever follows the presigned URL acts with the API function's authority.
    let object = redirect
        .location
        .split_once(&format!("/{}/", aws.bucket))
        .and_then(|(_, rest)| rest.split('?').next())
        .unwrap()
        .to_owned();
    aws.api_calls
        .record("s3:GetObject", &format!("{}/{object}", aws.bucket));
    aws.api_calls.record("kms:Decrypt", &aws.key_arn);
    assert_eq!(
        reqwest::get(&redirect.location).await.unwrap().status(),
        200
    );
    let account_export = aws.ready_export(&aws.a, "post-export-tenant").await;
    let revoked = aws
        .call(api_event(
            "delete-export",
            &aws.a.token,
            account_export.as_str(),
            "",
        ))
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    // A contact idle past its retention: its newest record is read (a query) before the 404.
    aws.clock.advance(days(200));
    let idle = aws
        .call(api_event("post-export-contact", &aws.a.token, "", ""))
        .await;
    assert_eq!(idle.status, 404, "{}", idle.body);

    iam_policy::assert_contract("DataExportFunction", &aws.api_calls, API_INDIRECT);
    iam_policy::assert_contract(
        "DataExportWorkerFunction",
        &aws.worker_calls,
        WORKER_INDIRECT,
    );
}
