//! The one suite both implementations of [`NotifyStore`] pass (a sibling
//! file, so the trait's file stays under 600 lines). Each check uses names
//! of its own (`prefix`), so runs against a shared store do not meet.

#![allow(clippy::unwrap_used)]

use super::*;

fn code(identity: &str, address: &str, issued_at: u64) -> PendingCode {
    PendingCode {
        identity: identity.to_owned(),
        address: address.to_owned(),
        tag: vec![1, 2, 3, issued_at as u8],
        issued_at,
        wrong_tries: 0,
        used: false,
    }
}

/// Runs every check against `store`.
pub async fn run_all<S: NotifyStore>(store: &S, prefix: &str) {
    claims_are_first_writer_wins(store, prefix).await;
    a_lease_runs_out_a_settled_claim_holds(store, prefix).await;
    deferred_events_wait_until_dropped(store, prefix).await;
    codes_replace_and_count(store, prefix).await;
    subscriptions_add_replace_and_remove(store, prefix).await;
    watches_keep_the_earliest_and_survive_a_sweep(store, prefix).await;
    room_mail_is_kept_per_room(store, prefix).await;
    reply_routes_expire_and_replies_count(store, prefix).await;
    a_person_is_found_and_forgotten_and_no_one_else(store, prefix).await;
    reply_routes_of_rooms_past_their_retention_go(store, prefix).await;
}

