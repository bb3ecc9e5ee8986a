//! `dachat forget --identity ID` (issue #30): the right to erasure (GDPR
//! art. 17). Finds everything DAChat keeps about one person and removes
//! it, printing what it found and what it removed:
//!
//! - on Twilio (when the Twilio settings are given): their messages in
//!   every conversation of the service (deleted, or kept under
//!   [`ERASED_AUTHOR`], as the operator chooses), their participations,
//!   and their user;
//! - the notifications' store (DynamoDB when `DACHAT_NOTIFY_TABLE` is set,
//!   else `notify.db` in the data folder): subscriptions, codes and their
//!   log, the watch, throttle state, reply addresses and their log,
//!   deferred events;
//! - the last aligned room set (the same table, or `twilio.db`);
//! - moderation on Twilio in the same table: their mutes and the reports
//!   they made, and the actions' record with `former-member` in their
//!   place (`dachat serve` keeps these in `chat.db`, below);
//! - the embedded provider's `chat.db` and its files, when the data folder
//!   has one.
//!
//! Every step is idempotent, and messages are found by walking every
//! conversation (not only the rooms the person is still in), so a run cut
//! short is finished by running it again; a run that finds nothing says
//! so. `--dry-run` counts and removes nothing. Nothing here reads a
//! message's text: only authors.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use backend::config;
use backend::domain::Identity;
use backend::notify::dynamo_store::DynamoNotifyStore;
use backend::notify::store::{KeptAbout, NotifyStore};
use backend::twilio::aligned::AlignedStore;
use backend::twilio::aligned_dynamo::DynamoAligned;
use backend::twilio::moderation_dynamo::DynamoModeration;
use backend::twilio::rest::ConversationsClient;
use local_chat::aligned_sqlite::SqliteAligned;
use local_chat::forget::{ERASED_AUTHOR, KeptInChat, TheirMessages};
use local_chat::notify_sqlite::SqliteNotifyStore;

#[derive(Debug, clap::Args)]
pub struct ForgetArgs {
    /// The person's identity (the `sub` of the host's tokens).
    #[arg(long)]
    pub identity: String,
    /// What becomes of their messages: `delete` (text and files erased; a
    /// "message deleted" placeholder stays in the local history) or
    /// `anonymise` (kept, by "former-member"). Required unless --dry-run.
    #[arg(long, value_enum)]
    pub messages: Option<MessagesChoice>,
    /// Count what is kept about them; remove nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Where to look: Twilio and the DynamoDB table (DACHAT_NOTIFY_TABLE)
    /// given their settings; each database of the data folder that exists
    /// (chat.db, notify.db, twilio.db).
    #[command(flatten)]
    pub from: crate::configure::DataSources,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MessagesChoice {
    Delete,
    Anonymise,
}

impl From<MessagesChoice> for TheirMessages {
    fn from(choice: MessagesChoice) -> Self {
        match choice {
            MessagesChoice::Delete => Self::Delete,
            MessagesChoice::Anonymise => Self::Anonymise,
        }
    }
}

/// What a run found (and, unless a dry run, removed) on Twilio.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeptOnTwilio {
    pub conversations_read: usize,
    pub messages_read: usize,
    pub messages: usize,
    pub participations: usize,
    pub users: usize,
}

/// Where `forget` looks.
struct Places {
    twilio: Option<ConversationsClient>,
    notify: Option<NotifyPlace>,
    aligned: Option<Box<dyn AlignedStore>>,
    aligned_name: String,
    /// Moderation on Twilio, in production's table (`dachat serve` keeps
    /// it in `chat.db`, which the local chat's part covers).
    moderation: Option<(DynamoModeration, String)>,
    chat: Option<PathBuf>,
}

enum NotifyPlace {
    Dynamo(DynamoNotifyStore, String),
    Sqlite(SqliteNotifyStore, PathBuf),
}

