//! The API's one error type, rendered in exactly one place as a small JSON
//! body `{"error": code, "message": text}` with the right status.
//!
//! Messages are written for the widget's user and developer; they never
//! contain a token, a key, a secret, an upstream body or a stack. The
//! internal detail (e.g. which Twilio call failed) travels to the logging
//! middleware in a response extension and is logged once there.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::api::MAX_BODY_BYTES;
use crate::app::AppError;
use crate::notify::NotifyError;
use crate::notify::SendError;
use crate::notify::address_codes::{CodeOutcome, CodeRefusal};
use crate::twilio::moderation::ModerationError;
use crate::twilio::rest::RestError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// 400: the request is not what the endpoint takes.
    BadRequest(String),
    /// 401: the host token is missing or does not verify.
    InvalidToken(String),
    /// 403: the token is good but does not list the context.
    ContextNotAllowed,
    NotFound,
    MethodNotAllowed,
    /// 413
    PayloadTooLarge,
    /// 415
    UnsupportedMediaType,
    /// 429
    RateLimited {
        retry_after_secs: u64,
    },
    /// 429: this client address sent too many tokens that failed verification.
    TooManyInvalidTokens {
        retry_after_secs: u64,
    },
    /// 503: the host's JWKS cannot be fetched.
    KeysUnavailable(String),
    /// 503: the chat provider cannot be reached right now.
    UpstreamUnavailable(String),
    /// 502: the chat provider answered in a way we cannot use.
    UpstreamRejected(String),
    /// 403: a webhook not signed by Twilio.
    InvalidSignature,
    /// 503: a feature needs a setting that is not set (names it and the command).
    NotConfigured(String),
    /// An attachment refused by the local provider's file routes.
    File(FileRefusal),
    /// 500: an answer the framework made that none of ours names (the
    /// safety net in `api::json_errors`; a bug if it is ever seen).
    Internal,
    /// A request refused with its own status and code (notifications'
    /// `bad_address`, `wrong_code`, `code_limit`, …; moderation's
    /// `not_moderator`, `not_found`) for the window to act on.
    Refused {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
}

/// Why the local provider's file routes refused an attachment: each with
/// its status and code, and a sentence the window shows as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileRefusal {
    /// The operator turned attachments off.
    Off,
    /// The room is not one the user is in.
    NotAMember,
    /// A type the operator does not allow (`allowed`: the list).
    TypeNotAllowed { allowed: String },
    /// The first bytes are not what the declared type starts with.
    TypeMismatch { declared: String },
    /// Over the largest file (`max`: for people).
    TooLarge { max: String },
    /// Over the user's quota (for people).
    QuotaExceeded { used: String, quota: String },
    /// No bytes.
    Empty,
    /// The upload was sent with a message: only deleting the message removes it.
    AlreadySent,
}

impl FileRefusal {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Off | Self::NotAMember => StatusCode::FORBIDDEN,
            Self::TypeNotAllowed { .. } | Self::TypeMismatch { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooLarge { .. } | Self::QuotaExceeded { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Empty => StatusCode::BAD_REQUEST,
            Self::AlreadySent => StatusCode::CONFLICT,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Off => "attachments_off",
            Self::NotAMember => "not_a_member",
            Self::TypeNotAllowed { .. } => "type_not_allowed",
            Self::TypeMismatch { .. } => "type_mismatch",
            Self::TooLarge { .. } => "too_large",
            Self::QuotaExceeded { .. } => "quota_exceeded",
            Self::Empty => "empty_file",
            Self::AlreadySent => "already_sent",
        }
    }
}

impl std::fmt::Display for FileRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Off => f.write_str("This chat does not take files."),
            Self::NotAMember => f.write_str("You are not in this room."),
            Self::TypeNotAllowed { allowed } => write!(f, "This chat takes only these kinds of file: {allowed}."),
            Self::TypeMismatch { declared } => write!(f, "The file is not what its type says ({declared})."),
            Self::TooLarge { max } => write!(f, "A file may be at most {max}."),
            Self::QuotaExceeded { used, quota } => write!(
                f,
                "Your files here use {used} of {quota}. Delete some messages with files first."
            ),
            Self::Empty => f.write_str("The file is empty."),
            Self::AlreadySent => f.write_str("The file was sent; delete its message instead."),
        }
    }
}

