//! Unit tests of the settings parser: naming by source, validation, errors.

use super::*;

fn twilio_raw() -> RawSettings {
    let mut raw = RawSettings::env_named();
    raw.set(JWKS_URL, "https://toolbox.example/.well-known/jwks.json")
        .set(TWILIO_ACCOUNT_SID, format!("AC{}", "0".repeat(32)))
        .set(TWILIO_API_KEY, format!("SK{}", "a".repeat(32)))
        .set(TWILIO_API_SECRET, "secret")
        .set(TWILIO_AUTH_TOKEN, "auth")
        .set(TWILIO_CHAT_SERVICE_SID, format!("IS{}", "F".repeat(32)));
    raw
}

fn error_of(raw: &RawSettings, twilio: TwilioRequirement) -> String {
    Settings::parse(raw, twilio).unwrap_err().to_string()
}

#[test]
fn complete_twilio_settings_parse() {
    let settings = Settings::parse(&twilio_raw(), TwilioRequirement::Required).unwrap();
    let ProviderSettings::Twilio(t) = &settings.provider else {
        panic!("expected Twilio")
    };
    assert_eq!(t.base_url, TWILIO_DEFAULT_BASE_URL);
    assert_eq!(settings.access_token_ttl, Duration::from_secs(3600));
    assert_eq!(settings.verify.leeway_secs, 30);
    assert!(settings.cors_origins.is_empty());
}

#[test]
fn secrets_never_print() {
    let settings = Settings::parse(&twilio_raw(), TwilioRequirement::Required).unwrap();
    let debug = format!("{settings:?}");
    assert!(!debug.contains("secret\""), "{debug}");
    assert!(!debug.contains("auth\""), "{debug}");
    assert!(debug.contains("[redacted]"));
}

#[test]
fn local_provider_without_twilio_settings() {
    let mut raw = RawSettings::env_named();
    raw.set(JWKS_URL, "http://127.0.0.1:8080/.well-known/jwks.json");
    let settings = Settings::parse(&raw, TwilioRequirement::Optional).unwrap();
    assert!(matches!(settings.provider, ProviderSettings::Local));
    assert_eq!(
        error_of(&raw, TwilioRequirement::Required),
        "setting DACHAT_TWILIO_ACCOUNT_SID: is missing"
    );
}

#[test]
fn errors_name_the_setting() {
    let cases: &[(Setting, &str, &str)] = &[
        (JWKS_URL, "", "setting DACHAT_JWKS_URL: is missing"),
        (
            JWKS_URL,
            "ftp://x/y",
            "setting DACHAT_JWKS_URL: must be an http or https URL",
        ),
        (
            TWILIO_API_KEY,
            "AC00",
            "setting DACHAT_TWILIO_API_KEY: must be SK followed by 32 hexadecimal digits",
        ),
        (TWILIO_API_SECRET, " ", "setting DACHAT_TWILIO_API_SECRET: is missing"),
        (
            ACCESS_TOKEN_TTL,
            "60",
            "setting DACHAT_ACCESS_TOKEN_TTL: must be between 180 and 86400 seconds (Twilio's limits)",
        ),
        (
            ACCESS_TOKEN_TTL,
            "1h",
            "setting DACHAT_ACCESS_TOKEN_TTL: must be a whole number of seconds",
        ),
        (
            JWT_LEEWAY,
            "61",
            "setting DACHAT_JWT_LEEWAY: must be at most 60 seconds",
        ),
        (
            CORS_ORIGINS,
            "*",
            "setting DACHAT_CORS_ORIGINS: must list origins explicitly; * is not accepted",
        ),
        (
            CORS_ORIGINS,
            "https://a.example/app",
            "setting DACHAT_CORS_ORIGINS: \"https://a.example/app\" is not an origin like https://example.org (scheme, host and port only)",
        ),
        (
            SENDGRID_DOMAIN,
            "mail.example",
            "setting DACHAT_SENDGRID_API_KEY: is missing (sendgrid/domain is set)",
        ),
    ];
    for (setting, value, expected) in cases {
        let mut raw = twilio_raw();
        raw.set(*setting, *value);
        assert_eq!(&error_of(&raw, TwilioRequirement::Required), expected);
    }
}

#[test]
fn partial_twilio_settings_are_an_error_even_locally() {
    let mut raw = RawSettings::env_named();
    raw.set(JWKS_URL, "http://127.0.0.1:1/jwks")
        .set(TWILIO_API_KEY, format!("SK{}", "0".repeat(32)));
    assert_eq!(
        error_of(&raw, TwilioRequirement::Optional),
        "setting DACHAT_TWILIO_ACCOUNT_SID: is missing"
    );
}

