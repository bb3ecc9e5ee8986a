//! Notification e-mail in the local server: the notifier over SQLite
//! (`notify.db` in the data folder), the provider's view (the embedded
//! provider, whose message events it hears; or Twilio, whose events come
//! to the webhook), and SMTP or the dev inbox ([`crate::mailers`]); its
//! tasks: each new local message watches the room's followers, and a
//! sweep runs every [`sweep_every`] (one at a time: the next waits for the
//! last).
//!
//! Without `DACHAT_NOTIFY_SECRET`, a secret is made once and kept in the
//! data folder (`notify.secret`, mode 0600), so codes and unsubscribe
//! links outlive a restart. Without `DACHAT_NOTIFY_LINK`, digests link to
//! the demo page (`/?context=<room>`); without `DACHAT_PUBLIC_URL`,
//! unsubscribe links point at the listening address.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use backend::clock::Clock;
use backend::config::NotifySettings;
use backend::notify::{ChatView, Mailer, Notifier, Notify, NotifyConfig};
use backend::secret::Secret;
use local_chat::MessageEvent;
use local_chat::notify_sqlite::SqliteNotifyStore;

use crate::mailers::{DevInbox, SmtpMailer};

/// The local notifier and, without SMTP, its dev inbox.
pub struct LocalNotify {
    pub notifier: Arc<Notifier<SqliteNotifyStore>>,
    /// The notifier's mailer (SMTP or the dev inbox), for other mail.
    pub mailer: Arc<dyn Mailer>,
    pub inbox: Option<DevInbox>,
    /// Where replies by e-mail are addressed, when they are on.
    pub reply_domain: Option<String>,
    every: Duration,
}

impl std::fmt::Debug for LocalNotify {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalNotify")
            .field("notifier", &self.notifier)
            .field("reply_domain", &self.reply_domain)
            .finish_non_exhaustive()
    }
}

/// The dev inbox's reply domain, when none is set (`.localhost` never
/// leaves the machine).
pub const DEV_REPLY_DOMAIN: &str = "reply.localhost";

/// Replies by e-mail locally: with the dev inbox always (its page answers
/// them); with a real SMTP server when the listener and the domain are
/// both set, so no digest offers an address that leads nowhere.
fn reply_domain(settings: &NotifySettings) -> Option<String> {
    match (&settings.smtp_url, &settings.reply_domain, settings.smtp_listen) {
        (None, domain, _) => Some(domain.clone().unwrap_or_else(|| DEV_REPLY_DOMAIN.to_owned())),
        (Some(_), Some(domain), Some(_)) => Some(domain.clone()),
        (Some(_), Some(_), None) | (Some(_), None, Some(_)) => {
            tracing::warn!("replies by e-mail are off: set both DACHAT_REPLY_DOMAIN and DACHAT_SMTP_LISTEN");
            None
        }
        (Some(_), None, None) => None,
    }
}

/// How often the sweep runs: a quarter of the delay, between 1 s and a minute.
pub fn sweep_every(delay: Duration) -> Duration {
    (delay / 4).clamp(Duration::from_secs(1), Duration::from_secs(60))
}

/// The kept secret, made on first use.
fn kept_secret(data_dir: &Path) -> anyhow::Result<Secret> {
    let path = data_dir.join("notify.secret");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let text = text.trim();
        if text.len() >= 32 {
            return Ok(Secret::new(text.to_owned()));
        }
    }
    let mut bytes = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| anyhow::anyhow!("the system random source failed"))?;
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::create_dir_all(data_dir).with_context(|| format!("cannot create {}", data_dir.display()))?;
    {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        file.write_all(secret.as_bytes())?;
    }
    Ok(Secret::new(secret))
}

