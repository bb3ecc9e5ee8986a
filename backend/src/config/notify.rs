//! The notification settings' parsing (issue #14): the secret, the
//! delay, the host's room link, the public URL, the product name, local
//! mail (SMTP out, the reply listener), excerpts, and replies by e-mail
//! (the reply domain and the Inbound Parse key), each checked with a
//! message naming the setting.

use std::time::Duration;

use super::*;

pub(super) fn parse_notify(raw: &RawSettings) -> Result<NotifySettings, SettingsError> {
    let secret = match raw.get(NOTIFY_SECRET) {
        None => None,
        Some(s) if s.trim().len() < 32 => {
            return Err(raw.error(
                NOTIFY_SECRET,
                "must be at least 32 characters (e.g. openssl rand -hex 32)",
            ));
        }
        Some(s) => Some(Secret::new(s.trim().to_owned())),
    };
    let delay = parse_number(raw, NOTIFY_DELAY, DEFAULT_NOTIFY_DELAY_SECS, "seconds")?;
    let link_template = match raw.get(NOTIFY_LINK) {
        None => None,
        Some(link) => {
            let link = link.trim();
            if !link.contains("{context}") {
                return Err(raw.error(NOTIFY_LINK, "must contain {context} (where the room's name goes)"));
            }
            let probe = link.replace("{context}", "general");
            let url = reqwest::Url::parse(&probe).map_err(|e| raw.error(NOTIFY_LINK, format!("is not a URL ({e})")))?;
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err(raw.error(NOTIFY_LINK, "must be an http or https URL"));
            }
            Some(link.to_owned())
        }
    };
    let public_url = match raw.get(PUBLIC_URL) {
        None => None,
        Some(_) => Some(parse_url(raw, PUBLIC_URL)?),
    };
    let smtp_url = match raw.get(SMTP_URL) {
        None => None,
        Some(url) => {
            let url = url.trim();
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                return Err(raw.error(SMTP_URL, "must be smtp://host:port or smtps://host:port"));
            }
            Some(url.to_owned())
        }
    };
    let reply_domain = match raw.get(REPLY_DOMAIN) {
        None => None,
        Some(domain) => {
            let domain = domain.trim().to_ascii_lowercase();
            let label_ok =
                |l: &str| !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if domain.len() > 190 || !domain.contains('.') || !domain.split('.').all(label_ok) {
                return Err(raw.error(REPLY_DOMAIN, "must be a domain name (e.g. reply.chat.example.org)"));
            }
            Some(domain)
        }
    };
    let inbound_key = match raw.get(INBOUND_KEY) {
        None => None,
        Some(k) if k.trim().len() < 32 || !k.trim().bytes().all(|b| b.is_ascii_alphanumeric()) => {
            return Err(raw.error(
                INBOUND_KEY,
                "must be at least 32 letters and digits (e.g. openssl rand -hex 32)",
            ));
        }
        Some(k) => Some(Secret::new(k.trim().to_owned())),
    };
    let smtp_listen = match raw.get(SMTP_LISTEN) {
        None => None,
        Some(addr) => Some(
            addr.trim()
                .parse()
                .map_err(|_| raw.error(SMTP_LISTEN, "must be an address and port (e.g. 127.0.0.1:2525)"))?,
        ),
    };
    let product = raw.get(PRODUCT_NAME).unwrap_or(DEFAULT_PRODUCT_NAME).trim().to_owned();
    if product.chars().any(char::is_control) || product.len() > 100 {
        return Err(raw.error(PRODUCT_NAME, "must be one line of at most 100 bytes"));
    }
    Ok(NotifySettings {
        secret,
        delay: Duration::from_secs(delay),
        link_template,
        public_url,
        product,
        smtp_url,
        mail_from: raw.get(MAIL_FROM).map(|m| m.trim().to_owned()),
        excerpts: parse_on_off(raw, NOTIFY_EXCERPTS)?,
        reply_domain,
        inbound_key,
        smtp_listen,
        names: NotifyNames {
            secret: raw.name_of(NOTIFY_SECRET),
            link: raw.name_of(NOTIFY_LINK),
            public_url: raw.name_of(PUBLIC_URL),
        },
    })
}
