//! `dachat configure` (the seed's `configureChat`): locks the Twilio
//! Conversations service down to what DAChat needs, and points its
//! webhook at the deployed API.
//!
//! DAChat's server, not the user, creates conversations and adds
//! participants. So the service's default roles become:
//!
//! - the users' service role: `editOwnUserInfo` only (the nickname); no
//!   creating or joining conversations, which would let a token holder
//!   into a room their host token does not list;
//! - the participants' conversation role: send messages (and media with
//!   `--media`), edit and delete their own; no adding, removing, renaming,
//!   or touching others' messages; and the role a conversation's creator
//!   would get is the same one (no path to `channel admin`);
//!
//! - two more conversation roles, for moderation (issue #30): `dachat
//!   moderator`, the participants' permissions and nothing more (every
//!   moderator action goes through DAChat's API, which records it), and
//!   `dachat muted`, `deleteOwnMessage` only;
//!
//! and the service-scoped post-event webhook (`onMessageAdded`) goes to
//! `<api>/v1/webhooks/twilio`, with reachability on. Twilio's built-in
//! default roles are changed in place, so participants added before the
//! first run are covered too.
//!
//! Idempotent: it reads the service first, changes only what differs,
//! prints each change, and says when there is nothing to change;
//! `--dry-run` prints the changes and makes none.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::Context as _;
use backend::config::{self, RawSettings};
use backend::http_client::RetryPolicy;
use backend::twilio;
use backend::twilio::rest::{ConversationsClient, Role, ServiceConfiguration, ServiceWebhooks};

#[derive(Debug, clap::Args)]
pub struct ConfigureArgs {
    /// The deployed API's base URL (the stack's ApiUrl output); the webhook
    /// goes to API/v1/webhooks/twilio.
    #[arg(long)]
    pub api: String,
    /// Read the Twilio settings from SSM under /${STACK_NAME}/ (as the
    /// Lambda does) instead of the environment.
    #[arg(long)]
    pub ssm: bool,
    /// A file of NAME=value settings (DACHAT_TWILIO_*); the environment wins.
    #[arg(long, conflicts_with = "ssm")]
    pub settings: Option<PathBuf>,
    /// Let participants send media (for attachments).
    #[arg(long)]
    pub media: bool,
    /// Print the changes, make none.
    #[arg(long)]
    pub dry_run: bool,
}

/// What users may do in the whole service.
pub const SERVICE_ROLE: &[&str] = &["editOwnUserInfo"];
/// What a participant may do in a conversation.
pub const CONVERSATION_ROLE: &[&str] = &["sendMessage", "editOwnMessage", "deleteOwnMessage"];
/// Added to [`CONVERSATION_ROLE`] with `--media`.
pub const MEDIA: &str = "sendMediaMessage";
/// What a muted member may do (`backend::twilio::MUTED_ROLE`).
pub const MUTED: &[&str] = &["deleteOwnMessage"];
/// The post-event webhooks DAChat handles.
pub const WEBHOOK_FILTERS: &[&str] = &["onMessageAdded"];
/// The webhook's path under the API.
pub const WEBHOOK_PATH: &str = backend::app::TWILIO_WEBHOOK_PATH;

/// The service as read.
#[derive(Debug, Clone)]
pub struct Current {
    pub configuration: ServiceConfiguration,
    pub roles: Vec<Role>,
    pub webhooks: ServiceWebhooks,
}

