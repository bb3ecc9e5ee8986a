//! Notifications as production runs them (the Lambdas): the DynamoDB store
//! (`DACHAT_NOTIFY_TABLE`, set by the stack), the Twilio view and SendGrid;
//! or, when something they need is not set, the reason they are off (the
//! API then answers 503 `not_configured` with it, and the sweep logs it).

use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::config::{ProviderSettings, SENDGRID_API_KEY, Settings};
use crate::http_client::RetryPolicy;
use crate::notify::dynamo_store::DynamoNotifyStore;
use crate::notify::sendgrid::SendgridClient;
use crate::notify::twilio_view::TwilioView;
use crate::notify::{Notifier, NotifyConfig};
use crate::twilio::rest::ConversationsClient;

/// The production notifier, or why notification e-mail is off.
pub fn production(
    settings: &Settings,
    http: &reqwest::Client,
    aws: &aws_config::SdkConfig,
    clock: Clock,
    sweep_budget: Option<Duration>,
) -> Result<Arc<Notifier<DynamoNotifyStore>>, String> {
    let off = |why: String| format!("notification e-mail is off: {why}");
    let ProviderSettings::Twilio(twilio) = &settings.provider else {
        return Err(off("it needs the Twilio settings".into()));
    };
    let Some(sendgrid) = &settings.sendgrid else {
        return Err(off(format!("{} is not set", SENDGRID_API_KEY.key)));
    };
    let Some(table) = &settings.notify_table else {
        return Err(off("DACHAT_NOTIFY_TABLE is not set (the stack sets it)".into()));
    };
    let (secret, link_template, public_url) = settings.notify.require().map_err(|e| off(e.to_string()))?;
    let store = DynamoNotifyStore::new(aws_sdk_dynamodb::Client::new(aws), table.clone());
    let view = TwilioView::new(ConversationsClient::new(http.clone(), twilio, RetryPolicy::default()));
    let mailer = SendgridClient::new(http.clone(), sendgrid, &settings.notify.product, RetryPolicy::default());
    let config = NotifyConfig {
        delay: settings.notify.delay,
        link_template,
        product: settings.notify.product.clone(),
        public_url,
        secret,
        excerpts: settings.notify.excerpts,
        reply_domain: reply_domain(&settings.notify),
        sweep_budget,
    };
    Ok(Arc::new(Notifier::new(
        store,
        Arc::new(view),
        Arc::new(mailer),
        config,
        clock,
    )))
}

/// Replies by e-mail in production need both the domain SendGrid receives
/// for and the key its Inbound Parse URL carries; with one alone they stay
/// off (and the log says why), so no digest offers an address that leads
/// nowhere.
fn reply_domain(notify: &crate::config::NotifySettings) -> Option<String> {
    match (&notify.reply_domain, &notify.inbound_key) {
        (Some(domain), Some(_)) => Some(domain.clone()),
        (Some(_), None) => {
            tracing::warn!(
                "replies by e-mail are off: {} is set but {} is not",
                crate::config::REPLY_DOMAIN.key,
                crate::config::INBOUND_KEY.key
            );
            None
        }
        (None, _) => None,
    }
}
