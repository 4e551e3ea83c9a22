//! `template.yaml` declares the tables exactly as the code defines them, and the hosting
//! promises (PITR windows, encryption, streams, export bucket lock-down) that linters cannot see.

use mizan_shared::adapters::dynamodb::tables::{
    data_table, key_table, AttrType, Projected, TableDef,
};
use mizan_shared::config::SECRET_VARS;
use serde_yaml::Value;

fn template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
    let text = std::fs::read_to_string(path).expect("template.yaml at the repository root");
    serde_yaml::from_str(&text).expect("template.yaml parses")
}

fn resource<'a>(t: &'a Value, id: &str) -> &'a Value {
    &t["Resources"][id]
}

fn key_schema(schema: &Value) -> (String, Option<String>) {
    let mut hash = None;
    let mut range = None;
    for element in schema.as_sequence().expect("KeySchema is a list") {
        let name = element["AttributeName"].as_str().unwrap().to_owned();
        match element["KeyType"].as_str().unwrap() {
            "HASH" => hash = Some(name),
            "RANGE" => range = Some(name),
            other => panic!("unknown KeyType {other}"),
        }
    }
    (hash.expect("a HASH key"), range)
}

fn assert_table_matches(t: &Value, def: &TableDef) {
    let props = &resource(t, def.logical_id)["Properties"];
    assert_eq!(resource(t, def.logical_id)["Type"], "AWS::DynamoDB::Table");

    let mut declared: Vec<(String, String)> = props["AttributeDefinitions"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["AttributeName"].as_str().unwrap().to_owned(),
                a["AttributeType"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut expected: Vec<(String, String)> = def
        .attributes
        .iter()
        .map(|(name, kind)| {
            let kind = match kind {
                AttrType::S => "S",
                AttrType::N => "N",
                AttrType::B => "B",
            };
            ((*name).to_owned(), kind.to_owned())
        })
        .collect();
    declared.sort();
    expected.sort();
    assert_eq!(
        declared, expected,
        "{} attribute definitions",
        def.logical_id
    );

    assert_eq!(
        key_schema(&props["KeySchema"]),
        (def.hash.to_owned(), def.range.map(str::to_owned)),
        "{} key schema",
        def.logical_id
    );

    for index in &def.indexes {
        let list = if index.local {
            "LocalSecondaryIndexes"
        } else {
            "GlobalSecondaryIndexes"
        };
        let declared = props[list]
            .as_sequence()
            .unwrap_or_else(|| panic!("{} declares {list}", def.logical_id))
            .iter()
            .find(|i| i["IndexName"] == index.name)
            .unwrap_or_else(|| panic!("{} declares index {}", def.logical_id, index.name));
        assert_eq!(
            key_schema(&declared["KeySchema"]),
            (index.hash.to_owned(), index.range.map(str::to_owned)),
            "index {} key schema",
            index.name
        );
        let projection = match index.projection {
            Projected::All => "ALL",
            Projected::KeysOnly => "KEYS_ONLY",
        };
        assert_eq!(
            declared["Projection"]["ProjectionType"], projection,
            "index {}",
            index.name
        );
    }
    let declared_indexes = ["LocalSecondaryIndexes", "GlobalSecondaryIndexes"]
        .iter()
        .filter_map(|l| props[*l].as_sequence())
        .map(|s| s.len())
        .sum::<usize>();
    assert_eq!(
        declared_indexes,
        def.indexes.len(),
        "{} has no undeclared indexes",
        def.logical_id
    );

    match def.ttl_attribute {
        Some(ttl) => {
            assert_eq!(props["TimeToLiveSpecification"]["AttributeName"], ttl);
            assert_eq!(props["TimeToLiveSpecification"]["Enabled"], true);
        }
        None => assert!(props["TimeToLiveSpecification"].is_null()),
    }
    if def.stream {
        assert_eq!(
            props["StreamSpecification"]["StreamViewType"],
            "NEW_AND_OLD_IMAGES"
        );
    } else {
        assert!(props["StreamSpecification"].is_null());
    }
    assert_eq!(props["SSESpecification"]["SSEEnabled"], true);
    assert_eq!(props["SSESpecification"]["SSEType"], "KMS");
    assert_eq!(props["DeletionProtectionEnabled"], true);
    assert_eq!(props["BillingMode"], "PAY_PER_REQUEST");
}

#[test]
fn data_table_matches_its_definition_in_code() {
    let t = template();
    assert_table_matches(&t, &data_table());
    let pitr = &resource(&t, "DataTable")["Properties"]["PointInTimeRecoverySpecification"];
    assert_eq!(pitr["PointInTimeRecoveryEnabled"], true);
    assert_eq!(pitr["RecoveryPeriodInDays"], 35);
}

#[test]
fn key_table_matches_and_keeps_the_shortest_backup_window() {
    let t = template();
    assert_table_matches(&t, &key_table());
    // An erased contact's key must not be restorable for long: crypto-shredding covers backups.
    let pitr = &resource(&t, "KeyTable")["Properties"]["PointInTimeRecoverySpecification"];
    assert_eq!(pitr["RecoveryPeriodInDays"], 1);
}

#[test]
fn data_key_rotates_and_encrypts_the_tables() {
    let t = template();
    assert_eq!(resource(&t, "DataKey")["Type"], "AWS::KMS::Key");
    assert_eq!(
        resource(&t, "DataKey")["Properties"]["EnableKeyRotation"],
        true
    );
}

#[test]
fn export_bucket_is_private_encrypted_tls_only_and_expiring() {
    let t = template();
    let props = &resource(&t, "ExportBucket")["Properties"];
    let rule = &props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0];
    assert_eq!(
        rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"],
        "aws:kms"
    );
    assert_eq!(rule["BucketKeyEnabled"], true);
    let block = &props["PublicAccessBlockConfiguration"];
    for setting in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(block[setting], true, "{setting}");
    }
    let rules = props["LifecycleConfiguration"]["Rules"]
        .as_sequence()
        .unwrap();
    // Archives last as long as their links: one parameter feeds both, within the range the
    // function's configuration accepts.
    assert!(rules
        .iter()
        .any(|r| serde_yaml::to_string(&r["ExpirationInDays"])
            .unwrap()
            .trim()
            == "!Ref ExportLinkDays"));
    let link_days = &t["Parameters"]["ExportLinkDays"];
    assert_eq!(
        link_days["Default"],
        mizan_shared::config::DEFAULT_EXPORT_LINK_DAYS
    );
    assert_eq!(
        link_days["MaxValue"],
        mizan_shared::config::MAX_EXPORT_LINK_DAYS
    );
    assert!(rules
        .iter()
        .any(|r| !r["NoncurrentVersionExpiration"].is_null()));
    let policy = serde_yaml::to_string(&resource(&t, "ExportBucketPolicy")["Properties"]).unwrap();
    assert!(policy.contains("aws:SecureTransport"));
}

