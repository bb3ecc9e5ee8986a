//! Whole provisioning flows through Prism's validating proxy in front of
//! our stateful stand-in: every request and every stand-in response is
//! checked against Twilio's API description (a violation is a 500, which
//! would fail the session).

use backend::config::TwilioSettings;
use backend::domain::Identity;
use backend::http_client::RetryPolicy;
use backend::secret::Secret;
use backend::twilio::rest::ConversationsClient;
use serde_json::json;

use crate::support::*;

fn proxy() -> String {
    crate::service("DACHAT_TEST_PRISM_PROXY")
}

fn client() -> ConversationsClient {
    let settings = TwilioSettings {
        account_sid: ACCOUNT_SID.into(),
        api_key_sid: API_KEY_SID.into(),
        api_key_secret: Secret::new(API_KEY_SECRET.into()),
        auth_token: Some(Secret::new(AUTH_TOKEN.into())),
        auth_token_missing: String::new(),
        chat_service_sid: SERVICE_SID.into(),
        base_url: proxy(),
    };
    ConversationsClient::new(
        backend::http_client::build().unwrap(),
        &settings,
        RetryPolicy::default(),
    )
}

async fn app() -> (TestApp, HostKey, JwksServer) {
    let key = HostKey::new("k1");
    let jwks = JwksServer::start(vec![key.standard_jwk()]).await;
    let mut policies = fast_policies();
    policies.retry.attempts = 1; // a violation must fail at once, not be retried away
    (TestApp::new(&twilio_settings(&jwks.url, &proxy()), policies), key, jwks)
}

#[tokio::test]
async fn sessions_provision_through_the_validating_proxy() {
    let (app, key, _jwks) = app().await;
    // unique names, since the stand-in is shared by the tests of this run
    let context = format!("shipment-proxy-{}", now());
    let first = app.session(&key.token("proxy-alice", &[&context]), &context).await;
    assert_eq!(first.status, 200, "{}", first.json);
    let second = app.session(&key.token("proxy-bob", &[&context]), &context).await;
    assert_eq!(second.status, 200, "{}", second.json);
    assert_eq!(first.json["conversationSid"], second.json["conversationSid"]);
    let sid = first.json["conversationSid"].as_str().unwrap();
    let twilio = client();
    assert!(
        twilio
            .participant_exists(sid, &Identity::parse("proxy-alice").unwrap())
            .await
            .unwrap()
    );
    assert!(
        twilio
            .participant_exists(sid, &Identity::parse("proxy-bob").unwrap())
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn revocation_lists_and_removes_through_the_validating_proxy() {
    let standin = crate::service("DACHAT_TEST_STANDIN");
    let keep = format!("group-keep-{}", now());
    let drop = format!("group-drop-{}", now());
    let http = reqwest::Client::new();
    for context in [&keep, &drop] {
        let seeded = http
            .post(format!("{standin}/_standin/seed-participation"))
            .json(&json!({ "identity": "proxy-carol", "context": context }))
            .send()
            .await
            .unwrap();
        assert!(seeded.status().is_success());
    }
    let (app, key, _jwks) = app().await;
    let answer = app.session(&key.token("proxy-carol", &[&keep]), &keep).await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    let carol = Identity::parse("proxy-carol").unwrap();
    let names: Vec<String> = client()
        .participations(&carol)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|p| p.conversation_unique_name)
        .collect();
    assert!(names.contains(&keep), "{names:?}");
    assert!(!names.contains(&drop), "{names:?}");
}

#[tokio::test]
async fn the_erasure_calls_and_the_stand_ins_answers_match_twilios_description() {
    let standin = crate::service("DACHAT_TEST_STANDIN");
    let room = format!("group-erase-{}", now());
    let http = reqwest::Client::new();
    let seeded = http
        .post(format!("{standin}/_standin/seed-participation"))
        .json(&json!({ "identity": "proxy-erin", "context": room }))
        .send()
        .await
        .unwrap();
    assert!(seeded.status().is_success());
    for body in ["one", "two"] {
        let written = http
            .post(format!("{standin}/_standin/message"))
            .json(&json!({ "conversation": room, "author": "proxy-erin", "body": body }))
            .send()
            .await
            .unwrap();
        assert!(written.status().is_success());
    }
    let twilio = client();
    // the service's conversations, paged to the one just made
    let mut next: Option<String> = None;
    let conversation = loop {
        let page = twilio.conversations_page(next.as_deref()).await.unwrap();
        if let Some(found) = page
            .items
            .into_iter()
            .find(|c| c.unique_name.as_deref() == Some(room.as_str()))
        {
            break found;
        }
        next = Some(page.next.expect("the room is on some page"));
    };
    let page = twilio.messages_page(&conversation.sid, None).await.unwrap();
    assert_eq!(page.items.len(), 2);
    assert!(page.items.iter().all(|m| m.author.as_deref() == Some("proxy-erin")));
    twilio
        .set_message_author(&conversation.sid, &page.items[0].sid, "former-member")
        .await
        .unwrap();
    twilio
        .delete_message(&conversation.sid, &page.items[1].sid)
        .await
        .unwrap();
    // what is gone already counts as done
    twilio
        .delete_message(&conversation.sid, &page.items[1].sid)
        .await
        .unwrap();
    let after = twilio.messages_page(&conversation.sid, None).await.unwrap();
    assert_eq!(
        after.items.iter().map(|m| m.author.as_deref()).collect::<Vec<_>>(),
        [Some("former-member")]
    );
    assert!(twilio.delete_user("proxy-erin").await.unwrap());
    assert!(!twilio.delete_user("proxy-erin").await.unwrap());
}
