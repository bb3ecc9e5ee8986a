//! Moderation on Twilio in production ([`crate::twilio::moderation`]):
//! items of the notifications' DynamoDB table (see
//! `notify/dynamo_store.rs` for the others).
//!
//! | item | pk | sk | attributes |
//! | --- | --- | --- | --- |
//! | moderator action | `modlog` | `<at, 20 digits>#<random>` | `at`, `moderator`, `action`, `room`, `message_id`?, `target`?, `detail`? |
//! | mute | `mute#<identity>` | `<room>` | `until`, `expires` (30 days after it) |
//! | report | `report#<room>` | `<at, 20 digits>#<random>` | `id`, `message_id`, `reporter`, `reason`, `at` |
//! | report made, by reporter | `reportlog#<identity>` | `<at, 20 digits>#<random>` | `expires` (2 hours on: the hourly limit's count) |
//!
//! The record is one partition read in order: moderator actions are few
//! (people, not machines, make them). A mute or unmute and its record are
//! one transaction. A report's `id` is its time in microseconds plus a
//! random part below 1,000, unique in practice and within JavaScript's
//! exact integers.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use protocol::moderation::Report;

use crate::dynamo::{describe, s};
use crate::twilio::moderation::{Action, ModerationStore, ModerationStoreError, Mute, StoreFuture, mute_end};

/// How long a mute's item outlives its end before TTL deletes it (it is
/// lifted on the member's next token path; one who never comes back keeps
/// nothing for long).
const MUTE_KEEP_MS: i64 = 30 * 24 * 3600 * 1000;

#[derive(Debug, Clone)]
pub struct DynamoModeration {
    client: Client,
    table: String,
}

type Item = std::collections::HashMap<String, AttributeValue>;

fn failed<E: std::error::Error + 'static, R: std::fmt::Debug>(e: SdkError<E, R>) -> ModerationStoreError {
    ModerationStoreError(describe(e))
}

