//! The widget's serde-free wire codec (`protocol::js`) against serde, which
//! the servers use: every frame and API body the widget reads is read the
//! same as serde_json writes it, everything it writes is read back by serde
//! as it was, and what serde refuses the codec refuses too. Runs in
//! headless Chromium (wasm-bindgen-test), where `JSON.parse` is the
//! browser's own.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used)]

use protocol::js::{FromJs, ToJs, parse, stringify};
use protocol::local::{Attachment, ClientFrame, Member, Message, ServerFrame};
use protocol::moderation::{ModerationEvent, ModerationFrame, ModerationRequest, Report};
use protocol::{
    ConfirmRequest, ErrorBody, NotificationSubscription, NotificationsResponse, NotifyState, Provider, SessionRequest,
    SessionResponse, SubscribeRequest, SubscriptionState, TokenRequest, TokenResponse, UnsubscribeRequest,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn message(edited_at: Option<i64>, deleted: bool) -> Message {
    Message {
        id: 9_007_199_254_740_991,
        room: "shipment-123".into(),
        author: "ana".into(),
        body: "**hi** \"quoted\" ünïcode 😄\n<b>".into(),
        created_at: 1_790_000_000,
        edited_at,
        deleted,
        // every other message carries a file whose name needs escaping
        attachment: (!deleted).then(|| {
            Box::new(Attachment {
                id: "f0123".into(),
                name: "قائمة \"packing\".pdf".into(),
                content_type: "application/pdf".into(),
                size: 10_485_760,
            })
        }),
    }
}

/// Every server frame, each optional field both set and unset.
fn server_frames() -> Vec<ServerFrame> {
    let member = |nick: Option<&str>, online| Member {
        identity: "bo".into(),
        nick: nick.map(Into::into),
        online,
    };
    vec![
        ServerFrame::Welcome {
            identity: "ana".into(),
            nick: Some("Ana".into()),
            rooms: vec!["general".into(), "shipment-123".into()],
        },
        ServerFrame::Welcome {
            identity: "ana".into(),
            nick: None,
            rooms: vec![],
        },
        ServerFrame::Joined {
            room: "general".into(),
            members: vec![member(Some("Bo"), true), member(None, false)],
            member_count: 2,
            read_up_to: Some(4),
            last_id: Some(7),
            unread: 3,
        },
        ServerFrame::Joined {
            room: "general".into(),
            members: vec![],
            member_count: 0,
            read_up_to: None,
            last_id: None,
            unread: 0,
        },
        ServerFrame::Message {
            message: message(None, false),
        },
        ServerFrame::History {
            room: "general".into(),
            messages: vec![message(Some(1_790_000_100), false), message(None, true)],
            has_more: true,
        },
        ServerFrame::Ack {
            client_id: "c-1".into(),
            id: 1,
        },
        ServerFrame::Edited {
            message: message(Some(1_790_000_100), false),
        },
        ServerFrame::Deleted {
            room: "general".into(),
            id: 3,
        },
        ServerFrame::Typing {
            room: "general".into(),
            identity: "bo".into(),
        },
        ServerFrame::Presence {
            room: "general".into(),
            identity: "bo".into(),
            online: false,
        },
        ServerFrame::Nick {
            identity: "bo".into(),
            nick: Some("Bo".into()),
        },
        ServerFrame::Nick {
            identity: "bo".into(),
            nick: None,
        },
        ServerFrame::Read {
            room: "general".into(),
            up_to: 12,
        },
        ServerFrame::Error {
            code: "room_closed".into(),
            message: "You no longer have access to general.".into(),
            client_id: Some("c-2".into()),
            room: Some("general".into()),
        },
        ServerFrame::Error {
            code: "bad_frame".into(),
            message: "That frame could not be read.".into(),
            client_id: None,
            room: None,
        },
    ]
}

/// Which variant a frame is; a new variant will not compile until it is
/// listed here (and so in the samples above).
fn server_variant(frame: &ServerFrame) -> usize {
    match frame {
        ServerFrame::Welcome { .. } => 0,
        ServerFrame::Joined { .. } => 1,
        ServerFrame::Message { .. } => 2,
        ServerFrame::History { .. } => 3,
        ServerFrame::Ack { .. } => 4,
        ServerFrame::Edited { .. } => 5,
        ServerFrame::Deleted { .. } => 6,
        ServerFrame::Typing { .. } => 7,
        ServerFrame::Presence { .. } => 8,
        ServerFrame::Nick { .. } => 9,
        ServerFrame::Read { .. } => 10,
        ServerFrame::Error { .. } => 11,
    }
}

fn client_frames() -> Vec<ClientFrame> {
    vec![
        ClientFrame::Join { room: "general".into() },
        ClientFrame::History {
            room: "general".into(),
            before: Some(40),
            limit: Some(20),
        },
        ClientFrame::History {
            room: "general".into(),
            before: None,
            limit: None,
        },
        ClientFrame::Send {
            room: "general".into(),
            client_id: "c-1".into(),
            body: "line one\nline \"two\" 😄".into(),
            attachment: None,
        },
        ClientFrame::Send {
            room: "general".into(),
            client_id: "c-2".into(),
            body: String::new(),
            attachment: Some("f0123".into()),
        },
        ClientFrame::Edit {
            room: "general".into(),
            id: 5,
            body: "fixed".into(),
        },
        ClientFrame::Delete {
            room: "general".into(),
            id: 5,
        },
        ClientFrame::Typing { room: "general".into() },
        ClientFrame::Read {
            room: "general".into(),
            up_to: 5,
        },
        ClientFrame::Nick { nick: "Ana".into() },
    ]
}

fn client_variant(frame: &ClientFrame) -> usize {
    match frame {
        ClientFrame::Join { .. } => 0,
        ClientFrame::History { .. } => 1,
        ClientFrame::Send { .. } => 2,
        ClientFrame::Edit { .. } => 3,
        ClientFrame::Delete { .. } => 4,
        ClientFrame::Typing { .. } => 5,
        ClientFrame::Read { .. } => 6,
        ClientFrame::Nick { .. } => 7,
    }
}

/// `value` as serde_json writes it, read by the codec.
fn reads_as_serde_writes<T: Serialize + FromJs + PartialEq + Debug>(value: T) {
    let json = serde_json::to_string(&value).unwrap();
    assert_eq!(parse::<T>(&json), Some(value), "read {json}");
}

/// `value` as the codec writes it: the JSON serde writes, read back by serde
/// as it was.
fn writes_as_serde_reads<T: Serialize + DeserializeOwned + ToJs + PartialEq + Debug>(value: T) {
    let json = stringify(&value).unwrap();
    let ours: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(ours, serde_json::to_value(&value).unwrap(), "wrote {json}");
    assert_eq!(serde_json::from_str::<T>(&json).unwrap(), value);
}

/// Fails unless `samples` has every one of `variants` variants, in order.
fn covers_every_variant<T>(samples: &[T], variant: fn(&T) -> usize, variants: usize) {
    let mut seen: Vec<usize> = samples.iter().map(variant).collect();
    seen.dedup();
    assert_eq!(
        seen,
        (0..variants).collect::<Vec<_>>(),
        "a sample of every variant, in order"
    );
}

#[wasm_bindgen_test]
fn every_server_frame_reads_as_serde_writes_it() {
    let frames = server_frames();
    covers_every_variant(&frames, server_variant, 12);
    for frame in frames {
        reads_as_serde_writes(frame);
    }
}

#[wasm_bindgen_test]
fn every_client_frame_is_written_as_serde_reads_it() {
    let frames = client_frames();
    covers_every_variant(&frames, client_variant, 8);
    for frame in frames {
        writes_as_serde_reads(frame);
    }
}

/// The window's cache keeps messages in their wire shape, and reads them back.
#[wasm_bindgen_test]
fn a_message_is_written_as_serde_reads_it() {
    for (edited_at, deleted) in [(None, false), (Some(5), false), (Some(6), true)] {
        writes_as_serde_reads(message(edited_at, deleted));
        reads_as_serde_writes(message(edited_at, deleted));
    }
}

#[wasm_bindgen_test]
fn api_bodies_match_serde() {
    for provider in [Provider::Twilio, Provider::Local] {
        reads_as_serde_writes(SessionResponse {
            identity: "ana".into(),
            contexts: vec!["general".into(), "shipment-123".into()],
            context: "general".into(),
            conversation_sid: "CH0123".into(),
            access_token: "a.b.c".into(),
            expires_at: 1_790_003_600,
            provider,
            attachments: (provider == Provider::Local).then(|| protocol::AttachmentPolicy {
                types: vec!["image/jpeg".into(), "application/pdf".into()],
                max_bytes: 10_485_760,
            }),
        });
    }
    reads_as_serde_writes(TokenResponse {
        access_token: "a.b.c".into(),
        expires_at: 1_790_003_600,
    });
    reads_as_serde_writes(ErrorBody {
        error: "context_not_allowed".into(),
        message: "You cannot open this chat.".into(),
    });
    for device_id in [Some("d-1".to_owned()), None] {
        writes_as_serde_reads(SessionRequest {
            token: "h.j.t".into(),
            context: "general".into(),
            device_id: device_id.clone(),
        });
        writes_as_serde_reads(TokenRequest {
            token: "h.j.t".into(),
            device_id,
        });
    }
    let names = vec!["general".to_owned(), "shipment-123".to_owned()];
    assert_eq!(parse::<Vec<String>>(&stringify(&names).unwrap()), Some(names));
}

#[wasm_bindgen_test]
fn notification_bodies_match_serde() {
    for context in [Some("general".to_owned()), None] {
        for address in [Some("a@example.org".to_owned()), None] {
            writes_as_serde_reads(SubscribeRequest {
                token: "h.j.t".into(),
                context: context.clone(),
                address,
            });
        }
        writes_as_serde_reads(ConfirmRequest {
            token: "h.j.t".into(),
            context: context.clone(),
            address: "a@example.org".into(),
            code: "012345".into(),
        });
        writes_as_serde_reads(UnsubscribeRequest {
            token: "h.j.t".into(),
            context: context.clone(),
        });
    }
    reads_as_serde_writes(NotificationsResponse {
        vouched_address: Some("a@example.org".into()),
        subscriptions: vec![
            NotificationSubscription {
                context: None,
                address: Some("a@example.org".into()),
            },
            NotificationSubscription {
                context: Some("shipment-1".into()),
                address: None,
            },
        ],
    });
    reads_as_serde_writes(NotificationsResponse {
        vouched_address: None,
        subscriptions: vec![],
    });
    for state in [NotifyState::On, NotifyState::CodeSent, NotifyState::Off] {
        reads_as_serde_writes(SubscriptionState {
            state,
            address: Some("a@example.org".into()),
        });
    }
    reads_as_serde_writes(SubscriptionState {
        state: NotifyState::Off,
        address: None,
    });
    assert_eq!(parse::<SubscriptionState>(r#"{"state":"maybe","address":null}"#), None);
}

#[wasm_bindgen_test]
fn defaults_are_serde_defaults() {
    for json in [
        r#"{"type":"joined","room":"g","members":[],"memberCount":0,"readUpTo":null,"lastId":null}"#,
        r#"{"type":"joined","room":"g","members":[],"memberCount":0}"#,
        r#"{"type":"message","message":{"id":1,"room":"g","author":"a","body":"b","createdAt":2}}"#,
        r#"{"type":"error","code":"c","message":"m"}"#,
        r#"{"type":"welcome","identity":"a","rooms":[]}"#,
    ] {
        let theirs: ServerFrame = serde_json::from_str(json).unwrap();
        assert_eq!(parse::<ServerFrame>(json), Some(theirs), "{json}");
    }
}

#[wasm_bindgen_test]
fn what_serde_refuses_the_codec_refuses() {
    for json in [
        "not json",
        "null",
        "[]",
        r#""ack""#,
        r#"{"type":"shout","room":"g"}"#,
        r#"{"room":"g","id":1}"#,
        r#"{"type":"ack","clientId":"c"}"#,
        r#"{"type":"ack","clientId":"c","id":"7"}"#,
        r#"{"type":"ack","clientId":"c","id":1.5}"#,
        r#"{"type":"ack","clientId":7,"id":1}"#,
        r#"{"type":"joined","room":"g","members":[],"memberCount":-1}"#,
        r#"{"type":"joined","room":"g","members":{},"memberCount":1}"#,
        r#"{"type":"joined","room":"g","members":[{"identity":"a"}],"memberCount":1}"#,
        r#"{"type":"joined","room":"g","members":[],"memberCount":1,"unread":-2}"#,
        r#"{"type":"history","room":"g","messages":[{"id":1}],"hasMore":false}"#,
        r#"{"type":"presence","room":"g","identity":"a","online":"yes"}"#,
        r#"{"type":"nick","identity":"a","nick":5}"#,
        r#"{"type":"message","message":{"id":1,"room":"g","author":"a","body":"b","createdAt":2,"deleted":"no"}}"#,
    ] {
        assert!(serde_json::from_str::<ServerFrame>(json).is_err(), "serde takes {json}");
        assert_eq!(parse::<ServerFrame>(json), None, "the codec takes {json}");
    }
    for json in [r#"{"accessToken":"x"}"#, r#"{"accessToken":"x","expiresAt":-1}"#, "[1]"] {
        assert!(
            serde_json::from_str::<TokenResponse>(json).is_err(),
            "serde takes {json}"
        );
        assert_eq!(parse::<TokenResponse>(json), None, "the codec takes {json}");
    }
    assert_eq!(parse::<Vec<String>>(r#"["a",1]"#), None);
    assert_eq!(
        parse::<SessionResponse>(
            r#"{"identity":"a","contexts":[],"context":"g","conversationSid":"s","accessToken":"t","expiresAt":1,"provider":"slack"}"#
        ),
        None
    );
}

/// The moderation piece's frames (issue #30), both ways.
#[wasm_bindgen_test]
fn moderation_frames_match_serde() {
    let room = || "group-public-7".to_owned();
    let frames = [
        ModerationFrame::Remove { room: room(), id: 9 },
        ModerationFrame::Mute {
            room: room(),
            identity: "bob".into(),
            minutes: 60,
        },
        ModerationFrame::Unmute {
            room: room(),
            identity: "bob".into(),
        },
        ModerationFrame::Report {
            room: room(),
            id: 9,
            reason: "spam \"again\" 🚫".into(),
        },
        ModerationFrame::Reports { room: room() },
    ];
    for frame in frames {
        writes_as_serde_reads(ModerationRequest {
            token: "header.payload.signature".into(),
            frame: frame.clone(),
        });
        writes_as_serde_reads(frame);
    }
    let report = Report {
        id: 3,
        room: room(),
        message_id: 9,
        reporter: "ana".into(),
        reason: "spam".into(),
        at: 1_790_000_000_000,
    };
    for event in [
        ModerationEvent::Reported { report: report.clone() },
        ModerationEvent::ReportList {
            room: room(),
            reports: vec![report.clone(), report],
        },
        ModerationEvent::ReportList {
            room: room(),
            reports: Vec::new(),
        },
        ModerationEvent::Done {
            action: "mute".into(),
            room: room(),
        },
    ] {
        reads_as_serde_writes(event);
    }
}