#[test]
fn functions_default_to_arm64_on_the_al2023_custom_runtime() {
    let t = template();
    let globals = &t["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Architectures"][0], "arm64");
    let vars = &globals["Environment"]["Variables"];
    for var in [
        "MIZAN_BACKEND",
        "MIZAN_DATA_TABLE",
        "MIZAN_KEY_TABLE",
        "MIZAN_KMS_KEY_ID",
    ] {
        assert!(!vars[var].is_null(), "Globals set {var}");
    }
    assert_eq!(vars["MIZAN_BACKEND"], "aws");
}

fn http_routes(t: &Value) -> Vec<(String, String, String)> {
    let mut routes = Vec::new();
    for (id, resource) in t["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        if let Some(events) = resource["Properties"]["Events"].as_mapping() {
            for event in events.values().filter(|e| e["Type"] == "HttpApi") {
                routes.push((
                    id.as_str().unwrap().to_owned(),
                    event["Properties"]["Method"].as_str().unwrap().to_owned(),
                    event["Properties"]["Path"].as_str().unwrap().to_owned(),
                ));
            }
        }
    }
    routes.sort();
    routes
}

#[test]
fn webhook_routes_are_declared_on_the_intake_function() {
    let routes = http_routes(&template());
    for method in ["GET", "POST"] {
        assert!(
            routes.contains(&(
                "WebhookIntakeFunction".into(),
                method.into(),
                "/webhooks/whatsapp".into()
            )),
            "{method} /webhooks/whatsapp in {routes:?}"
        );
    }
}