#[test]
fn ssm_names_use_the_stack_prefix() {
    let raw = RawSettings::from_ssm(
        "/twilio-integration-dev/",
        [
            (
                "/twilio-integration-dev/chat/jwks.json".to_owned(),
                "https://x.example/jwks.json".to_owned(),
            ),
            ("/twilio-integration-dev/unrelated".to_owned(), "x".to_owned()),
        ],
    );
    assert_eq!(
        error_of(&raw, TwilioRequirement::Required),
        "setting /twilio-integration-dev/twilio/accountSID: is missing \
         (aws ssm put-parameter --name /twilio-integration-dev/twilio/accountSID --type String --value …)"
    );
    // a setting that SSM does not hold is named by its environment name
    let mut raw = raw;
    raw.set(ACCESS_TOKEN_TTL, "x");
    for s in [
        TWILIO_ACCOUNT_SID,
        TWILIO_API_KEY,
        TWILIO_API_SECRET,
        TWILIO_AUTH_TOKEN,
        TWILIO_CHAT_SERVICE_SID,
    ] {
        raw.set(s, twilio_raw().get(s).unwrap());
    }
    assert_eq!(
        error_of(&raw, TwilioRequirement::Required),
        "setting DACHAT_ACCESS_TOKEN_TTL: must be a whole number of seconds"
    );
}

#[test]
fn the_auth_token_is_optional_until_webhooks_need_it() {
    let mut raw = twilio_raw();
    raw.remove(TWILIO_AUTH_TOKEN);
    let settings = Settings::parse(&raw, TwilioRequirement::Required).unwrap();
    let ProviderSettings::Twilio(twilio) = settings.provider else {
        panic!("Twilio settings expected")
    };
    assert!(twilio.auth_token.is_none());
    assert_eq!(
        twilio.auth_token_missing,
        "setting DACHAT_TWILIO_AUTH_TOKEN: is missing"
    );
    assert_eq!(parse_twilio(&raw).unwrap().account_sid, twilio.account_sid);
    assert!(parse_twilio(&RawSettings::env_named()).is_err());
}

#[test]
fn settings_file_lines() {
    let raw = RawSettings::from_settings_text(
        "good.env",
        "# comment\n\nDACHAT_JWKS_URL = http://127.0.0.1:9/jwks.json\n",
    )
    .unwrap();
    assert_eq!(raw.get(JWKS_URL), Some("http://127.0.0.1:9/jwks.json"));
    let err = RawSettings::from_settings_text("bad.env", "x=1\nDACHAT_NOPE=1\n").unwrap_err();
    assert_eq!(err.to_string(), "setting bad.env:1: unknown setting x");
    let err = RawSettings::from_settings_text("bad.env", "DACHAT_JWKS_URL\n").unwrap_err();
    assert_eq!(err.to_string(), "setting bad.env:1: expected NAME=value");
}