/// One change `configure` makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Replace a role's permissions.
    Role {
        sid: String,
        name: String,
        from: Vec<String>,
        to: Vec<String>,
    },
    /// Make a conversation role DAChat names (`Roles`).
    CreateRole {
        name: &'static str,
        permissions: Vec<String>,
    },
    /// Set service configuration fields (`Configuration`).
    Configuration {
        what: &'static str,
        key: &'static str,
        from: String,
        to: String,
    },
    /// Set the post-event webhook (`Configuration/Webhooks`): `url`, POST,
    /// for `filters` (the ones already set are kept).
    Webhook {
        from: String,
        url: String,
        filters: Vec<String>,
    },
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Role { sid, name, from, to } => {
                write!(f, "role {name:?} ({sid}): [{}] -> [{}]", from.join(", "), to.join(", "))
            }
            Self::CreateRole { name, permissions } => {
                write!(f, "new conversation role {name:?}: [{}]", permissions.join(", "))
            }
            Self::Configuration { what, from, to, .. } => write!(f, "{what}: {from} -> {to}"),
            Self::Webhook { from, url, filters } => {
                write!(f, "post-event webhook: {from} -> {url} ({}, POST)", filters.join(", "))
            }
        }
    }
}

/// The changes that bring `current` to DAChat's settings.
pub fn plan(current: &Current, webhook_url: &str, media: bool) -> anyhow::Result<Vec<Change>> {
    let mut changes = Vec::new();
    let mut conversation_role: Vec<&str> = CONVERSATION_ROLE.to_vec();
    if media {
        conversation_role.push(MEDIA);
    }
    let configuration = &current.configuration;
    for (sid, wanted, kind) in [
        (&configuration.default_chat_service_role_sid, SERVICE_ROLE, "service"),
        (
            &configuration.default_conversation_role_sid,
            conversation_role.as_slice(),
            "conversation",
        ),
    ] {
        let role = current
            .roles
            .iter()
            .find(|r| &r.sid == sid)
            .with_context(|| format!("the service's default {kind} role {sid} is not among its roles"))?;
        changes.extend(permissions_change(role, wanted));
    }
    for (name, wanted) in [
        (twilio::MODERATOR_ROLE, conversation_role.as_slice()),
        (twilio::MUTED_ROLE, MUTED),
    ] {
        match current.roles.iter().find(|r| r.friendly_name == name) {
            None => changes.push(Change::CreateRole {
                name,
                permissions: wanted
                    .iter()
                    .copied()
                    .collect::<BTreeSet<&str>>()
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
            }),
            Some(role) if role.kind != "conversation" => anyhow::bail!(
                "the service has a {} role named {name:?} ({}); DAChat needs that name for a conversation role: rename or delete it",
                role.kind,
                role.sid
            ),
            Some(role) => changes.extend(permissions_change(role, wanted)),
        }
    }
    let role_name = |sid: &str| {
        current
            .roles
            .iter()
            .find(|r| r.sid == sid)
            .map_or_else(|| sid.to_owned(), |r| format!("{:?}", r.friendly_name))
    };
    if configuration.default_conversation_creator_role_sid != configuration.default_conversation_role_sid {
        changes.push(Change::Configuration {
            what: "role of a conversation's creator",
            key: "DefaultConversationCreatorRoleSid",
            from: role_name(&configuration.default_conversation_creator_role_sid),
            to: role_name(&configuration.default_conversation_role_sid),
        });
    }
    if !configuration.reachability_enabled {
        changes.push(Change::Configuration {
            what: "reachability (who is online)",
            key: "ReachabilityEnabled",
            from: "off".to_owned(),
            to: "on".to_owned(),
        });
    }
    let hooks = &current.webhooks;
    let filters: BTreeSet<&str> = hooks.filters.iter().map(String::as_str).collect();
    let wanted_filters: BTreeSet<&str> = WEBHOOK_FILTERS.iter().copied().collect();
    let describe = |url: Option<&str>, filters: &BTreeSet<&str>, method: Option<&str>| match url {
        None => "none".to_owned(),
        Some(url) => format!(
            "{url} ({}, {})",
            filters.iter().copied().collect::<Vec<_>>().join(", "),
            method.unwrap_or("POST")
        ),
    };
    let method_is_post = hooks.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case("post"));
    if hooks.post_webhook_url.as_deref() != Some(webhook_url)
        || !filters.is_superset(&wanted_filters)
        || !method_is_post
    {
        changes.push(Change::Webhook {
            from: describe(hooks.post_webhook_url.as_deref(), &filters, hooks.method.as_deref()),
            url: webhook_url.to_owned(),
            filters: filters.union(&wanted_filters).map(|f| (*f).to_owned()).collect(),
        });
    }
    Ok(changes)
}

