//! Where e-mail goes out ([`Mailer`]): SendGrid in production
//! ([`super::sendgrid`]), SMTP or the dev inbox locally (`cli`). One error
//! type ([`SendError`]) for all of them, so the notifier treats every
//! provider's failure alike: unavailable is tried again by the next sweep,
//! refused is not.

use super::chat_view::BoxFuture;
use super::digest_mail::Email;

/// Why a send failed, once retries are used up: every [`Mailer`]'s error
/// (SendGrid, SMTP, the dev inbox).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The provider could not be reached or kept answering 429/5xx.
    Unavailable(String),
    /// The provider refused the request (4xx): retrying would not help.
    Rejected(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unavailable(why) => write!(f, "the mail provider is unavailable: {why}"),
            Self::Rejected(why) => write!(f, "the mail provider refused the mail: {why}"),
        }
    }
}

impl std::error::Error for SendError {}

/// Where e-mail goes out (SendGrid, SMTP, the dev inbox).
pub trait Mailer: Send + Sync {
    /// How many e-mails one call may carry and still be one request.
    fn batch_size(&self) -> usize;
    /// Sends `emails`; returns how many provider requests it took.
    fn send<'a>(&'a self, emails: &'a [Email]) -> BoxFuture<'a, Result<usize, SendError>>;
}