fn num(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn text(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

fn number(item: &Item, name: &str) -> Option<i64> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

fn required<T>(value: Option<T>, name: &str) -> Result<T, ModerationStoreError> {
    value.ok_or_else(|| ModerationStoreError(format!("a moderation item without {name}")))
}

/// A unique sort-key suffix (`crate::dynamo::random_suffix`), and a
/// number below 1,000 from its first hex digits (a report's id).
fn random() -> Result<(String, i64), ModerationStoreError> {
    let suffix =
        crate::dynamo::random_suffix().ok_or_else(|| ModerationStoreError("the system random source failed".into()))?;
    let small = i64::from_str_radix(&suffix[..4], 16).unwrap_or(0) % 1000;
    Ok((suffix, small))
}

impl DynamoModeration {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    async fn query(
        &self,
        pk: String,
        newest_first: bool,
        limit: Option<i32>,
    ) -> Result<Vec<Item>, ModerationStoreError> {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(pk))
            .scan_index_forward(!newest_first)
            .consistent_read(true);
        if let Some(limit) = limit {
            query = query.limit(limit);
            let answer = query.send().await.map_err(failed)?;
            return Ok(answer.items().to_vec());
        }
        crate::dynamo::all_items(query).await.map_err(ModerationStoreError)
    }

    fn build<T>(built: Result<T, aws_sdk_dynamodb::error::BuildError>) -> Result<T, ModerationStoreError> {
        built.map_err(|e| ModerationStoreError(e.to_string()))
    }
}

fn action_item(action: &Action, suffix: &str) -> Item {
    let mut item = Item::new();
    item.insert("pk".into(), s("modlog"));
    item.insert("sk".into(), s(format!("{:020}#{suffix}", action.at.max(0))));
    item.insert("at".into(), num(action.at));
    item.insert("moderator".into(), s(&action.moderator));
    item.insert("action".into(), s(&action.action));
    item.insert("room".into(), s(&action.room));
    if let Some(id) = action.message_id {
        item.insert("message_id".into(), num(id));
    }
    if let Some(target) = &action.target {
        item.insert("target".into(), s(target));
    }
    if let Some(detail) = &action.detail {
        item.insert("detail".into(), s(detail));
    }
    item
}

fn action_of(item: &Item) -> Result<Action, ModerationStoreError> {
    Ok(Action {
        at: required(number(item, "at"), "at")?,
        moderator: required(text(item, "moderator"), "moderator")?,
        action: required(text(item, "action"), "action")?,
        room: required(text(item, "room"), "room")?,
        message_id: number(item, "message_id"),
        target: text(item, "target"),
        detail: text(item, "detail"),
    })
}

fn report_of(item: &Item) -> Result<Report, ModerationStoreError> {
    Ok(Report {
        id: required(number(item, "id"), "id")?,
        room: required(text(item, "room"), "room")?,
        message_id: required(number(item, "message_id"), "message_id")?,
        reporter: required(text(item, "reporter"), "reporter")?,
        reason: required(text(item, "reason"), "reason")?,
        at: required(number(item, "at"), "at")?,
    })
}

/// Who a forgotten person becomes in the record of actions (as in the
/// local chat's).
pub const FORMER_MEMBER: &str = "former-member";

impl DynamoModeration {
    /// What is kept about `identity` (`dachat forget`): their mutes, the
    /// reports they made (found by a scan: reports are kept by room) and
    /// their count for the hourly limit, and
    /// the actions' record naming them (one partition). With `erase`, the
    /// mutes and reports are deleted and the record keeps
    /// [`FORMER_MEMBER`] in their place. Returns how many items; a run cut
    /// short is safe to run again (what is done is not found again).
    pub async fn forget(&self, identity: &str, erase: bool) -> Result<u64, ModerationStoreError> {
        let mut doomed: Vec<(String, String)> = Vec::new();
        for pk in [format!("mute#{identity}"), format!("reportlog#{identity}")] {
            for item in self.query(pk, false, None).await? {
                doomed.push((required(text(&item, "pk"), "pk")?, required(text(&item, "sk"), "sk")?));
            }
        }
        let mut pages = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("begins_with(pk, :report) AND reporter = :who")
            .expression_attribute_values(":report", s("report#"))
            .expression_attribute_values(":who", s(identity))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        while let Some(item) = pages.next().await {
            let item = item.map_err(failed)?;
            doomed.push((required(text(&item, "pk"), "pk")?, required(text(&item, "sk"), "sk")?));
        }
        let named: Vec<Item> = self
            .query("modlog".into(), false, None)
            .await?
            .into_iter()
            .filter(|item| {
                text(item, "moderator").as_deref() == Some(identity)
                    || text(item, "target").as_deref() == Some(identity)
            })
            .collect();
        let found = (doomed.len() + named.len()) as u64;
        if !erase {
            return Ok(found);
        }
        for (pk, sk) in doomed {
            self.client
                .delete_item()
                .table_name(&self.table)
                .key("pk", s(pk))
                .key("sk", s(sk))
                .send()
                .await
                .map_err(failed)?;
        }
        for item in named {
            let mut kept = item.clone();
            for field in ["moderator", "target"] {
                if text(&item, field).as_deref() == Some(identity) {
                    kept.insert(field.into(), s(FORMER_MEMBER));
                }
            }
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(kept))
                .send()
                .await
                .map_err(failed)?;
        }
        Ok(found)
    }
}