/// The internal detail of an error response, for the log line only.
#[derive(Debug, Clone)]
pub struct ErrorDetail(pub String);

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    message: &'a str,
}

/// How long clients should wait before retrying a 503.
const RETRY_AFTER_SECS: u64 = 5;

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            Self::ContextNotAllowed => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RateLimited { .. } | Self::TooManyInvalidTokens { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::KeysUnavailable(_) | Self::UpstreamUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::UpstreamRejected(_) => StatusCode::BAD_GATEWAY,
            Self::InvalidSignature => StatusCode::FORBIDDEN,
            Self::NotConfigured(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::File(refusal) => refusal.status(),
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Refused { status, .. } => *status,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::InvalidToken(_) => "invalid_token",
            Self::ContextNotAllowed => "context_not_allowed",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::RateLimited { .. } | Self::TooManyInvalidTokens { .. } => "rate_limited",
            Self::KeysUnavailable(_) => "keys_unavailable",
            Self::UpstreamUnavailable(_) => "chat_unavailable",
            Self::UpstreamRejected(_) => "chat_error",
            Self::InvalidSignature => "invalid_signature",
            Self::NotConfigured(_) => "not_configured",
            Self::File(refusal) => refusal.code(),
            Self::Internal => "internal_error",
            Self::Refused { code, .. } => code,
        }
    }

    fn message(&self) -> String {
        match self {
            Self::BadRequest(why) => why.clone(),
            Self::InvalidToken(why) => why.clone(),
            Self::ContextNotAllowed => "this chat is not among the contexts your token allows".into(),
            Self::NotFound => "no such endpoint".into(),
            Self::MethodNotAllowed => "method not allowed on this endpoint".into(),
            Self::PayloadTooLarge => format!("request body is larger than {MAX_BODY_BYTES} bytes"),
            Self::UnsupportedMediaType => "request body must be JSON (Content-Type: application/json)".into(),
            Self::RateLimited { .. } => "too many requests; try again shortly".into(),
            Self::TooManyInvalidTokens { retry_after_secs } => {
                format!("too many requests with invalid tokens from this address; try again in {retry_after_secs} s")
            }
            Self::KeysUnavailable(_) => "the host's signing keys cannot be fetched right now; try again shortly".into(),
            Self::UpstreamUnavailable(_) => "the chat service cannot be reached right now; try again shortly".into(),
            Self::UpstreamRejected(_) => "the chat service refused the request".into(),
            Self::InvalidSignature => "the request does not carry Twilio's signature (X-Twilio-Signature)".into(),
            Self::NotConfigured(what) => what.clone(),
            Self::File(refusal) => refusal.to_string(),
            Self::Internal => "something went wrong on our side; try again shortly".into(),
            Self::Refused { message, .. } => message.clone(),
        }
    }

    /// What is logged besides the message (never sent to the client).
    fn detail(&self) -> Option<&str> {
        match self {
            Self::KeysUnavailable(d) | Self::UpstreamUnavailable(d) | Self::UpstreamRejected(d) => Some(d),
            _ => None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = self.message();
        let mut response = (
            self.status(),
            Json(Body {
                error: self.code(),
                message: &message,
            }),
        )
            .into_response();
        let retry_after = match &self {
            Self::RateLimited { retry_after_secs } | Self::TooManyInvalidTokens { retry_after_secs } => {
                Some(*retry_after_secs)
            }
            Self::KeysUnavailable(_) | Self::UpstreamUnavailable(_) => Some(RETRY_AFTER_SECS),
            _ => None,
        };
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response.extensions_mut().insert(ErrorDetail(match self.detail() {
            Some(detail) => format!("{}: {message} ({detail})", self.code()),
            None => format!("{}: {message}", self.code()),
        }));
        response
    }
}