#[test]
fn notification_settings_are_checked_and_named() {
    let settings = Settings::parse(&twilio_raw(), TwilioRequirement::Required).unwrap();
    let notify = &settings.notify;
    assert_eq!(notify.delay, Duration::from_secs(DEFAULT_NOTIFY_DELAY_SECS));
    assert!(!notify.excerpts, "off by default: aid chats carry personal data");
    assert_eq!(notify.product, DEFAULT_PRODUCT_NAME);
    assert_eq!(
        notify.require().unwrap_err().to_string(),
        "setting DACHAT_NOTIFY_SECRET: is missing (needed for notification e-mails)"
    );
    let cases: &[(Setting, &str, &str)] = &[
        (
            NOTIFY_SECRET,
            "short",
            "setting DACHAT_NOTIFY_SECRET: must be at least 32 characters",
        ),
        (
            NOTIFY_LINK,
            "https://toolbox.example/chat",
            "setting DACHAT_NOTIFY_LINK: must contain {context}",
        ),
        (
            NOTIFY_LINK,
            "ftp://toolbox.example/{context}",
            "setting DACHAT_NOTIFY_LINK: must be an http or https URL",
        ),
        (
            NOTIFY_DELAY,
            "ten",
            "setting DACHAT_NOTIFY_DELAY: must be a whole number of seconds",
        ),
        (
            NOTIFY_EXCERPTS,
            "yes",
            "setting DACHAT_NOTIFY_EXCERPTS: must be on or off",
        ),
        (
            SMTP_URL,
            "http://mail.example",
            "setting DACHAT_SMTP_URL: must be smtp://host:port",
        ),
        (
            PRODUCT_NAME,
            "a\nBcc: x",
            "setting DACHAT_PRODUCT_NAME: must be one line",
        ),
        (
            REPLY_DOMAIN,
            "reply@chat.example",
            "setting DACHAT_REPLY_DOMAIN: must be a domain name",
        ),
        (
            REPLY_DOMAIN,
            "localhost",
            "setting DACHAT_REPLY_DOMAIN: must be a domain name",
        ),
        (
            INBOUND_KEY,
            "short",
            "setting DACHAT_INBOUND_KEY: must be at least 32 letters and digits",
        ),
        (
            SMTP_LISTEN,
            "localhost",
            "setting DACHAT_SMTP_LISTEN: must be an address and port",
        ),
    ];
    for (setting, value, expected) in cases {
        let mut raw = twilio_raw();
        raw.set(*setting, *value);
        let error = error_of(&raw, TwilioRequirement::Required);
        assert!(error.starts_with(expected), "{value:?}: {error}");
    }
    let mut raw = twilio_raw();
    raw.set(NOTIFY_SECRET, "s".repeat(32))
        .set(NOTIFY_LINK, "https://toolbox.example/chat?context={context}")
        .set(PUBLIC_URL, "https://api.example/")
        .set(NOTIFY_EXCERPTS, "ON")
        .set(REPLY_DOMAIN, " Reply.Chat.Example ")
        .set(INBOUND_KEY, "k".repeat(32))
        .set(SMTP_LISTEN, "127.0.0.1:2525");
    let settings = Settings::parse(&raw, TwilioRequirement::Required).unwrap();
    assert_eq!(settings.notify.reply_domain.as_deref(), Some("reply.chat.example"));
    assert_eq!(settings.notify.inbound_key.as_ref().map(|k| k.expose().len()), Some(32));
    assert_eq!(settings.notify.smtp_listen, Some("127.0.0.1:2525".parse().unwrap()));
    let (_, link, public) = settings.notify.require().unwrap();
    assert_eq!(link, "https://toolbox.example/chat?context={context}");
    assert_eq!(public, "https://api.example", "no trailing slash");
    assert!(settings.notify.excerpts);
}

#[test]
fn attachments_default_to_the_known_types_and_the_operator_can_narrow_them() {
    let settings = Settings::parse(&twilio_raw(), TwilioRequirement::Required).unwrap();
    assert_eq!(settings.attachments.types, protocol::files::KNOWN_TYPES);
    assert_eq!(settings.attachments.max_bytes, 10 * 1024 * 1024);
    let policy = settings.attachments.policy().unwrap();
    assert_eq!(policy.max_bytes, 10 * 1024 * 1024);

    let mut raw = twilio_raw();
    raw.set(ATTACHMENT_TYPES, " image/JPEG, application/pdf,image/jpeg ")
        .set(ATTACHMENT_MAX_BYTES, "2000000")
        .set(ATTACHMENT_QUOTA_BYTES, "5000000");
    let narrowed = Settings::parse(&raw, TwilioRequirement::Required).unwrap().attachments;
    assert_eq!(narrowed.types, ["image/jpeg", "application/pdf"]);
    assert!(narrowed.allows("application/pdf") && !narrowed.allows("image/png"));
    assert_eq!((narrowed.max_bytes, narrowed.quota_bytes), (2_000_000, 5_000_000));

    raw.set(ATTACHMENT_TYPES, "off");
    let off = Settings::parse(&raw, TwilioRequirement::Required).unwrap().attachments;
    assert_eq!(off.policy(), None);
}

#[test]
fn attachment_settings_refuse_what_cannot_be_checked() {
    let cases: &[(Setting, &str, &str)] = &[
        (
            ATTACHMENT_TYPES,
            "image/png,image/svg+xml",
            "setting DACHAT_ATTACHMENT_TYPES: \"image/svg+xml\" is not a type DAChat can check",
        ),
        (
            ATTACHMENT_TYPES,
            " , ",
            "setting DACHAT_ATTACHMENT_TYPES: lists no types",
        ),
        (
            ATTACHMENT_MAX_BYTES,
            "0",
            "setting DACHAT_ATTACHMENT_MAX_BYTES: must be between 1 and 104857600 bytes",
        ),
        (
            ATTACHMENT_MAX_BYTES,
            "10MB",
            "setting DACHAT_ATTACHMENT_MAX_BYTES: must be a whole number of bytes",
        ),
        (
            ATTACHMENT_QUOTA_BYTES,
            "1000",
            "setting DACHAT_ATTACHMENT_QUOTA_BYTES: must be at least the largest file",
        ),
    ];
    for (setting, value, expected) in cases {
        let mut raw = twilio_raw();
        raw.set(*setting, *value);
        let error = error_of(&raw, TwilioRequirement::Required);
        assert!(error.starts_with(expected), "{value:?}: {error}");
    }
}