#[test]
fn functions_are_built_by_cargo_lambda_and_never_granted_wildcard_resources() {
    let t = template();
    for (id, resource) in t["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        assert_eq!(
            resource["Metadata"]["BuildMethod"], "rust-cargolambda",
            "{id:?}"
        );
        assert!(
            resource["Properties"]["Runtime"].is_null(),
            "{id:?} inherits the Globals runtime"
        );
        // One exception: Secrets Manager's batch read takes no resource (AWS documents `*`);
        // it reads nothing by itself, each secret still needs GetSecretValue on its ARN.
        let statements = resource["Properties"]["Policies"][0]["Statement"]
            .as_sequence()
            .unwrap();
        for statement in statements {
            if statement["Resource"] == "*" {
                assert_eq!(statement["Sid"], "BatchReadSecrets", "{id:?}");
                assert_eq!(
                    serde_yaml::to_string(&statement["Action"]).unwrap().trim(),
                    "- secretsmanager:BatchGetSecretValue",
                    "{id:?}: only the batch read is granted on *"
                );
            }
        }
        let others: Vec<&Value> = statements
            .iter()
            .filter(|s| s["Sid"] != "BatchReadSecrets")
            .collect();
        let policies = serde_yaml::to_string(&others).unwrap();
        assert!(
            !policies.contains("Resource: '*'") && !policies.contains("Resource: \"*\""),
            "{id:?}: {policies}"
        );
        assert!(
            !policies.contains("dynamodb:*") && !policies.contains("kms:*"),
            "{id:?}: {policies}"
        );
    }
}

#[test]
fn ai_reply_gets_only_inserted_inbound_messages_with_partial_failures_and_a_failure_queue() {
    let t = template();
    let function = resource(&t, "AiReplyFunction");
    assert_eq!(function["Type"], "AWS::Serverless::Function");
    assert_eq!(
        function["Metadata"]["BuildProperties"]["Binary"], "ai-reply",
        "the binary of functions/ai-reply"
    );
    let events: Vec<&Value> = function["Properties"]["Events"]
        .as_mapping()
        .unwrap()
        .values()
        .collect();
    assert_eq!(events.len(), 1);
    let stream = &events[0];
    assert_eq!(stream["Type"], "DynamoDB");
    let p = &stream["Properties"];
    assert_eq!(
        serde_yaml::to_string(&p["Stream"]).unwrap().trim(),
        "!GetAtt DataTable.StreamArn"
    );
    assert!(["LATEST", "TRIM_HORIZON"].contains(&p["StartingPosition"].as_str().unwrap()));
    assert_eq!(p["FunctionResponseTypes"][0], "ReportBatchItemFailures");
    assert_eq!(p["BisectBatchOnFunctionError"], true);
    assert!(p["BatchSize"].as_u64().unwrap() <= 100);
    assert!(p["MaximumBatchingWindowInSeconds"].as_u64().unwrap() >= 1);
    assert!(p["MaximumRetryAttempts"].as_u64().unwrap() >= 1);
    assert_eq!(p["DestinationConfig"]["OnFailure"]["Type"], "SQS");
    assert_eq!(
        resource(&t, "AiReplyFailureQueue")["Type"],
        "AWS::SQS::Queue"
    );

    // The filter passes exactly the records the handler acts on: INSERTs of inbound messages
    // (answered), of a person's send orders (sent) and of chat exports' notices (link sent).
    let filters = p["FilterCriteria"]["Filters"].as_sequence().unwrap();
    assert_eq!(filters.len(), 1);
    let pattern: serde_json::Value =
        serde_json::from_str(filters[0]["Pattern"].as_str().unwrap()).unwrap();
    assert_eq!(pattern["eventName"], serde_json::json!(["INSERT"]));
    assert_eq!(
        pattern["dynamodb"]["NewImage"]["kind"]["S"],
        serde_json::json!([
            mizan_shared::store::layout::kind::MESSAGE_IN,
            mizan_shared::store::layout::OUTBOUND_ORDER_KIND,
            mizan_shared::store::layout::kind::EXPORT_NOTICE
        ])
    );
    assert_eq!(
        mizan_shared::adapters::dynamodb::tables::attr::KIND,
        "kind",
        "the filter names the item attribute the kind is stored in"
    );
}