/// The one conversion of the service's errors into the API's.
impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::InvalidValue(e) => Self::BadRequest(e.to_string()),
            AppError::InvalidToken(e) => Self::InvalidToken(e.to_string()),
            AppError::ContextNotAllowed => Self::ContextNotAllowed,
            AppError::RateLimited { retry_after_secs } => Self::RateLimited { retry_after_secs },
            AppError::KeysUnavailable(e) => Self::KeysUnavailable(e.0),
            AppError::Chat(RestError::Unavailable(why)) | AppError::LocalRooms(why) => Self::UpstreamUnavailable(why),
            AppError::Chat(RestError::Rejected(why)) => Self::UpstreamRejected(why),
            AppError::NoTwilio => Self::NotFound,
            AppError::WebhooksNotConfigured(what) => {
                Self::NotConfigured(format!("Twilio webhooks are not configured: {what}"))
            }
            AppError::InvalidSignature => Self::InvalidSignature,
            AppError::NotifyOff(why) => Self::NotConfigured(why),
            AppError::BadUnsubscribeLink => Self::Refused {
                status: StatusCode::BAD_REQUEST,
                code: "bad_link",
                message: "This unsubscribe link is not valid. Copy the whole link from the e-mail, or turn e-mail off in the chat window.".into(),
            },
            AppError::Notify(e) => notify_error(e),
            AppError::BadInboundKey => Self::Refused {
                status: StatusCode::FORBIDDEN,
                code: "bad_key",
                message: "This URL takes e-mail only with the key it was given (?key=).".into(),
            },
            AppError::NotModerator => Self::Refused {
                status: StatusCode::FORBIDDEN,
                code: "not_moderator",
                message: "Only the room's moderators can do that.".into(),
            },
            AppError::ModerationOff(why) => Self::NotConfigured(why),
            AppError::Moderation(e) => moderation_error(e),
        }
    }
}

fn moderation_error(e: ModerationError) -> ApiError {
    match e {
        ModerationError::NotFound(what) => ApiError::Refused {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message: what,
        },
        ModerationError::NotConfigured(what) => ApiError::NotConfigured(what),
        ModerationError::TooManyReports { retry_after_secs } => ApiError::RateLimited { retry_after_secs },
        ModerationError::Rest(e) => AppError::Chat(e).into(),
        ModerationError::Store(e) => ApiError::UpstreamUnavailable(e.to_string()),
    }
}

fn notify_error(e: NotifyError) -> ApiError {
    let refused = |status, code, message: String| ApiError::Refused { status, code, message };
    match e {
        NotifyError::ContextNotAllowed => ApiError::ContextNotAllowed,
        NotifyError::BadAddress(why) => refused(StatusCode::BAD_REQUEST, "bad_address", why),
        NotifyError::CodeRefused(why @ (CodeRefusal::TooManyForYou | CodeRefusal::TooManyForAddress)) => {
            refused(StatusCode::TOO_MANY_REQUESTS, "code_limit", why.to_string())
        }
        NotifyError::CodeRefused(why @ CodeRefusal::NoRandomness) => {
            refused(StatusCode::SERVICE_UNAVAILABLE, "unavailable", why.to_string())
        }
        NotifyError::Code(outcome) => {
            let code = match outcome {
                CodeOutcome::LockedOut => "code_locked",
                CodeOutcome::Expired | CodeOutcome::AlreadyUsed => "code_expired",
                _ => "wrong_code",
            };
            refused(StatusCode::BAD_REQUEST, code, outcome.to_string())
        }
        e @ NotifyError::NoCode => refused(StatusCode::BAD_REQUEST, "no_code", e.to_string()),
        NotifyError::Mail(SendError::Unavailable(_)) => refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "mail_unavailable",
            "E-mail cannot be sent right now. Try again in a few minutes.".into(),
        ),
        NotifyError::Mail(SendError::Rejected(_)) => refused(
            StatusCode::BAD_GATEWAY,
            "mail_refused",
            "The mail service refused this e-mail. Check the address.".into(),
        ),
        NotifyError::Store(e) => ApiError::UpstreamUnavailable(e.to_string()),
        NotifyError::Chat(e) => ApiError::UpstreamUnavailable(e.0),
        e @ NotifyError::UnderWay => ApiError::UpstreamUnavailable(e.to_string()),
    }
}

