//! The last aligned room sets in production ([`crate::twilio::aligned`]):
//! items of the notifications' DynamoDB table (the one table the stack
//! makes; see `notify/dynamo_store.rs` for the others), which every Lambda
//! instance of the token service reads.
//!
//! | item | pk | sk | attributes |
//! | --- | --- | --- | --- |
//! | aligned rooms | `aligned#<identity>` | `-` | `rooms` (absent after a room was added), `at`, `version`, `removals` (absent: 0), `expires` |
//!
//! Reads are strongly consistent (a room added a moment ago on another
//! instance must be seen); the record's write is conditional on the
//! version read; a room added is one `UpdateItem` (`ADD version`, the
//! removals returned), and so is a removal (`ADD removals`).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use crate::dynamo::{describe, n, s};
use crate::twilio::aligned::{AlignedRecord, AlignedStore, AlignedStoreError, RECORD_KEEP_SECS, StoreFuture};

#[derive(Debug, Clone)]
pub struct DynamoAligned {
    client: Client,
    table: String,
}

fn failed<E: std::error::Error + 'static, R: std::fmt::Debug>(e: SdkError<E, R>) -> AlignedStoreError {
    AlignedStoreError(describe(e))
}

fn key(identity: &str) -> AttributeValue {
    s(format!("aligned#{identity}"))
}

fn number(item: &std::collections::HashMap<String, AttributeValue>, name: &str) -> Option<u64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

impl DynamoAligned {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

impl AlignedStore for DynamoAligned {
    fn read<'a>(&'a self, identity: &'a str) -> StoreFuture<'a, Option<AlignedRecord>> {
        Box::pin(async move {
            let answer = self
                .client
                .get_item()
                .table_name(&self.table)
                .key("pk", key(identity))
                .key("sk", s("-"))
                .consistent_read(true)
                .send()
                .await
                .map_err(failed)?;
            let Some(item) = answer.item() else {
                return Ok(None);
            };
            let number = |name: &str| {
                number(item, name)
                    .ok_or_else(|| AlignedStoreError(format!("an aligned record without a number {name}")))
            };
            Ok(Some(AlignedRecord {
                rooms: item.get("rooms").and_then(|v| v.as_s().ok()).cloned(),
                at: number("at")?,
                version: number("version")?,
                // records written before removals were counted have none
                removals: item.get("removals").map_or(Ok(0), |_| number("removals"))?,
            }))
        })
    }

    fn record<'a>(&'a self, identity: &'a str, rooms: &'a str, at: u64, seen: u64) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let update = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", key(identity))
                .key("sk", s("-"))
                .update_expression("SET rooms = :rooms, #at = :at, version = :next, expires = :expires")
                .expression_attribute_names("#at", "at")
                .expression_attribute_values(":rooms", s(rooms))
                .expression_attribute_values(":at", n(at))
                .expression_attribute_values(":next", n(seen + 1))
                .expression_attribute_values(":expires", n(at + RECORD_KEEP_SECS));
            let update = if seen == 0 {
                update.condition_expression("attribute_not_exists(pk)")
            } else {
                update
                    .condition_expression("version = :seen")
                    .expression_attribute_values(":seen", n(seen))
            };
            match update.send().await {
                Ok(_) => Ok(true),
                Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => Ok(false),
                Err(e) => Err(failed(e)),
            }
        })
    }

    fn room_added<'a>(&'a self, identity: &'a str, at: u64) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            let answer = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", key(identity))
                .key("sk", s("-"))
                .update_expression("REMOVE rooms SET #at = :at, expires = :expires ADD version :one")
                .expression_attribute_names("#at", "at")
                .expression_attribute_values(":at", n(at))
                .expression_attribute_values(":expires", n(at + RECORD_KEEP_SECS))
                .expression_attribute_values(":one", n(1))
                .return_values(ReturnValue::AllNew)
                .send()
                .await
                .map_err(failed)?;
            Ok(answer
                .attributes()
                .and_then(|item| number(item, "removals"))
                .unwrap_or(0))
        })
    }

    fn forget<'a>(&'a self, identity: &'a str, erase: bool) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            if !erase {
                return Ok(self.read(identity).await?.is_some());
            }
            let answer = self
                .client
                .delete_item()
                .table_name(&self.table)
                .key("pk", key(identity))
                .key("sk", s("-"))
                .return_values(ReturnValue::AllOld)
                .send()
                .await
                .map_err(failed)?;
            Ok(answer.attributes().is_some_and(|a| !a.is_empty()))
        })
    }

    fn rooms_removed<'a>(&'a self, identity: &'a str, at: u64) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.client
                .update_item()
                .table_name(&self.table)
                .key("pk", key(identity))
                .key("sk", s("-"))
                .update_expression(
                    "SET #at = if_not_exists(#at, :at), expires = if_not_exists(expires, :expires), \
                     version = if_not_exists(version, :one) ADD removals :one",
                )
                .expression_attribute_names("#at", "at")
                .expression_attribute_values(":at", n(at))
                .expression_attribute_values(":expires", n(at + RECORD_KEEP_SECS))
                .expression_attribute_values(":one", n(1))
                .send()
                .await
                .map_err(failed)?;
            Ok(())
        })
    }
}
