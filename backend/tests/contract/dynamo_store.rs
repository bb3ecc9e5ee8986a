//! The notifications' DynamoDB store on moto passes the same suite as the
//! SQLite store (claims, codes and their counts, subscriptions); so do the
//! aligned room sets kept in the same table.

use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
use backend::notify::dynamo_store::DynamoNotifyStore;
use backend::twilio::aligned_dynamo::DynamoAligned;

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

/// A fresh table on moto, as infra/ defines it.
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
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    (client, table)
}