/// One of each error the API can answer, each made the way the service
/// makes it (through `From<AppError>` where it comes from the service):
/// the README's table of codes is checked against this list. The `match`
/// below does not compile until a new `AppError` variant has its sample.
pub fn every_error() -> Vec<ApiError> {
    use crate::notify::ViewError;
    use crate::notify::store::StoreError;
    use crate::twilio::moderation::ModerationStoreError;
    let detail = String::new;
    let from_app = [
        AppError::InvalidValue(crate::domain::InvalidValue {
            what: "context",
            reason: "is empty",
        }),
        AppError::InvalidToken(crate::tokens::host_jwt::HostTokenError::UnknownKid),
        AppError::ContextNotAllowed,
        AppError::RateLimited { retry_after_secs: 1 },
        AppError::KeysUnavailable(crate::tokens::jwks::JwksUnavailable(detail())),
        AppError::Chat(RestError::Unavailable(detail())),
        AppError::Chat(RestError::Rejected(detail())),
        AppError::LocalRooms(detail()),
        AppError::NoTwilio,
        AppError::WebhooksNotConfigured(detail()),
        AppError::InvalidSignature,
        AppError::NotifyOff(detail()),
        AppError::BadUnsubscribeLink,
        AppError::BadInboundKey,
        AppError::Notify(NotifyError::ContextNotAllowed),
        AppError::Notify(NotifyError::UnderWay),
        AppError::Notify(NotifyError::BadAddress(detail())),
        AppError::Notify(NotifyError::CodeRefused(CodeRefusal::TooManyForYou)),
        AppError::Notify(NotifyError::CodeRefused(CodeRefusal::TooManyForAddress)),
        AppError::Notify(NotifyError::CodeRefused(CodeRefusal::NoRandomness)),
        AppError::Notify(NotifyError::Code(CodeOutcome::Wrong { tries_left: 1 })),
        AppError::Notify(NotifyError::Code(CodeOutcome::Malformed)),
        AppError::Notify(NotifyError::Code(CodeOutcome::LockedOut)),
        AppError::Notify(NotifyError::Code(CodeOutcome::Expired)),
        AppError::Notify(NotifyError::Code(CodeOutcome::AlreadyUsed)),
        AppError::Notify(NotifyError::NoCode),
        AppError::Notify(NotifyError::Mail(SendError::Unavailable(detail()))),
        AppError::Notify(NotifyError::Mail(SendError::Rejected(detail()))),
        AppError::Notify(NotifyError::Store(StoreError(detail()))),
        AppError::Notify(NotifyError::Chat(ViewError(detail()))),
        AppError::NotModerator,
        AppError::ModerationOff(detail()),
        AppError::Moderation(ModerationError::NotFound(detail())),
        AppError::Moderation(ModerationError::NotConfigured(detail())),
        AppError::Moderation(ModerationError::TooManyReports { retry_after_secs: 60 }),
        AppError::Moderation(ModerationError::Rest(RestError::Unavailable(detail()))),
        AppError::Moderation(ModerationError::Rest(RestError::Rejected(detail()))),
        AppError::Moderation(ModerationError::Store(ModerationStoreError(detail()))),
    ];
    for e in &from_app {
        // a new variant needs a sample above
        match e {
            AppError::InvalidValue(_)
            | AppError::InvalidToken(_)
            | AppError::ContextNotAllowed
            | AppError::RateLimited { .. }
            | AppError::KeysUnavailable(_)
            | AppError::Chat(_)
            | AppError::LocalRooms(_)
            | AppError::NoTwilio
            | AppError::WebhooksNotConfigured(_)
            | AppError::InvalidSignature
            | AppError::NotifyOff(_)
            | AppError::Notify(_)
            | AppError::BadUnsubscribeLink
            | AppError::BadInboundKey
            | AppError::NotModerator
            | AppError::ModerationOff(_)
            | AppError::Moderation(_) => {}
        }
    }
    let mut errors: Vec<ApiError> = from_app.into_iter().map(ApiError::from).collect();
    // made by the HTTP layer itself
    errors.extend([
        ApiError::BadRequest(detail()),
        ApiError::InvalidToken(detail()),
        ApiError::NotFound,
        ApiError::MethodNotAllowed,
        ApiError::PayloadTooLarge,
        ApiError::UnsupportedMediaType,
        ApiError::TooManyInvalidTokens { retry_after_secs: 1 },
        ApiError::Internal,
    ]);
    // the local provider's file routes
    errors.extend(
        [
            FileRefusal::Off,
            FileRefusal::NotAMember,
            FileRefusal::TypeNotAllowed { allowed: detail() },
            FileRefusal::TypeMismatch { declared: detail() },
            FileRefusal::TooLarge { max: detail() },
            FileRefusal::QuotaExceeded {
                used: detail(),
                quota: detail(),
            },
            FileRefusal::Empty,
            FileRefusal::AlreadySent,
        ]
        .into_iter()
        .map(ApiError::File),
    );
    errors
}
