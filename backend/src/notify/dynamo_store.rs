//! The notifications' storage in production ([`crate::notify::store`]): one
//! DynamoDB table (on-demand, point-in-time recovery, TTL on `expires`;
//! defined in `infra/`), keys `pk` and `sk` (strings):
//!
//! | item | pk | sk |
//! | --- | --- | --- |
//! | claim (a webhook's event, an inbound e-mail) | `claim#<key>` | `-` |
//! | pending code | `code#<identity>` | `<address>` |
//! | code sent, by identity | `codelog-id#<identity>` | `<at, 20 digits>#<uuid>` |
//! | code sent, by mailbox | `codelog-addr#<mailbox>` | `<at, 20 digits>#<uuid>` |
//! | subscription | `sub#<identity>` | `0` (all rooms) or `1#<context>` |
//! | watch | `watch` | `<identity>` |
//! | deferred event | `deferred` | `<claim key>` |
//! | room mail (throttle) | `mail#<identity>` | `<context>` |
//! | reply route | `reply#<tag>` | `-` (and `routes` = `reply`: the `reply-routes` index) |
//! | reply landed | `replylog#<identity>` | `<at, 20 digits>#<random>` |
//!
//! Over 600 lines: one trait's implementation on one table, every kind of
//! item beside its key layout (as the SQLite one is in one file).
//!
//! Everything about one person, for `dachat forget`: `dynamo_store/forget.rs`.
//! One global secondary index, [`ROUTES_INDEX`] (sparse: only reply routes
//! carry its key `routes`; projected: `identity`, `context`, `expires`),
//! lists every reply route without a scan: the retention's hourly run
//! finds the routes of rooms past their retention through it, and `dachat
//! forget` a person's. Routes written before the index existed lack its
//! key; they go by TTL within 180 days (`REPLY_ROUTE_SECS`).
//!
//! Watches share one partition, read with a filter on `due`: only people
//! with unread messages in a followed room have one, and the sweep (one at
//! a time) reads them once a minute; 1,000 watches are a single 1 MB page.
//! Claims are conditional puts (first writer wins, an expired claim may be
//! taken again: a lease of `LEASE_SECS` while the work is under way,
//! `done` and `CLAIM_SECS` once settled); a code and its two log entries are one transaction; the
//! hour's counts are key-range queries. TTL deletes expired items within
//! days, so every read that cares about expiry checks `expires` itself.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, PutRequest, ReturnValue, Select, TransactWriteItem, WriteRequest};

use crate::dynamo::{describe, n, s};
use crate::notify::address_codes::{PendingCode, RecentCodes};
use crate::notify::store::{
    CLAIM_SECS, Claim, DeferredEvent, KeptAbout, LEASE_SECS, NotifyStore, REPLY_ROUTE_SECS, ReplyRoute, RoomMail,
    StoreError, Subscription, Watch,
};

/// The index of every reply route (`infra/lib/stacks.ts` defines it).
pub const ROUTES_INDEX: &str = "reply-routes";

/// How long code log entries are kept (the limits look back one hour).
const CODE_LOG_SECS: u64 = 2 * 3600;

#[derive(Debug, Clone)]
pub struct DynamoNotifyStore {
    client: Client,
    table: String,
}

fn failed<E: std::error::Error + 'static, R: std::fmt::Debug>(e: SdkError<E, R>) -> StoreError {
    StoreError(describe(e))
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

    /// Every item of partition `pk` (with `due <= due_by`, if given), all pages.
    async fn partition(&self, pk: String, due_by: Option<u64>) -> Result<Vec<Item>, StoreError> {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(pk))
            .consistent_read(true);
        if let Some(due_by) = due_by {
            query = query
                .filter_expression("due <= :due_by")
                .expression_attribute_values(":due_by", n(due_by));
        }
        crate::dynamo::all_items(query).await.map_err(StoreError)
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

mod forget;

