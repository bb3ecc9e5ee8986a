//! The notifications' DynamoDB store on moto passes the same suite as the
//! SQLite store (claims, codes and their counts, subscriptions); so do the
//! aligned room sets and Twilio moderation kept in the same table. Through a fault proxy in
//! front of moto (issue #28): throttling and 5xx are retried, a long spell
//! is a clear error that leaves nothing half-written, and service resumes.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType,
};
use backend::notify::address_codes::PendingCode;
use backend::notify::dynamo_store::DynamoNotifyStore;
use backend::notify::store::{Claim, NotifyStore as _};
use backend::twilio::aligned::AlignedStore as _;
use backend::twilio::aligned_dynamo::DynamoAligned;
use backend::twilio::moderation_dynamo::DynamoModeration;
use testkit::fault::{Fault, FaultProxy};

#[tokio::test]
async fn the_dynamodb_store_passes_the_shared_suite() {
    let (client, table) = the_table("notify").await;
    let store = DynamoNotifyStore::new(client, table);
    backend::notify::store::suite::run_all(&store, "dynamo").await;
}

#[tokio::test]
async fn the_aligned_rooms_on_dynamodb_pass_the_shared_suite() {
    let (client, table) = the_table("aligned").await;
    let store = DynamoAligned::new(client, table);
    backend::twilio::aligned::suite::run_all(&store, "dynamo").await;
}

#[tokio::test]
async fn moderation_on_dynamodb_passes_the_shared_suite() {
    let (client, table) = the_table("moderation").await;
    let store = DynamoModeration::new(client, table);
    backend::twilio::moderation::suite::run(&store).await;
}

#[tokio::test]
async fn forgetting_a_person_in_moderation_on_dynamodb_keeps_the_record_without_them() {
    use backend::twilio::moderation::{Action, ModerationStore as _};
    use protocol::moderation::Report;
    let (client, table) = the_table("moderation-forget").await;
    let store = DynamoModeration::new(client, table);
    let action = |at: i64, action: &str, moderator: &str, target: &str, until: Option<i64>| Action {
        at,
        moderator: moderator.into(),
        action: action.into(),
        room: "general".into(),
        message_id: None,
        target: Some(target.into()),
        detail: until.map(|u| u.to_string()),
    };
    store.act(&action(1, "mute", "mia", "bob", Some(99))).await.unwrap();
    store.act(&action(2, "mute", "bob", "cat", Some(99))).await.unwrap();
    store.act(&action(3, "mute", "mia", "cat", Some(99))).await.unwrap();
    let report = |reporter: &str| Report {
        id: 0,
        room: "general".into(),
        message_id: 1,
        reporter: reporter.into(),
        reason: "spam".into(),
        at: 5,
    };
    store.report(&report("bob")).await.unwrap();
    store.report(&report("cat")).await.unwrap();
    // bob: one mute, one report and its count, two lines of the record
    assert_eq!(store.forget("bob", false).await.unwrap(), 5);
    assert_eq!(store.mutes("bob").await.unwrap().len(), 1, "a dry run removes nothing");
    assert_eq!(store.forget("bob", true).await.unwrap(), 5);
    assert_eq!(store.reports_by("bob", 0).await.unwrap(), 0);
    assert!(store.mutes("bob").await.unwrap().is_empty());
    let reporters: Vec<String> = store
        .reports("general", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.reporter)
        .collect();
    assert_eq!(reporters, ["cat"]);
    let record: Vec<(String, String)> = store
        .actions(None)
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.moderator, a.target.unwrap()))
        .collect();
    assert_eq!(
        record,
        [
            ("mia".into(), "former-member".into()),
            ("former-member".into(), "cat".into()),
            ("mia".into(), "cat".into())
        ]
    );
    // again: nothing left about them; cat's mute untouched
    assert_eq!(store.forget("bob", true).await.unwrap(), 0);
    assert_eq!(store.mutes("cat").await.unwrap().len(), 1);
}

/// A fresh table on moto, as infra/ defines it (keys, the `reply-routes` index).
async fn the_table(name: &str) -> (aws_sdk_dynamodb::Client, String) {
    crate::service("AWS_ENDPOINT_URL");
    let client = aws_sdk_dynamodb::Client::new(&backend::config::aws_config().await);
    let table = format!("dachat-{name}-{}", std::process::id());
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .unwrap()
    };
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    client
        .create_table()
        .table_name(&table)
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .attribute_definitions(attribute("pk"))
        .attribute_definitions(attribute("sk"))
        .attribute_definitions(attribute("routes"))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(backend::notify::dynamo_store::ROUTES_INDEX)
                .key_schema(key("routes", KeyType::Hash))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::Include)
                        .non_key_attributes("identity")
                        .non_key_attributes("context")
                        .non_key_attributes("expires")
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    (client, table)
}

/// DynamoDB's throttling answer, as its JSON protocol sends it.
fn throttled() -> Fault {
    Fault::Answer {
        status: 400,
        headers: vec![("content-type".into(), "application/x-amz-json-1.0".into())],
        body: r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded."}"#.into(),
    }
}

/// A client of moto through a fault proxy.
async fn through(proxy: &FaultProxy) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::config::Builder::from(&backend::config::aws_config().await)
        .endpoint_url(&proxy.url)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

#[tokio::test]
async fn throttling_and_5xx_are_retried_and_a_long_spell_is_a_clear_error_that_writes_nothing() {
    let (_, table) = the_table("throttled").await;
    let proxy = FaultProxy::start(&crate::service("AWS_ENDPOINT_URL")).await.unwrap();
    let store = DynamoNotifyStore::new(through(&proxy).await, table.clone());

    // a passing spell: the SDK retries, the caller sees nothing
    proxy.inject("POST", "/", throttled(), 2);
    assert_eq!(store.claim("throttle-IM1", 100).await.unwrap(), Claim::Taken);
    proxy.inject("POST", "/", Fault::status(500, &[]), 2);
    store.settle("throttle-IM1", 101).await.unwrap();
    assert_eq!(proxy.faults(), 4, "every fault was met");
    assert_eq!(store.claim("throttle-IM1", 102).await.unwrap(), Claim::Done);

    // a long one: a clear error, and the code (a transaction with its two
    // log entries) is not half-written
    let code = PendingCode {
        identity: "throttle-alice".into(),
        address: "alice@example.org".into(),
        tag: vec![1, 2, 3],
        issued_at: 1_000,
        wrong_tries: 0,
        used: false,
    };
    proxy.inject("POST", "/", throttled(), 100);
    let error = store.put_code(&code, "alice@example.org").await.unwrap_err();
    assert!(error.to_string().contains("ProvisionedThroughputExceeded"), "{error}");
    proxy.heal();
    assert_eq!(store.code("throttle-alice", "alice@example.org").await.unwrap(), None);
    let recent = store
        .recent_codes("throttle-alice", "alice@example.org", 0)
        .await
        .unwrap();
    assert_eq!((recent.to_identity, recent.to_address), (0, 0), "no log entry either");
    // and service resumes when DynamoDB does
    store.put_code(&code, "alice@example.org").await.unwrap();
    assert_eq!(
        store.code("throttle-alice", "alice@example.org").await.unwrap(),
        Some(code)
    );

    // the aligned room sets on the same table: an error the provisioner
    // turns into aligning on Twilio (or no room added), never a wrong skip
    let aligned = DynamoAligned::new(through(&proxy).await, table);
    proxy.inject("POST", "/", throttled(), 100);
    assert!(aligned.read("throttle-alice").await.is_err());
    proxy.heal();
    assert_eq!(aligned.read("throttle-alice").await.unwrap(), None);
}
