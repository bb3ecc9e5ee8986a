//! Twilio failing the ways networks fail (issue #28), through
//! `testkit::fault::FaultProxy` in front of the Twilio stand-in: a write
//! that took effect but lost its answer (provisioning, a reply by e-mail),
//! a Twilio slower than the request's deadline. Each test ends with the figures the promise is about: what
//! was answered, what exists on Twilio (nothing doubled), what was kept.

use std::time::Duration;

use testkit::fault::{Fault, FaultProxy};

use crate::support::*;

/// An app whose Twilio calls go through a fault proxy to the stand-in.
async fn app_behind_proxy(
    policies: backend::app::Policies,
) -> (TestApp, HostKey, JwksServer, StandinServer, FaultProxy) {
    let key = HostKey::new("k1");
    let jwks = JwksServer::start(vec![key.standard_jwk()]).await;
    let standin = StandinServer::start().await;
    let proxy = FaultProxy::start(&standin.url).await.unwrap();
    let app = TestApp::new(&twilio_settings(&jwks.url, &proxy.url), policies);
    (app, key, jwks, standin, proxy)
}

#[tokio::test]
async fn a_write_that_took_effect_but_lost_its_answer_is_not_made_twice() {
    for (step, path) in [
        ("user", "/Users"),
        ("conversation", "/Conversations"),
        ("participant", "/Participants"),
    ] {
        let (app, key, _jwks, standin, proxy) = app_behind_proxy(fast_policies()).await;
        // Twilio does the write, then the connection drops before its answer
        proxy.inject("POST", path, Fault::ResetAfterForward, 1);
        let answer = app.session(&key.token("alice", &["general"]), "general").await;
        assert_eq!(answer.status, 200, "{step}: {}", answer.json);
        assert_eq!(proxy.faults(), 1, "{step}: the fault was met");
        let posts = proxy
            .seen()
            .iter()
            .filter(|s| s.method == "POST" && s.path.ends_with(path))
            .count();
        assert_eq!(posts, 2, "{step}: the write was sent again");
        // figures: answered 1, lost 0, doubled 0
        assert_eq!(standin.standin.user_identities(), ["alice"], "{step}");
        assert_eq!(standin.standin.conversation_names(), ["general"], "{step}");
        assert_eq!(standin.standin.participants_of("general"), ["alice"], "{step}");
    }
}

#[tokio::test]
async fn a_reply_whose_post_lost_its_answer_or_is_posted_again_lands_once() {
    use backend::config::{ProviderSettings, Settings, TwilioRequirement};
    use backend::notify::ChatView as _;
    use backend::notify::twilio_view::TwilioView;
    use backend::twilio::rest::ConversationsClient;

    let (_app, _key, jwks, standin, proxy) = app_behind_proxy(fast_policies()).await;
    standin.standin.seed_participation("alice", "shipment-1");
    let settings = Settings::parse(&twilio_settings(&jwks.url, &proxy.url), TwilioRequirement::Required).unwrap();
    let ProviderSettings::Twilio(twilio) = &settings.provider else {
        panic!("Twilio settings")
    };
    let view = TwilioView::new(ConversationsClient::new(
        backend::http_client::build().unwrap(),
        twilio,
        fast_policies().retry,
    ));
    let text = "Pallet 4 is replaced.";
    // Twilio stores the message, then the connection drops before its answer
    proxy.inject("POST", "/Messages", Fault::ResetAfterForward, 1);
    view.post("shipment-1", "alice", text, "m1@mail.example.org")
        .await
        .unwrap();
    assert_eq!(proxy.faults(), 1, "the fault was met");
    // the same e-mail again: its claim's lease ran out because the request
    // that posted it died before settling it
    view.post("shipment-1", "alice", text, "m1@mail.example.org")
        .await
        .unwrap();
    // figures: posted 1, lost 0, doubled 0
    let one = (String::from("alice"), String::from(text));
    assert_eq!(standin.standin.messages_of("shipment-1"), std::slice::from_ref(&one));
    // another e-mail with the same words is another message
    view.post("shipment-1", "alice", text, "m2@mail.example.org")
        .await
        .unwrap();
    assert_eq!(standin.standin.messages_of("shipment-1"), [one.clone(), one]);
}

/// Fast retries, a deadline far shorter than three attempts' timeouts.
fn short_deadline() -> backend::app::Policies {
    let mut policies = fast_policies();
    policies.retry.timeout = Duration::from_secs(5);
    policies.provision.deadline = Duration::from_millis(300);
    policies
}

