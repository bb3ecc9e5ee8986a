//! The suite every moderation store passes (memory, SQLite, DynamoDB).

#![allow(clippy::unwrap_used)]

use super::*;

fn action(at: i64, action: &str, room: &str, target: &str, detail: Option<i64>) -> Action {
    Action {
        at,
        moderator: "mia".into(),
        action: action.into(),
        room: room.into(),
        message_id: (action == "remove").then_some(7),
        target: Some(target.into()),
        detail: detail.map(|d| d.to_string()),
    }
}

/// Mutes kept and ended with their record, reports listed newest first
/// per room, the record oldest first.
pub async fn run(store: &dyn ModerationStore) {
    store
        .act(&action(1_000, "mute", "general", "bob", Some(61_000)))
        .await
        .unwrap();
    store
        .act(&action(2_000, "mute", "shipment-1", "bob", Some(9_000)))
        .await
        .unwrap();
    store
        .act(&action(3_000, "mute", "general", "cat", Some(5_000)))
        .await
        .unwrap();
    assert_eq!(
        store.mutes("bob").await.unwrap(),
        [
            Mute {
                room: "general".into(),
                until: 61_000
            },
            Mute {
                room: "shipment-1".into(),
                until: 9_000
            }
        ]
    );
    // a second mute moves the end
    store
        .act(&action(4_000, "mute", "general", "bob", Some(99_000)))
        .await
        .unwrap();
    store
        .act(&action(5_000, "unmute", "shipment-1", "bob", None))
        .await
        .unwrap();
    assert_eq!(
        store.mutes("bob").await.unwrap(),
        [Mute {
            room: "general".into(),
            until: 99_000
        }]
    );
    assert_eq!(store.mutes("nobody").await.unwrap(), []);
    store
        .act(&action(6_000, "remove", "general", "cat", None))
        .await
        .unwrap();

    let all = store.actions(None).await.unwrap();
    assert_eq!(
        all.iter().map(|a| a.at).collect::<Vec<_>>(),
        [1_000, 2_000, 3_000, 4_000, 5_000, 6_000]
    );
    assert_eq!(all[5], action(6_000, "remove", "general", "cat", None));
    assert_eq!(all[0].detail.as_deref(), Some("61000"));
    let general = store.actions(Some("general")).await.unwrap();
    assert_eq!(
        general.iter().map(|a| a.at).collect::<Vec<_>>(),
        [1_000, 3_000, 4_000, 6_000]
    );

    let report = |at: i64, room: &str, reason: &str| Report {
        id: 0,
        room: room.into(),
        message_id: 3,
        reporter: "cat".into(),
        reason: reason.into(),
        at,
    };
    let first = store.report(&report(10_000, "general", "spam")).await.unwrap();
    let second = store.report(&report(11_000, "general", "again")).await.unwrap();
    store.report(&report(12_000, "shipment-1", "elsewhere")).await.unwrap();
    assert_ne!(first.id, second.id);
    assert_eq!(first.reason, "spam");
    let listed = store.reports("general", 10).await.unwrap();
    assert_eq!(listed, [second.clone(), first]);
    assert_eq!(store.reports("general", 1).await.unwrap(), [second]);
    assert_eq!(store.reports("empty", 10).await.unwrap(), []);
    // counted by reporter, from a time on, in every room
    assert_eq!(store.reports_by("cat", 10_000).await.unwrap(), 3);
    assert_eq!(store.reports_by("cat", 11_000).await.unwrap(), 2);
    assert_eq!(store.reports_by("cat", 12_001).await.unwrap(), 0);
    assert_eq!(store.reports_by("bob", 0).await.unwrap(), 0);
}
