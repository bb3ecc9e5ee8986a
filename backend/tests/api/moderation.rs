//! Moderation on Twilio through `POST /v1/moderation` (issue #30), against
//! the Twilio stand-in, which keeps roles and answers what a token holder
//! may do as Twilio's realtime service would (`/_standin/as-user`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use backend::app::Deps;
use backend::clock::Clock;
use backend::twilio::moderation::{MemoryModeration, ModerationStore};
use serde_json::{Value, json};

use crate::support::*;

struct World {
    app: TestApp,
    key: HostKey,
    _jwks: JwksServer,
    standin: StandinServer,
    store: Arc<MemoryModeration>,
    /// Added to the system clock (ms): mutes end without waiting.
    ahead_ms: Arc<AtomicU64>,
}

/// An app on the stand-in with moderation kept in memory, and the
/// `dachat muted` role `dachat configure` makes.
async fn world() -> World {
    let key = HostKey::new("k1");
    let jwks = JwksServer::start(vec![key.standard_jwk()]).await;
    let standin = StandinServer::start().await;
    let store = Arc::new(MemoryModeration::default());
    let ahead_ms = Arc::new(AtomicU64::new(0));
    let mut deps = Deps::new(backend::http_client::build().unwrap());
    deps.policies = fast_policies();
    deps.moderation = Some(store.clone() as Arc<dyn ModerationStore>);
    let ahead = ahead_ms.clone();
    deps.clock = Clock::from_fn(move || now() * 1000 + ahead.load(Ordering::SeqCst));
    let app = TestApp::with_deps(&twilio_settings(&jwks.url, &standin.url), deps);
    let made = reqwest::Client::new()
        .post(format!("{}/v1/Services/{SERVICE_SID}/Roles", standin.url))
        .basic_auth(API_KEY_SID, Some(API_KEY_SECRET))
        .form(&[
            ("FriendlyName", "dachat muted"),
            ("Type", "conversation"),
            ("Permission", "deleteOwnMessage"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201, "{}", made.text().await.unwrap());
    World {
        app,
        key,
        _jwks: jwks,
        standin,
        store,
        ahead_ms,
    }
}

impl World {
    fn token(&self, sub: &str, contexts: &[&str], moderates: &[&str]) -> String {
        self.key.sign(&json!({
            "sub": sub, "contexts": contexts, "moderates": moderates, "iat": now(), "exp": now() + 600,
        }))
    }

    /// A session: the member is provisioned; their Twilio token.
    async fn join(&self, token: &str, room: &str) -> String {
        let answer = self.app.session(token, room).await;
        assert_eq!(answer.status, 200, "{}", answer.json);
        answer.json["accessToken"].as_str().unwrap().to_owned()
    }

    /// A message in `room` by `author`, as any client would post it; its index.
    async fn post(&self, room: &str, author: &str, body: &str) -> i64 {
        let answer: Value = reqwest::Client::new()
            .post(format!("{}/_standin/message", self.standin.url))
            .json(&json!({ "conversation": room, "author": author, "body": body }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["index"].as_i64().unwrap()
    }

    async fn moderate(&self, token: &str, frame: Value) -> Answer {
        self.app
            .post("/v1/moderation", &json!({ "token": token, "frame": frame }))
            .await
    }

    /// Whether Twilio lets the holder of `twilio_token` do `action` in `room`.
    async fn may(&self, twilio_token: &str, action: &str, room: &str) -> bool {
        let answer = reqwest::Client::new()
            .post(format!("{}/_standin/as-user", self.standin.url))
            .json(&json!({
                "service": SERVICE_SID, "token": twilio_token, "action": action, "conversation": room,
            }))
            .send()
            .await
            .unwrap();
        match answer.status().as_u16() {
            204 => true,
            403 => false,
            other => panic!("as-user {action}: HTTP {other}"),
        }
    }

    fn bodies(&self, room: &str) -> Vec<String> {
        self.standin
            .standin
            .messages_of(room)
            .into_iter()
            .map(|(_, body)| body)
            .collect()
    }
}

fn done(action: &str, room: &str) -> Value {
    json!({ "type": "done", "action": action, "room": room })
}

#[tokio::test]
async fn a_moderator_removes_mutes_and_unmutes_and_each_action_is_recorded() {
    let w = world().await;
    let mia = w.token("mia", &["general"], &["general"]);
    let bob = w.token("bob", &["general"], &[]);
    w.join(&mia, "general").await;
    let bob_twilio = w.join(&bob, "general").await;
    let spam = w.post("general", "bob", "buy now").await;
    w.post("general", "mia", "welcome").await;

    // a member cannot: the token names no moderator
    let refused = w
        .moderate(&bob, json!({ "type": "remove", "room": "general", "id": spam }))
        .await;
    assert_eq!(refused.status, 403, "{}", refused.json);
    assert_eq!(refused.json["error"], "not_moderator");
    assert_eq!(w.bodies("general"), ["buy now", "welcome"]);

    let removed = w
        .moderate(&mia, json!({ "type": "remove", "room": "general", "id": spam }))
        .await;
    assert_eq!(removed.status, 200, "{}", removed.json);
    assert_eq!(removed.json, done("remove", "general"));
    assert_eq!(w.bodies("general"), ["welcome"]);
    let again = w
        .moderate(&mia, json!({ "type": "remove", "room": "general", "id": spam }))
        .await;
    assert_eq!(again.status, 404, "{}", again.json);
    assert_eq!(again.json["message"], "That message is gone.");

    // muted: Twilio itself refuses their messages and edits, whatever the client
    assert!(w.may(&bob_twilio, "sendMessage", "general").await);
    let muted = w
        .moderate(
            &mia,
            json!({ "type": "mute", "room": "general", "identity": "bob", "minutes": 60 }),
        )
        .await;
    assert_eq!(muted.status, 200, "{}", muted.json);
    assert!(!w.may(&bob_twilio, "sendMessage", "general").await);
    assert!(!w.may(&bob_twilio, "sendMediaMessage", "general").await);
    assert!(!w.may(&bob_twilio, "editOwnMessage", "general").await);
    assert!(w.may(&bob_twilio, "deleteOwnMessage", "general").await);
    let unmuted = w
        .moderate(&mia, json!({ "type": "unmute", "room": "general", "identity": "bob" }))
        .await;
    assert_eq!(unmuted.status, 200, "{}", unmuted.json);
    assert!(w.may(&bob_twilio, "sendMessage", "general").await);

    let record: Vec<(String, String, Option<String>)> = w
        .store
        .actions(None)
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.moderator, a.action, a.target))
        .collect();
    assert_eq!(
        record,
        [
            ("mia".into(), "remove".into(), Some("bob".into())),
            ("mia".into(), "mute".into(), Some("bob".into())),
            ("mia".into(), "unmute".into(), Some("bob".into())),
        ]
    );
}

#[tokio::test]
async fn bad_requests_are_refused_with_the_reason_and_change_nothing() {
    let w = world().await;
    let mia = w.token("mia", &["general", "shipment-1"], &["general"]);
    w.join(&mia, "general").await;
    let cases = [
        // minutes out of range
        (
            json!({ "type": "mute", "room": "general", "identity": "bob", "minutes": 0 }),
            400,
            "bad_request",
        ),
        (
            json!({ "type": "mute", "room": "general", "identity": "bob", "minutes": 43_201 }),
            400,
            "bad_request",
        ),
        // no such member
        (
            json!({ "type": "mute", "room": "general", "identity": "nobody", "minutes": 5 }),
            404,
            "not_found",
        ),
        (
            json!({ "type": "mute", "room": "general", "identity": "Not An Identity!", "minutes": 5 }),
            400,
            "bad_request",
        ),
        // a room the token lists but does not name them a moderator of
        (
            json!({ "type": "remove", "room": "shipment-1", "id": 0 }),
            403,
            "not_moderator",
        ),
        // a room the token does not list at all
        (
            json!({ "type": "reports", "room": "group-public-7" }),
            403,
            "context_not_allowed",
        ),
        (
            json!({ "type": "report", "room": "general", "id": 0, "reason": "   " }),
            400,
            "bad_request",
        ),
        (
            json!({ "type": "report", "room": "general", "id": 0, "reason": "x".repeat(501) }),
            400,
            "bad_request",
        ),
        (
            json!({ "type": "remove", "room": "general", "id": 99 }),
            404,
            "not_found",
        ),
        (json!({ "type": "explode", "room": "general" }), 400, "bad_request"),
    ];
    for (frame, status, code) in cases {
        let answer = w.moderate(&mia, frame.clone()).await;
        assert_eq!(answer.status, status, "{frame}: {}", answer.json);
        assert_eq!(answer.json["error"], code, "{frame}");
        assert!(!answer.json["message"].as_str().unwrap().is_empty());
    }
    let forged = w
        .moderate("not-a-token", json!({ "type": "reports", "room": "general" }))
        .await;
    assert_eq!(forged.status, 401);
    assert!(w.store.actions(None).await.unwrap().is_empty());
    assert!(w.store.reports("general", 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_mute_past_its_end_is_lifted_on_the_members_next_token() {
    let w = world().await;
    let mia = w.token("mia", &["general"], &["general"]);
    let bob = w.token("bob", &["general"], &[]);
    w.join(&mia, "general").await;
    let bob_twilio = w.join(&bob, "general").await;
    let muted = w
        .moderate(
            &mia,
            json!({ "type": "mute", "room": "general", "identity": "bob", "minutes": 1 }),
        )
        .await;
    assert_eq!(muted.status, 200, "{}", muted.json);
    // a renewal before the end keeps the mute
    assert_eq!(w.app.renew(&bob).await.status, 200);
    assert!(!w.may(&bob_twilio, "sendMessage", "general").await);
    w.ahead_ms.store(61_000, Ordering::SeqCst);
    assert_eq!(w.app.renew(&bob).await.status, 200);
    assert!(w.may(&bob_twilio, "sendMessage", "general").await);
    let last = w.store.actions(None).await.unwrap().pop().unwrap();
    assert_eq!(
        (last.moderator.as_str(), last.action.as_str(), last.target.as_deref()),
        ("dachat", "unmute", Some("bob"))
    );
    assert!(w.store.mutes("bob").await.unwrap().is_empty());
}

#[tokio::test]
async fn any_member_reports_and_only_moderators_read_the_reports() {
    let w = world().await;
    let mia = w.token("mia", &["general"], &["general"]);
    let bob = w.token("bob", &["general"], &[]);
    w.join(&mia, "general").await;
    w.join(&bob, "general").await;
    let index = w.post("general", "mia", "something").await;
    let reported = w
        .moderate(
            &bob,
            json!({ "type": "report", "room": "general", "id": index, "reason": "  spam  " }),
        )
        .await;
    assert_eq!(reported.status, 200, "{}", reported.json);
    assert_eq!(reported.json, done("report", "general"));
    let hidden = w.moderate(&bob, json!({ "type": "reports", "room": "general" })).await;
    assert_eq!(hidden.status, 403);
    let listed = w.moderate(&mia, json!({ "type": "reports", "room": "general" })).await;
    assert_eq!(listed.status, 200, "{}", listed.json);
    assert_eq!(listed.json["type"], "reportList");
    let reports = listed.json["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0]["reporter"], "bob");
    assert_eq!(reports[0]["reason"], "spam");
    assert_eq!(reports[0]["messageId"], index);

    // at most 20 an hour from one person (each may e-mail the operator)
    for n in 2..=20 {
        let answer = w
            .moderate(
                &bob,
                json!({ "type": "report", "room": "general", "id": index, "reason": format!("spam {n}") }),
            )
            .await;
        assert_eq!(answer.status, 200, "report {n}: {}", answer.json);
    }
    let flood = w
        .moderate(
            &bob,
            json!({ "type": "report", "room": "general", "id": index, "reason": "one more" }),
        )
        .await;
    assert_eq!(flood.status, 429, "{}", flood.json);
    assert_eq!(flood.json["error"], "rate_limited");
    assert_eq!(flood.headers["retry-after"], "3600");
    assert_eq!(w.store.reports("general", 100).await.unwrap().len(), 20);
    // an hour later (with a token of then), one more is taken
    w.ahead_ms.store(3_600_001, Ordering::SeqCst);
    let then = now() + 3601;
    let bob_then = w
        .key
        .sign(&json!({ "sub": "bob", "contexts": ["general"], "iat": then, "exp": then + 600 }));
    let later = w
        .moderate(
            &bob_then,
            json!({ "type": "report", "room": "general", "id": index, "reason": "again" }),
        )
        .await;
    assert_eq!(later.status, 200, "{}", later.json);
}

#[tokio::test]
async fn without_a_store_moderation_is_not_offered_and_says_why() {
    let (app, key, _jwks, _standin) = twilio_app().await;
    let mia = key.sign(&json!({
        "sub": "mia", "contexts": ["general"], "moderates": ["general"], "iat": now(), "exp": now() + 600,
    }));
    let answer = app
        .post(
            "/v1/moderation",
            &json!({ "token": mia, "frame": { "type": "reports", "room": "general" } }),
        )
        .await;
    assert_eq!(answer.status, 503, "{}", answer.json);
    assert_eq!(answer.json["error"], "not_configured");
    assert!(answer.json["message"].as_str().unwrap().contains("DACHAT_NOTIFY_TABLE"));
}
