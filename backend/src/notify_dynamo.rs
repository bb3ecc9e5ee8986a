//! The notifications' storage in production ([`crate::notify_store`]): one
//! DynamoDB table (on-demand, point-in-time recovery, TTL on `expires`;
//! defined in `infra/`), keys `pk` and `sk` (strings):
//!
//! | item | pk | sk |
//! | --- | --- | --- |
//! | event claim | `claim#<key>` | `-` |
//! | pending code | `code#<identity>` | `<address>` |
//! | code sent, by identity | `codelog-id#<identity>` | `<at, 20 digits>#<uuid>` |
//! | code sent, by address | `codelog-addr#<address>` | `<at, 20 digits>#<uuid>` |
//! | subscription | `sub#<identity>` | `0` (all rooms) or `1#<context>` |
//!
//! Claims are conditional puts (first writer wins, an expired claim may be
//! taken again); a code and its two log entries are one transaction; the
//! hour's counts are key-range queries. TTL deletes expired items within
//! days, so every read that cares about expiry checks `expires` itself.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, Select, TransactWriteItem};

use crate::codes::{PendingCode, RecentCodes};
use crate::notify_store::{CLAIM_SECS, NotifyStore, StoreError, Subscription};

/// How long code log entries are kept (the limits look back one hour).
const CODE_LOG_SECS: u64 = 2 * 3600;

#[derive(Debug, Clone)]
pub struct DynamoNotifyStore {
    client: Client,
    table: String,
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn failed<E: std::error::Error + 'static, R: std::fmt::Debug>(e: SdkError<E, R>) -> StoreError {
    StoreError(DisplayErrorContext(e).to_string())
}

type Item = std::collections::HashMap<String, AttributeValue>;

fn text(item: &Item, name: &str) -> Result<String, StoreError> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .ok_or_else(|| StoreError(format!("item without {name}")))
}

fn number(item: &Item, name: &str) -> Result<u64, StoreError> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| StoreError(format!("item without a number {name}")))
}

fn subscription_sk(context: Option<&str>) -> String {
    context.map_or_else(|| "0".to_owned(), |c| format!("1#{c}"))
}

impl DynamoNotifyStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn log_put(&self, pk: String, code: &PendingCode, id: &str) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .item("pk", s(pk))
            .item("sk", s(format!("{:020}#{id}", code.issued_at)))
            .item("expires", n(code.issued_at + CODE_LOG_SECS))
            .build()
            .map_err(|e| StoreError(e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    async fn count_since(&self, pk: String, since: u64) -> Result<u32, StoreError> {
        let answer = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk >= :since")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":since", s(format!("{since:020}")))
            .select(Select::Count)
            .consistent_read(true)
            .send()
            .await
            .map_err(failed)?;
        Ok(u32::try_from(answer.count()).unwrap_or(0))
    }
}

impl NotifyStore for DynamoNotifyStore {
    async fn claim(&self, key: &str, now: u64) -> Result<bool, StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(format!("claim#{key}")))
            .item("sk", s("-"))
            .item("expires", n(now + CLAIM_SECS))
            .condition_expression("attribute_not_exists(pk) OR expires <= :now")
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => Ok(false),
            Err(e) => Err(failed(e)),
        }
    }

    async fn put_code(&self, code: &PendingCode) -> Result<(), StoreError> {
        let id = unique_suffix()?;
        let pending = Put::builder()
            .table_name(&self.table)
            .item("pk", s(format!("code#{}", code.identity)))
            .item("sk", s(&code.address))
            .item("tag", AttributeValue::B(code.tag.clone().into()))
            .item("issued_at", n(code.issued_at))
            .item("wrong_tries", n(u64::from(code.wrong_tries)))
            .item("used", AttributeValue::Bool(code.used))
            .item("expires", n(code.issued_at + CODE_LOG_SECS))
            .build()
            .map_err(|e| StoreError(e.to_string()))?;
        self.client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(pending).build())
            .transact_items(self.log_put(format!("codelog-id#{}", code.identity), code, &id)?)
            .transact_items(self.log_put(format!("codelog-addr#{}", code.address), code, &id)?)
            .send()
            .await
            .map_err(failed)?;
        Ok(())
    }

    async fn code(&self, identity: &str, address: &str) -> Result<Option<PendingCode>, StoreError> {
        let answer = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(format!("code#{identity}")))
            .key("sk", s(address))
            .consistent_read(true)
            .send()
            .await
            .map_err(failed)?;
        let Some(item) = answer.item() else {
            return Ok(None);
        };
        let tag = item
            .get("tag")
            .and_then(|v| v.as_b().ok())
            .map(|b| b.as_ref().to_vec())
            .ok_or_else(|| StoreError("code without a tag".into()))?;
        Ok(Some(PendingCode {
            identity: identity.to_owned(),
            address: address.to_owned(),
            tag,
            issued_at: number(item, "issued_at")?,
            wrong_tries: u32::try_from(number(item, "wrong_tries")?).unwrap_or(u32::MAX),
            used: item.get("used").and_then(|v| v.as_bool().ok()).copied().unwrap_or(true),
        }))
    }

    async fn update_code(&self, code: &PendingCode) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(format!("code#{}", code.identity)))
            .key("sk", s(&code.address))
            .update_expression("SET wrong_tries = :w, used = :u")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":w", n(u64::from(code.wrong_tries)))
            .expression_attribute_values(":u", AttributeValue::Bool(code.used))
            .send()
            .await
            .map_err(failed)?;
        Ok(())
    }

    async fn recent_codes(&self, identity: &str, address: &str, since: u64) -> Result<RecentCodes, StoreError> {
        Ok(RecentCodes {
            to_identity: self.count_since(format!("codelog-id#{identity}"), since).await?,
            to_address: self.count_since(format!("codelog-addr#{address}"), since).await?,
        })
    }

    async fn subscribe(&self, subscription: &Subscription) -> Result<(), StoreError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(format!("sub#{}", subscription.identity)))
            .item("sk", s(subscription_sk(subscription.context.as_deref())))
            .item("address", s(&subscription.address))
            .item("since", n(subscription.since));
        if let Some(context) = &subscription.context {
            put = put.item("context", s(context));
        }
        put.send().await.map_err(failed)?;
        Ok(())
    }

    async fn unsubscribe(&self, identity: &str, context: Option<&str>) -> Result<bool, StoreError> {
        let answer = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(format!("sub#{identity}")))
            .key("sk", s(subscription_sk(context)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(failed)?;
        Ok(answer.attributes().is_some_and(|a| !a.is_empty()))
    }

    async fn subscriptions(&self, identity: &str) -> Result<Vec<Subscription>, StoreError> {
        let mut found = Vec::new();
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(format!("sub#{identity}")))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        while let Some(item) = pages.next().await {
            let item = item.map_err(failed)?;
            found.push(Subscription {
                identity: identity.to_owned(),
                context: item.get("context").and_then(|v| v.as_s().ok()).cloned(),
                address: text(&item, "address")?,
                since: number(&item, "since")?,
            });
        }
        Ok(found)
    }
}

/// A unique suffix for log entries (two codes in one second stay two).
fn unique_suffix() -> Result<String, StoreError> {
    use ring::rand::SecureRandom as _;
    let mut bytes = [0u8; 12];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| StoreError("the system random source failed".into()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
