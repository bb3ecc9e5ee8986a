//! Twilio's `onMessageAdded` webhook into the notifier, on the real `dachat
//! serve` with Twilio settings (the REST API is our stand-in, in this
//! process): a signed event watches the room's followers, the same event
//! again is recognised and does nothing, a forged one is refused before
//! anything is noted, and events that arrive out of order are each noted.

use crate::support::serve;
use backend::secret::Secret;
use serde_json::json;

const AUTH_TOKEN: &str = "webhook-test-auth-token";

pub(crate) fn sid(prefix: &str) -> String {
    format!("{prefix}0123456789abcdef0123456789abcdef")
}

pub(crate) async fn standin() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = twilio_standin::router(twilio_standin::Standin::default());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// The settings of a server on Twilio whose REST API is at `twilio`.
pub(crate) fn twilio_env(twilio: &str) -> Vec<(&'static str, String)> {
    vec![
        ("DACHAT_TWILIO_ACCOUNT_SID", sid("AC")),
        ("DACHAT_TWILIO_API_KEY", sid("SK")),
        ("DACHAT_TWILIO_API_SECRET", "webhook-test-api-secret".to_owned()),
        ("DACHAT_TWILIO_AUTH_TOKEN", AUTH_TOKEN.to_owned()),
        ("DACHAT_TWILIO_CHAT_SERVICE_SID", sid("IS")),
        ("DACHAT_TWILIO_BASE_URL", twilio.to_owned()),
    ]
}

/// `dachat serve` with Twilio settings whose REST API is the stand-in at
/// `twilio`, and `extra` settings.
pub(crate) fn twilio_server_with(name: &str, twilio: &str, extra: &[(&str, &str)]) -> crate::support::Server {
    let settings = twilio_env(twilio);
    let mut env: Vec<(&str, &str)> = settings.iter().map(|(n, v)| (*n, v.as_str())).collect();
    env.extend_from_slice(extra);
    serve(name, &env)
}

fn twilio_server(name: &str, twilio: &str) -> crate::support::Server {
    twilio_server_with(name, twilio, &[])
}

