//! `dachat export --context C [--since DAY] --format json|html --out FILE`
//! (issue #30): a room's history for an audit, with attachment metadata
//! (names, types, sizes; never the bytes), from Twilio when its settings
//! are given, else from the local server's `chat.db`.
//!
//! Long exports show progress on stderr and survive being stopped: each
//! message is appended to `FILE.partial` (JSON lines, after a header line
//! naming the export) as it is read, so a run that stops (Ctrl-C, a
//! network error, a crash) is resumed by running the same command again,
//! after the last message written there. Only a complete export becomes
//! `FILE` (written beside it, then renamed), and the partial file goes.

use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, BufWriter, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use backend::config;
use backend::domain::ContextName;
use backend::twilio::rest::{ConversationsClient, ListedMessage};
use serde::{Deserialize, Serialize};

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The room (context) to export.
    #[arg(long)]
    pub context: String,
    /// Only messages written on or after this day (YYYY-MM-DD, UTC).
    #[arg(long)]
    pub since: Option<String>,
    /// `json` (one document, for tools) or `html` (one page, for people).
    #[arg(long, value_enum, default_value = "json")]
    pub format: Format,
    /// The file to write (a stopped run is resumed from FILE.partial).
    #[arg(long)]
    pub out: PathBuf,
    /// Where the history is read: Twilio given its settings, else the
    /// data folder's chat.db.
    #[command(flatten)]
    pub from: crate::configure::DataSources,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Json,
    Html,
}

/// What an export is of: the partial file's first line. A partial file of
/// another export is never resumed into this one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Header {
    context: String,
    since: Option<String>,
    format: Format,
    provider: String,
}

/// One message as exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Exported {
    /// The provider's id (local: a number; Twilio: the message SID).
    pub id: String,
    /// Increasing within the room (local: the id; Twilio: the index).
    pub position: i64,
    pub author: String,
    pub body: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<ExportedFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportedFile {
    pub name: String,
    pub content_type: String,
    pub size: u64,
}

/// Messages read per page.
const PAGE: u32 = 100;