pub async fn forget(args: &ForgetArgs) -> anyhow::Result<()> {
    let identity = Identity::parse(&args.identity).map_err(|e| anyhow::anyhow!("--identity: {e}"))?;
    let choice = match (args.messages, args.dry_run) {
        (Some(choice), _) => Some(TheirMessages::from(choice)),
        (None, true) => None,
        (None, false) => bail!(
            "say what becomes of {identity}'s messages: --messages delete (text and files erased) or --messages anonymise (kept, by \"{ERASED_AUTHOR}\"); or look first with --dry-run"
        ),
    };
    let erase = if args.dry_run { None } else { choice };
    let places = places(args).await?;
    let who = identity.as_str();
    println!(
        "dachat forget {who}{}",
        if args.dry_run {
            " (dry run: nothing is removed)"
        } else {
            ""
        }
    );
    let verb = if args.dry_run { "found" } else { "removed" };
    let mut total = 0;
    if let Some(client) = &places.twilio {
        let kept = on_twilio(client, &identity, erase).await?;
        let done = match (args.dry_run, choice) {
            (true, _) => "found",
            (false, Some(TheirMessages::Anonymise)) => "anonymised",
            (false, _) => "deleted",
        };
        println!(
            "  Twilio: {} conversations and {} messages looked through",
            kept.conversations_read, kept.messages_read
        );
        println!("    messages by {who}: {} {done}", kept.messages);
        println!("    participations: {} {verb}", kept.participations);
        println!("    user: {} {verb}", kept.users);
        total += kept.messages + kept.participations + kept.users;
    }
    if let Some(notify) = &places.notify {
        let (kept, name) = match notify {
            NotifyPlace::Dynamo(store, table) => (
                store.forget(who, erase.is_some()).await,
                format!("DynamoDB table {table}"),
            ),
            NotifyPlace::Sqlite(store, path) => (store.forget(who, erase.is_some()).await, path.display().to_string()),
        };
        let kept: KeptAbout = kept.with_context(|| format!("the notifications' store ({name})"))?;
        println!("  notifications ({name}):");
        for (kind, count) in kept.kinds() {
            println!("    {kind}: {count} {verb}");
        }
        total += kept.total();
    }
    if let Some(aligned) = &places.aligned {
        let found = aligned
            .forget(who, erase.is_some())
            .await
            .with_context(|| format!("the aligned room sets ({})", places.aligned_name))?;
        println!(
            "  aligned room set ({}): {} {verb}",
            places.aligned_name,
            usize::from(found)
        );
        total += usize::from(found);
    }
    if let Some((store, table)) = &places.moderation {
        let found = store
            .forget(who, erase.is_some())
            .await
            .with_context(|| format!("moderation (DynamoDB table {table})"))?;
        println!(
            "  moderation on Twilio (DynamoDB table {table}; mutes, reports made; the actions' record keeps former-member): {found} {verb}"
        );
        total += usize::try_from(found).unwrap_or(usize::MAX);
    }
    if let Some(path) = &places.chat {
        let kept = in_local_chat(path, who, erase)?;
        println!("  local chat ({}):", path.display());
        let done = match erase {
            None => "found",
            Some(TheirMessages::Anonymise) => "anonymised",
            Some(TheirMessages::Delete) => "deleted",
        };
        println!("    messages: {} {done}", kept.messages);
        println!("    memberships: {} {verb}", kept.memberships);
        println!("    nicknames: {} {verb}", kept.nicknames);
        println!("    read horizons: {} {verb}", kept.read_horizons);
        let files = if erase == Some(TheirMessages::Anonymise) {
            "kept with their messages"
        } else {
            verb
        };
        println!("    files: {} {files}", kept.files);
        println!(
            "    moderation (rooms moderated, mutes, reports made; the actions' record keeps former-member): {} {verb}",
            kept.moderation
        );
        total += kept.messages + kept.memberships + kept.nicknames + kept.read_horizons + kept.files + kept.moderation;
    }
    match (args.dry_run, total) {
        (_, 0) => println!("Nothing is kept about {who}."),
        (true, n) => println!("{n} items kept about {who}; run without --dry-run to remove them."),
        (false, n) => println!("Done: {n} items about {who} handled. Running it again finds nothing."),
    }
    Ok(())
}

