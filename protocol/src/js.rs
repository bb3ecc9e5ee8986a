//! The wire types to and from JavaScript values, for the widget (feature
//! `js`). The widget reads JSON with the browser's own `JSON.parse` and
//! takes the fields it needs from the result; this costs the download a
//! fraction of serde's generic decoding (which, for the internally tagged
//! frames, buffers every frame in serde's `Content` tree first). The field
//! names and defaults here are the serde ones above; the widget's wire test
//! (`widget/tests/wire.rs`) checks every type both ways against serde_json.

use crate::local::{Attachment, ClientFrame, Member, Message, ServerFrame};
use crate::moderation::{ModerationEvent, ModerationFrame, ModerationRequest, Report};
use crate::{
    AttachmentPolicy, ConfirmRequest, ErrorBody, NotificationSubscription, NotificationsResponse, NotifyState,
    Provider, SessionRequest, SessionResponse, SubscribeRequest, SubscriptionState, TokenRequest, TokenResponse,
    UnsubscribeRequest,
};
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::JsValue;

/// A value read from a JavaScript value of its wire shape; `None` when the
/// shape is wrong (a missing field, a string where a number belongs, …).
pub trait FromJs: Sized {
    fn from_js(value: &JsValue) -> Option<Self>;
}

/// A value as a JavaScript value of its wire shape.
pub trait ToJs {
    fn to_js(&self) -> JsValue;
}

/// Parses JSON text into `T`; `None` for bad JSON or the wrong shape.
pub fn parse<T: FromJs>(json: &str) -> Option<T> {
    T::from_js(&js_sys::JSON::parse(json).ok()?)
}

/// `value` as JSON text.
pub fn stringify<T: ToJs + ?Sized>(value: &T) -> Option<String> {
    js_sys::JSON::stringify(&value.to_js()).ok()?.as_string()
}

