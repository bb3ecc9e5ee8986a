//! The chat-client suite: what every [`ChatClient`] implementation must do,
//! run in headless Chromium (wasm-bindgen-test) against both:
//!
//! - `local`: [`LocalClient`] over a WebSocket to a real `dachat serve`
//!   (started by `cargo xtask test`, which passes its URL and two users'
//!   access tokens in `DACHAT_SUITE_LOCAL` when this suite is compiled);
//! - `twilio`: [`TwilioClient`] through the real shim `js/twilio.js`, with
//!   Twilio's SDK replaced by the scripted stand-in `fake_twilio.js`.
//!
//! The `twilio` module adds what only Twilio does: an unreachable service,
//! refused and expiring tokens, revocation, removed conversations.
//! Waiting is on events, never on time.
//!
//! Over 600 lines: one suite that both clients must pass, so every test is written once and run against each.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used)]

use std::cell::RefCell;
use std::future::{Future, poll_fn};
use std::rc::Rc;
use std::task::{Poll, Waker};

use protocol::local::{Attachment, ServerFrame};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;
use widget::client::twilio::TwilioClient;
use widget::client::{ChatClient, Event, Listener, LocalClient};
use widget::state::Connection;

wasm_bindgen_test_configure!(run_in_browser);

/// How long a test waits for an event before it fails.
const WAIT_MS: i32 = 10_000;

#[wasm_bindgen(module = "/tests/fake_twilio.js")]
extern "C" {
    fn install();
    #[wasm_bindgen(js_name = addConversation)]
    fn add_conversation(sid: &str, identities: Vec<String>);
    #[wasm_bindgen(js_name = addParticipant)]
    fn add_participant(sid: &str, identity: &str);
    #[wasm_bindgen(js_name = setReachable)]
    fn set_reachable(reachable: bool);
    fn refuse(token: &str);
    #[wasm_bindgen(js_name = expireSoon)]
    fn expire_soon(identity: &str);
    fn expire(identity: &str);
    fn revoke(sid: &str, identity: &str);
    #[wasm_bindgen(js_name = removeConversation)]
    fn remove_conversation(sid: &str);
    #[wasm_bindgen(js_name = echoFirst)]
    fn echo_first(on: bool);
    #[wasm_bindgen(js_name = failSends)]
    fn fail_sends(n: u32);
    #[wasm_bindgen(js_name = clientsOf)]
    fn clients_of(identity: &str) -> u32;
    #[wasm_bindgen(js_name = openClientsOf)]
    fn open_clients_of(identity: &str) -> u32;
    #[wasm_bindgen(js_name = tokensSeen)]
    fn tokens_seen() -> String;
    #[wasm_bindgen(js_name = postFile)]
    fn post_file(sid: &str, author: &str, media: &str, filename: &str, content_type: &str, size: f64, url: &str);
}

/// Every event a client reported, and a way to wait for one.
#[derive(Clone, Default)]
struct Inbox(Rc<RefCell<Received>>);

#[derive(Default)]
struct Received {
    /// Not yet taken by a test.
    waiting: Vec<Event>,
    waker: Option<Waker>,
    /// Every frame, in the order it came.
    log: Vec<ServerFrame>,
}

impl Inbox {
    fn listener(&self) -> Listener {
        let inbox = self.clone();
        Rc::new(move |event| {
            let mut inner = inbox.0.borrow_mut();
            if let Event::Frame(frame) = &event {
                inner.log.push(frame.clone());
            }
            inner.waiting.push(event);
            if let Some(waker) = inner.waker.take() {
                waker.wake();
            }
        })
    }