#[tokio::test]
async fn twilio_slower_than_the_deadline_is_a_503_with_retry_after_not_a_hang() {
    let (app, key, _jwks, standin, proxy) = app_behind_proxy(short_deadline()).await;
    proxy.inject("*", "/v1/", Fault::Delay(Duration::from_secs(2)), u32::MAX);
    let token = key.token("alice", &["general"]);
    let slow = app.session(&token, "general").await;
    assert_eq!(slow.status, 503, "{}", slow.json);
    assert_eq!(slow.json["error"], "chat_unavailable");
    assert_eq!(slow.headers["retry-after"], "5");
    assert!(slow.json.get("accessToken").is_none());
    // the deadline cut the request short while its first call waited:
    // no retry was started (5 s timeouts, 3 attempts, would be 15 s)
    assert_eq!(proxy.seen().len(), 1, "{:?}", proxy.seen());

    proxy.heal();
    let healed = app.session(&token, "general").await;
    assert_eq!(healed.status, 200, "{}", healed.json);
    assert_eq!(standin.standin.participants_of("general"), ["alice"]);
}

#[tokio::test]
async fn an_alignment_cut_short_by_the_deadline_is_done_again_before_a_token() {
    let (app, key, _jwks, standin, proxy) = app_behind_proxy(short_deadline()).await;
    // alice still takes part in a room her token no longer lists
    standin.standin.seed_participation("alice", "shipment-9");
    let token = key.token("alice", &["general"]);
    // the alignment's first call (listing her rooms) outlasts the deadline
    proxy.inject("*", "/v1/", Fault::Delay(Duration::from_secs(2)), 1);
    let slow = app.renew(&token).await;
    assert_eq!(slow.status, 503, "{}", slow.json);
    assert!(
        slow.json.get("accessToken").is_none(),
        "no token while the room may still be reachable"
    );

    proxy.heal();
    let renewed = app.renew(&token).await;
    assert_eq!(renewed.status, 200, "{}", renewed.json);
    assert_eq!(
        standin.standin.participants_of("shipment-9"),
        Vec::<String>::new(),
        "the renewal after the cut-short one aligned again"
    );
}

/// The host's JWKS URL split into the server's base and the path.
fn split_url(url: &str) -> (String, String) {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let slash = url[after_scheme..].find('/').map_or(url.len(), |i| after_scheme + i);
    (url[..slash].to_owned(), url[slash..].to_owned())
}

/// What a minute of a failing JWKS host did to the requests.
#[derive(Debug, Default)]
struct Figures {
    served: u32,
    refused: u32,
    unknown_kid_answers: Vec<u16>,
    fetch_attempts: usize,
    recovered_after_secs: u64,
}

/// The host's JWKS down, slow (10 s, against a 100 ms fetch timeout here)
/// or serving garbage for a simulated minute after the keys went stale:
/// a valid request every 250 ms and a token with an unknown kid every 5 s.
async fn a_minute_of(fault: Fault) -> Figures {
    let key = HostKey::new("k1");
    let stranger = HostKey::new("k9");
    let jwks = JwksServer::start(vec![key.standard_jwk()]).await;
    jwks.set_cache_control("max-age=30");
    let (base, path) = split_url(&jwks.url);
    let proxy = FaultProxy::start(&base).await.unwrap();
    let standin = StandinServer::start().await;
    let clock_ms = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(now() * 1000));
    let advance = |ms: u64| clock_ms.fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
    let mut deps = backend::app::Deps::new(backend::http_client::build().unwrap());
    deps.policies = fast_policies();
    deps.policies.jwks.timeout = Duration::from_millis(100);
    deps.policies.jwks.failure_backoff = Duration::from_secs(1);
    deps.policies.jwks.max_failure_backoff = Duration::from_secs(30);
    deps.clock = backend::clock::Clock::from_fn({
        let clock_ms = clock_ms.clone();
        move || clock_ms.load(std::sync::atomic::Ordering::SeqCst)
    });
    let app = TestApp::with_deps(&twilio_settings(&format!("{}{path}", proxy.url), &standin.url), deps);
    let token = key.token("alice", &["general"]);
    assert_eq!(app.renew(&token).await.status, 200, "the keys were fetched once");
    advance(31_000); // past max-age: the keys are stale from here on
    proxy.inject("*", "/", fault, u32::MAX);
    let before = proxy.seen().len();

    let mut figures = Figures::default();
    for step in 1..=240u32 {
        advance(250);
        match app.renew(&token).await.status.as_u16() {
            200 => figures.served += 1,
            _ => figures.refused += 1,
        }
        if step % 20 == 0 {
            let unknown = app.renew(&stranger.token("mallory", &["general"])).await;
            figures.unknown_kid_answers.push(unknown.status.as_u16());
        }
    }
    figures.fetch_attempts = proxy.seen().len() - before;

    // the host is back: the next attempt after the backoff succeeds
    proxy.heal();
    let fetched = jwks.fetches();
    while jwks.fetches() == fetched {
        advance(1000);
        figures.recovered_after_secs += 1;
        assert_eq!(app.renew(&token).await.status, 200);
        assert!(
            figures.recovered_after_secs <= 60,
            "no fetch within a minute of the host's return"
        );
    }
    figures
}

