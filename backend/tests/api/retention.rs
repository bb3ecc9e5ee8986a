//! Messages past their room's retention deleted on Twilio (issue #30),
//! against the stand-in: by each room's rule, the oldest first, nothing
//! young, a room without a rule untouched, and a run cut short by its
//! budget finished by the next.

use std::time::Duration;

use backend::clock::Clock;
use backend::config::{self, ProviderSettings, Settings, TwilioRequirement};
use backend::http_client::RetryPolicy;
use backend::twilio::rest::ConversationsClient;
use backend::twilio::retention::expire;
use serde_json::json;

use crate::support::*;

/// 2026-03-01T00:00:00Z in Unix ms: "now" for these tests.
const NOW_MS: u64 = 1_772_323_200_000;

fn days_ago(days: u64) -> String {
    backend::clock::rfc3339((NOW_MS - days * 86_400_000) / 1000)
}

async fn write(standin: &StandinServer, room: &str, body: &str, days: u64) {
    let answer = reqwest::Client::new()
        .post(format!("{}/_standin/message", standin.url))
        .json(&json!({ "conversation": room, "author": "alice", "body": body, "dateCreated": days_ago(days) }))
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success());
}

/// The client and the retention rules `rules`, as the settings give them.
fn setup(standin: &StandinServer, rules: &str) -> (ConversationsClient, config::Retention) {
    let mut raw = twilio_settings("https://host.example/jwks.json", &standin.url);
    raw.set(config::RETENTION, rules);
    let settings = Settings::parse(&raw, TwilioRequirement::Required).unwrap();
    let ProviderSettings::Twilio(twilio) = &settings.provider else {
        panic!("Twilio settings")
    };
    let client = ConversationsClient::new(backend::http_client::build().unwrap(), twilio, RetryPolicy::default());
    (client, settings.retention)
}

async fn bodies(client: &ConversationsClient, room: &str) -> Vec<String> {
    let sid = client
        .fetch_conversation(&backend::domain::ContextName::parse(room).unwrap())
        .await
        .unwrap()
        .unwrap()
        .sid;
    let page = client.messages_page(&sid, None).await.unwrap();
    page.items.into_iter().map(|m| m.body.unwrap_or_default()).collect()
}

#[tokio::test]
async fn messages_past_their_rooms_retention_go_and_nothing_else() {
    let standin = StandinServer::start().await;
    for room in ["general", "shipment-1", "random"] {
        standin.standin.seed_participation("alice", room);
    }
    for (room, body, days) in [
        ("general", "g-old", 40),
        ("general", "g-older-than-30", 31),
        ("general", "g-recent", 29),
        ("shipment-1", "s-old-but-kept", 80),
        ("shipment-1", "s-older-behind-a-younger", 91),
        ("random", "r-ancient", 999),
    ] {
        write(&standin, room, body, days).await;
    }
    let (client, rules) = setup(&standin, "general=30,shipment-=90");
    let clock = Clock::from_fn(|| NOW_MS);
    let done = expire(&client, &rules, &clock, Duration::from_secs(30)).await.unwrap();
    assert_eq!((done.rooms, done.deleted, done.done), (2, 2, true));
    assert_eq!(bodies(&client, "general").await, ["g-recent"]);
    // written in this order, so "s-older-behind-a-younger" (older) came after a younger one:
    // the walk stops at the first young message, as Twilio's order is by
    // index; it goes once the messages before it have aged out
    assert_eq!(
        bodies(&client, "shipment-1").await,
        ["s-old-but-kept", "s-older-behind-a-younger"]
    );
    assert_eq!(bodies(&client, "random").await, ["r-ancient"], "no rule: kept");
    let again = expire(&client, &rules, &clock, Duration::from_secs(30)).await.unwrap();
    assert_eq!((again.deleted, again.done), (0, true));
}

#[tokio::test]
async fn a_run_out_of_time_stops_and_the_next_finishes() {
    let standin = StandinServer::start().await;
    standin.standin.seed_participation("alice", "general");
    for i in 0..150 {
        write(&standin, "general", &format!("old {i}"), 100).await;
    }
    write(&standin, "general", "recent", 1).await;
    let (client, rules) = setup(&standin, "30");
    // a clock that moves a second each time it is read: the budget of 60
    // reads runs out partway
    let ticks = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let clock = Clock::from_fn({
        let ticks = ticks.clone();
        move || NOW_MS + 1000 * ticks.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    });
    let first = expire(&client, &rules, &clock, Duration::from_secs(60)).await.unwrap();
    assert!(!first.done && first.deleted > 0 && first.deleted < 150, "{first:?}");
    let still = bodies(&client, "general").await;
    assert_eq!(still.len(), 151 - first.deleted);
    let steady = Clock::from_fn(|| NOW_MS);
    let second = expire(&client, &rules, &steady, Duration::from_secs(60)).await.unwrap();
    assert!(second.done);
    assert_eq!(first.deleted + second.deleted, 150);
    assert_eq!(bodies(&client, "general").await, ["recent"]);
}
