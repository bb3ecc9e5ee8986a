//! Every REST call the Twilio client makes is a valid request for Twilio's
//! own API description: Prism (mock, `--errors`) answers 422 to anything
//! that is not, which the client reports as a rejection.

use backend::config::TwilioSettings;
use backend::domain::{ContextName, Identity};
use backend::http_client::RetryPolicy;
use backend::secret::Secret;
use backend::twilio::rest::{ConversationsClient, Created, RestError};

use crate::support::*;

fn client(service_sid: &str) -> ConversationsClient {
    let settings = TwilioSettings {
        account_sid: ACCOUNT_SID.into(),
        api_key_sid: API_KEY_SID.into(),
        api_key_secret: Secret::new(API_KEY_SECRET.into()),
        auth_token: Some(Secret::new(AUTH_TOKEN.into())),
        auth_token_missing: String::new(),
        chat_service_sid: service_sid.into(),
        base_url: crate::service("DACHAT_TEST_PRISM_MOCK"),
    };
    ConversationsClient::new(
        backend::http_client::build().unwrap(),
        &settings,
        RetryPolicy::default(),
    )
}

#[tokio::test]
async fn every_operation_is_a_valid_request() {
    let twilio = client(SERVICE_SID);
    let alice = Identity::parse("alice@example.org").unwrap();
    let context = ContextName::parse("shipment-3fa85f64-5717-4562-b3fc-2c963f66afa6").unwrap();
    assert!(twilio.user_exists(&alice).await.unwrap());
    assert_eq!(twilio.create_user(&alice).await.unwrap(), Created::New);
    let conversation = twilio.fetch_conversation(&context).await.unwrap().unwrap();
    assert!(conversation.sid.starts_with("CH"));
    assert!(twilio.create_conversation(&context).await.unwrap().is_some());
    assert!(twilio.participant_exists(&conversation.sid, &alice).await.unwrap());
    assert_eq!(
        twilio.create_participant(&conversation.sid, &alice).await.unwrap(),
        Created::New
    );
    let participations = twilio.participations(&alice).await.unwrap();
    assert!(participations.iter().all(|p| p.participant_sid.starts_with("MB")));
    twilio
        .remove_participant(&conversation.sid, "MB00000000000000000000000000000001")
        .await
        .unwrap();
}

#[tokio::test]
async fn the_erasure_calls_are_valid_requests_and_read_twilios_examples() {
    let twilio = client(SERVICE_SID);
    let conversations = twilio.conversations_page(None).await.unwrap();
    assert!(conversations.items.iter().all(|c| c.sid.starts_with("CH")));
    let conversation = "CH00000000000000000000000000000001";
    let messages = twilio.messages_page(conversation, None).await.unwrap();
    assert!(messages.items.iter().all(|m| m.sid.starts_with("IM")));
    // a moderator's removal looks for the message newest first
    let newest = twilio.messages_newest_page(conversation, None).await.unwrap();
    assert!(newest.items.iter().all(|m| m.sid.starts_with("IM")));
    let message = "IM00000000000000000000000000000001";
    twilio
        .set_message_author(conversation, message, "former-member")
        .await
        .unwrap();
    twilio.delete_message(conversation, message).await.unwrap();
    twilio.delete_user("alice@example.org").await.unwrap();
}

#[tokio::test]
async fn every_service_setting_call_is_a_valid_request_and_reads_twilios_examples() {
    let twilio = client(SERVICE_SID);
    let configuration = twilio.service_configuration().await.unwrap();
    assert!(configuration.default_chat_service_role_sid.starts_with("RL"));
    let roles = twilio.roles().await.unwrap();
    assert!(!roles.is_empty() && roles.iter().all(|r| r.sid.starts_with("RL")));
    twilio
        .update_role(&roles[0].sid, &["sendMessage", "editOwnMessage"])
        .await
        .unwrap();
    let muted = twilio
        .create_role("dachat muted", "conversation", &["deleteOwnMessage"])
        .await
        .unwrap();
    assert!(muted.sid.starts_with("RL"));
    twilio
        .set_participant_role(
            "CH00000000000000000000000000000001",
            &Identity::parse("alice@example.org").unwrap(),
            &muted.sid,
        )
        .await
        .unwrap();
    twilio
        .update_service_configuration(&[
            (
                "DefaultConversationCreatorRoleSid",
                &configuration.default_conversation_role_sid,
            ),
            ("ReachabilityEnabled", "true"),
        ])
        .await
        .unwrap();
    twilio.service_webhooks().await.unwrap();
    twilio
        .update_service_webhooks(&[
            ("PostWebhookUrl", "https://api.example/v1/webhooks/twilio"),
            ("Method", "POST"),
            ("Filters", "onMessageAdded"),
        ])
        .await
        .unwrap();
}

#[tokio::test]
async fn prism_refuses_what_twilio_would() {
    // A malformed service SID breaks the path pattern of every operation.
    let twilio = client("IS123");
    let err = twilio
        .user_exists(&Identity::parse("alice").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err, RestError::Rejected("HTTP 422 for fetch user".into()));
}

/// What the notifier reads of Twilio (`twilio/rest/reads.rs`, through
/// `notify::twilio_view::TwilioView`): valid requests, and Twilio's own example
/// answers read into rooms, members and unread state.
#[tokio::test]
async fn the_notifiers_reads_are_valid_requests_and_read_twilios_examples() {
    use backend::notify::ChatView;
    use backend::notify::twilio_view::TwilioView;

    let twilio = client(SERVICE_SID);
    let conversation = "CH00000000000000000000000000000001";
    assert!(twilio.conversation_unique_name(conversation).await.is_ok());
    assert!(twilio.participant_identities(conversation).await.is_ok());
    let conversations = twilio.user_conversations("alice@example.org").await.unwrap();
    assert!(conversations.iter().all(|c| c.conversation_sid.starts_with("CH")));
    let messages = twilio.latest_messages(conversation).await.unwrap();
    assert!(!messages.is_empty(), "Twilio's example page has messages");
    assert!(twilio.user_online("alice@example.org").await.is_ok());
    // a reply by e-mail: a message made through REST, webhooks on (201)
    assert_eq!(
        twilio
            .post_message(
                "shipment-7",
                "alice@example.org",
                "Pallet 4 is replaced.",
                "reply-1@example.org"
            )
            .await,
        Ok(())
    );

    // the same through the notifier's view
    let view = TwilioView::new(client(SERVICE_SID));
    assert!(view.context_of(conversation).await.is_ok());
    assert!(view.members("shipment-1").await.is_ok());
    let rooms = view.rooms_of("alice@example.org").await.unwrap();
    let person = view.person("alice@example.org", Some(&rooms), 3).await.unwrap();
    let every = view.person("alice@example.org", None, 0).await.unwrap();
    assert_eq!(
        every.rooms.len(),
        person.rooms.len(),
        "None: every room, listed in the same call"
    );
    assert_eq!(person.last_seen_at, None, "Twilio keeps no last seen");
    assert!(person.rooms.iter().all(|r| rooms.contains(&r.context)));
}
