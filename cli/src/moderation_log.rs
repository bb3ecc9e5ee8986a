//! `dachat moderation-log [--room ROOM] [--data-dir DIR]` (issue #30):
//! every moderator action recorded by the local chat (who, what, when,
//! which message or member), oldest first, one line each, for the
//! operator.

use std::path::PathBuf;

use anyhow::bail;

#[derive(Debug, clap::Args)]
pub struct ModerationLogArgs {
    /// Only this room's actions.
    #[arg(long)]
    pub room: Option<String>,
    /// The local server's data folder (its chat.db).
    #[arg(long, default_value = ".dachat/data")]
    pub data_dir: PathBuf,
}

pub fn moderation_log(args: &ModerationLogArgs) -> anyhow::Result<()> {
    let path = args.data_dir.join("chat.db");
    if !path.is_file() {
        bail!(
            "no {}: the moderation record is kept by the local chat (give --data-dir)",
            path.display()
        );
    }
    let store = local_chat::store::Store::open(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let actions = store
        .moderation_log(args.room.as_deref())
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
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