fn get(value: &JsValue, key: &str) -> JsValue {
    if !value.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(value, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn absent(value: &JsValue) -> bool {
    value.is_undefined() || value.is_null()
}

fn string(value: &JsValue, key: &str) -> Option<String> {
    get(value, key).as_string()
}

/// An optional field: `Some(None)` when missing or null, `None` when present
/// with the wrong type.
fn optional<T>(value: &JsValue, key: &str, read: impl Fn(&JsValue) -> Option<T>) -> Option<Option<T>> {
    let field = get(value, key);
    if absent(&field) {
        Some(None)
    } else {
        read(&field).map(Some)
    }
}

fn integer(value: &JsValue) -> Option<i64> {
    let n = value.as_f64()?;
    // integers JavaScript numbers hold exactly
    (n.fract() == 0.0 && n.abs() <= 9_007_199_254_740_991.0).then_some(n as i64)
}

fn int(value: &JsValue, key: &str) -> Option<i64> {
    integer(&get(value, key))
}

fn uint<T: TryFrom<i64>>(value: &JsValue, key: &str) -> Option<T> {
    T::try_from(int(value, key)?).ok()
}

fn boolean(value: &JsValue, key: &str) -> Option<bool> {
    get(value, key).as_bool()
}

fn list<T: FromJs>(value: &JsValue, key: &str) -> Option<Vec<T>> {
    Vec::from_js(&get(value, key))
}

impl FromJs for String {
    fn from_js(value: &JsValue) -> Option<Self> {
        value.as_string()
    }
}

impl<T: FromJs> FromJs for Vec<T> {
    fn from_js(value: &JsValue) -> Option<Self> {
        if !Array::is_array(value) {
            return None;
        }
        Array::from(value).iter().map(|item| T::from_js(&item)).collect()
    }
}

impl ToJs for str {
    fn to_js(&self) -> JsValue {
        JsValue::from_str(self)
    }
}

impl ToJs for String {
    fn to_js(&self) -> JsValue {
        JsValue::from_str(self)
    }
}

impl<T: ToJs> ToJs for [T] {
    fn to_js(&self) -> JsValue {
        self.iter().map(ToJs::to_js).collect::<Array>().into()
    }
}

impl<T: ToJs> ToJs for Vec<T> {
    fn to_js(&self) -> JsValue {
        self.as_slice().to_js()
    }
}

/// An object built field by field.
struct Fields(Object);

impl Fields {
    fn new() -> Fields {
        Fields(Object::new())
    }

    fn set(self, key: &str, value: impl Into<JsValue>) -> Fields {
        let _ = Reflect::set(&self.0, &JsValue::from_str(key), &value.into());
        self
    }

    fn int(self, key: &str, value: i64) -> Fields {
        self.set(key, value as f64)
    }

    /// An optional field serde writes as `null` when empty.
    fn nullable(self, key: &str, value: Option<impl Into<JsValue>>) -> Fields {
        match value {
            Some(value) => self.set(key, value),
            None => self.set(key, JsValue::NULL),
        }
    }

    /// An optional field serde leaves out when empty.
    fn skip_none(self, key: &str, value: Option<impl Into<JsValue>>) -> Fields {
        match value {
            Some(value) => self.set(key, value),
            None => self,
        }
    }

    fn done(self) -> JsValue {
        self.0.into()
    }
}

impl ToJs for SessionRequest {
    fn to_js(&self) -> JsValue {
        Fields::new()
            .set("token", &self.token)
            .set("context", &self.context)
            .skip_none("deviceId", self.device_id.as_deref())
            .done()
    }
}

impl ToJs for TokenRequest {
    fn to_js(&self) -> JsValue {
        Fields::new()
            .set("token", &self.token)
            .skip_none("deviceId", self.device_id.as_deref())
            .done()
    }
}

impl FromJs for Provider {
    fn from_js(value: &JsValue) -> Option<Self> {
        match value.as_string()?.as_str() {
            "twilio" => Some(Provider::Twilio),
            "local" => Some(Provider::Local),
            _ => None,
        }
    }
}

impl FromJs for SessionResponse {
    fn from_js(v: &JsValue) -> Option<Self> {
        Some(SessionResponse {
            identity: string(v, "identity")?,
            contexts: list(v, "contexts")?,
            context: string(v, "context")?,
            conversation_sid: string(v, "conversationSid")?,
            access_token: string(v, "accessToken")?,
            expires_at: uint(v, "expiresAt")?,
            provider: Provider::from_js(&get(v, "provider"))?,
            attachments: optional(v, "attachments", |a| {
                Some(AttachmentPolicy {
                    types: list(a, "types")?,
                    max_bytes: uint(a, "maxBytes")?,
                })
            })?,
        })
    }
}

impl FromJs for TokenResponse {
    fn from_js(v: &JsValue) -> Option<Self> {
        Some(TokenResponse {
            access_token: string(v, "accessToken")?,
            expires_at: uint(v, "expiresAt")?,
        })
    }
}

impl ToJs for SubscribeRequest {
    fn to_js(&self) -> JsValue {
        Fields::new()
            .set("token", &self.token)
            .nullable("context", self.context.as_deref())
            .nullable("address", self.address.as_deref())
            .done()
    }
}

impl ToJs for ConfirmRequest {
    fn to_js(&self) -> JsValue {
        Fields::new()
            .set("token", &self.token)
            .nullable("context", self.context.as_deref())
            .set("address", &self.address)
            .set("code", &self.code)
            .done()
    }
}

impl ToJs for UnsubscribeRequest {
    fn to_js(&self) -> JsValue {
        Fields::new()
            .set("token", &self.token)
            .nullable("context", self.context.as_deref())
            .done()
    }
}

impl FromJs for NotificationSubscription {
    fn from_js(v: &JsValue) -> Option<Self> {
        Some(NotificationSubscription {
            context: optional(v, "context", JsValue::as_string)?,
            address: optional(v, "address", JsValue::as_string)?,
        })
    }
}

impl FromJs for NotificationsResponse {
    fn from_js(v: &JsValue) -> Option<Self> {
        Some(NotificationsResponse {
            vouched_address: optional(v, "vouchedAddress", JsValue::as_string)?,
            subscriptions: list(v, "subscriptions")?,
        })
    }
}

impl FromJs for SubscriptionState {
    fn from_js(v: &JsValue) -> Option<Self> {
        Some(SubscriptionState {
            state: match string(v, "state")?.as_str() {
                "on" => NotifyState::On,
                "code_sent" => NotifyState::CodeSent,
                "off" => NotifyState::Off,
                _ => return None,
            },
            address: optional(v, "address", JsValue::as_string)?,
        })
    }
}

impl FromJs for ErrorBody {
    fn from_js(v: &JsValue) -> Option<Self> {
        Some(ErrorBody {
            error: string(v, "error")?,
            message: string(v, "message")?,
        })
    }
}

impl FromJs for Message {
    fn from_js(v: &JsValue) -> Option<Self> {
        Some(Message {
            id: int(v, "id")?,
            room: string(v, "room")?,
            author: string(v, "author")?,
            body: string(v, "body")?,
            created_at: int(v, "createdAt")?,
            edited_at: optional(v, "editedAt", integer)?,
            deleted: optional(v, "deleted", JsValue::as_bool)?.unwrap_or(false),
            attachment: optional(v, "attachment", |a| Attachment::from_js(a).map(Box::new))?,
        })
    }
}

impl FromJs for Attachment {
    fn from_js(v: &JsValue) -> Option<Self> {
        Some(Attachment {
            id: string(v, "id")?,
            name: string(v, "name")?,
            content_type: string(v, "contentType")?,
            size: uint(v, "size")?,
        })
    }
}

impl ToJs for Attachment {
    fn to_js(&self) -> JsValue {
        Fields::new()
            .set("id", &self.id)
            .set("name", &self.name)
            .set("contentType", &self.content_type)
            .set("size", self.size as f64)
            .done()
    }
}

/// The widget keeps recent messages on the device (its IndexedDB cache) in
/// their wire shape.
impl ToJs for Message {
    fn to_js(&self) -> JsValue {
        Fields::new()
            .int("id", self.id)
            .set("room", &self.room)
            .set("author", &self.author)
            .set("body", &self.body)
            .int("createdAt", self.created_at)
            .skip_none("editedAt", self.edited_at.map(|t| t as f64))
            .set("deleted", self.deleted)
            .skip_none("attachment", self.attachment.as_deref().map(ToJs::to_js))
            .done()
    }
}

impl FromJs for Member {
    fn from_js(v: &JsValue) -> Option<Self> {
        Some(Member {
            identity: string(v, "identity")?,
            nick: optional(v, "nick", JsValue::as_string)?,
            online: boolean(v, "online")?,
        })
    }
}

impl ToJs for ClientFrame {
    fn to_js(&self) -> JsValue {
        let frame = |kind: &str| Fields::new().set("type", kind);
        match self {
            ClientFrame::Join { room } => frame("join").set("room", room),
            ClientFrame::History { room, before, limit } => frame("history")
                .set("room", room)
                .nullable("before", before.map(|b| b as f64))
                .nullable("limit", *limit),
            ClientFrame::Send {
                room,
                client_id,
                body,
                attachment,
            } => frame("send")
                .set("room", room)
                .set("clientId", client_id)
                .set("body", body)
                .skip_none("attachment", attachment.as_deref()),
            ClientFrame::Edit { room, id, body } => frame("edit").set("room", room).int("id", *id).set("body", body),
            ClientFrame::Delete { room, id } => frame("delete").set("room", room).int("id", *id),
            ClientFrame::Typing { room } => frame("typing").set("room", room),
            ClientFrame::Read { room, up_to } => frame("read").set("room", room).int("upTo", *up_to),
            ClientFrame::Nick { nick } => frame("nick").set("nick", nick),
        }
        .done()
    }
}

impl FromJs for ServerFrame {
    fn from_js(v: &JsValue) -> Option<Self> {
        let room = || string(v, "room");
        let identity = || string(v, "identity");
        let message = || Message::from_js(&get(v, "message"));
        Some(match string(v, "type")?.as_str() {
            "welcome" => ServerFrame::Welcome {
                identity: identity()?,
                nick: optional(v, "nick", JsValue::as_string)?,
                rooms: list(v, "rooms")?,
            },
            "joined" => ServerFrame::Joined {
                room: room()?,
                members: list(v, "members")?,
                member_count: uint(v, "memberCount")?,
                read_up_to: optional(v, "readUpTo", integer)?,
                last_id: optional(v, "lastId", integer)?,
                unread: optional(v, "unread", |n| u32::try_from(integer(n)?).ok())?.unwrap_or(0),
            },
            "message" => ServerFrame::Message { message: message()? },
            "history" => ServerFrame::History {
                room: room()?,
                messages: list(v, "messages")?,
                has_more: boolean(v, "hasMore")?,
            },
            "ack" => ServerFrame::Ack {
                client_id: string(v, "clientId")?,
                id: int(v, "id")?,
            },
            "edited" => ServerFrame::Edited { message: message()? },
            "deleted" => ServerFrame::Deleted {
                room: room()?,
                id: int(v, "id")?,
            },
            "typing" => ServerFrame::Typing {
                room: room()?,
                identity: identity()?,
            },
            "presence" => ServerFrame::Presence {
                room: room()?,
                identity: identity()?,
                online: boolean(v, "online")?,
            },
            "nick" => ServerFrame::Nick {
                identity: identity()?,
                nick: optional(v, "nick", JsValue::as_string)?,
            },
            "read" => ServerFrame::Read {
                room: room()?,
                up_to: int(v, "upTo")?,
            },
            "error" => ServerFrame::Error {
                code: string(v, "code")?,
                message: string(v, "message")?,
                client_id: optional(v, "clientId", JsValue::as_string)?,
                room: optional(v, "room", JsValue::as_string)?,
            },
            _ => return None,
        })
    }
}

impl ToJs for ModerationFrame {
    fn to_js(&self) -> JsValue {
        let frame = |kind: &str, room: &str| Fields::new().set("type", kind).set("room", room);
        match self {
            ModerationFrame::Remove { room, id } => frame("remove", room).int("id", *id),
            ModerationFrame::Mute {
                room,
                identity,
                minutes,
            } => frame("mute", room).set("identity", identity).set("minutes", *minutes),
            ModerationFrame::Unmute { room, identity } => frame("unmute", room).set("identity", identity),
            ModerationFrame::Report { room, id, reason } => frame("report", room).int("id", *id).set("reason", reason),
            ModerationFrame::Reports { room } => frame("reports", room),
        }
        .done()
    }
}

impl ToJs for ModerationRequest {
    fn to_js(&self) -> JsValue {
        Fields::new()
            .set("token", &self.token)
            .set("frame", self.frame.to_js())
            .done()
    }
}

impl FromJs for Report {
    fn from_js(v: &JsValue) -> Option<Self> {
        Some(Report {
            id: int(v, "id")?,
            room: string(v, "room")?,
            message_id: int(v, "messageId")?,
            reporter: string(v, "reporter")?,
            reason: string(v, "reason")?,
            at: int(v, "at")?,
        })
    }
}

impl FromJs for ModerationEvent {
    fn from_js(v: &JsValue) -> Option<Self> {
        Some(match string(v, "type")?.as_str() {
            "reported" => ModerationEvent::Reported {
                report: Report::from_js(&get(v, "report"))?,
            },
            "reportList" => ModerationEvent::ReportList {
                room: string(v, "room")?,
                reports: list(v, "reports")?,
            },
            "done" => ModerationEvent::Done {
                action: string(v, "action")?,
                room: string(v, "room")?,
            },
            _ => return None,
        })
    }
}
