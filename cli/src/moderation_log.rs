//! `dachat moderation-log [--room ROOM] [--data-dir DIR | --settings F | --ssm]`
//! (issue #30): every moderator action recorded (who, what, when, which
//! message or member), oldest first, one line each, for the operator: from
//! the DynamoDB table when the settings name one (`DACHAT_NOTIFY_TABLE`,
//! production on Twilio), else from the local server's `chat.db` (the
//! local provider, or `dachat serve` on Twilio).

use anyhow::bail;
use backend::config;
use backend::twilio::moderation::{Action, ModerationStore};

#[derive(Debug, clap::Args)]
pub struct ModerationLogArgs {
    /// Only this room's actions.
    #[arg(long)]
    pub room: Option<String>,
    /// Where the record is: the DynamoDB table given the settings, else the
    /// data folder's chat.db.
    #[command(flatten)]
    pub from: crate::configure::DataSources,
}

/// The record, from where the settings say it is.
async fn actions(args: &ModerationLogArgs) -> anyhow::Result<Vec<Action>> {
    let raw = args.from.settings().await?;
    let room = args.room.as_deref();
    if let Some(table) = raw.get(config::NOTIFY_TABLE) {
        let client = aws_sdk_dynamodb::Client::new(&config::aws_config().await);
        let store = backend::twilio::moderation_dynamo::DynamoModeration::new(client, table);
        return store
            .actions(room)
            .await
            .map_err(|e| anyhow::anyhow!("DynamoDB table {table}: {e}"));
    }
    let path = args.from.data_dir.join("chat.db");
    if !path.is_file() {
        bail!(
            "no {} and no {}: the moderation record is kept by the local server's chat.db (give --data-dir) or, on AWS, the notifications' table (give --settings or --ssm)",
            path.display(),
            config::NOTIFY_TABLE.env
        );
    }
    let store = local_chat::store::Store::open(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    store
        .moderation_log(room)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

pub async fn moderation_log(args: &ModerationLogArgs) -> anyhow::Result<()> {
    let actions = actions(args).await?;
    if actions.is_empty() {
        println!("No moderator actions recorded.");
    }
    for a in actions {
        let at = backend::clock::rfc3339(u64::try_from(a.at / 1000).unwrap_or(0));
        let what = match (
            a.action.as_str(),
            a.message_id,
            a.target.as_deref(),
            a.detail.as_deref(),
        ) {
            ("remove", Some(id), Some(author), _) => format!("removed message {id} by {author}"),
            ("mute", _, Some(member), Some(until)) => {
                let until = until.parse::<i64>().unwrap_or(0) / 1000;
                format!(
                    "muted {member} until {}",
                    backend::clock::rfc3339(u64::try_from(until).unwrap_or(0))
                )
            }
            ("unmute", _, Some(member), _) => format!("unmuted {member}"),
            (other, ..) => other.to_owned(),
        };
        println!("{at}  {}  {}  {what}", a.room, a.moderator);
    }
    Ok(())
}
