//! Notification e-mail in the local server, end to end over HTTP and the
//! chat socket: the real `dachat serve` (SQLite, the embedded provider,
//! the dev inbox, a 1-second delay), people subscribing, confirming,
//! chatting, reading and unsubscribing.

use crate::support::{code_in, header, say, serve};
use serde_json::{Value, json};

#[tokio::test]
async fn the_whole_loop_subscribe_confirm_digest_read_and_unsubscribe_in_one_click() {
    let server = serve("loop", &[]);
    let alice = server.token("alice", None).await;
    let bob = server.token("bob", None).await;

    let (status, answer) = server
        .post(
            "/v1/notifications/subscribe",
            json!({ "token": alice, "address": "alice@example.org" }),
        )
        .await;
    assert_eq!((status, &answer["state"]), (200, &json!("code_sent")), "{answer}");
    let code_mail = server.inbox_of(1).await.remove(0);
    assert_eq!(code_mail["to"], "alice@example.org");
    let code = code_in(&code_mail);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let confirm = |code: &str| json!({ "token": alice, "address": "alice@example.org", "code": code });
    let (status, answer) = server.post("/v1/notifications/confirm", confirm(wrong)).await;
    assert_eq!((status, answer["error"].as_str()), (400, Some("wrong_code")));
    assert_eq!(answer["message"], "That code is not right. 4 tries left.");
    let (status, answer) = server.post("/v1/notifications/confirm", confirm(&code)).await;
    assert_eq!((status, &answer["state"]), (200, &json!("on")), "{answer}");
    assert_eq!(
        server.subscriptions(&alice).await["subscriptions"],
        json!([{ "context": null, "address": "alice@example.org" }])
    );

    // alice has her window open while bob writes three messages in two
    // rooms; then she closes it, and the sweep finds her away
    let alices = server.chat(&alice).await;
    let mut bobs = server.chat(&bob).await;
    say(&mut bobs, "general", 1).await;
    let last_general = say(&mut bobs, "general", 2).await;
    say(&mut bobs, "shipment-1", 3).await;
    drop(alices);

    let emails = server.inbox_of(2).await;
    let digest = &emails[1];
    assert_eq!(digest["to"], "alice@example.org");
    assert_eq!(digest["subject"], "DAChat: 3 new messages in 2 rooms");
    let text = digest["text"].as_str().unwrap();
    assert!(text.contains("- general: 2 new messages"), "{text}");
    assert!(text.contains("- shipment-1: 1 new message"), "{text}");
    assert!(text.contains(&format!("{}/?context=general", server.base)), "{text}");
    assert!(!text.contains("secret cargo"), "no content by default: {text}");
    assert!(!digest["html"].as_str().unwrap().contains("secret cargo"));
    assert_eq!(header(digest, "List-Unsubscribe-Post"), "List-Unsubscribe=One-Click");

    // alice comes back and reads general; bob writes in both rooms; she leaves
    let mut alices = server.chat(&alice).await;
    alices
        .send(json!({ "type": "read", "room": "general", "upTo": last_general }))
        .await;
    alices.expect("read").await;
    say(&mut bobs, "general", 4).await;
    say(&mut bobs, "shipment-1", 5).await;
    drop(alices);
    let emails = server.inbox_of(3).await;
    let next = &emails[2];
    assert_eq!(
        next["subject"], "DAChat: 1 new message in general",
        "general was read since (so it may be named again); shipment-1 waits an hour after its e-mail"
    );
    assert_eq!(emails.len(), 3, "one e-mail per sweep, never one per message");

    // the one-click link: a GET shows a page and changes nothing
    let link = header(next, "List-Unsubscribe").trim_matches(['<', '>']).to_owned();
    let page = server.http.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Stop these e-mails?") && html.contains("<form method=\"post\""),
        "{html}"
    );
    assert_eq!(
        server.subscriptions(&alice).await["subscriptions"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // a forged link is refused
    let forged = link.replace("u=alice", "u=bob");
    let refused = server
        .http
        .post(&forged)
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    // RFC 8058's POST unsubscribes
    let done = server
        .http
        .post(&link)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    assert!(
        done.text()
            .await
            .unwrap()
            .contains("You will get no more e-mail about any room")
    );
    assert_eq!(server.subscriptions(&alice).await["subscriptions"], json!([]));
}

#[tokio::test]
async fn a_vouched_address_needs_no_code_and_a_room_can_be_left_out() {
    let server = serve("vouched", &[]);
    let carol = server.token("carol", Some("carol@example.org")).await;
    assert_eq!(
        server.subscriptions(&carol).await["vouchedAddress"],
        "carol@example.org"
    );
    let (status, answer) = server
        .post("/v1/notifications/subscribe", json!({ "token": carol }))
        .await;
    assert_eq!(
        (status, answer),
        (200, json!({ "state": "on", "address": "carol@example.org" }))
    );
    let (status, _) = server
        .post(
            "/v1/notifications/off",
            json!({ "token": carol, "context": "shipment-1" }),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        server.subscriptions(&carol).await["subscriptions"],
        json!([
            { "context": null, "address": "carol@example.org" },
            { "context": "shipment-1", "address": null },
        ]),
        "every room but shipment-1"
    );
    assert_eq!(server.inbox().await, Vec::<Value>::new(), "no code was sent");

    // someone else's address still needs a code; a room not in the token is refused
    let (_, answer) = server
        .post(
            "/v1/notifications/subscribe",
            json!({ "token": carol, "address": "c@other.example" }),
        )
        .await;
    assert_eq!(answer["state"], "code_sent");
    let (status, answer) = server
        .post(
            "/v1/notifications/subscribe",
            json!({ "token": carol, "context": "elsewhere" }),
        )
        .await;
    assert_eq!((status, answer["error"].as_str()), (403, Some("context_not_allowed")));
    let (status, answer) = server
        .post(
            "/v1/notifications/subscribe",
            json!({ "token": carol, "address": "not an address" }),
        )
        .await;
    assert_eq!((status, answer["error"].as_str()), (400, Some("bad_address")));
}

#[tokio::test]
async fn guessing_codes_locks_out_and_codes_are_limited_per_hour() {
    let server = serve("limits", &[]);
    let dave = server.token("dave", None).await;
    let ask = |address: &str| json!({ "token": dave, "address": address });
    let (_, answer) = server.post("/v1/notifications/subscribe", ask("d@example.org")).await;
    assert_eq!(answer["state"], "code_sent");
    let code = code_in(&server.inbox_of(1).await[0]);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let try_code = |c: &str| json!({ "token": dave, "address": "d@example.org", "code": c });
    for left in (1..=4).rev() {
        let (status, answer) = server.post("/v1/notifications/confirm", try_code(wrong)).await;
        assert_eq!(status, 400);
        assert!(
            answer["message"].as_str().unwrap().contains(&format!("{left} tr")),
            "{answer}"
        );
    }
    let (_, answer) = server.post("/v1/notifications/confirm", try_code(wrong)).await;
    assert_eq!(answer["error"], "code_locked");
    let (status, answer) = server.post("/v1/notifications/confirm", try_code(&code)).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (400, Some("code_locked")),
        "even the right code, once locked"
    );
    // three codes per address an hour (one is spent)
    for _ in 0..2 {
        let (status, _) = server.post("/v1/notifications/subscribe", ask("d@example.org")).await;
        assert_eq!(status, 200);
    }
    let (status, answer) = server.post("/v1/notifications/subscribe", ask("d@example.org")).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (429, Some("code_limit")),
        "{answer}"
    );
    // five per identity an hour, whatever the address
    for n in 0..2 {
        let (status, _) = server
            .post("/v1/notifications/subscribe", ask(&format!("d{n}@example.org")))
            .await;
        assert_eq!(status, 200);
    }
    let (status, answer) = server.post("/v1/notifications/subscribe", ask("d9@example.org")).await;
    assert_eq!((status, answer["error"].as_str()), (429, Some("code_limit")));
    assert_eq!(
        answer["message"],
        "You asked for 5 codes in the last hour. Try again later."
    );
    assert_eq!(server.inbox().await.len(), 5, "no e-mail for a refused request");
}