impl NotifyStore for DynamoNotifyStore {
    async fn claim(&self, key: &str, now: u64) -> Result<Claim, StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(format!("claim#{key}")))
            .item("sk", s("-"))
            .item("expires", n(now + LEASE_SECS))
            .item("done", AttributeValue::Bool(false))
            .condition_expression("attribute_not_exists(pk) OR expires <= :now")
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match put {
            Ok(_) => Ok(Claim::Taken),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                let held = self
                    .client
                    .get_item()
                    .table_name(&self.table)
                    .key("pk", s(format!("claim#{key}")))
                    .key("sk", s("-"))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(failed)?;
                // a claim from before leases has no `done`: it was settled;
                // one given up since is still another's to retry
                Ok(match held.item().map(|item| item.get("done")) {
                    Some(Some(AttributeValue::Bool(false))) | None => Claim::UnderWay,
                    Some(_) => Claim::Done,
                })
            }
            Err(e) => Err(failed(e)),
        }
    }

    async fn settle(&self, key: &str, now: u64) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(format!("claim#{key}")))
            .item("sk", s("-"))
            .item("expires", n(now + CLAIM_SECS))
            .item("done", AttributeValue::Bool(true))
            .send()
            .await
            .map_err(failed)?;
        Ok(())
    }

    async fn defer_event(&self, event: &DeferredEvent) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s("deferred"))
            .item("sk", s(&event.key))
            .item("conversation", s(&event.conversation))
            .item("author", s(&event.author))
            .item("at", n(event.at))
            .item("expires", n(event.at + CLAIM_SECS))
            .send()
            .await
            .map_err(failed)?;
        Ok(())
    }

    async fn deferred_events(&self, limit: usize) -> Result<Vec<DeferredEvent>, StoreError> {
        let mut found = self
            .partition("deferred".into(), None)
            .await?
            .iter()
            .map(|item| {
                Ok(DeferredEvent {
                    key: text(item, "sk")?,
                    conversation: text(item, "conversation")?,
                    author: text(item, "author")?,
                    at: number(item, "at")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        found.sort_by(|a, b| (a.at, &a.key).cmp(&(b.at, &b.key)));
        found.truncate(limit);
        Ok(found)
    }

    async fn drop_deferred(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s("deferred"))
            .key("sk", s(key))
            .send()
            .await
            .map_err(failed)?;
        Ok(())
    }

    async fn unclaim(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(format!("claim#{key}")))
            .key("sk", s("-"))
            .send()
            .await
            .map_err(failed)?;
        Ok(())
    }

    async fn put_code(&self, code: &PendingCode, mailbox: &str) -> Result<(), StoreError> {
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
            .transact_items(self.log_put(format!("codelog-addr#{mailbox}"), code, &id)?)
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

    async fn recent_codes(&self, identity: &str, mailbox: &str, since: u64) -> Result<RecentCodes, StoreError> {
        Ok(RecentCodes {
            to_identity: self.count_since(format!("codelog-id#{identity}"), since).await?,
            to_address: self.count_since(format!("codelog-addr#{mailbox}"), since).await?,
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
        self.partition(format!("sub#{identity}"), None)
            .await?
            .iter()
            .map(|item| {
                Ok(Subscription {
                    identity: identity.to_owned(),
                    context: item.get("context").and_then(|v| v.as_s().ok()).cloned(),
                    address: text(item, "address")?,
                    since: number(item, "since")?,
                })
            })
            .collect()
    }

    async fn watch(&self, identity: &str, due_at: u64) -> Result<(), StoreError> {
        let earlier = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s("watch"))
            .key("sk", s(identity))
            .update_expression("SET due = :due, seq = if_not_exists(seq, :zero) + :one")
            .condition_expression("attribute_not_exists(due) OR due > :due")
            .expression_attribute_values(":due", n(due_at))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .send()
            .await;
        match earlier {
            Ok(_) => Ok(()),
            // an earlier watch is there: keep its time, bump its seq
            Err(e) if conditional_failed(&e) => {
                self.client
                    .update_item()
                    .table_name(&self.table)
                    .key("pk", s("watch"))
                    .key("sk", s(identity))
                    .update_expression("SET seq = seq + :one")
                    .expression_attribute_values(":one", n(1))
                    .send()
                    .await
                    .map_err(failed)?;
                Ok(())
            }
            Err(e) => Err(failed(e)),
        }
    }

    async fn due_watches(&self, now: u64, limit: usize) -> Result<Vec<Watch>, StoreError> {
        let mut found = self
            .partition("watch".into(), Some(now))
            .await?
            .iter()
            .map(|item| {
                Ok(Watch {
                    identity: text(item, "sk")?,
                    due_at: number(item, "due")?,
                    seq: number(item, "seq")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        found.sort_by(|a, b| (a.due_at, &a.identity).cmp(&(b.due_at, &b.identity)));
        found.truncate(limit);
        Ok(found)
    }

    async fn settle_watch(&self, watch: &Watch, next: Option<u64>) -> Result<(), StoreError> {
        let settled = match next {
            None => self
                .client
                .delete_item()
                .table_name(&self.table)
                .key("pk", s("watch"))
                .key("sk", s(&watch.identity))
                .condition_expression("seq = :seq")
                .expression_attribute_values(":seq", n(watch.seq))
                .send()
                .await
                .map(drop)
                .map_err(|e| if conditional_failed(&e) { None } else { Some(failed(e)) }),
            Some(next) => self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", s("watch"))
                .key("sk", s(&watch.identity))
                .update_expression("SET due = :next")
                .condition_expression("seq = :seq")
                .expression_attribute_values(":seq", n(watch.seq))
                .expression_attribute_values(":next", n(next))
                .send()
                .await
                .map(drop)
                .map_err(|e| if conditional_failed(&e) { None } else { Some(failed(e)) }),
        };
        // Err(None): the condition failed
        match settled {
            Ok(()) => Ok(()),
            // watched again meanwhile: keep the newer watch, at the earlier time
            Err(None) => match next {
                None => Ok(()),
                Some(next) => {
                    let moved = self
                        .client
                        .update_item()
                        .table_name(&self.table)
                        .key("pk", s("watch"))
                        .key("sk", s(&watch.identity))
                        .update_expression("SET due = :next")
                        .condition_expression("due > :next")
                        .expression_attribute_values(":next", n(next))
                        .send()
                        .await;
                    match moved {
                        Err(e) if !conditional_failed(&e) => Err(failed(e)),
                        _ => Ok(()),
                    }
                }
            },
            Err(Some(e)) => Err(e),
        }
    }

    async fn room_mail(&self, identity: &str) -> Result<Vec<RoomMail>, StoreError> {
        self.partition(format!("mail#{identity}"), None)
            .await?
            .iter()
            .map(|item| {
                Ok(RoomMail {
                    context: text(item, "sk")?,
                    emails: u32::try_from(number(item, "emails")?).unwrap_or(u32::MAX),
                    last_email_at: number(item, "last_email_at")?,
                    horizon: item
                        .get("horizon")
                        .and_then(|v| v.as_n().ok())
                        .and_then(|v| v.parse().ok()),
                })
            })
            .collect()
    }

    async fn record_room_mail(&self, identity: &str, mail: &[RoomMail]) -> Result<(), StoreError> {
        for room in mail {
            let mut put = self
                .client
                .put_item()
                .table_name(&self.table)
                .item("pk", s(format!("mail#{identity}")))
                .item("sk", s(&room.context))
                .item("emails", n(u64::from(room.emails)))
                .item("last_email_at", n(room.last_email_at));
            if let Some(horizon) = room.horizon {
                put = put.item("horizon", AttributeValue::N(horizon.to_string()));
            }
            put.send().await.map_err(failed)?;
        }
        Ok(())
    }

    async fn put_reply_routes(&self, routes: &[ReplyRoute], now: u64) -> Result<(), StoreError> {
        self.put_routes(routes, now).await
    }

    async fn reply_route(&self, tag: &str, now: u64) -> Result<Option<ReplyRoute>, StoreError> {
        self.route(tag, now).await
    }

    async fn log_reply(&self, identity: &str, at: u64) -> Result<(), StoreError> {
        self.put_reply_log(identity, at).await
    }

    async fn recent_replies(&self, identity: &str, since: u64) -> Result<u32, StoreError> {
        self.count_since(format!("replylog#{identity}"), since).await
    }

    async fn forget(&self, identity: &str, erase: bool) -> Result<KeptAbout, StoreError> {
        self.forget_items(identity, erase).await
    }

    async fn expire_reply_routes(&self, cutoff: &(dyn Fn(&str) -> Option<u64> + Sync)) -> Result<usize, StoreError> {
        self.expire_routes(cutoff).await
    }
}

impl DynamoNotifyStore {
    /// Routes in batches of 25 (BatchWriteItem's most); what DynamoDB
    /// leaves unprocessed (throttling) is sent again, a few times.
    async fn put_routes(&self, routes: &[ReplyRoute], now: u64) -> Result<(), StoreError> {
        // one batch refuses the same key twice: the last word on a tag wins
        let mut seen = std::collections::HashSet::new();
        let mut routes: Vec<&ReplyRoute> = routes.iter().rev().filter(|r| seen.insert(&r.tag)).collect();
        routes.reverse();
        for batch in routes.chunks(25) {
            let mut requests = batch
                .iter()
                .map(|&route| {
                    let put = PutRequest::builder()
                        .item("pk", s(format!("reply#{}", route.tag)))
                        .item("sk", s("-"))
                        .item("identity", s(&route.identity))
                        .item("context", s(&route.context))
                        .item("expires", n(now + REPLY_ROUTE_SECS))
                        .item("routes", s("reply"))
                        .build()
                        .map_err(|e| StoreError(e.to_string()))?;
                    Ok(WriteRequest::builder().put_request(put).build())
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            for attempt in 0..5u32 {
                let answer = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(failed)?;
                requests = answer
                    .unprocessed_items
                    .and_then(|mut left| left.remove(&self.table))
                    .unwrap_or_default();
                if requests.is_empty() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
            }
            if !requests.is_empty() {
                return Err(StoreError(format!("{} reply routes left unwritten", requests.len())));
            }
        }
        Ok(())
    }

    async fn route(&self, tag: &str, now: u64) -> Result<Option<ReplyRoute>, StoreError> {
        let answer = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(format!("reply#{tag}")))
            .key("sk", s("-"))
            .consistent_read(true)
            .send()
            .await
            .map_err(failed)?;
        let Some(item) = answer.item else {
            return Ok(None);
        };
        if number(&item, "expires")? <= now {
            return Ok(None);
        }
        Ok(Some(ReplyRoute {
            tag: tag.to_owned(),
            identity: text(&item, "identity")?,
            context: text(&item, "context")?,
        }))
    }

    async fn put_reply_log(&self, identity: &str, at: u64) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(format!("replylog#{identity}")))
            .item("sk", s(format!("{at:020}#{}", unique_suffix()?)))
            .item("expires", n(at + 2 * 3600))
            .send()
            .await
            .map_err(failed)?;
        Ok(())
    }
}

fn conditional_failed<E, R>(e: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    matches!(e, SdkError::ServiceError(inner) if inner.err().code() == Some("ConditionalCheckFailedException"))
}

/// A unique suffix for log entries (two codes in one second stay two).
fn unique_suffix() -> Result<String, StoreError> {
    crate::dynamo::random_suffix().ok_or_else(|| StoreError("the system random source failed".into()))
}