/// DynamoDB Streams serves at most two readers a shard (DESIGN §9): ai-reply, and the change
/// router for every other consumer. The router's filter passes exactly what makes events, new
/// export jobs (handed on to the worker's queue) and replayed deliveries.
#[test]
fn the_stream_has_two_readers_and_the_router_passes_what_makes_events() {
    use mizan_shared::store::layout::kind;
    use mizan_shared::workflows::webhooks::events::{INSERTS, MODIFICATIONS};
    let t = template();
    let readers: Vec<String> = functions(&t)
        .into_iter()
        .filter(|(_, f)| {
            f["Properties"]["Events"]
                .as_mapping()
                .is_some_and(|events| events.values().any(|e| e["Type"] == "DynamoDB"))
        })
        .map(|(id, _)| id)
        .collect();
    assert_eq!(readers, ["AiReplyFunction", "ChangeRouterFunction"]);

    let router = resource(&t, "ChangeRouterFunction");
    assert_eq!(
        router["Metadata"]["BuildProperties"]["Binary"],
        "change-router"
    );
    let p = &router["Properties"]["Events"]["Changes"]["Properties"];
    assert_eq!(p["FunctionResponseTypes"][0], "ReportBatchItemFailures");
    assert_eq!(p["DestinationConfig"]["OnFailure"]["Type"], "SQS");
    let filters = p["FilterCriteria"]["Filters"].as_sequence().unwrap();
    let pattern = |i: usize| -> serde_json::Value {
        serde_json::from_str(filters[i]["Pattern"].as_str().unwrap()).unwrap()
    };
    use mizan_shared::workflows::analytics::counting;
    let union = |lists: &[&[&str]]| -> Vec<String> {
        let mut all: Vec<String> = lists
            .iter()
            .flat_map(|l| l.iter().map(|k| k.to_string()))
            .collect();
        all.sort();
        all.dedup();
        all
    };
    let inserted = union(&[&INSERTS, &counting::INSERTS, &[kind::EXPORT_JOB]]);
    assert_eq!(
        pattern(0),
        serde_json::json!({"eventName": ["INSERT"], "dynamodb": {"NewImage": {"kind": {"S": inserted}}}})
    );
    let modified = union(&[&MODIFICATIONS, &counting::MODIFICATIONS]);
    assert_eq!(
        pattern(1),
        serde_json::json!({"eventName": ["MODIFY"], "dynamodb": {"NewImage": {"kind": {"S": modified}}}})
    );
    assert_eq!(filters.len(), 2);

    // The worker reads the queue the router hands export jobs to; the sender the FIFO queue
    // the router queues deliveries on.
    let worker = &resource(&t, "DataExportWorkerFunction")["Properties"]["Events"]["NewExportJobs"];
    assert_eq!(worker["Type"], "SQS");
    assert_eq!(
        yaml(&worker["Properties"]["Queue"]),
        "!GetAtt ExportJobQueue.Arn"
    );
    let sender = &resource(&t, "WebhookSenderFunction")["Properties"];
    assert_eq!(
        yaml(&sender["Events"]["Deliveries"]["Properties"]["Queue"]),
        "!GetAtt WebhookDeliveryQueue.Arn"
    );
    assert_eq!(
        resource(&t, "WebhookDeliveryQueue")["Properties"]["FifoQueue"],
        true
    );
    let env = &router["Properties"]["Environment"]["Variables"];
    assert_eq!(
        yaml(&env["MIZAN_WEBHOOK_QUEUE_URL"]),
        "!Ref WebhookDeliveryQueue"
    );
    assert_eq!(yaml(&env["MIZAN_EXPORT_QUEUE_URL"]), "!Ref ExportJobQueue");
    assert_eq!(
        yaml(&env["MIZAN_ANALYTICS_QUEUE_URL"]),
        "!Ref AnalyticsQueue"
    );
    let counter = &resource(&t, "AnalyticsCounterFunction")["Properties"]["Events"]["Changes"];
    assert_eq!(counter["Type"], "SQS");
    assert_eq!(
        yaml(&counter["Properties"]["Queue"]),
        "!GetAtt AnalyticsQueue.Arn"
    );
    assert_eq!(
        yaml(&sender["Environment"]["Variables"]["MIZAN_WEBHOOK_QUEUE_URL"]),
        "!Ref WebhookDeliveryQueue"
    );
}