    /// Waits for the first event `pick` accepts and takes it out. A test
    /// that never sees it fails after [`WAIT_MS`], naming the caller's line
    /// and the events that did arrive.
    #[track_caller]
    fn next<T>(&self, pick: impl Fn(&Event) -> Option<T>) -> impl Future<Output = T> {
        let caller = std::panic::Location::caller();
        let inbox = self.clone();
        async move {
            let mut deadline = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::new(&mut |resolve, _| {
                let window = web_sys::window().unwrap();
                window
                    .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, WAIT_MS)
                    .unwrap();
            }));
            poll_fn(|cx| {
                let mut inner = inbox.0.borrow_mut();
                if let Some((i, found)) = inner
                    .waiting
                    .iter()
                    .enumerate()
                    .find_map(|(i, e)| pick(e).map(|t| (i, t)))
                {
                    inner.waiting.remove(i);
                    return Poll::Ready(found);
                }
                if std::pin::Pin::new(&mut deadline).poll(cx).is_ready() {
                    panic!(
                        "{caller}: the awaited event did not come within {WAIT_MS} ms; events: {:?}",
                        inner.waiting
                    );
                }
                inner.waker = Some(cx.waker().clone());
                Poll::Pending
            })
            .await
        }
    }

    #[track_caller]
    fn frame<T>(&self, pick: impl Fn(&ServerFrame) -> Option<T>) -> impl Future<Output = T> {
        self.next(move |e| match e {
            Event::Frame(frame) => pick(frame),
            _ => None,
        })
    }

    #[track_caller]
    fn connection(&self, wanted: impl Fn(&Connection) -> bool) -> impl Future<Output = Connection> {
        self.next(move |e| match e {
            Event::Connection(c) if wanted(c) => Some(c.clone()),
            _ => None,
        })
    }

    #[track_caller]
    fn online(&self) -> impl Future<Output = Connection> {
        self.connection(|c| *c == Connection::Online)
    }

    /// Every frame so far, in order (taken or not).
    fn frames(&self) -> Vec<ServerFrame> {
        self.0.borrow().log.clone()
    }
}

/// A connected user of one provider.
struct User {
    client: Rc<dyn ChatClient>,
    inbox: Inbox,
}

/// A provider: `room(n)` is a fresh room both users may enter.
trait Provider {
    async fn connect(&self, user: &str) -> User;
    /// Room `n`'s conversation SID.
    fn sid(&self, n: u32) -> String;
    /// Sets up room `n`: (room name, conversation SID).
    fn room(&self, n: u32) -> (String, String);
}

struct Local;

impl Local {
    fn settings() -> (String, String, String) {
        let Some(settings) = option_env!("DACHAT_SUITE_LOCAL") else {
            panic!("DACHAT_SUITE_LOCAL was not set when the suite was built: run it with `cargo xtask test`");
        };
        let mut parts = settings.split(' ').map(str::to_owned);
        (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap())
    }
}

impl Provider for Local {
    async fn connect(&self, user: &str) -> User {
        let (api, alice, bob) = Self::settings();
        let token = if user == "alice" { alice } else { bob };
        let inbox = Inbox::default();
        let client = Rc::new(LocalClient::connect(&api, &token, inbox.listener()));
        User { client, inbox }
    }
    fn sid(&self, n: u32) -> String {
        format!("suite-{n}")
    }
    /// The rooms exist: `cargo xtask test` admitted both users to them.
    fn room(&self, n: u32) -> (String, String) {
        (format!("suite-{n}"), self.sid(n))
    }
}

struct Twilio;

impl Provider for Twilio {
    async fn connect(&self, user: &str) -> User {
        install();
        let inbox = Inbox::default();
        let client = TwilioClient::connect(&format!("fake:{user}"), inbox.listener())
            .await
            .unwrap();
        User {
            client: Rc::new(client),
            inbox,
        }
    }
    fn sid(&self, n: u32) -> String {
        format!("CH{n:032}")
    }
    fn room(&self, n: u32) -> (String, String) {
        let sid = self.sid(n);
        add_conversation(&sid, vec!["alice".into(), "bob".into()]);
        (format!("suite-{n}"), sid)
    }
}

/// Connects `user` and enters `room`: returns the user and its `Joined` frame.
async fn enter(p: &impl Provider, user: &str, room: &str, sid: &str) -> (User, ServerFrame) {
    let u = p.connect(user).await;
    u.inbox.online().await;
    u.client.set_conversation(room, sid);
    u.client.join(room);
    let joined = u
        .inbox
        .frame(|f| matches!(f, ServerFrame::Joined { room: r, .. } if r == room).then(|| f.clone()))
        .await;
    (u, joined)
}