impl ModerationStore for DynamoModeration {
    fn act<'a>(&'a self, action: &'a Action) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let (suffix, _) = random()?;
            let record = Self::build(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(action_item(action, &suffix)))
                    .build(),
            )?;
            let mut writes = vec![TransactWriteItem::builder().put(record).build()];
            if let Some(target) = &action.target {
                let pk = s(format!("mute#{target}"));
                match action.action.as_str() {
                    "mute" => {
                        let until = mute_end(action)?;
                        let put = Self::build(
                            Put::builder()
                                .table_name(&self.table)
                                .item("pk", pk)
                                .item("sk", s(&action.room))
                                .item("until", num(until))
                                .item("expires", num(until.saturating_add(MUTE_KEEP_MS) / 1000))
                                .build(),
                        )?;
                        writes.push(TransactWriteItem::builder().put(put).build());
                    }
                    "unmute" => {
                        let delete = Self::build(
                            Delete::builder()
                                .table_name(&self.table)
                                .key("pk", pk)
                                .key("sk", s(&action.room))
                                .build(),
                        )?;
                        writes.push(TransactWriteItem::builder().delete(delete).build());
                    }
                    _ => {}
                }
            }
            self.client
                .transact_write_items()
                .set_transact_items(Some(writes))
                .send()
                .await
                .map_err(failed)?;
            Ok(())
        })
    }

    fn mutes<'a>(&'a self, identity: &'a str) -> StoreFuture<'a, Vec<Mute>> {
        Box::pin(async move {
            self.query(format!("mute#{identity}"), false, None)
                .await?
                .iter()
                .map(|item| {
                    Ok(Mute {
                        room: required(text(item, "sk"), "sk")?,
                        until: required(number(item, "until"), "until")?,
                    })
                })
                .collect()
        })
    }

    fn report<'a>(&'a self, report: &'a Report) -> StoreFuture<'a, Report> {
        Box::pin(async move {
            let (suffix, small) = random()?;
            let kept = Report {
                id: report.at.saturating_mul(1000).saturating_add(small),
                ..report.clone()
            };
            let sk = s(format!("{:020}#{suffix}", kept.at.max(0)));
            let report = Self::build(
                Put::builder()
                    .table_name(&self.table)
                    .item("pk", s(format!("report#{}", kept.room)))
                    .item("sk", sk.clone())
                    .item("id", num(kept.id))
                    .item("room", s(&kept.room))
                    .item("message_id", num(kept.message_id))
                    .item("reporter", s(&kept.reporter))
                    .item("reason", s(&kept.reason))
                    .item("at", num(kept.at))
                    .build(),
            )?;
            let counted = Self::build(
                Put::builder()
                    .table_name(&self.table)
                    .item("pk", s(format!("reportlog#{}", kept.reporter)))
                    .item("sk", sk)
                    .item("expires", num(kept.at / 1000 + 7200))
                    .build(),
            )?;
            self.client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().put(report).build())
                .transact_items(TransactWriteItem::builder().put(counted).build())
                .send()
                .await
                .map_err(failed)?;
            Ok(kept)
        })
    }

    fn reports<'a>(&'a self, room: &'a str, limit: u32) -> StoreFuture<'a, Vec<Report>> {
        Box::pin(async move {
            let limit = i32::try_from(limit).unwrap_or(i32::MAX);
            self.query(format!("report#{room}"), true, Some(limit))
                .await?
                .iter()
                .map(report_of)
                .collect()
        })
    }

    fn reports_by<'a>(&'a self, reporter: &'a str, since: i64) -> StoreFuture<'a, u32> {
        Box::pin(async move {
            let answer = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND sk >= :since")
                .expression_attribute_values(":pk", s(format!("reportlog#{reporter}")))
                .expression_attribute_values(":since", s(format!("{:020}", since.max(0))))
                .select(aws_sdk_dynamodb::types::Select::Count)
                .consistent_read(true)
                .send()
                .await
                .map_err(failed)?;
            Ok(u32::try_from(answer.count()).unwrap_or(0))
        })
    }

    fn actions<'a>(&'a self, room: Option<&'a str>) -> StoreFuture<'a, Vec<Action>> {
        Box::pin(async move {
            let mut actions = Vec::new();
            for item in self.query("modlog".into(), false, None).await? {
                let action = action_of(&item)?;
                if room.is_none_or(|r| action.room == r) {
                    actions.push(action);
                }
            }
            Ok(actions)
        })
    }
}
