//! The small pieces every DynamoDB item of ours is written with (the
//! notifications' store and the aligned room sets share one table): string
//! and number attributes, and a log-safe description of an SDK error.

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

/// What an SDK call's failure was, for an error message or a log (the
/// service's error code and message; no item content).
pub fn describe<E: std::error::Error + 'static, R: std::fmt::Debug>(e: SdkError<E, R>) -> String {
    DisplayErrorContext(e).to_string()
}