/// The change that gives `role` exactly the `wanted` permissions, if it
/// needs one (the order Twilio lists them in does not matter).
fn permissions_change(role: &Role, wanted: &[&str]) -> Option<Change> {
    let have: BTreeSet<&str> = role.permissions.iter().map(String::as_str).collect();
    let want: BTreeSet<&str> = wanted.iter().copied().collect();
    (have != want).then(|| Change::Role {
        sid: role.sid.clone(),
        name: role.friendly_name.clone(),
        from: have.into_iter().map(str::to_owned).collect(),
        to: want.into_iter().map(str::to_owned).collect(),
    })
}

/// The webhook URL under the API's base URL (https only, except loopback).
pub fn webhook_url(api: &str) -> anyhow::Result<String> {
    let url = reqwest::Url::parse(api.trim()).with_context(|| format!("--api {api:?} is not a URL"))?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
        anyhow::bail!("--api {api:?} must be an https URL (Twilio posts message events to it)");
    }
    if url.query().is_some() || url.fragment().is_some() {
        anyhow::bail!("--api {api:?}: give the API's base URL, without a query or fragment");
    }
    Ok(format!("{}{WEBHOOK_PATH}", url.as_str().trim_end_matches('/')))
}

/// Where an operator command that reads stored data finds it (`forget`,
/// `export`): the settings (SSM or a file, the environment on top), and
/// the local server's data folder.
#[derive(Debug, clap::Args)]
pub struct DataSources {
    /// The local server's data folder.
    #[arg(long, default_value = ".dachat/data")]
    pub data_dir: PathBuf,
    /// Read the settings from SSM under /${STACK_NAME}/ (as the Lambda does).
    #[arg(long)]
    pub ssm: bool,
    /// A file of NAME=value settings; the environment wins.
    #[arg(long, conflicts_with = "ssm")]
    pub settings: Option<PathBuf>,
}

impl DataSources {
    pub async fn settings(&self) -> anyhow::Result<RawSettings> {
        operator_settings(self.ssm, self.settings.as_deref()).await
    }

    /// A Twilio client, when `raw` has the Twilio settings (a partial set
    /// is an error naming what is missing).
    pub fn twilio(raw: &RawSettings) -> anyhow::Result<Option<ConversationsClient>> {
        if raw.get(config::TWILIO_ACCOUNT_SID).is_none() {
            return Ok(None);
        }
        let settings = config::parse_twilio(raw)?;
        Ok(Some(ConversationsClient::new(
            backend::http_client::build()?,
            &settings,
            RetryPolicy::default(),
        )))
    }
}

/// The settings an operator command reads: from SSM under
/// /${STACK_NAME}/ (as the Lambda does), or a file with the environment on
/// top.
pub async fn operator_settings(ssm: bool, file: Option<&std::path::Path>) -> anyhow::Result<RawSettings> {
    Ok(if ssm {
        let stack = config::stack_name();
        let aws = config::aws_config().await;
        config::load_from_ssm(&aws_sdk_ssm::Client::new(&aws), &stack).await?
    } else {
        RawSettings::from_file_and_env(file)?
    })
}