/// Both users online and in room `n`.
async fn two_in_room(p: &impl Provider, n: u32) -> (User, User, String) {
    let (room, sid) = p.room(n);
    let (a, _) = enter(p, "alice", &room, &sid).await;
    let (b, _) = enter(p, "bob", &room, &sid).await;
    (a, b, room)
}

/// Sends and waits for the acknowledgement; returns the message id.
async fn send(user: &User, room: &str, client_id: &str, body: &str) -> i64 {
    assert!(
        user.client.send(room, client_id, body, false),
        "an online client takes the message"
    );
    let wanted = client_id.to_owned();
    user.inbox
        .frame(|f| match f {
            ServerFrame::Ack { client_id, id } if *client_id == wanted => Some(*id),
            _ => None,
        })
        .await
}

async fn joins_and_reports_members(p: impl Provider) {
    let (room, sid) = p.room(1);
    let (a, joined) = enter(&p, "alice", &room, &sid).await;
    let ServerFrame::Joined { member_count, .. } = joined else {
        unreachable!()
    };
    assert!(member_count >= 1, "the joining user is a member");
    a.client.shutdown();
}

async fn messages_reach_the_other_user(p: impl Provider) {
    let (a, b, room) = two_in_room(&p, 2).await;
    let id = send(&a, &room, "c-hello", "hello *bob*").await;
    let got = b
        .inbox
        .frame(|f| match f {
            ServerFrame::Message { message } if message.id == id => Some(message.clone()),
            _ => None,
        })
        .await;
    assert_eq!(
        (got.author.as_str(), got.body.as_str(), got.room.as_str()),
        ("alice", "hello *bob*", room.as_str())
    );
    assert!(got.created_at > 0);
    a.client.shutdown();
    b.client.shutdown();
}

async fn history_pages_back_from_the_newest(p: impl Provider) {
    let (a, b, room) = two_in_room(&p, 3).await;
    let mut ids = Vec::new();
    for i in 0..25 {
        ids.push(send(&a, &room, &format!("c-h{i}"), &format!("message {i}")).await);
    }
    let page = |before: Option<i64>| {
        b.client.history(&room, before);
        let r = room.clone();
        b.inbox.frame(move |f| match f {
            ServerFrame::History {
                room,
                messages,
                has_more,
            } if *room == r => Some((messages.clone(), *has_more)),
            _ => None,
        })
    };
    let (newest, more) = page(None).await;
    assert_eq!(newest.len(), 20);
    assert!(more, "older messages remain");
    assert_eq!(
        newest.iter().map(|m| m.id).collect::<Vec<_>>(),
        ids[5..],
        "the newest 20, oldest first"
    );
    assert_eq!(newest[19].body, "message 24");
    let (older, more) = page(Some(newest[0].id)).await;
    assert_eq!(older.iter().map(|m| m.id).collect::<Vec<_>>(), ids[..5]);
    assert!(!more, "nothing older than the first message");
    a.client.shutdown();
    b.client.shutdown();
}

async fn own_messages_can_be_edited_and_deleted(p: impl Provider) {
    let (a, b, room) = two_in_room(&p, 4).await;
    let id = send(&a, &room, "c-e", "helo").await;
    a.client.edit(&room, id, "hello");
    let edited = b
        .inbox
        .frame(|f| match f {
            ServerFrame::Edited { message } if message.id == id => Some(message.clone()),
            _ => None,
        })
        .await;
    assert_eq!(edited.body, "hello");
    a.client.delete(&room, id);
    let r = room.clone();
    b.inbox
        .frame(|f| matches!(f, ServerFrame::Deleted { room, id: d } if *room == r && *d == id).then_some(()))
        .await;
    a.client.shutdown();
    b.client.shutdown();
}

