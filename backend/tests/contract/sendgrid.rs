//! Digests through SendGrid's Mail Send as SendGrid describes it: Prism
//! (mock, `--errors`) on `tests/specs/tsg_mail_v3.json` answers any request
//! the description does not allow with the description's own 400, which
//! the client reports as a refusal (not retried).

use backend::config::SendgridSettings;
use backend::domain::ContextName;
use backend::http_client::RetryPolicy;
use backend::notify::SendError;
use backend::notify::digest_mail::{Digest, RoomLine, render};
use backend::notify::sendgrid::SendgridClient;
use backend::secret::Secret;

fn client(api_key: &str) -> SendgridClient {
    let settings = SendgridSettings {
        api_key: Secret::new(api_key.into()),
        domain: "example.org".into(),
        base_url: crate::service("DACHAT_TEST_SENDGRID_MOCK"),
    };
    SendgridClient::new(
        backend::http_client::build().unwrap(),
        &settings,
        "Distribute Aid chat",
        RetryPolicy::default(),
    )
}

fn digest(n: usize) -> Digest {
    Digest {
        to: format!("user{n}@example.org"),
        product: "Distribute Aid chat".into(),
        rooms: vec![RoomLine {
            context: ContextName::parse(&format!("shipment-{n}")).unwrap(),
            unread: 3,
            link: format!("https://toolbox.example/chat?context=shipment-{n}"),
            stop: format!("https://api.example/v1/notifications/unsubscribe?c=shipment-{n}"),
            excerpts: Vec::new(),
            reply: None,
        }],
        unsubscribe_url: format!("https://api.example/v1/notifications/unsubscribe?t={n}"),
        unsubscribe_mailto: None,
    }
}

#[tokio::test]
async fn a_batch_of_digests_is_one_valid_mail_send_request() {
    let mut emails: Vec<_> = (0..3).map(|n| render(&digest(n)).unwrap()).collect();
    // one that can be answered by e-mail: its own sender in the same batch
    let mut answerable = digest(3);
    answerable.rooms[0].reply = Some("reply-0123456789abcdef0123456789abcdef@reply.example.org".into());
    emails.push(render(&answerable).unwrap());
    assert_eq!(client("SG.test-key").send(&emails).await, Ok(1));
    // alone (no substitutions) is valid too
    let big = backend::notify::digest_mail::Email {
        text: "x".repeat(backend::notify::sendgrid::MAX_SUBSTITUTION_BYTES),
        ..emails[0].clone()
    };
    assert_eq!(client("SG.test-key").send(&[big]).await, Ok(1));
}

#[tokio::test]
async fn prism_refuses_what_sendgrid_would() {
    // a personalization without a recipient breaks the description
    let mut email = render(&digest(9)).unwrap();
    email.to = String::new();
    let error = client("SG.test-key").send(&[email]).await.unwrap_err();
    assert!(
        matches!(error, SendError::Rejected(ref why) if why.starts_with("SendGrid answered HTTP 400")),
        "{error}"
    );
}

#[tokio::test]
async fn every_kind_of_address_taken_here_is_one_sendgrids_description_takes() {
    // the edges of backend::notify::email_address: if SendGrid refused one of these,
    // a person's valid input would get a 502 instead of a code
    let long_local = format!("{}@example.org", "a".repeat(64));
    let long_label = format!("x@{}.example.org", "b".repeat(63));
    for typed in [
        "o'neil+chat@mail.example.co.uk",
        "a_b-c{d}~e|f=g?h^i`j@sub-domain.example",
        "!#$%&*/@example.org",
        "x@xn--80ak6aa92e.com",
        "Upper.Case@EXAMPLE.ORG",
        "1@2.example",
        long_local.as_str(),
        long_label.as_str(),
    ] {
        let address = backend::notify::email_address::EmailAddress::parse(typed).unwrap();
        let email =
            backend::notify::digest_mail::render_code(address.as_str(), "Distribute Aid chat", "123456").unwrap();
        assert_eq!(client("SG.test-key").send(&[email]).await, Ok(1), "{typed}");
    }
}