#[tokio::test]
async fn addresses_are_checked_before_counting_and_limits_count_mailboxes_not_spellings() {
    let server = serve("addresses", &[]);
    let erin = server.token("erin", None).await;
    let ask = |address: &str| json!({ "token": erin, "address": address });
    // what a mailer would refuse is a 400 with the reason, and costs no code
    let long_local = format!("{}@x.org", "a".repeat(65));
    for bad in [
        "a..b@x.org",
        ".a@x.org",
        "a.@x.org",
        "a(b)@x.org",
        "a:b@x.org",
        "a@[127.0.0.1]",
        "a@x.org.",
        long_local.as_str(),
    ] {
        let (status, answer) = server.post("/v1/notifications/subscribe", ask(bad)).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (400, Some("bad_address")),
            "{bad}: {answer}"
        );
        assert!(!answer["message"].as_str().unwrap().is_empty());
    }
    assert!(server.inbox().await.is_empty(), "no e-mail for a refused address");
    // one inbox, three spellings: three codes, then the limit
    for spelling in ["x@EXAMPLE.org", "x@example.org", "X+chat@Example.org"] {
        let (status, answer) = server.post("/v1/notifications/subscribe", ask(spelling)).await;
        assert_eq!(
            (status, &answer["state"]),
            (200, &json!("code_sent")),
            "{spelling}: {answer}"
        );
        assert_eq!(
            answer["address"],
            spelling.to_ascii_lowercase(),
            "kept and shown lowercased"
        );
    }
    let (status, answer) = server
        .post("/v1/notifications/subscribe", ask("x+other@example.ORG"))
        .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (429, Some("code_limit")),
        "{answer}"
    );
    // the code sent to a spelling confirms that (lowercased) address
    let mails = server.inbox().await;
    assert_eq!(mails.len(), 3);
    assert_eq!(mails[2]["to"], "x+chat@example.org");
    let code = code_in(&mails[2]);
    let (status, answer) = server
        .post(
            "/v1/notifications/confirm",
            json!({ "token": erin, "address": "X+Chat@EXAMPLE.org", "code": code }),
        )
        .await;
    assert_eq!(
        (status, &answer["address"]),
        (200, &json!("x+chat@example.org")),
        "{answer}"
    );
}

#[tokio::test]
async fn with_excerpts_on_a_digest_quotes_the_newest_unread_messages() {
    let server = serve("excerpts", &[("DACHAT_NOTIFY_EXCERPTS", "on")]);
    let carol = server.token("carol", Some("carol@example.org")).await;
    let dave = server.token("dave", None).await;
    let (_, on) = server
        .post(
            "/v1/notifications/subscribe",
            json!({ "token": carol, "context": "general" }),
        )
        .await;
    assert_eq!(on["state"], "on");
    let carols = server.chat(&carol).await;
    let mut daves = server.chat(&dave).await;
    for n in 1..=4 {
        say(&mut daves, "general", n).await;
    }
    drop(carols);
    let digest = server.inbox_of(1).await.remove(0);
    let text = digest["text"].as_str().unwrap();
    assert!(
        text.contains("- general: 4 new messages\n  dave: secret cargo detail 2\n"),
        "{text}"
    );
    assert!(text.contains("  dave: secret cargo detail 4\n"), "{text}");
    assert!(!text.contains("detail 1"), "the newest three only: {text}");
}