#[test]
fn retention_purge_runs_hourly_alone_with_an_error_alarm() {
    let t = template();
    let f = resource(&t, "RetentionPurgeFunction");
    assert_eq!(
        f["Metadata"]["BuildProperties"]["Binary"],
        "retention-purge"
    );
    let props = &f["Properties"];
    assert_eq!(props["ReservedConcurrentExecutions"], 1);
    assert_eq!(
        props["Timeout"], 900,
        "the handler's deadline margin assumes Lambda's maximum"
    );
    let schedule = &props["Events"]["Hourly"];
    assert_eq!(schedule["Type"], "Schedule");
    assert_eq!(schedule["Properties"]["Schedule"], "rate(1 hour)");
    let statements = props["Policies"][0]["Statement"].as_sequence().unwrap();
    let actions: Vec<&str> = statements
        .iter()
        .flat_map(|s| s["Action"].as_sequence().unwrap().iter())
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(actions.contains(&"dynamodb:BatchWriteItem") && actions.contains(&"s3:DeleteObject"));
    assert!(
        !actions
            .iter()
            .any(|a| a.starts_with("kms:") || *a == "dynamodb:Scan"),
        "the purge never scans and never decrypts"
    );
    let alarm = resource(&t, "RetentionPurgeErrorsAlarm");
    assert_eq!(alarm["Properties"]["MetricName"], "Errors");
    let dimension = serde_yaml::to_string(&alarm["Properties"]["Dimensions"][0]["Value"]).unwrap();
    assert!(dimension.contains("RetentionPurgeFunction"), "{dimension}");
}