fn event(message: &str, conversation: &str, author: &str) -> Vec<(String, String)> {
    [
        ("EventType", "onMessageAdded"),
        ("MessageSid", message),
        ("ConversationSid", conversation),
        ("Author", author),
        ("Body", "pallet 4 is damaged"),
        ("DateCreated", "2026-12-03T10:00:00Z"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

/// Alice (e-mail on for every room, at the address the host vouches for)
/// and bob in each of `rooms`; the conversation SID of the first room.
pub(crate) async fn alice_follows_with_bob(server: &crate::support::Server, rooms: &[&str]) -> String {
    let alice = server.token("alice", Some("alice@example.org")).await;
    let bob = server.token("bob", None).await;
    let mut conversation = String::new();
    for room in rooms {
        for token in [&alice, &bob] {
            let (status, session) = server
                .post("/v1/session", json!({ "token": token, "context": room }))
                .await;
            assert_eq!(status, 200, "{session}");
            assert_eq!(session["provider"], "twilio");
            if conversation.is_empty() {
                conversation = session["conversationSid"].as_str().unwrap().to_owned();
            }
        }
    }
    let (_, on) = server
        .post("/v1/notifications/subscribe", json!({ "token": alice }))
        .await;
    assert_eq!(on["state"], "on");
    conversation
}

#[tokio::test]
async fn signed_message_events_are_noted_once_and_forged_ones_refused() {
    let twilio = standin().await;
    let server = twilio_server("twilio-webhook", &twilio);
    let conversation = alice_follows_with_bob(&server, &["shipment-1"]).await;

    let url = format!("{}/v1/webhooks/twilio", server.base);
    let deliver = |params: Vec<(String, String)>, signature: Option<String>| {
        let (http, url) = (server.http.clone(), url.clone());
        async move {
            let mut request = http.post(&url).form(&params);
            if let Some(signature) = signature {
                request = request.header("x-twilio-signature", signature);
            }
            request.send().await.unwrap().status().as_u16()
        }
    };
    let token = Secret::new(AUTH_TOKEN.into());
    let signed = |params: &Vec<(String, String)>| Some(backend::twilio::signature::sign(&token, &url, params));
    let noted = "its room's followers are watched";
    let repeat = "a message delivered again";

    let first = event("IM00000000000000000000000000000001", &conversation, "bob");
    assert_eq!(deliver(first.clone(), signed(&first)).await, 200);
    server.logged(noted, 1).await;
    assert!(server.log_count("watched=1") >= 1, "alice, not bob (the author)");
    // Twilio delivers it again: recognised, nothing done twice
    assert_eq!(deliver(first.clone(), signed(&first)).await, 200);
    server.logged(repeat, 1).await;
    assert_eq!(server.log_count(noted), 1);

    // forged: a body the signature does not cover, or no signature
    let mut forged = event("IM00000000000000000000000000000009", &conversation, "bob");
    let signature = signed(&forged);
    forged[4].1 = "send the pallets elsewhere".into();
    assert_eq!(deliver(forged.clone(), signature).await, 403);
    assert_eq!(deliver(forged, None).await, 403);

    // out of order: the third message before the second; each is noted once
    let third = event("IM00000000000000000000000000000003", &conversation, "bob");
    let second = event("IM00000000000000000000000000000002", &conversation, "bob");
    assert_eq!(deliver(third.clone(), signed(&third)).await, 200);
    assert_eq!(deliver(second.clone(), signed(&second)).await, 200);
    server.logged(noted, 3).await;
    assert_eq!(deliver(second.clone(), signed(&second)).await, 200);
    server.logged(repeat, 2).await;
    assert_eq!(server.log_count(noted), 3, "the forged ones were never noted");
}

/// Posts a message into the stand-in as Twilio's SDK would have, and
/// delivers Twilio's signed webhook for it.
/// Writes a message into the stand-in as Twilio's SDK would have (no
/// webhook); the stand-in's answer (`sid`, `conversationSid`).
async fn standin_message(
    server: &crate::support::Server,
    twilio: &str,
    conversation: &str,
    author: &str,
) -> serde_json::Value {
    server
        .http
        .post(format!("{twilio}/_standin/message"))
        .json(&json!({ "conversation": conversation, "author": author, "body": "pallet 4 is damaged" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

pub(crate) async fn twilio_message(
    server: &crate::support::Server,
    twilio: &str,
    conversation: &str,
    author: &str,
) -> (String, i64) {
    let posted = standin_message(server, twilio, conversation, author).await;
    let sid = posted["sid"].as_str().unwrap().to_owned();
    let conversation_sid = posted["conversationSid"].as_str().unwrap().to_owned();
    let url = format!("{}/v1/webhooks/twilio", server.base);
    let mut params = event(&sid, &conversation_sid, author);
    params.retain(|(k, _)| k != "DateCreated");
    let signature = backend::twilio::signature::sign(&Secret::new(AUTH_TOKEN.into()), &url, &params);
    let status = server
        .http
        .post(&url)
        .form(&params)
        .header("x-twilio-signature", signature)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    (sid, posted["index"].as_i64().unwrap())
}

#[tokio::test]
async fn on_twilio_a_digest_names_what_others_wrote_and_she_has_not_read() {
    let twilio = standin().await;
    let server = twilio_server("twilio-digest", &twilio);
    alice_follows_with_bob(&server, &["shipment-1", "general"]).await;

    // her own message is never e-mailed about; bob's is
    twilio_message(&server, &twilio, "general", "alice").await;
    let (_, first) = twilio_message(&server, &twilio, "shipment-1", "bob").await;
    let mail = server.inbox_of(1).await;
    assert_eq!(mail[0]["to"], "alice@example.org");
    assert_eq!(mail[0]["subject"], "DAChat: 1 new message in shipment-1");

    // she reads it (her horizon moves, as the SDK would set it); bob writes again
    let read = server
        .http
        .post(format!("{twilio}/_standin/read"))
        .json(&json!({ "conversation": "shipment-1", "identity": "alice", "index": first }))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 204);
    twilio_message(&server, &twilio, "shipment-1", "bob").await;
    let mail = server.inbox_of(2).await;
    assert_eq!(
        mail[1]["subject"], "DAChat: 1 new message in shipment-1",
        "only the message after her horizon; read, so not throttled"
    );
    assert!(
        !mail[1]["text"].as_str().unwrap().contains("general"),
        "her own message in general is not named"
    );
}

/// SendGrid Inbound Parse's fields in its parsed mode (headers, text,
/// envelope, SPF and DKIM results) for a reply to `reply_to` saying `text`.
pub(crate) fn sendgrid_parsed(
    reply_to: &str,
    message_id: &str,
    from: &str,
    spf: &str,
    text: &str,
) -> Vec<(&'static str, String)> {
    vec![
        (
            "headers",
            format!("From: Alice <{from}>\nTo: {reply_to}\nMessage-ID: <{message_id}>\nSubject: Re: x\n"),
        ),
        ("from", format!("Alice <{from}>")),
        ("to", reply_to.to_owned()),
        ("envelope", json!({ "to": [reply_to], "from": from }).to_string()),
        ("text", format!("{text}\n\nOn Tue, 3 Dec 2026, DAChat wrote:\n> old\n")),
        ("SPF", spf.to_owned()),
        ("dkim", "none".to_owned()),
        ("attachments", "0".to_owned()),
    ]
}

/// The stand-in's page of `room`'s 50 newest messages, read as DAChat
/// reads it.
pub(crate) async fn latest_messages(http: &reqwest::Client, twilio: &str, room: &str) -> serde_json::Value {
    http.get(format!(
        "{twilio}/v1/Services/{}/Conversations/{room}/Messages?Order=desc&PageSize=50",
        sid("IS")
    ))
    .basic_auth(sid("SK"), Some("webhook-test-api-secret"))
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap()
}

/// A multipart/form-data body of `fields`, as SendGrid posts one.
pub(crate) fn form_data(fields: &[(&str, &str)]) -> (String, String) {
    let boundary = "xYzZY";
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn on_twilio_a_reply_through_sendgrid_inbound_parse_lands_in_the_conversation() {
    const KEY: &str = "inboundkey0123456789abcdef0123456789";
    let twilio = standin().await;
    let server = twilio_server_with("twilio-reply", &twilio, &[("DACHAT_INBOUND_KEY", KEY)]);
    alice_follows_with_bob(&server, &["shipment-1"]).await;
    twilio_message(&server, &twilio, "shipment-1", "bob").await;
    let digest = server.inbox_of(1).await.remove(0);
    let reply_to = crate::support::header(&digest, "Reply-To").to_owned();

    let inbound = |key: &str, fields: Vec<(&str, String)>| {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let (content_type, body) = form_data(&fields);
        let request = server
            .http
            .post(format!("{}/v1/inbound/sendgrid?key={key}", server.base))
            .header("content-type", content_type)
            .body(body);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<serde_json::Value>().await.unwrap())
        }
    };
    let parsed = |message_id: &str, from: &str, spf: &str| {
        sendgrid_parsed(&reply_to, message_id, from, spf, "Pallet 4 is replaced.")
    };
    let (status, answer) = inbound("wrong", parsed("m1@example.org", "alice@example.org", "pass")).await;
    assert_eq!((status, answer["error"].as_str()), (403, Some("bad_key")));
    let (status, answer) = inbound(KEY, parsed("m1@example.org", "alice@example.org", "fail")).await;
    assert_eq!(
        (status, &answer["reason"]),
        (200, &json!("unauthenticated")),
        "SPF failed and no DKIM: {answer}"
    );
    // no SPF or DKIM result at all: nobody vouched for the sender
    let unvouched: Vec<(&str, String)> = parsed("m1@example.org", "alice@example.org", "pass")
        .into_iter()
        .filter(|(name, _)| !matches!(*name, "SPF" | "dkim"))
        .collect();
    let (status, answer) = inbound(KEY, unvouched).await;
    assert_eq!(
        (status, &answer["reason"]),
        (200, &json!("unauthenticated")),
        "no SPF or DKIM result: {answer}"
    );
    let (status, answer) = inbound(KEY, parsed("m2@example.org", "alice@example.org", "pass")).await;
    assert_eq!((status, &answer), (200, &json!({ "outcome": "posted" })));
    let (_, answer) = inbound(KEY, parsed("m2@example.org", "alice@example.org", "pass")).await;
    assert_eq!(answer, json!({ "outcome": "repeat" }), "SendGrid delivered it again");

    let messages = latest_messages(&server.http, &twilio, "shipment-1").await;
    let newest = &messages["messages"][0];
    assert_eq!(
        (newest["author"].as_str(), newest["body"].as_str()),
        (Some("alice"), Some("Pallet 4 is replaced.")),
        "{messages}"
    );
    // marked as by e-mail, with the e-mail's key (a hash of its Message-ID)
    // that keeps a delivery again from posting it twice
    let attributes: serde_json::Value = serde_json::from_str(newest["attributes"].as_str().unwrap()).unwrap();
    assert_eq!(attributes["via"], "email");
    assert!(
        attributes["email"].as_str().is_some_and(|key| key.len() == 64),
        "{attributes}"
    );
    let from_alice = messages["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["author"] == "alice")
        .count();
    assert_eq!(from_alice, 1, "landed once");
}

#[tokio::test]
async fn a_webhook_answers_in_time_while_twilios_api_is_slow_and_the_next_sweep_notes_its_event() {
    let twilio = standin().await;
    let proxy = testkit::fault::FaultProxy::start(&twilio).await.unwrap();
    let server = twilio_server("twilio-webhook-slow", &proxy.url);
    let conversation = alice_follows_with_bob(&server, &["shipment-1"]).await;

    // reading the room takes Twilio 10 s (the notifier's client waits 5 s
    // an attempt); Twilio gives a webhook 5 s
    proxy.inject(
        "GET",
        &format!("/Conversations/{conversation}"),
        testkit::fault::Fault::Delay(std::time::Duration::from_secs(10)),
        u32::MAX,
    );
    let url = format!("{}/v1/webhooks/twilio", server.base);
    let token = Secret::new(AUTH_TOKEN.into());
    // bob writes in the room (stored on Twilio), and Twilio's webhook comes
    let posted = standin_message(&server, &twilio, "shipment-1", "bob").await;
    let message = event(posted["sid"].as_str().unwrap(), &conversation, "bob");
    let signature = backend::twilio::signature::sign(&token, &url, &message);
    let deliver = || {
        server
            .http
            .post(&url)
            .form(&message)
            .header("x-twilio-signature", signature.clone())
            .send()
    };
    // answered at the event's budget (4 s), not after the reads gave up
    assert_eq!(deliver().await.unwrap().status(), 200);
    server.logged("not noted in time", 1).await;
    server.logged("a message event deferred to the next sweep", 1).await;
    // the sweeps meanwhile find Twilio still slow and keep the event
    server
        .logged("deferred message events wait for the next sweep", 1)
        .await;

    // Twilio's API is back; Twilio does not deliver the event again, and
    // needs not: a sweep notes it, once
    proxy.heal();
    server
        .logged("a deferred message event: its room's followers are watched", 1)
        .await;
    assert!(server.log_count("watched=1") >= 1, "alice, not bob (the author)");
    // a delivery again after all is recognised
    assert_eq!(deliver().await.unwrap().status(), 200);
    server.logged("a message delivered again", 1).await;
    // and alice gets her digest about it
    let digest = server.inbox_of(1).await.remove(0);
    assert!(digest["subject"].as_str().unwrap().contains("shipment-1"), "{digest}");
    assert_eq!(server.log_count("its room's followers are watched"), 1, "noted once");
}
