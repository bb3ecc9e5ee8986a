//! `dachat configure` against the Twilio stand-in behind Prism's
//! validating proxy (every request and answer checked against Twilio's
//! OpenAPI description): what a token holder may do before and after, the
//! webhook, idempotence and the dry run.

use std::process::Output;
use std::time::Duration;

use backend::domain::{DeviceId, Identity};
use backend::secret::Secret;
use backend::tokens::twilio_token::Minter;
use serde_json::json;
use tokio::process::Command;

use crate::{DACHAT, service};

const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
const API_KEY_SID: &str = "SK0123456789abcdef0123456789abcdef";
const API_KEY_SECRET: &str = "test-api-key-secret-0123456789";

/// A service SID of this test run (the stand-in keeps roles per service).
fn service_sid() -> String {
    format!("IS{:032x}", u128::from(std::process::id()) << 64 | 0xc0f)
}

async fn configure(service_sid: &str, extra: &[&str]) -> Output {
    Command::new(DACHAT)
        .args(["configure", "--api", "https://api.example/prod/"])
        .args(extra)
        .env("DACHAT_TWILIO_ACCOUNT_SID", ACCOUNT_SID)
        .env("DACHAT_TWILIO_API_KEY", API_KEY_SID)
        .env("DACHAT_TWILIO_API_SECRET", API_KEY_SECRET)
        .env("DACHAT_TWILIO_CHAT_SERVICE_SID", service_sid)
        .env("DACHAT_TWILIO_BASE_URL", service("DACHAT_TEST_PRISM_PROXY"))
        .env_remove("DACHAT_TWILIO_AUTH_TOKEN")
        .env_remove("DACHAT_PUBLIC_URL")
        .output()
        .await
        .unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A real access token for `identity`, as the token service mints it.
fn access_token(identity: &str, service_sid: &str) -> String {
    let minter = Minter::new(
        ACCOUNT_SID,
        API_KEY_SID,
        &Secret::new(API_KEY_SECRET.into()),
        service_sid,
        Duration::from_secs(3600),
    )
    .unwrap();
    let device = DeviceId::parse("laptop").unwrap();
    minter
        .mint(
            &Identity::parse(identity).unwrap(),
            &device,
            backend::clock::Clock::system().now_secs(),
        )
        .jwt
}

/// What Twilio answers the token holder doing `action` (in `conversation`).
async fn may(token: &str, service_sid: &str, action: &str, conversation: Option<&str>) -> bool {
    let answer = reqwest::Client::new()
        .post(format!("{}/_standin/as-user", service("DACHAT_TEST_STANDIN")))
        .json(&json!({ "service": service_sid, "token": token, "action": action, "conversation": conversation }))
        .send()
        .await
        .unwrap();
    match answer.status().as_u16() {
        204 => true,
        403 => false,
        other => panic!("as-user {action}: HTTP {other}: {}", answer.text().await.unwrap()),
    }
}

async fn rest(method: reqwest::Method, path: &str, form: &[(&str, &str)]) -> serde_json::Value {
    let answer = reqwest::Client::new()
        .request(method, format!("{}{path}", service("DACHAT_TEST_PRISM_PROXY")))
        .basic_auth(API_KEY_SID, Some(API_KEY_SECRET))
        .form(form)
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{path}: {}", answer.status());
    answer.json().await.unwrap()
}

#[tokio::test]
async fn after_configure_a_token_holder_can_chat_but_not_join_add_or_remove() {
    let sid = service_sid();
    let services = format!("/v1/Services/{sid}");
    let room = rest(
        reqwest::Method::POST,
        &format!("{services}/Conversations"),
        &[("UniqueName", "shipment-1"), ("FriendlyName", "shipment-1")],
    )
    .await;
    let room = room["sid"].as_str().unwrap().to_owned();
    rest(
        reqwest::Method::POST,
        &format!("{services}/Conversations/{room}/Participants"),
        &[("Identity", "alice")],
    )
    .await;
    let alice = access_token("alice", &sid);
    let participant = format!("{services}/Conversations/{room}/Participants/alice");
    let room = Some(room.as_str());

    // Twilio's defaults: a token holder may join any conversation and add people
    assert!(may(&alice, &sid, "joinConversation", room).await);
    assert!(may(&alice, &sid, "createConversation", None).await);
    assert!(may(&alice, &sid, "addParticipant", room).await);

    let dry = stdout(&configure(&sid, &["--dry-run"]).await);
    assert!(dry.contains("would change 7 settings"), "{dry}");
    assert!(dry.contains("dry run: nothing changed"), "{dry}");
    assert!(
        may(&alice, &sid, "joinConversation", room).await,
        "a dry run changes nothing"
    );

    let first = stdout(&configure(&sid, &[]).await);
    assert!(first.contains("changing 7 settings"), "{first}");
    assert!(
        first.contains("role \"service user\"") && first.contains("-> [editOwnUserInfo]"),
        "{first}"
    );
    assert!(
        first
            .contains("post-event webhook: none -> https://api.example/prod/v1/webhooks/twilio (onMessageAdded, POST)"),
        "{first}"
    );

    for forbidden in [
        "joinConversation",
        "createConversation",
        "addParticipant",
        "removeParticipant",
    ] {
        assert!(
            !may(&alice, &sid, forbidden, room).await,
            "{forbidden} is refused after configure"
        );
    }
    for forbidden in [
        "editConversationName",
        "deleteAnyMessage",
        "editAnyMessage",
        "sendMediaMessage",
    ] {
        assert!(
            !may(&alice, &sid, forbidden, room).await,
            "{forbidden} is refused after configure"
        );
    }
    for allowed in ["sendMessage", "editOwnMessage", "deleteOwnMessage", "editOwnUserInfo"] {
        assert!(may(&alice, &sid, allowed, room).await, "{allowed} is still allowed");
    }

    let hooks = rest(reqwest::Method::GET, &format!("{services}/Configuration/Webhooks"), &[]).await;
    assert_eq!(hooks["post_webhook_url"], "https://api.example/prod/v1/webhooks/twilio");
    assert_eq!(hooks["filters"], json!(["onMessageAdded"]));
    let configuration = rest(reqwest::Method::GET, &format!("{services}/Configuration"), &[]).await;
    assert_eq!(configuration["reachability_enabled"], true);
    assert_eq!(
        configuration["default_conversation_creator_role_sid"],
        configuration["default_conversation_role_sid"]
    );

    // the moderation roles (issue #30): a muted member reads and cannot
    // send or edit; a moderator may do what a participant may, and no more
    assert!(
        first.contains("new conversation role \"dachat muted\": [deleteOwnMessage]"),
        "{first}"
    );
    let roles = rest(reqwest::Method::GET, &format!("{services}/Roles"), &[]).await;
    let role_sid = |name: &str| {
        roles["roles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["friendly_name"] == name && r["type"] == "conversation")
            .unwrap_or_else(|| panic!("no conversation role {name}: {roles}"))["sid"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    rest(
        reqwest::Method::POST,
        &participant,
        &[("RoleSid", &role_sid("dachat muted"))],
    )
    .await;
    for forbidden in ["sendMessage", "sendMediaMessage", "editOwnMessage"] {
        assert!(
            !may(&alice, &sid, forbidden, room).await,
            "{forbidden} is refused to the muted"
        );
    }
    assert!(may(&alice, &sid, "deleteOwnMessage", room).await);
    rest(
        reqwest::Method::POST,
        &participant,
        &[("RoleSid", &role_sid("dachat moderator"))],
    )
    .await;
    assert!(may(&alice, &sid, "sendMessage", room).await);
    for forbidden in ["deleteAnyMessage", "editAnyMessage", "removeParticipant"] {
        assert!(
            !may(&alice, &sid, forbidden, room).await,
            "{forbidden} is refused to a moderator's token"
        );
    }

    let second = stdout(&configure(&sid, &[]).await);
    assert!(second.contains("nothing to change"), "{second}");

    // attachments: media on, nothing else touched
    let media = stdout(&configure(&sid, &["--media"]).await);
    assert!(media.contains("changing 2 settings"), "{media}");
    assert!(may(&alice, &sid, "sendMediaMessage", room).await);
    assert!(!may(&alice, &sid, "joinConversation", room).await);
}

#[tokio::test]
async fn bad_input_is_refused_with_the_setting_named() {
    let output = Command::new(DACHAT)
        .args(["configure", "--api", "http://api.example"])
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("must be an https URL"));
    // the service checks Twilio's signatures against its public URL: a
    // webhook registered anywhere else would have every event refused
    let output = Command::new(DACHAT)
        .args(["configure", "--api", "https://api.example/prod"])
        .env("DACHAT_PUBLIC_URL", "https://chat.example.org")
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("DACHAT_PUBLIC_URL") && stderr.contains("https://chat.example.org/v1/webhooks/twilio"),
        "{stderr}"
    );
    let output = Command::new(DACHAT)
        .args(["configure", "--api", "https://api.example"])
        .env_remove("DACHAT_TWILIO_ACCOUNT_SID")
        .env_remove("DACHAT_TWILIO_API_KEY")
        .env_remove("DACHAT_TWILIO_API_SECRET")
        .env_remove("DACHAT_TWILIO_CHAT_SERVICE_SID")
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("DACHAT_TWILIO_ACCOUNT_SID") && stderr.contains("missing"),
        "{stderr}"
    );
}