#[test]
fn consent_api_routes_are_declared_on_the_consent_function_with_least_privilege() {
    let t = template();
    let routes = http_routes(&t);
    for (method, path) in [
        ("GET", "/v1/contacts/{contact}"),
        ("PATCH", "/v1/contacts/{contact}"),
        ("GET", "/v1/contacts/{contact}/consent"),
        ("POST", "/v1/contacts/{contact}/consent"),
        ("POST", "/v1/contacts/{contact}/restriction"),
        ("DELETE", "/v1/contacts/{contact}/restriction"),
        ("POST", "/v1/contacts/{contact}/takeover"),
        ("DELETE", "/v1/contacts/{contact}/takeover"),
        ("POST", "/v1/contacts/{contact}/erasure"),
        ("POST", "/v1/contacts/{contact}/minor"),
        ("GET", "/v1/settings"),
        ("PATCH", "/v1/settings"),
        ("GET", "/v1/audit"),
    ] {
        assert!(
            routes.contains(&("ConsentApiFunction".into(), method.into(), path.into())),
            "{method} {path} in {routes:?}"
        );
    }
    let policies =
        serde_yaml::to_string(&resource(&t, "ConsentApiFunction")["Properties"]["Policies"])
            .unwrap();
    assert!(policies.contains("kms:Decrypt"));
    let statements = resource(&t, "ConsentApiFunction")["Properties"]["Policies"][0]["Statement"]
        .as_sequence()
        .unwrap();
    // It makes data keys for campaigns only, so it cannot bring an erased contact's key back:
    // each grant that makes one is bound to campaign key ids.
    for statement in statements {
        let text = serde_yaml::to_string(statement).unwrap();
        if text.contains("kms:GenerateDataKey") {
            assert_eq!(
                statement["Condition"]["StringLike"]["kms:EncryptionContext:contact"], "campaign.*",
                "{text}"
            );
        }
        if statement["Sid"] == "CampaignDataKeys" {
            assert_eq!(
                statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"][0],
                "*#campaign.*"
            );
            assert_eq!(yaml(&statement["Action"]), "- dynamodb:PutItem");
        }
    }
    assert!(policies.contains("CampaignDataKeys"));
    let key_table = statements
        .iter()
        .find(|s| s["Sid"] == "DataKeysReadAndShred")
        .expect("a key table statement");
    let actions: Vec<&str> = key_table["Action"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(actions, ["dynamodb:GetItem", "dynamodb:DeleteItem"]);
    let s3: Vec<&Value> = statements
        .iter()
        .filter(|s| serde_yaml::to_string(&s["Action"]).unwrap().contains("s3:"))
        .collect();
    assert_eq!(s3.len(), 1);
    assert_eq!(s3[0]["Action"][0], "s3:DeleteObject");
    assert_eq!(s3[0]["Action"].as_sequence().unwrap().len(), 1);
}

fn functions(t: &Value) -> Vec<(String, &Value)> {
    t["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .map(|(id, r)| (id.as_str().unwrap().to_owned(), r))
        .collect()
}

fn yaml(value: &Value) -> String {
    serde_yaml::to_string(value).unwrap().trim().to_owned()
}

#[test]
fn every_function_logs_to_its_own_log_group_kept_for_the_log_retention() {
    let t = template();
    let retention = &t["Parameters"]["LogRetentionDays"];
    assert_eq!(retention["Default"], 30);
    let all = functions(&t);
    assert_eq!(
        all.len(),
        10,
        "{:?}",
        all.iter().map(|(id, _)| id).collect::<Vec<_>>()
    );
    let mut groups = Vec::new();
    for (id, function) in all {
        let group_ref = yaml(&function["Properties"]["LoggingConfig"]["LogGroup"]);
        let group_id = group_ref
            .strip_prefix("!Ref ")
            .unwrap_or_else(|| panic!("{id}: LoggingConfig.LogGroup is a !Ref, got {group_ref}"));
        let group = resource(&t, group_id);
        assert_eq!(group["Type"], "AWS::Logs::LogGroup", "{id}");
        assert_eq!(
            yaml(&group["Properties"]["RetentionInDays"]),
            "!Ref LogRetentionDays",
            "{id}"
        );
        groups.push(group_id.to_owned());
    }
    groups.sort();
    groups.dedup();
    assert_eq!(groups.len(), 10, "one log group per function");
}

#[test]
fn every_failure_queue_alarms_as_soon_as_a_message_waits() {
    let t = template();
    for (alarm, queue) in [
        ("AiReplyFailuresAlarm", "AiReplyFailureQueue"),
        ("DataExportFailuresAlarm", "DataExportFailureQueue"),
        ("ChangeRouterFailuresAlarm", "ChangeRouterFailureQueue"),
        ("AnalyticsFailuresAlarm", "AnalyticsFailureQueue"),
        (
            "WebhookDeliveriesDeadAlarm",
            "WebhookDeliveryDeadLetterQueue",
        ),
    ] {
        let p = &resource(&t, alarm)["Properties"];
        assert_eq!(p["Namespace"], "AWS/SQS", "{alarm}");
        assert_eq!(p["MetricName"], "ApproximateNumberOfMessagesVisible");
        assert_eq!(
            yaml(&p["Dimensions"][0]["Value"]),
            format!("!GetAtt {queue}.QueueName")
        );
        assert_eq!(p["Threshold"], 0);
        assert_eq!(p["ComparisonOperator"], "GreaterThanThreshold");
    }
}

/// Every function whose code opens a contact's sealed data (profile or messages) must read the
/// contact's wrapped key from the key table and unwrap it with KMS; DynamoDB Local and moto do
/// not check IAM, so without this a deploy answers 503 where every test passed.
#[test]
fn functions_that_open_sealed_contact_data_may_read_and_unwrap_its_key() {
    let t = template();
    for id in [
        "WebhookIntakeFunction",
        "AiReplyFunction",
        "ConsentApiFunction",
        // POST /v1/exports finds the contact by phone number or user id: its sealed profile.
        "DataExportFunction",
        "DataExportWorkerFunction",
    ] {
        let statements = resource(&t, id)["Properties"]["Policies"][0]["Statement"]
            .as_sequence()
            .unwrap();
        let allows = |action: &str, target: &str| {
            statements.iter().any(|s| {
                yaml(&s["Action"]).contains(action) && yaml(&s["Resource"]).contains(target)
            })
        };
        assert!(
            allows("dynamodb:GetItem", "KeyTable.Arn"),
            "{id} reads data keys"
        );
        assert!(allows("kms:Decrypt", "DataKey.Arn"), "{id} unwraps them");
    }
}

/// The secret variables each function's configuration reads (the code's `from_lookup`s).
const SECRETS_READ: [(&str, &[&str]); 10] = [
    (
        "WebhookIntakeFunction",
        &[
            "MIZAN_HASH_KEY",
            "MIZAN_WHATSAPP_APP_SECRETS",
            "MIZAN_WHATSAPP_VERIFY_TOKEN",
        ],
    ),
    (
        "AiReplyFunction",
        &[
            "MIZAN_HASH_KEY",
            "MIZAN_WHATSAPP_ACCESS_TOKEN",
            "MIZAN_AI_API_KEY",
            // Signs the download link of the data a person asks for in the chat.
            "MIZAN_EXPORT_TOKEN_SECRET",
        ],
    ),
    ("RetentionPurgeFunction", &["MIZAN_HASH_KEY"]),
    (
        "CampaignSenderFunction",
        &["MIZAN_HASH_KEY", "MIZAN_WHATSAPP_ACCESS_TOKEN"],
    ),
    (
        "ConsentApiFunction",
        &["MIZAN_HASH_KEY", "MIZAN_WHATSAPP_ACCESS_TOKEN"],
    ),
    (
        "DataExportFunction",
        &["MIZAN_HASH_KEY", "MIZAN_EXPORT_TOKEN_SECRET"],
    ),
    (
        "DataExportWorkerFunction",
        &["MIZAN_HASH_KEY", "MIZAN_EXPORT_TOKEN_SECRET"],
    ),
    ("ChangeRouterFunction", &["MIZAN_HASH_KEY"]),
    ("AnalyticsCounterFunction", &["MIZAN_HASH_KEY"]),
    // The hash key derives each endpoint's signing secret.
    ("WebhookSenderFunction", &["MIZAN_HASH_KEY"]),
];

/// The variables a Secrets Manager secret of the template holds, each from a NoEcho parameter.
fn secret_variables(t: &Value, id: &str) -> Vec<String> {
    let secret = resource(t, id);
    assert_eq!(secret["Type"], "AWS::SecretsManager::Secret", "{id}");
    let Value::Tagged(sub) = &secret["Properties"]["SecretString"] else {
        panic!("{id}'s SecretString is a !Sub of its parameters");
    };
    let text = sub.value.as_str().unwrap();
    let object: serde_json::Value = serde_json::from_str(text).expect("a JSON object");
    object
        .as_object()
        .unwrap()
        .iter()
        .map(|(var, value)| {
            let parameter = value
                .as_str()
                .and_then(|v| v.strip_prefix("${"))
                .and_then(|v| v.strip_suffix('}'))
                .unwrap_or_else(|| panic!("{id}: {var} is a parameter, never a literal"));
            assert_eq!(
                t["Parameters"][parameter]["NoEcho"], true,
                "{parameter} is NoEcho"
            );
            var.clone()
        })
        .collect()
}

#[test]
fn secrets_reach_each_function_only_through_the_secrets_it_may_read() {
    let t = template();
    let globals = &t["Globals"]["Function"]["Environment"]["Variables"];
    for var in SECRET_VARS {
        assert!(globals[var].is_null(), "Globals never set {var}");
    }
    assert_eq!(
        functions(&t).len(),
        SECRETS_READ.len(),
        "every function listed"
    );
    for (id, needed) in SECRETS_READ {
        let function = resource(&t, id);
        let vars = &function["Properties"]["Environment"]["Variables"];
        for var in SECRET_VARS {
            assert!(
                vars[var].is_null(),
                "{id} never gets {var} as a plain variable"
            );
        }
        // MIZAN_SECRETS names the secrets (one !Ref, or a !Join of !Refs).
        let named = yaml(&vars["MIZAN_SECRETS"]);
        let secrets: Vec<&str> = [
            "CoreSecret",
            "WebhookSecret",
            "GraphSecret",
            "ReplySecret",
            "ExportSecret",
        ]
        .into_iter()
        .filter(|s| named.contains(&format!("!Ref {s}")))
        .collect();
        let mut given: Vec<String> = secrets
            .iter()
            .flat_map(|s| secret_variables(&t, s))
            .collect();
        given.sort();
        let mut expected: Vec<String> = needed.iter().map(|v| (*v).to_owned()).collect();
        expected.sort();
        assert_eq!(given, expected, "{id} reads exactly the secrets it needs");
        // And its policy lets it read those secrets, no others.
        let statements = function["Properties"]["Policies"][0]["Statement"]
            .as_sequence()
            .unwrap();
        let read = statements
            .iter()
            .find(|s| s["Sid"] == "ReadSecrets")
            .unwrap_or_else(|| panic!("{id} has a ReadSecrets statement"));
        assert_eq!(yaml(&read["Action"]), "- secretsmanager:GetSecretValue");
        let granted: Vec<String> = read["Resource"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(yaml)
            .collect();
        let refs: Vec<String> = secrets.iter().map(|s| format!("!Ref {s}")).collect();
        assert_eq!(granted, refs, "{id} may read its secrets only");
    }
}