async fn typing_reaches_the_other_user(p: impl Provider) {
    let (a, b, room) = two_in_room(&p, 5).await;
    a.client.typing(&room);
    let who = b
        .inbox
        .frame(|f| match f {
            ServerFrame::Typing { identity, .. } => Some(identity.clone()),
            _ => None,
        })
        .await;
    assert_eq!(who, "alice");
    a.client.shutdown();
    b.client.shutdown();
}

async fn the_read_horizon_is_kept(p: impl Provider) {
    let (a, b, room) = two_in_room(&p, 6).await;
    let id = send(&a, &room, "c-r", "read me").await;
    b.client.read(&room, id);
    let r = room.clone();
    let up_to = b
        .inbox
        .frame(|f| match f {
            ServerFrame::Read { room, up_to } if *room == r => Some(*up_to),
            _ => None,
        })
        .await;
    assert_eq!(up_to, id);
    // a new connection starts from the horizon
    b.client.shutdown();
    let (b2, joined) = enter(&p, "bob", &room, &p.sid(6)).await;
    let ServerFrame::Joined { read_up_to: read, .. } = joined else {
        unreachable!()
    };
    assert_eq!(read, Some(id));
    a.client.shutdown();
    b2.client.shutdown();
}

async fn unread_counts_come_with_the_room(p: impl Provider) {
    let (room, sid) = p.room(8);
    let (a, _) = enter(&p, "alice", &room, &sid).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(send(&a, &room, &format!("c-u{i}"), "news").await);
    }
    let unread = |joined: ServerFrame| match joined {
        ServerFrame::Joined { unread, .. } => unread,
        _ => unreachable!(),
    };
    let (b, joined) = enter(&p, "bob", &room, &sid).await;
    assert_eq!(unread(joined), 3, "bob has read nothing yet");
    b.client.read(&room, ids[1]);
    let r = room.clone();
    b.inbox
        .frame(|f| matches!(f, ServerFrame::Read { room, .. } if *room == r).then_some(()))
        .await;
    b.client.shutdown();
    let (b2, joined) = enter(&p, "bob", &room, &sid).await;
    assert_eq!(unread(joined), 1, "one message after bob's horizon");
    a.client.shutdown();
    b2.client.shutdown();
}

async fn nicknames_are_announced(p: impl Provider) {
    let (a, b, _room) = two_in_room(&p, 7).await;
    a.client.nick(Some("Ali"));
    let nick = b
        .inbox
        .frame(|f| match f {
            ServerFrame::Nick { identity, nick } if identity == "alice" => Some(nick.clone()),
            _ => None,
        })
        .await;
    assert_eq!(nick.as_deref(), Some("Ali"));
    a.client.nick(None);
    let nick = b
        .inbox
        .frame(|f| match f {
            ServerFrame::Nick { identity, nick } if identity == "alice" => Some(nick.clone()),
            _ => None,
        })
        .await;
    assert_eq!(nick, None, "an empty nick clears it");
    a.client.shutdown();
    b.client.shutdown();
}

async fn retry_connects_again(p: impl Provider) {
    let a = p.connect("alice").await;
    a.inbox.online().await;
    a.client.retry();
    a.inbox.online().await;
    a.client.shutdown();
}

async fn a_message_that_may_have_been_sent_is_posted_once(p: impl Provider) {
    let (room, sid) = p.room(9);
    let (a, _) = enter(&p, "alice", &room, &sid).await;
    let id = send(&a, &room, "c-once", "only once").await;
    // the same message again, as the outbox brings it back after a reload
    // (or a connection lost before the acknowledgement)
    assert!(a.client.send(&room, "c-once", "only once", true));
    let again = a
        .inbox
        .frame(|f| match f {
            ServerFrame::Ack { client_id, id } if client_id == "c-once" => Some(*id),
            _ => None,
        })
        .await;
    assert_eq!(again, id, "acknowledged as the message that is there");
    a.client.history(&room, None);
    let r = room.clone();
    let page = a
        .inbox
        .frame(move |f| match f {
            ServerFrame::History { room, messages, .. } if *room == r => Some(messages.clone()),
            _ => None,
        })
        .await;
    assert_eq!(page.iter().filter(|m| m.body == "only once").count(), 1, "{page:?}");
    a.client.shutdown();
}

macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod local {
            $(#[wasm_bindgen_test::wasm_bindgen_test] async fn $name() { super::$name(super::Local).await })*
        }
        mod twilio {
            $(#[wasm_bindgen_test::wasm_bindgen_test] async fn $name() { super::$name(super::Twilio).await })*
        }
    };
}

suite!(
    joins_and_reports_members,
    messages_reach_the_other_user,
    history_pages_back_from_the_newest,
    own_messages_can_be_edited_and_deleted,
    typing_reaches_the_other_user,
    the_read_horizon_is_kept,
    nicknames_are_announced,
    unread_counts_come_with_the_room,
    retry_connects_again,
    a_message_that_may_have_been_sent_is_posted_once,
);

// ---- only Twilio: what the real service does to a client ----

async fn twilio_user(user: &str) -> User {
    Twilio.connect(user).await
}

#[wasm_bindgen_test]
async fn twilio_unreachable_is_reported_and_recovers() {
    let a = twilio_user("alice").await;
    a.inbox.online().await;
    set_reachable(false);
    a.inbox
        .connection(|c| matches!(c, Connection::Reconnecting(n) if *n >= 1))
        .await;
    set_reachable(true);
    a.inbox.online().await;
    a.client.shutdown();
}

#[wasm_bindgen_test]
async fn twilio_unreachable_from_the_start_then_retry() {
    set_reachable(false);
    let a = twilio_user("alice").await;
    a.inbox.connection(|c| *c == Connection::Connecting).await;
    a.inbox.connection(|c| matches!(c, Connection::Reconnecting(_))).await;
    let before = clients_of("alice");
    set_reachable(true);
    a.client.retry();
    a.inbox.online().await;
    assert_eq!(clients_of("alice"), before + 1, "retry starts a new SDK client");
    a.client.shutdown();
}

#[wasm_bindgen_test]
async fn twilio_refused_token_asks_for_one_renewal_then_fails() {
    refuse("fake:mallory");
    let a = twilio_user("mallory").await;
    a.inbox.next(|e| matches!(e, Event::TokenNeeded).then_some(())).await;
    // the renewed token is refused too (a revoked API key signs both)
    a.client.update_token("fake:mallory");
    let failed = a.inbox.connection(|c| matches!(c, Connection::Failed(_))).await;
    let Connection::Failed(message) = failed else {
        unreachable!()
    };
    assert!(message.contains("refused"), "{message}");
    a.client.shutdown();
}

#[wasm_bindgen_test]
async fn twilio_token_renewal_before_and_after_expiry() {
    let a = twilio_user("carol").await;
    a.inbox.online().await;
    expire_soon("carol");
    a.inbox.next(|e| matches!(e, Event::TokenNeeded).then_some(())).await;
    a.client.update_token("fake:carol#2");
    // still connected while the token is being renewed: messages go out
    let (room, sid) = ("suite-24".to_owned(), Twilio.sid(24));
    add_conversation(&sid, vec!["carol".into()]);
    a.client.set_conversation(&room, &sid);
    a.client.join(&room);
    let r = room.clone();
    a.inbox
        .frame(|f| matches!(f, ServerFrame::Joined { room, .. } if *room == r).then_some(()))
        .await;
    send(&a, &room, "c-during-renewal", "still here").await;
    // expired while the tab slept: renew, and the client reconnects
    expire("carol");
    a.inbox.next(|e| matches!(e, Event::TokenNeeded).then_some(())).await;
    a.client.update_token("fake:carol#3");
    a.inbox.online().await;
    let seen = tokens_seen();
    assert!(seen.contains("fake:carol#2") && seen.contains("fake:carol#3"), "{seen}");
    a.client.shutdown();
}