#[tokio::test]
async fn the_hosts_keys_failing_for_a_minute_refuse_no_valid_request_and_recover() {
    for (kind, fault) in [
        ("down", Fault::Refuse),
        ("slow", Fault::Delay(Duration::from_secs(10))),
        (
            "garbage",
            Fault::Answer {
                status: 200,
                headers: vec![],
                body: "<html>maintenance</html>".into(),
            },
        ),
    ] {
        let figures = a_minute_of(fault).await;
        eprintln!("JWKS {kind} for 60 s: {figures:?}");
        assert_eq!((figures.served, figures.refused), (240, 0), "{kind}: {figures:?}");
        // an unknown kid is refused at once (401), never held
        assert!(
            figures.unknown_kid_answers.iter().all(|s| *s == 401),
            "{kind}: {figures:?}"
        );
        assert_eq!(figures.unknown_kid_answers.len(), 12, "{kind}");
        // backed off: attempts at 0, 1, 3, 7, 15 and 31 s (the next at 61 s),
        // not one per request
        assert_eq!(figures.fetch_attempts, 6, "{kind}: {figures:?}");
        // back once the longest backoff so far (30 s) has passed
        assert!(figures.recovered_after_secs <= 30, "{kind}: {figures:?}");
    }
}

#[tokio::test]
async fn a_slow_host_holds_up_the_one_request_that_refreshes_not_the_others() {
    let key = HostKey::new("k1");
    let jwks = JwksServer::start(vec![key.standard_jwk()]).await;
    jwks.set_cache_control("max-age=0");
    let (base, path) = split_url(&jwks.url);
    let proxy = FaultProxy::start(&base).await.unwrap();
    let standin = StandinServer::start().await;
    let mut policies = fast_policies();
    policies.jwks.min_ttl = Duration::ZERO; // stale at once
    policies.jwks.timeout = Duration::from_secs(1);
    let app = TestApp::new(
        &twilio_settings(&format!("{}{path}", proxy.url), &standin.url),
        policies,
    );
    let token = key.token("alice", &["general"]);
    assert_eq!(app.renew(&token).await.status, 200);
    let before = proxy.seen().len();
    proxy.inject("*", "/", Fault::Delay(Duration::from_secs(10)), 1);

    // A refreshes the stale keys and waits on the slow host...
    let a = app.renew(&token);
    tokio::pin!(a);
    while proxy.seen().len() == before {
        tokio::select! {
            biased;
            answer = &mut a => panic!("A answered before its fetch reached the host: {answer:?}"),
            () = tokio::task::yield_now() => {}
        }
    }
    // ...while B, with the same known kid, is answered from the stale keys
    // (A is not even polled meanwhile: had B waited for A's fetch, it would
    // never finish)
    let b = answered("B", app.renew(&token)).await;
    assert_eq!(b.status, 200, "{}", b.json);
    // A gives up on the host at its timeout and is served the stale keys too
    assert_eq!(a.await.status, 200);
}

/// `request`'s answer; a request that hangs fails the test after 30 s.
async fn answered(what: &str, request: impl std::future::Future<Output = Answer>) -> Answer {
    tokio::time::timeout(Duration::from_secs(30), request)
        .await
        .unwrap_or_else(|_| panic!("{what} was not answered: it waited on the slow service"))
}

#[tokio::test]
async fn while_twilio_is_slow_requests_that_do_not_need_it_are_answered() {
    let mut policies = fast_policies();
    policies.provision.deadline = Duration::from_millis(500);
    let (app, key, _jwks, _standin, proxy) = app_behind_proxy(policies).await;
    // alice is warm: her session is remembered and her rooms aligned
    let alice = key.token("alice", &["general"]);
    assert_eq!(app.session(&alice, "general").await.status, 200);
    let before = proxy.seen().len();
    proxy.inject("*", "/v1/", Fault::Delay(Duration::from_secs(10)), u32::MAX);

    // bob is new: his session waits on the slow Twilio...
    let bob = key.token("bob", &["general"]);
    let cold = app.session(&bob, "general");
    tokio::pin!(cold);
    while proxy.seen().len() == before {
        tokio::select! {
            biased;
            answer = &mut cold => panic!("bob answered before Twilio was asked: {answer:?}"),
            () = tokio::task::yield_now() => {}
        }
    }
    // ...while alice's renewal and session, and the health check, need no
    // Twilio call and are answered (bob's request is not even polled)
    assert_eq!(answered("the renewal", app.renew(&alice)).await.status, 200);
    assert_eq!(
        answered("the session", app.session(&alice, "general")).await.status,
        200
    );
    assert_eq!(
        answered("the health check", app.get("/healthz", None)).await.status,
        200
    );
    assert_eq!(proxy.seen().len(), before + 1, "only bob's request went to Twilio");
    // bob is told to come back, at the deadline
    let cold = cold.await;
    assert_eq!(cold.status, 503, "{}", cold.json);
}