pub async fn export(args: &ExportArgs) -> anyhow::Result<()> {
    let context = ContextName::parse(&args.context).map_err(|e| anyhow::anyhow!("--context: {e}"))?;
    let since = args.since.as_deref().map(day_start).transpose()?;
    let raw = args.from.settings().await?;
    let source = if let Some(client) = crate::configure::DataSources::twilio(&raw)? {
        let conversation = client
            .fetch_conversation(&context)
            .await
            .context("Twilio: finding the room")?
            .with_context(|| format!("no room {context} on Twilio"))?;
        Source::Twilio {
            client,
            conversation: conversation.sid,
        }
    } else {
        let path = args.from.data_dir.join("chat.db");
        if !path.is_file() {
            bail!(
                "nothing to export from: no Twilio settings ({}) and no {}; give --data-dir, --settings or --ssm",
                config::TWILIO_ACCOUNT_SID.env,
                path.display()
            );
        }
        Source::Local(local_chat::store::Store::open(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?)
    };
    let header = Header {
        context: context.as_str().to_owned(),
        since: args.since.clone(),
        format: args.format,
        provider: source.name().to_owned(),
    };
    let partial_path = partial_of(&args.out);
    let (mut partial, mut written, mut after) = open_partial(&partial_path, &header)?;
    if written > 0 {
        eprintln!("resuming: {written} messages were exported before");
    }
    let total = source.count(context.as_str())?;
    let mut next: Option<String> = None;
    loop {
        let (page, more) = source
            .page(context.as_str(), after, next.as_deref())
            .await
            .with_context(|| {
                format!("reading the history of {context} ({written} messages exported so far; run again to resume)")
            })?;
        for message in page {
            after = Some(message.position);
            if since
                .as_deref()
                .is_some_and(|since| message.created_at.as_str() < since)
            {
                continue;
            }
            serde_json::to_writer(&mut partial, &message)?;
            partial.write_all(b"\n")?;
            written += 1;
        }
        partial.flush()?;
        match total {
            Some(total) => eprintln!("  exported {written} of at most {total} messages"),
            None => eprintln!("  exported {written} messages"),
        }
        match more {
            Some(n) => next = Some(n),
            None => break,
        }
    }
    partial.get_ref().sync_all()?;
    drop(partial);
    finish(&partial_path, &args.out, &header, written)?;
    println!(
        "Exported {written} message(s) of {context} to {} ({}).",
        args.out.display(),
        match args.format {
            Format::Json => "JSON",
            Format::Html => "HTML",
        }
    );
    Ok(())
}

/// Where messages read so far are kept.
fn partial_of(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// The partial file, ready to append to: how many messages it holds and
/// the position of the last. A line cut short by a crash is dropped.
fn open_partial(path: &Path, header: &Header) -> anyhow::Result<(BufWriter<File>, usize, Option<i64>)> {
    let context = || format!("{}", path.display());
    if !path.exists() {
        let mut file = BufWriter::new(File::create(path).with_context(context)?);
        serde_json::to_writer(&mut file, header)?;
        file.write_all(b"\n")?;
        file.flush()?;
        return Ok((file, 0, None));
    }
    let mut reader = BufReader::new(File::open(path).with_context(context)?);
    let mut line = String::new();
    reader.read_line(&mut line).with_context(context)?;
    let theirs: Header = serde_json::from_str(&line).with_context(|| {
        format!(
            "{} is not an export's partial file; move it away to start over",
            path.display()
        )
    })?;
    if &theirs != header {
        bail!(
            "{} holds a stopped export of {} ({} format{}); finish it with the same arguments, or remove it to start this one",
            path.display(),
            theirs.context,
            match theirs.format {
                Format::Json => "json",
                Format::Html => "html",
            },
            theirs.since.map(|s| format!(", since {s}")).unwrap_or_default()
        );
    }
    let mut kept_to = line.len() as u64;
    let (mut written, mut after) = (0, None);
    loop {
        line.clear();
        if reader.read_line(&mut line).with_context(context)? == 0 {
            break;
        }
        match serde_json::from_str::<Exported>(&line) {
            Ok(message) if line.ends_with('\n') => {
                written += 1;
                after = Some(message.position);
                kept_to += line.len() as u64;
            }
            // the last line, cut short: written again
            _ => break,
        }
    }
    drop(reader);
    let mut file = OpenOptions::new().write(true).open(path).with_context(context)?;
    file.set_len(kept_to).with_context(context)?;
    file.seek(SeekFrom::End(0)).with_context(context)?;
    Ok((BufWriter::new(file), written, after))
}

/// Writes `out` from the partial file (beside it, then renamed), and
/// removes the partial file.
fn finish(partial: &Path, out: &Path, header: &Header, written: usize) -> anyhow::Result<()> {
    let mut tmp_name = out.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    let mut file = BufWriter::new(File::create(&tmp).with_context(|| tmp.display().to_string())?);
    let messages = BufReader::new(File::open(partial)?).lines().skip(1);
    match header.format {
        Format::Json => {
            let meta = serde_json::json!({
                "context": header.context,
                "since": header.since,
                "provider": header.provider,
                "exportedAt": backend::clock::rfc3339(backend::clock::Clock::system().now_secs()),
                "count": written,
            });
            let meta = serde_json::to_string(&meta)?;
            // the header's fields, then the messages as they were kept
            write!(file, "{},\"messages\":[", meta.trim_end_matches('}'))?;
            for (i, line) in messages.enumerate() {
                if i > 0 {
                    file.write_all(b",")?;
                }
                file.write_all(b"\n")?;
                file.write_all(line?.as_bytes())?;
            }
            file.write_all(b"\n]}\n")?;
        }
        Format::Html => {
            write!(
                file,
                "<!doctype html>\n<html><head><meta charset=\"utf-8\">\
                 <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
                 <title>{title}</title><style>body{{font:15px/1.5 system-ui,sans-serif;max-width:50em;margin:2em auto;padding:0 1em}}\
                 li{{margin:.4em 0}}time{{color:#555;font-size:.85em}}.body{{white-space:pre-wrap}}.note{{color:#555;font-style:italic}}</style></head>\n\
                 <body><h1>{title}</h1>\n<p>Messages: {written}{since}; from {provider}; exported {at}.</p>\n<ol>\n",
                title = escape(&format!("DAChat: {}", header.context)),
                since = header
                    .since
                    .as_deref()
                    .map(|s| format!(", since {}", escape(s)))
                    .unwrap_or_default(),
                provider = if header.provider == "twilio" {
                    "Twilio"
                } else {
                    "the local chat"
                },
                at = backend::clock::rfc3339(backend::clock::Clock::system().now_secs()),
            )?;
            for line in messages {
                let m: Exported = serde_json::from_str(&line?)?;
                write!(
                    file,
                    "<li><time>{}</time> <b>{}</b>",
                    escape(&m.created_at),
                    escape(&m.author)
                )?;
                if m.deleted {
                    file.write_all(b" <span class=\"note\">(message deleted)</span>")?;
                } else {
                    write!(file, ": <span class=\"body\">{}</span>", escape(&m.body))?;
                }
                if let Some(edited) = &m.edited_at {
                    write!(file, " <span class=\"note\">(edited {})</span>", escape(edited))?;
                }
                for a in &m.attachments {
                    write!(
                        file,
                        " <span class=\"note\">[file: {}, {}, {} bytes]</span>",
                        escape(&a.name),
                        escape(&a.content_type),
                        a.size
                    )?;
                }
                file.write_all(b"</li>\n")?;
            }
            file.write_all(b"</ol>\n</body></html>\n")?;
        }
    }
    file.flush()?;
    file.get_ref().sync_all()?;
    drop(file);
    std::fs::rename(&tmp, out).with_context(|| out.display().to_string())?;
    std::fs::remove_file(partial)?;
    Ok(())
}

/// Text as HTML text.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `YYYY-MM-DD` as the RFC 3339 start of that day (UTC), which compares
/// with the exported times as text.
fn day_start(day: &str) -> anyhow::Result<String> {
    let parts: Vec<&str> = day.split('-').collect();
    let ok = parts.len() == 3
        && parts[0].len() == 4
        && parts[1].len() == 2
        && parts[2].len() == 2
        && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()))
        && (1..=12).contains(&parts[1].parse::<u32>().unwrap_or(0))
        && (1..=31).contains(&parts[2].parse::<u32>().unwrap_or(0));
    if !ok {
        bail!("--since {day:?}: give a day as YYYY-MM-DD, e.g. 2026-01-31");
    }
    Ok(format!("{day}T00:00:00Z"))
}

enum Source {
    Local(local_chat::store::Store),
    Twilio {
        client: ConversationsClient,
        conversation: String,
    },
}

impl Source {
    fn name(&self) -> &'static str {
        match self {
            Self::Local(_) => "local",
            Self::Twilio { .. } => "twilio",
        }
    }

    /// How many messages the room holds, when the provider says.
    fn count(&self, room: &str) -> anyhow::Result<Option<u64>> {
        match self {
            Self::Local(store) => Ok(Some(store.count(room).map_err(|e| anyhow::anyhow!("{e}"))?)),
            Self::Twilio { .. } => Ok(None),
        }
    }

    /// The next page after position `after` (or `next`, the provider's
    /// own link to it), oldest first, and the link to the one after.
    async fn page(
        &self,
        room: &str,
        after: Option<i64>,
        next: Option<&str>,
    ) -> anyhow::Result<(Vec<Exported>, Option<String>)> {
        match self {
            Self::Local(store) => {
                let page = store
                    .messages_after(room, after.unwrap_or(0), PAGE)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                let more = (page.len() == PAGE as usize).then(String::new);
                Ok((page.into_iter().map(from_local).collect(), more))
            }
            Self::Twilio { client, conversation } => {
                let page = client.messages_page(conversation, next).await?;
                let messages = page
                    .items
                    .into_iter()
                    .filter(|m| after.is_none_or(|after| m.index > after))
                    .map(from_twilio)
                    .collect();
                Ok((messages, page.next))
            }
        }
    }
}

fn from_local(m: protocol::local::Message) -> Exported {
    let millis = |ms: i64| backend::clock::rfc3339(u64::try_from(ms).unwrap_or(0) / 1000);
    Exported {
        id: m.id.to_string(),
        position: m.id,
        author: m.author,
        body: m.body,
        created_at: millis(m.created_at),
        edited_at: m.edited_at.map(millis),
        deleted: m.deleted,
        attachments: m
            .attachment
            .map(|a| ExportedFile {
                name: a.name,
                content_type: a.content_type,
                size: a.size,
            })
            .into_iter()
            .collect(),
    }
}

fn from_twilio(m: ListedMessage) -> Exported {
    // (the stand-in writes the creation time there for every message)
    let edited_at = m
        .date_updated
        .filter(|updated| Some(updated) != m.date_created.as_ref());
    Exported {
        id: m.sid,
        position: m.index,
        author: m.author.unwrap_or_default(),
        body: m.body.unwrap_or_default(),
        created_at: m.date_created.unwrap_or_default(),
        edited_at,
        deleted: false,
        attachments: m
            .media
            .unwrap_or_default()
            .into_iter()
            .map(|media| ExportedFile {
                name: media.filename.unwrap_or_default(),
                content_type: media.content_type.unwrap_or_default(),
                size: media.size.unwrap_or(0),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_checked() {
        assert_eq!(day_start("2026-01-31").unwrap(), "2026-01-31T00:00:00Z");
        for bad in ["2026-1-31", "2026-13-01", "31-01-2026", "2026-01-32", "yesterday", ""] {
            assert!(day_start(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }
}