/// A room's reply routes whose last digest is older than its retention go;
/// younger ones, and other rooms', stay.
pub async fn reply_routes_of_rooms_past_their_retention_go<S: NotifyStore>(store: &S, prefix: &str) {
    let room = format!("{prefix}-kept-short");
    let route = |tag: &str, context: &str| ReplyRoute {
        tag: format!("{prefix}-{tag}"),
        identity: format!("{prefix}-alice"),
        context: context.to_owned(),
    };
    store.put_reply_routes(&[route("old", &room)], 1_000).await.unwrap();
    store
        .put_reply_routes(&[route("young", &room), route("elsewhere", "general")], 5_000)
        .await
        .unwrap();
    // the room keeps 3,000 s: digests before 2,000 are past it (now 5,000)
    let cutoff = |context: &str| (context == room).then_some(2_000);
    assert_eq!(store.expire_reply_routes(&cutoff).await.unwrap(), 1);
    assert_eq!(store.reply_route(&format!("{prefix}-old"), 5_000).await.unwrap(), None);
    assert!(
        store
            .reply_route(&format!("{prefix}-young"), 5_000)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .reply_route(&format!("{prefix}-elsewhere"), 5_000)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(store.expire_reply_routes(&cutoff).await.unwrap(), 0, "nothing twice");
}

/// Everything about one person is counted, kept on a dry run, removed
/// on erasure (once: a second run finds nothing), and another person's
/// items, even in the same rooms and at the same address, stay.
pub async fn a_person_is_found_and_forgotten_and_no_one_else<S: NotifyStore>(store: &S, prefix: &str) {
    let (alice, bob) = (format!("{prefix}-forget-alice"), format!("{prefix}-forget-bob"));
    let address = format!("{prefix}-shared@example.org");
    for who in [&alice, &bob] {
        let mut code = code(who, &address, 1_000);
        code.tag = vec![9];
        store.put_code(&code, &address).await.unwrap();
        store
            .subscribe(&Subscription {
                identity: who.clone(),
                context: Some("shipment-1".into()),
                address: address.clone(),
                since: 1_000,
            })
            .await
            .unwrap();
        store.watch(who, 2_000).await.unwrap();
        store
            .record_room_mail(
                who,
                &[RoomMail {
                    context: "shipment-1".into(),
                    emails: 1,
                    last_email_at: 1_500,
                    horizon: Some(3),
                }],
            )
            .await
            .unwrap();
        store
            .put_reply_routes(
                &[ReplyRoute {
                    tag: format!("{who}-tag"),
                    identity: who.clone(),
                    context: "shipment-1".into(),
                }],
                1_000,
            )
            .await
            .unwrap();
        store.log_reply(who, 1_100).await.unwrap();
        store
            .defer_event(&DeferredEvent {
                key: format!("{who}-event"),
                conversation: "CH1".into(),
                author: who.clone(),
                at: 1_200,
            })
            .await
            .unwrap();
    }
    let expected = KeptAbout {
        subscriptions: 1,
        codes: 1,
        codes_sent: 1,
        watches: 1,
        room_mail: 1,
        reply_routes: 1,
        replies_logged: 1,
        deferred_events: 1,
    };
    // a dry run counts and removes nothing
    assert_eq!(store.forget(&alice, false).await.unwrap(), expected);
    assert_eq!(store.forget(&alice, false).await.unwrap(), expected);
    assert_eq!(store.forget(&alice, true).await.unwrap(), expected);
    assert_eq!(
        store.forget(&alice, true).await.unwrap(),
        KeptAbout::default(),
        "idempotent"
    );
    assert_eq!(store.forget(&alice, false).await.unwrap().total(), 0);
    assert!(store.subscriptions(&alice).await.unwrap().is_empty());
    assert_eq!(store.code(&alice, &address).await.unwrap(), None);
    assert_eq!(store.reply_route(&format!("{alice}-tag"), 1_001).await.unwrap(), None);
    assert_eq!(store.recent_replies(&alice, 0).await.unwrap(), 0);
    assert!(store.room_mail(&alice).await.unwrap().is_empty());
    let recent = store.recent_codes(&alice, &address, 0).await.unwrap();
    assert_eq!(recent.to_identity, 0);
    // bob, at the same address and in the same room, is untouched
    assert_eq!(store.forget(&bob, false).await.unwrap(), expected);
    assert_eq!(store.recent_codes(&bob, &address, 0).await.unwrap().to_address, 1);
    assert!(
        store
            .due_watches(u64::MAX / 2, 10_000)
            .await
            .unwrap()
            .iter()
            .any(|w| w.identity == bob)
    );
    assert!(
        !store
            .deferred_events(10_000)
            .await
            .unwrap()
            .iter()
            .any(|e| e.author == alice)
    );
    store.forget(&bob, true).await.unwrap();
}

pub async fn watches_keep_the_earliest_and_survive_a_sweep<S: NotifyStore>(store: &S, prefix: &str) {
    // A shared store holds other runs' watches: look only at ours.
    let ours = |watches: Vec<Watch>| -> Vec<Watch> {
        watches.into_iter().filter(|w| w.identity.starts_with(prefix)).collect()
    };
    let alice = format!("{prefix}-alice");
    let bob = format!("{prefix}-bob");
    store.watch(&alice, 500).await.unwrap();
    store.watch(&alice, 700).await.unwrap();
    store.watch(&bob, 400).await.unwrap();
    assert_eq!(ours(store.due_watches(399, 100).await.unwrap()), []);
    let due = ours(store.due_watches(600, 100).await.unwrap());
    assert_eq!(
        due.iter().map(|w| (w.identity.as_str(), w.due_at)).collect::<Vec<_>>(),
        [(bob.as_str(), 400), (alice.as_str(), 500)],
        "the earlier of two watches, earliest first"
    );
    let (bob_w, alice_w) = (due[0].clone(), due[1].clone());

    // nothing happened to bob meanwhile: settled away
    store.settle_watch(&bob_w, None).await.unwrap();
    // a message for alice arrived while the sweep looked at her
    store.watch(&alice, 900).await.unwrap();
    store.settle_watch(&alice_w, None).await.unwrap();
    let left = ours(store.due_watches(10_000, 100).await.unwrap());
    assert_eq!(left.len(), 1, "the newer watch of alice stays: {left:?}");
    assert_eq!((left[0].identity.as_str(), left[0].due_at), (alice.as_str(), 500));

    // settled to a later time
    store.settle_watch(&left[0], Some(4_000)).await.unwrap();
    assert_eq!(ours(store.due_watches(3_999, 100).await.unwrap()), []);
    let later = ours(store.due_watches(4_000, 100).await.unwrap());
    assert_eq!(later.iter().map(|w| w.due_at).collect::<Vec<_>>(), [4_000]);
    store.settle_watch(&later[0], None).await.unwrap();
    assert_eq!(ours(store.due_watches(u64::MAX / 2, 100).await.unwrap()), []);
}

pub async fn reply_routes_expire_and_replies_count<S: NotifyStore>(store: &S, prefix: &str) {
    let route = ReplyRoute {
        tag: format!("{prefix}0123456789abcdef"),
        identity: format!("{prefix}-alice"),
        context: "shipment-7".to_owned(),
    };
    assert_eq!(store.reply_route(&route.tag, 1_000).await.unwrap(), None);
    // more routes than one DynamoDB batch takes
    let many: Vec<ReplyRoute> = (0..30)
        .map(|n| ReplyRoute {
            tag: format!("{prefix}many{n:02}"),
            identity: format!("{prefix}-p{n}"),
            context: "general".to_owned(),
        })
        .chain([route.clone(), route.clone()]) // a tag twice: kept once
        .collect();
    store.put_reply_routes(&many, 1_000).await.unwrap();
    for kept in &many {
        assert_eq!(store.reply_route(&kept.tag, 1_500).await.unwrap().as_ref(), Some(kept));
    }
    assert_eq!(store.reply_route(&route.tag, 2_000).await.unwrap(), Some(route.clone()));
    let lapse = 1_000 + REPLY_ROUTE_SECS;
    assert_eq!(store.reply_route(&route.tag, lapse).await.unwrap(), None, "expired");
    // another digest carried it: the time starts over
    store
        .put_reply_routes(std::slice::from_ref(&route), 5_000)
        .await
        .unwrap();
    assert_eq!(store.reply_route(&route.tag, lapse).await.unwrap(), Some(route.clone()));

    let alice = &route.identity;
    let bob = format!("{prefix}-bob");
    for at in [10_000, 10_000, 12_000] {
        store.log_reply(alice, at).await.unwrap();
    }
    store.log_reply(&bob, 12_000).await.unwrap();
    assert_eq!(
        store.recent_replies(alice, 10_000).await.unwrap(),
        3,
        "two in one second stay two"
    );
    assert_eq!(store.recent_replies(alice, 11_000).await.unwrap(), 1);
    assert_eq!(store.recent_replies(&bob, 0).await.unwrap(), 1);
}

pub async fn room_mail_is_kept_per_room<S: NotifyStore>(store: &S, prefix: &str) {
    let alice = format!("{prefix}-alice");
    let mail = |context: &str, emails, at, horizon| RoomMail {
        context: context.to_owned(),
        emails,
        last_email_at: at,
        horizon,
    };
    assert_eq!(store.room_mail(&alice).await.unwrap(), []);
    store
        .record_room_mail(
            &alice,
            &[mail("general", 1, 100, None), mail("shipment-1", 1, 100, Some(7))],
        )
        .await
        .unwrap();
    store
        .record_room_mail(&alice, &[mail("general", 2, 3_700, Some(3))])
        .await
        .unwrap();
    let mut kept = store.room_mail(&alice).await.unwrap();
    kept.sort_by(|a, b| a.context.cmp(&b.context));
    assert_eq!(
        kept,
        [mail("general", 2, 3_700, Some(3)), mail("shipment-1", 1, 100, Some(7))]
    );
}

pub async fn claims_are_first_writer_wins<S: NotifyStore>(store: &S, prefix: &str) {
    let key = format!("{prefix}-IM0001");
    assert_eq!(
        store.claim(&key, 100).await.unwrap(),
        Claim::Taken,
        "the first claim wins"
    );
    assert_eq!(
        store.claim(&key, 101).await.unwrap(),
        Claim::UnderWay,
        "a retry finds it claimed"
    );
    let racing = format!("{prefix}-IM0002");
    let (a, b) = tokio::join!(store.claim(&racing, 100), store.claim(&racing, 100));
    let taken = [a.unwrap(), b.unwrap()].iter().filter(|c| **c == Claim::Taken).count();
    assert_eq!(taken, 1, "of two racing claims exactly one wins");
    store.unclaim(&key).await.unwrap();
    assert_eq!(
        store.claim(&key, 102).await.unwrap(),
        Claim::Taken,
        "given up, it may be claimed again"
    );
}

pub async fn deferred_events_wait_until_dropped<S: NotifyStore>(store: &S, prefix: &str) {
    let event = |n: u64| DeferredEvent {
        key: format!("{prefix}-twilio#IM{n}"),
        conversation: format!("CH{prefix}"),
        author: "bob".into(),
        at: 1_000 + n,
    };
    let ours = |all: Vec<DeferredEvent>| -> Vec<DeferredEvent> {
        all.into_iter().filter(|e| e.key.starts_with(prefix)).collect()
    };
    store.defer_event(&event(2)).await.unwrap();
    store.defer_event(&event(1)).await.unwrap();
    store.defer_event(&event(2)).await.unwrap();
    assert_eq!(
        ours(store.deferred_events(100).await.unwrap()),
        [event(1), event(2)],
        "oldest first, once each"
    );
    store.drop_deferred(&event(1).key).await.unwrap();
    assert_eq!(ours(store.deferred_events(100).await.unwrap()), [event(2)]);
    store.drop_deferred(&event(2).key).await.unwrap();
    assert_eq!(ours(store.deferred_events(100).await.unwrap()), []);
}

/// A claim whose worker died is taken over when its lease runs out; a
/// settled one holds for days.
pub async fn a_lease_runs_out_a_settled_claim_holds<S: NotifyStore>(store: &S, prefix: &str) {
    let key = format!("{prefix}-IM0003");
    assert_eq!(store.claim(&key, 1_000).await.unwrap(), Claim::Taken);
    assert_eq!(
        store.claim(&key, 1_000 + LEASE_SECS - 1).await.unwrap(),
        Claim::UnderWay
    );
    let later = 1_000 + LEASE_SECS;
    assert_eq!(
        store.claim(&key, later).await.unwrap(),
        Claim::Taken,
        "the lease ran out: taken over"
    );
    store.settle(&key, later + 5).await.unwrap();
    assert_eq!(store.claim(&key, later + 6).await.unwrap(), Claim::Done);
    assert_eq!(
        store.claim(&key, later + 5 + CLAIM_SECS - 1).await.unwrap(),
        Claim::Done,
        "settled, it holds for days"
    );
}

pub async fn codes_replace_and_count<S: NotifyStore>(store: &S, prefix: &str) {
    let alice = format!("{prefix}-alice");
    let address = format!("{prefix}-alice@example.org");
    assert_eq!(store.code(&alice, &address).await.unwrap(), None);
    store.put_code(&code(&alice, &address, 1_000), &address).await.unwrap();
    let second = code(&alice, &address, 1_100);
    store.put_code(&second, &address).await.unwrap();
    assert_eq!(
        store.code(&alice, &address).await.unwrap(),
        Some(second.clone()),
        "the newer replaces"
    );
    let mut checked = second.clone();
    checked.wrong_tries = 2;
    checked.used = true;
    store.update_code(&checked).await.unwrap();
    assert_eq!(store.code(&alice, &address).await.unwrap(), Some(checked));

    // another identity asks for the same address; alice for another address
    let bob = format!("{prefix}-bob");
    store.put_code(&code(&bob, &address, 1_200), &address).await.unwrap();
    let other = format!("{prefix}-other@example.org");
    store.put_code(&code(&alice, &other, 1_300), &other).await.unwrap();
    // the log counts by mailbox: a code to a spelling of alice's address
    // is kept under its own address but counted as hers
    let spelling = format!("{prefix}-alice+x@example.org");
    store.put_code(&code(&bob, &spelling, 1_400), &address).await.unwrap();
    assert_eq!(
        store.code(&bob, &spelling).await.unwrap().map(|c| c.issued_at),
        Some(1_400)
    );
    assert_eq!(
        store.recent_codes(&alice, &address, 0).await.unwrap(),
        RecentCodes {
            to_identity: 3,
            to_address: 4
        }
    );
    assert_eq!(
        store.recent_codes(&alice, &address, 1_100).await.unwrap(),
        RecentCodes {
            to_identity: 2,
            to_address: 3
        },
        "only codes sent since then"
    );
}

pub async fn subscriptions_add_replace_and_remove<S: NotifyStore>(store: &S, prefix: &str) {
    let alice = format!("{prefix}-alice");
    let sub = |context: Option<&str>, address: &str, since| Subscription {
        identity: alice.clone(),
        context: context.map(str::to_owned),
        address: address.to_owned(),
        since,
    };
    assert_eq!(store.subscriptions(&alice).await.unwrap(), []);
    store
        .subscribe(&sub(Some("shipment-1"), "a@example.org", 10))
        .await
        .unwrap();
    store.subscribe(&sub(None, "a@example.org", 11)).await.unwrap();
    store
        .subscribe(&sub(Some("shipment-1"), "b@example.org", 12))
        .await
        .unwrap();
    assert_eq!(
        store.subscriptions(&alice).await.unwrap(),
        [
            sub(None, "a@example.org", 11),
            sub(Some("shipment-1"), "b@example.org", 12)
        ],
        "one per (identity, context), the latest address"
    );
    assert!(store.unsubscribe(&alice, Some("shipment-1")).await.unwrap());
    assert!(
        !store.unsubscribe(&alice, Some("shipment-1")).await.unwrap(),
        "already gone"
    );
    assert!(store.unsubscribe(&alice, None).await.unwrap());
    assert_eq!(store.subscriptions(&alice).await.unwrap(), []);
}