impl LocalNotify {
    pub fn build(
        settings: &NotifySettings,
        chat: Arc<dyn ChatView>,
        data_dir: &Path,
        listen: SocketAddr,
        clock: Clock,
    ) -> anyhow::Result<Self> {
        let store = SqliteNotifyStore::open(&data_dir.join("notify.db")).map_err(|e| {
            anyhow::anyhow!(
                "cannot open the notifications' database: {e}{}",
                crate::why_not_writable(data_dir)
            )
        })?;
        let secret = match &settings.secret {
            Some(secret) => secret.clone(),
            None => kept_secret(data_dir)?,
        };
        let public_url = settings
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{listen}"));
        let link_template = settings
            .link_template
            .clone()
            .unwrap_or_else(|| format!("{public_url}/?context={{context}}"));
        let (mailer, inbox): (Arc<dyn Mailer>, Option<DevInbox>) = match &settings.smtp_url {
            Some(url) => {
                let from = settings.mail_from.as_deref().unwrap_or("dachat@localhost");
                (Arc::new(SmtpMailer::new(url, from, &settings.product)?), None)
            }
            None => {
                let inbox = DevInbox::default();
                (Arc::new(inbox.clone()), Some(inbox))
            }
        };
        let config = NotifyConfig {
            delay: settings.delay,
            link_template,
            product: settings.product.clone(),
            public_url,
            secret,
            excerpts: settings.excerpts,
            reply_domain: reply_domain(settings),
            sweep_budget: None,
        };
        Ok(Self {
            reply_domain: config.reply_domain.clone(),
            notifier: Arc::new(Notifier::new(store, chat, mailer.clone(), config, clock)),
            mailer,
            inbox,
            every: sweep_every(settings.delay),
        })
    }

    /// Starts the tasks (hearing `events` when the provider has them);
    /// they end with the runtime.
    pub fn spawn(&self, events: Option<tokio::sync::mpsc::UnboundedReceiver<MessageEvent>>) {
        if let Some(mut events) = events {
            let notifier = Arc::clone(&self.notifier);
            tokio::spawn(async move {
                while let Some(event) = events.recv().await {
                    if let Err(e) = notifier.on_message(&event.room, &event.author, event.at).await {
                        tracing::warn!(error = %e, "a message could not be noted for notifications");
                    }
                }
            });
        }
        let notifier = Arc::clone(&self.notifier);
        let every = self.every;
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let started = std::time::Instant::now();
                match notifier.sweep().await {
                    Ok(report) if report.people > 0 || report.events > 0 => tracing::info!(
                        people = report.people,
                        emails = report.emails,
                        requests = report.requests,
                        deferred = report.deferred,
                        events = report.events,
                        ms = started.elapsed().as_millis(),
                        "notification sweep"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "the notification sweep failed; next tick"),
                }
            }
        });
    }
}

/// `DACHAT_REPORT_ADDRESS`, checked to be an address by the notifier's rules.
pub fn report_address(
    settings: &backend::config::Settings,
) -> anyhow::Result<Option<backend::notify::email_address::EmailAddress>> {
    settings
        .report_address
        .as_deref()
        .map(|address| {
            backend::notify::email_address::EmailAddress::parse(address).map_err(|e| {
                anyhow::anyhow!(
                    "setting {}: {address:?} is not an e-mail address: {e}",
                    backend::config::REPORT_ADDRESS.env
                )
            })
        })
        .transpose()
}

impl LocalNotify {
    /// Reports mailed to `to` through this notifier's mailer, if an address is set.
    pub fn report_mail(
        &self,
        to: Option<backend::notify::email_address::EmailAddress>,
        product: &str,
    ) -> Option<backend::notify::report_mail::ReportMail> {
        to.map(|to| backend::notify::report_mail::ReportMail {
            mailer: self.mailer.clone(),
            to,
            product: product.to_owned(),
        })
    }
}

/// Each report of the local provider's, e-mailed to the operator
/// (`backend::notify::report_mail`) as it comes.
pub fn spawn_report_mail(
    mail: backend::notify::report_mail::ReportMail,
    mut reports: tokio::sync::mpsc::UnboundedReceiver<protocol::moderation::Report>,
) {
    tokio::spawn(async move {
        while let Some(report) = reports.recv().await {
            mail.send(&report).await;
        }
    });
}