async fn places(args: &ForgetArgs) -> anyhow::Result<Places> {
    let raw = args.from.settings().await?;
    let twilio = crate::configure::DataSources::twilio(&raw)?;
    let existing = |name: &str| {
        let path = args.from.data_dir.join(name);
        path.is_file().then_some(path)
    };
    let mut moderation = None;
    let (notify, aligned, aligned_name): (_, Option<Box<dyn AlignedStore>>, _) = match raw.get(config::NOTIFY_TABLE) {
        Some(table) => {
            let aws = config::aws_config().await;
            let client = aws_sdk_dynamodb::Client::new(&aws);
            moderation = Some((DynamoModeration::new(client.clone(), table), table.to_owned()));
            (
                Some(NotifyPlace::Dynamo(
                    DynamoNotifyStore::new(client.clone(), table),
                    table.to_owned(),
                )),
                Some(Box::new(DynamoAligned::new(client, table))),
                format!("DynamoDB table {table}"),
            )
        }
        None => {
            let notify = match existing("notify.db") {
                Some(path) => Some(NotifyPlace::Sqlite(
                    SqliteNotifyStore::open(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
                    path,
                )),
                None => None,
            };
            let aligned_path = existing("twilio.db");
            let aligned = match &aligned_path {
                Some(path) => Some(Box::new(
                    SqliteAligned::open(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
                ) as Box<dyn AlignedStore>),
                None => None,
            };
            let name = aligned_path.map(|p| p.display().to_string()).unwrap_or_default();
            (notify, aligned, name)
        }
    };
    let chat = existing("chat.db");
    if twilio.is_none() && notify.is_none() && aligned.is_none() && chat.is_none() {
        bail!(
            "nowhere to look: no Twilio settings ({}), no {} and no database in {} (chat.db, notify.db, twilio.db); give --data-dir, --settings or --ssm",
            config::TWILIO_ACCOUNT_SID.env,
            config::NOTIFY_TABLE.env,
            args.from.data_dir.display()
        );
    }
    Ok(Places {
        twilio,
        notify,
        aligned,
        aligned_name,
        moderation,
        chat,
    })
}

/// Their messages in every conversation of the service, then their
/// participations, then their user: each step idempotent, so a run cut
/// short is finished by the next.
async fn on_twilio(
    client: &ConversationsClient,
    identity: &Identity,
    erase: Option<TheirMessages>,
) -> anyhow::Result<KeptOnTwilio> {
    let mut kept = KeptOnTwilio::default();
    let mut conversations = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let page = client
            .conversations_page(next.as_deref())
            .await
            .context("Twilio: listing the service's conversations")?;
        conversations.extend(page.items);
        match page.next {
            Some(n) => next = Some(n),
            None => break,
        }
    }
    let total = conversations.len();
    for (i, conversation) in conversations.iter().enumerate() {
        let name = conversation.unique_name.as_deref().unwrap_or(&conversation.sid);
        eprintln!("  looking through conversation {} of {total} ({name})", i + 1);
        let mut next: Option<String> = None;
        loop {
            let page = client
                .messages_page(&conversation.sid, next.as_deref())
                .await
                .with_context(|| format!("Twilio: reading the messages of {name}"))?;
            kept.messages_read += page.items.len();
            for message in page
                .items
                .iter()
                .filter(|m| m.author.as_deref() == Some(identity.as_str()))
            {
                kept.messages += 1;
                let done = match erase {
                    None => Ok(()),
                    Some(TheirMessages::Delete) => client.delete_message(&conversation.sid, &message.sid).await,
                    Some(TheirMessages::Anonymise) => {
                        client
                            .set_message_author(&conversation.sid, &message.sid, ERASED_AUTHOR)
                            .await
                    }
                };
                done.with_context(|| {
                    format!(
                        "Twilio: message {} in {name} ({} of theirs handled before it; run again to finish)",
                        message.sid,
                        kept.messages - 1
                    )
                })?;
            }
            match page.next {
                Some(n) => next = Some(n),
                None => break,
            }
        }
        kept.conversations_read += 1;
    }
    let participations = client
        .participations(identity)
        .await
        .context("Twilio: listing their participations")?;
    kept.participations = participations.len();
    if erase.is_some() {
        for participation in &participations {
            client
                .remove_participant(&participation.conversation_sid, &participation.participant_sid)
                .await
                .context("Twilio: removing a participation (run again to finish)")?;
        }
        kept.users = usize::from(
            client
                .delete_user(identity.as_str())
                .await
                .context("Twilio: deleting the user (run again to finish)")?,
        );
    } else {
        kept.users = usize::from(client.user_exists(identity).await.context("Twilio: reading the user")?);
    }
    Ok(kept)
}

/// The embedded provider's database at `path`, and the files nothing
/// refers to any more once their owner's messages are deleted.
fn in_local_chat(path: &Path, identity: &str, erase: Option<TheirMessages>) -> anyhow::Result<KeptInChat> {
    let store = local_chat::store::Store::open(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let (kept, unused) = store
        .forget(identity, erase)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let files = path.with_file_name("files");
    for sha in unused {
        match std::fs::remove_file(files.join(&sha)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(anyhow::anyhow!("{}: {e}", files.join(&sha).display())),
        }
    }
    Ok(kept)
}