#[wasm_bindgen_test]
async fn twilio_revocation_and_removal_close_the_room() {
    let (a, b, room) = two_in_room(&Twilio, 20).await;
    revoke(&Twilio.sid(20), "bob");
    let r = room.clone();
    let (code, message) = b
        .inbox
        .frame(|f| match f {
            ServerFrame::Error {
                code,
                message,
                room: Some(room),
                ..
            } if *room == r => Some((code.clone(), message.clone())),
            _ => None,
        })
        .await;
    assert_eq!(code, "room_closed");
    assert!(message.contains("no longer have access"), "{message}");
    // the others hear that bob left
    a.inbox
        .frame(|f| {
            matches!(f, ServerFrame::Presence { identity, online: false, .. } if identity == "bob").then_some(())
        })
        .await;
    remove_conversation(&Twilio.sid(20));
    let message = a
        .inbox
        .frame(|f| match f {
            ServerFrame::Error { code, message, .. } if code == "room_closed" => Some(message.clone()),
            _ => None,
        })
        .await;
    assert!(message.contains("removed"), "{message}");
    a.client.shutdown();
    b.client.shutdown();
}

#[wasm_bindgen_test]
async fn twilio_a_file_from_another_client_comes_with_its_metadata_and_address() {
    let (a, b, _room) = two_in_room(&Twilio, 27).await;
    let url = "https://media.example/ME0123";
    post_file(
        &Twilio.sid(27),
        "carol",
        "ME0123",
        "pallet.jpg",
        "image/jpeg",
        48_213.0,
        url,
    );
    let message = b
        .inbox
        .frame(|f| match f {
            ServerFrame::Message { message } if message.attachment.is_some() => Some(message.clone()),
            _ => None,
        })
        .await;
    // no text: a file alone, not "an attachment this window cannot show"
    assert_eq!((message.author.as_str(), message.body.as_str()), ("carol", ""));
    assert_eq!(
        message.attachment.as_deref(),
        Some(&Attachment {
            id: "ME0123".into(),
            name: "pallet.jpg".into(),
            content_type: "image/jpeg".into(),
            size: 48_213,
        })
    );
    // its address is asked of Twilio's media service when it is shown
    let asked = b
        .client
        .file_url("ME0123")
        .expect("a Twilio client gives files' addresses");
    let got = wasm_bindgen_futures::JsFuture::from(asked).await.expect("the address");
    assert_eq!(got.as_string().as_deref(), Some(url));
    let unknown = wasm_bindgen_futures::JsFuture::from(b.client.file_url("ME-never-shown").expect("asked"))
        .await
        .expect("an answer");
    assert!(unknown.is_null(), "a file the bridge has not seen has no address");
    assert!(
        b.client.file_endpoint().is_none(),
        "nothing is uploaded through DAChat's API"
    );
    a.client.shutdown();
    b.client.shutdown();
}

#[wasm_bindgen_test]
async fn twilio_a_file_goes_with_its_message_through_the_sdk() {
    let (a, b, room) = two_in_room(&Twilio, 28).await;
    let bytes = js_sys::Uint8Array::from(&b"\x89PNG\r\n\x1a\nstamp"[..]);
    let blob = web_sys::Blob::new_with_u8_array_sequence(&js_sys::Array::of1(&bytes)).expect("a blob");
    let sending = a
        .client
        .send_media(&room, "c-file", "the customs stamp", &blob, "image/png", "stamp.png")
        .expect("a Twilio client takes files with the message");
    wasm_bindgen_futures::JsFuture::from(sending)
        .await
        .expect("Twilio has it");
    let acked = a
        .inbox
        .frame(|f| match f {
            ServerFrame::Ack { client_id, id } if client_id == "c-file" => Some(*id),
            _ => None,
        })
        .await;
    let got = b
        .inbox
        .frame(|f| match f {
            ServerFrame::Message { message } if message.attachment.is_some() => Some(message.clone()),
            _ => None,
        })
        .await;
    assert_eq!((got.id, got.body.as_str()), (acked, "the customs stamp"));
    let file = got.attachment.expect("its file");
    assert_eq!(
        (file.name.as_str(), file.content_type.as_str(), file.size),
        ("stamp.png", "image/png", 13)
    );
    let url = wasm_bindgen_futures::JsFuture::from(b.client.file_url(&file.id).expect("asked"))
        .await
        .expect("an address");
    assert!(url.as_string().is_some_and(|u| u.starts_with("blob:")), "{url:?}");
    a.client.shutdown();
    b.client.shutdown();
}

