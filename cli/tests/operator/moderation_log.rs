//! `dachat moderation-log` reads production's record (issue #30): the
//! moderator actions the API kept in the notifications' DynamoDB table
//! (on moto), when the settings name the table.

use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
use backend::twilio::moderation::{Action, ModerationStore as _};
use backend::twilio::moderation_dynamo::DynamoModeration;

use crate::service;
use crate::support::operator;

/// The AWS settings `cargo xtask test` gives, for moto.
fn aws_env() -> Vec<(&'static str, String)> {
    [
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ]
    .into_iter()
    .map(|name| (name, service(name)))
    .collect()
}

#[tokio::test]
async fn the_record_in_the_notifications_table_is_listed_oldest_first_per_room() {
    let client = aws_sdk_dynamodb::Client::new(&backend::config::aws_config().await);
    let table = format!("dachat-moderation-log-{}", std::process::id());
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
    let store = DynamoModeration::new(client, &table);
    let action =
        |at: i64, action: &str, room: &str, message_id: Option<i64>, target: &str, detail: Option<&str>| Action {
            at,
            moderator: "mia".into(),
            action: action.into(),
            room: room.into(),
            message_id,
            target: Some(target.into()),
            detail: detail.map(Into::into),
        };
    // 2026-12-01T10:00:00Z and on
    let t = 1_796_119_200_000;
    store
        .act(&action(t, "remove", "general", Some(7), "bob", None))
        .await
        .unwrap();
    store
        .act(&action(
            t + 1000,
            "mute",
            "general",
            None,
            "bob",
            Some(&(t + 3_600_000).to_string()),
        ))
        .await
        .unwrap();
    store
        .act(&action(t + 2000, "unmute", "shipment-1", None, "cat", None))
        .await
        .unwrap();

    let mut env = aws_env();
    env.push(("DACHAT_NOTIFY_TABLE", table.clone()));
    let listed = operator("moderation-log", &["--room", "general"], &env, true).await;
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(
        lines,
        [
            "2026-12-01T10:00:00Z  general  mia  removed message 7 by bob",
            "2026-12-01T10:00:01Z  general  mia  muted bob until 2026-12-01T11:00:00Z",
        ]
    );
    let all = operator("moderation-log", &[], &env, true).await;
    assert!(
        all.lines().last().unwrap().ends_with("shipment-1  mia  unmuted cat"),
        "{all}"
    );

    // neither a table nor a chat.db: says where the record is kept
    let empty = crate::temp_dir("moderation-log");
    let said = operator(
        "moderation-log",
        &["--data-dir", empty.to_str().unwrap()],
        &aws_env(),
        false,
    )
    .await;
    assert!(said.contains("DACHAT_NOTIFY_TABLE"), "{said}");
}