pub async fn configure(args: &ConfigureArgs) -> anyhow::Result<()> {
    let webhook = webhook_url(&args.api)?;
    let raw = operator_settings(args.ssm, args.settings.as_deref()).await?;
    // the service checks signatures against its own public URL: the
    // webhook must be registered there, or every event would be refused
    if let Some(public) = raw.get(config::PUBLIC_URL) {
        let expected = webhook_url(public)?;
        if expected != webhook {
            anyhow::bail!(
                "--api {:?} is not the service's public URL ({} = {public:?}); the service checks Twilio's signatures against {expected}, so register that (--api {public}) or change the setting",
                args.api,
                config::PUBLIC_URL.env,
            );
        }
    }
    let twilio = config::parse_twilio(&raw)?;
    let client = ConversationsClient::new(backend::http_client::build()?, &twilio, RetryPolicy::default());
    let service = &twilio.chat_service_sid;
    let current = Current {
        configuration: client.service_configuration().await?,
        roles: client.roles().await?,
        webhooks: client.service_webhooks().await?,
    };
    let changes = plan(&current, &webhook, args.media)?;
    if changes.is_empty() {
        println!("Twilio Conversations service {service}: nothing to change, it is configured for DAChat");
        return Ok(());
    }
    let verb = if args.dry_run { "would change" } else { "changing" };
    println!(
        "Twilio Conversations service {service}: {verb} {} settings",
        changes.len()
    );
    for change in &changes {
        println!("  {change}");
    }
    if args.dry_run {
        println!("dry run: nothing changed");
        return Ok(());
    }
    apply(&client, &current, &changes).await?;
    println!("done: {} settings changed", changes.len());
    Ok(())
}

