//! A report of a message, e-mailed to the operator (`DACHAT_REPORT_ADDRESS`,
//! issue #30): who reported which message of which room, and why (the
//! reporter's words, control characters taken out; never the message's
//! text). The local server sends it for its own provider's reports and for
//! Twilio's; the API sends it for Twilio's before answering (a Lambda may
//! be frozen once it has answered). A mail that cannot go is logged; the
//! report stays in the room's list for its moderators.

use std::sync::Arc;

use protocol::moderation::Report;

use crate::notify::digest_mail::Email;
use crate::notify::email_address::EmailAddress;
use crate::notify::mailer::Mailer;

/// Where reports are mailed, and how.
#[derive(Clone)]
pub struct ReportMail {
    pub mailer: Arc<dyn Mailer>,
    pub to: EmailAddress,
    /// The product's name, for the subject (`DACHAT_PRODUCT_NAME`).
    pub product: String,
}

impl std::fmt::Debug for ReportMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportMail").finish_non_exhaustive()
    }
}

/// The e-mail of one report.
pub fn email(report: &Report, to: &EmailAddress, product: &str) -> Email {
    let reason: String = report.reason.chars().filter(|c| !c.is_control()).collect();
    let text = format!(
        "{reporter} reported message {id} in {room}.\n\nReason: {reason}\n\nThe room's moderators see it in the chat; dachat moderation-log lists what they did.\n",
        reporter = report.reporter,
        id = report.message_id,
        room = report.room,
    );
    Email {
        to: to.as_str().to_owned(),
        subject: format!("{product}: a message in {} was reported", report.room),
        html: format!("<pre>{}</pre>", html_text(&text)),
        text,
        headers: Vec::new(),
    }
}

fn html_text(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

impl ReportMail {
    /// Mails `report` to the operator; a failure is logged, not returned.
    pub async fn send(&self, report: &Report) {
        let email = email(report, &self.to, &self.product);
        match self.mailer.send(std::slice::from_ref(&email)).await {
            Ok(_) => tracing::info!(room = %report.room, "a report was e-mailed to the operator"),
            Err(e) => tracing::warn!(error = %e, "a report could not be e-mailed to the operator"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mail_names_the_report_and_never_lets_the_reason_break_the_page() {
        let report = Report {
            id: 1,
            room: "general".into(),
            message_id: 7,
            reporter: "bob".into(),
            reason: "<b>spam</b>\u{7}\r\nBcc: x@example.org".into(),
            at: 0,
        };
        let to = EmailAddress::parse("ops@example.org").unwrap();
        let mail = email(&report, &to, "DAChat");
        assert_eq!(mail.to, "ops@example.org");
        assert_eq!(mail.subject, "DAChat: a message in general was reported");
        assert!(
            mail.text
                .starts_with("bob reported message 7 in general.\n\nReason: <b>spam</b>Bcc: x@example.org\n")
        );
        assert!(mail.html.contains("&lt;b&gt;spam&lt;/b&gt;"));
        assert!(mail.headers.is_empty());
    }
}
