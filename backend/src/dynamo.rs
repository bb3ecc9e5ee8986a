//! The small pieces every DynamoDB item of ours is written with (the
//! notifications' store, the aligned room sets and Twilio moderation share
//! one table): string and number attributes, unique sort-key suffixes,
//! every page of a query, and a log-safe description of an SDK error.

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;

/// A string attribute.
pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number attribute.
pub fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// 12 random bytes as 24 hex digits: a unique suffix for sort keys (two
/// log entries in one millisecond stay two). `None` when the system's
/// random source fails.
pub fn random_suffix() -> Option<String> {
    use ring::rand::SecureRandom as _;
    let mut bytes = [0u8; 12];
    ring::rand::SystemRandom::new().fill(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Every item a query answers, all pages; the failure described.
pub async fn all_items(
    query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
) -> Result<Vec<std::collections::HashMap<String, AttributeValue>>, String> {
    let mut pages = query.into_paginator().items().send();
    let mut found = Vec::new();
    while let Some(item) = pages.next().await {
        found.push(item.map_err(describe)?);
    }
    Ok(found)
}

/// What an SDK call's failure was, for an error message or a log (the
/// service's error code and message; no item content).
pub fn describe<E: std::error::Error + 'static, R: std::fmt::Debug>(e: SdkError<E, R>) -> String {
    DisplayErrorContext(e).to_string()
}