async fn apply(client: &ConversationsClient, current: &Current, changes: &[Change]) -> anyhow::Result<()> {
    let mut configuration: Vec<(&str, &str)> = Vec::new();
    for change in changes {
        match change {
            Change::Role { sid, to, .. } => {
                let permissions: Vec<&str> = to.iter().map(String::as_str).collect();
                client.update_role(sid, &permissions).await?;
            }
            Change::CreateRole { name, permissions } => {
                let permissions: Vec<&str> = permissions.iter().map(String::as_str).collect();
                client.create_role(name, "conversation", &permissions).await?;
            }
            Change::Configuration { key, .. } => configuration.push((
                key,
                match *key {
                    "ReachabilityEnabled" => "true",
                    _ => current.configuration.default_conversation_role_sid.as_str(),
                },
            )),
            Change::Webhook { url, filters, .. } => {
                let mut form = vec![("PostWebhookUrl", url.as_str()), ("Method", "POST")];
                form.extend(filters.iter().map(|f| ("Filters", f.as_str())));
                client.update_service_webhooks(&form).await?;
            }
        }
    }
    if !configuration.is_empty() {
        client.update_service_configuration(&configuration).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(sid: &str, name: &str, kind: &str, permissions: &[&str]) -> Role {
        Role {
            sid: sid.to_owned(),
            friendly_name: name.to_owned(),
            kind: kind.to_owned(),
            permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    fn configured() -> Current {
        Current {
            configuration: ServiceConfiguration {
                default_conversation_creator_role_sid: "RL2".to_owned(),
                default_conversation_role_sid: "RL2".to_owned(),
                default_chat_service_role_sid: "RL1".to_owned(),
                reachability_enabled: true,
            },
            roles: vec![
                role("RL1", "service user", "service", &["editOwnUserInfo"]),
                // the order Twilio lists them in does not matter
                role(
                    "RL2",
                    "channel user",
                    "conversation",
                    &["deleteOwnMessage", "sendMessage", "editOwnMessage"],
                ),
                role(
                    "RL3",
                    "dachat moderator",
                    "conversation",
                    &["deleteOwnMessage", "editOwnMessage", "sendMessage"],
                ),
                role("RL4", "dachat muted", "conversation", &["deleteOwnMessage"]),
            ],
            webhooks: ServiceWebhooks {
                pre_webhook_url: None,
                post_webhook_url: Some("https://api.example/v1/webhooks/twilio".to_owned()),
                filters: vec!["onMessageAdded".to_owned(), "onParticipantAdded".to_owned()],
                method: Some("POST".to_owned()),
            },
        }
    }

    const HOOK: &str = "https://api.example/v1/webhooks/twilio";

    #[test]
    fn a_configured_service_needs_nothing() {
        assert_eq!(plan(&configured(), HOOK, false).unwrap(), Vec::new());
    }

    #[test]
    fn each_difference_is_one_change() {
        let mut current = configured();
        current.roles[1].permissions.push("addParticipant".to_owned());
        current.configuration.default_conversation_creator_role_sid = "RL9".to_owned();
        current.configuration.reachability_enabled = false;
        current.webhooks.method = Some("GET".to_owned());
        let changes = plan(&current, HOOK, false).unwrap();
        assert_eq!(changes.len(), 4, "{changes:?}");
        assert_eq!(
            changes[0],
            Change::Role {
                sid: "RL2".to_owned(),
                name: "channel user".to_owned(),
                from: vec!["addParticipant", "deleteOwnMessage", "editOwnMessage", "sendMessage"]
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
                to: vec!["deleteOwnMessage", "editOwnMessage", "sendMessage"]
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
            }
        );
        // the operator's other webhook filters are kept
        let Change::Webhook { filters, .. } = &changes[3] else {
            panic!("{changes:?}")
        };
        assert_eq!(filters, &["onMessageAdded", "onParticipantAdded"]);
        assert!(
            plan(&current, HOOK, true).unwrap()[0]
                .to_string()
                .contains("sendMediaMessage")
        );
    }

    #[test]
    fn the_moderation_roles_are_made_when_missing_and_follow_the_participants_role() {
        let mut current = configured();
        current.roles.truncate(2);
        let changes = plan(&current, HOOK, false).unwrap();
        assert_eq!(
            changes,
            vec![
                Change::CreateRole {
                    name: "dachat moderator",
                    permissions: ["deleteOwnMessage", "editOwnMessage", "sendMessage"]
                        .map(str::to_owned)
                        .to_vec(),
                },
                Change::CreateRole {
                    name: "dachat muted",
                    permissions: vec!["deleteOwnMessage".to_owned()],
                },
            ]
        );
        assert_eq!(
            changes[1].to_string(),
            "new conversation role \"dachat muted\": [deleteOwnMessage]"
        );
        // media for participants is media for moderators, never for the muted
        let media = plan(&configured(), HOOK, true).unwrap();
        let names: Vec<&str> = media
            .iter()
            .map(|c| match c {
                Change::Role { name, to, .. } if to.contains(&MEDIA.to_owned()) => name.as_str(),
                other => panic!("{other}"),
            })
            .collect();
        assert_eq!(names, ["channel user", "dachat moderator"]);
    }

    #[test]
    fn a_service_role_with_a_moderation_roles_name_is_an_error() {
        let mut current = configured();
        current.roles[3].kind = "service".to_owned();
        let error = plan(&current, HOOK, false).unwrap_err().to_string();
        assert!(error.contains("service role named \"dachat muted\" (RL4)"), "{error}");
    }

    #[test]
    fn a_default_role_the_service_does_not_list_is_an_error() {
        let mut current = configured();
        current.configuration.default_chat_service_role_sid = "RL7".to_owned();
        let error = plan(&current, HOOK, false).unwrap_err().to_string();
        assert!(error.contains("default service role RL7"), "{error}");
    }

    #[test]
    fn the_webhook_url_hangs_off_the_api_and_must_be_https() {
        assert_eq!(
            webhook_url("https://x.execute-api.eu-west-1.amazonaws.com/").unwrap(),
            "https://x.execute-api.eu-west-1.amazonaws.com/v1/webhooks/twilio"
        );
        assert_eq!(
            webhook_url("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080/v1/webhooks/twilio"
        );
        assert!(webhook_url("http://api.example").is_err());
        assert!(webhook_url("https://api.example/?x=1").is_err());
        assert!(webhook_url("not a url").is_err());
    }
}
