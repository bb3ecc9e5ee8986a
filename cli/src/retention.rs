//! The local server's retention task (issue #30): at start and then every
//! hour, messages past their room's retention (`DACHAT_RETENTION`) are
//! deleted, from `chat.db` with the embedded provider or from Twilio, with
//! the reply addresses of digests about them, and what went is logged. A run that fails is logged and tried at the next
//! hour; one on Twilio stops after its budget and goes on at the next.

use std::time::Duration;

use backend::clock::Clock;
use std::sync::Arc;

use backend::config::Retention;
use backend::notify::Notifier;
use backend::twilio::rest::ConversationsClient;
use local_chat::LocalChat;
use local_chat::notify_sqlite::SqliteNotifyStore;

/// How often the task runs.
pub const EVERY: Duration = Duration::from_secs(3600);

/// How long one run on Twilio may take.
const TWILIO_BUDGET: Duration = Duration::from_secs(300);

/// Where the messages are.
#[derive(Debug)]
pub enum Messages {
    Local(LocalChat),
    Twilio(ConversationsClient),
}

/// Starts the task, unless no room has a retention.
pub fn spawn(messages: Messages, notifier: Arc<Notifier<SqliteNotifyStore>>, retention: Retention, clock: Clock) {
    if !retention.is_on() {
        return;
    }
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(EVERY);
        loop {
            ticks.tick().await;
            run(&messages, &retention, &clock).await;
            match notifier.expire_reply_routes(&retention).await {
                Ok(gone) => tracing::info!(gone, "retention: reply addresses of rooms past their retention removed"),
                Err(e) => tracing::warn!(error = %e, "retention: could not remove old reply addresses"),
            }
        }
    });
}

async fn run(messages: &Messages, retention: &Retention, clock: &Clock) {
    match messages {
        Messages::Local(chat) => match chat.expire(retention) {
            Ok(deleted) => tracing::info!(deleted, "retention: messages past their room's retention deleted"),
            Err(e) => tracing::warn!(error = %e, "retention: could not delete old messages; trying again in an hour"),
        },
        Messages::Twilio(client) => {
            match backend::twilio::retention::expire(client, retention, clock, TWILIO_BUDGET).await {
                Ok(done) => tracing::info!(
                    rooms = done.rooms,
                    deleted = done.deleted,
                    finished = done.done,
                    "retention: messages past their room's retention deleted on Twilio"
                ),
                Err(e) => tracing::warn!(error = %e, "retention: Twilio failed; trying again in an hour"),
            }
        }
    }
}