#[wasm_bindgen_test]
async fn twilio_joining_members_are_announced() {
    let (a, b, _room) = two_in_room(&Twilio, 21).await;
    add_participant(&Twilio.sid(21), "dave");
    let who = a
        .inbox
        .frame(|f| match f {
            ServerFrame::Presence {
                identity, online: true, ..
            } => Some(identity.clone()),
            _ => None,
        })
        .await;
    assert_eq!(who, "dave");
    a.client.shutdown();
    b.client.shutdown();
}

#[wasm_bindgen_test]
async fn twilio_refused_send_is_reported_against_the_message() {
    let (a, b, room) = two_in_room(&Twilio, 22).await;
    fail_sends(1);
    assert!(a.client.send(&room, "c-x", "will fail", false));
    let (client_id, message) = a
        .inbox
        .frame(|f| match f {
            ServerFrame::Error {
                client_id: Some(id),
                message,
                ..
            } => Some((id.clone(), message.clone())),
            _ => None,
        })
        .await;
    assert_eq!(client_id, "c-x");
    assert!(
        message.starts_with("The chat service did not take this message"),
        "{message}"
    );
    // offline, a message is kept by the caller instead
    set_reachable(false);
    a.inbox.connection(|c| matches!(c, Connection::Reconnecting(_))).await;
    assert!(
        !a.client.send(&room, "c-y", "later", false),
        "no connection: the caller keeps it"
    );
    set_reachable(true);
    a.inbox.online().await;
    assert!(
        a.inbox
            .frames()
            .iter()
            .all(|f| !matches!(f, ServerFrame::Ack { client_id, .. } if client_id == "c-y"))
    );
    a.client.shutdown();
    b.client.shutdown();
}

#[wasm_bindgen_test]
async fn twilio_own_message_is_acknowledged_before_it_is_shown() {
    let (a, b, room) = two_in_room(&Twilio, 23).await;
    echo_first(true);
    assert!(a.client.send(&room, "c-echo", "hello", false));
    let id = a
        .inbox
        .frame(|f| match f {
            ServerFrame::Message { message } if message.body == "hello" => Some(message.id),
            _ => None,
        })
        .await;
    echo_first(false);
    // the widget turns the pending message into the delivered one before it
    // sees the delivered one, so it never shows it twice
    let frames = a.inbox.frames();
    let ack = frames
        .iter()
        .position(|f| matches!(f, ServerFrame::Ack { client_id, id: i } if client_id == "c-echo" && *i == id));
    let shown = frames
        .iter()
        .position(|f| matches!(f, ServerFrame::Message { message } if message.id == id));
    assert!(ack.is_some() && ack < shown, "{frames:?}");
    a.client.shutdown();
    b.client.shutdown();
}

#[wasm_bindgen_test]
async fn twilio_one_sdk_client_for_every_room_and_none_after_shutdown() {
    let (room, sid) = ("suite-25".to_owned(), Twilio.sid(25));
    add_conversation(&sid, vec!["erin".into()]);
    let (a, _) = enter(&Twilio, "erin", &room, &sid).await;
    // a second room goes through the same SDK client
    let (other, other_sid) = ("suite-26".to_owned(), Twilio.sid(26));
    add_conversation(&other_sid, vec!["erin".into()]);
    a.client.set_conversation(&other, &other_sid);
    a.client.join(&other);
    a.inbox
        .frame(|f| matches!(f, ServerFrame::Joined { room, .. } if *room == other).then_some(()))
        .await;
    assert_eq!(clients_of("erin"), 1, "one SDK client per page");
    a.client.shutdown();
    assert_eq!(open_clients_of("erin"), 0, "shut down with the widget");
}
