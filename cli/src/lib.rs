//! The `dachat` command: operator and developer tools, and the local server.
//!
//! - `keygen`: an ES256 key pair and its JWKS in both formats (kid = UUID);
//! - `token`: a dev host JWT for `--sub` and `--contexts`;
//! - `configure`: the Twilio service's roles and webhook ([`configure`]);
//! - `publish`: the built widget to S3 ([`publish`]);
//! - `smoke`: a running stage checked end to end ([`smoke`]);
//! - `forget`: everything kept about one person found and removed ([`forget`]);
//! - `export`: a room's history for an audit, resumable ([`export`]);
//! - `moderation-log`: the moderator actions recorded ([`moderation_log`]);
//! - `serve`: the local server; with `--dev-keys` it also publishes that
//!   key's JWKS at `/.well-known/jwks.json` and trusts it, so the whole loop
//!   runs on one machine.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use axum::serve::ListenerExt as _;
use clap::{Parser, Subcommand};

use backend::api::{self, HttpOptions};
use backend::app::{AppState, Deps};
use backend::clock::Clock;
use backend::config::{self, ProviderSettings, RawSettings, Settings, TwilioRequirement};
use backend::domain::{ContextName, Identity, MAX_CONTEXTS};
use backend::http_client;
use backend::tokens::es256::{KeySet, SigningKey, legacy_jwk, standard_jwk};
use backend::tokens::host_jwt;
use local_chat::LocalChat;

pub mod configure;
mod demo;
pub mod export;
pub mod forget;
pub mod inbound_smtp;
pub mod mailers;
pub mod moderation_log;
pub mod notify;
pub mod publish;
pub mod retention;
pub mod smoke;
pub mod widget_files;

#[derive(Debug, Parser)]
#[command(name = "dachat", version, about = "DAChat: context-scoped chat for a host platform")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate an ES256 key pair and its JWKS (standard and legacy formats).
    Keygen(KeygenArgs),
    /// Mint a host JWT signed with a key from `keygen` (for development).
    Token(TokenArgs),
    /// Run the local server (API, and the dev key's JWKS when given).
    Serve(ServeArgs),
    /// Check a running stage end to end: API, a dev token, a session, the widget's files.
    Smoke(smoke::SmokeArgs),
    /// Lock the Twilio Conversations service down and point its webhook at the API.
    Configure(configure::ConfigureArgs),
    /// Upload the built widget to its S3 bucket (hashed files first, the loader last).
    Publish(publish::PublishArgs),
    /// Find everything kept about one person and remove it (the right to erasure).
    Forget(forget::ForgetArgs),
    /// Write a room's history to a file for an audit (JSON or HTML; resumable).
    Export(export::ExportArgs),
    /// List the moderator actions the local chat recorded.
    ModerationLog(moderation_log::ModerationLogArgs),
}

#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Folder to write private.pem, public.pem, kid, jwks.json and jwks-legacy.json into.
    #[arg(long, default_value = ".dachat/dev-keys")]
    pub out_dir: PathBuf,
    /// Replace a key that is already there.
    #[arg(long)]
    pub force: bool,
}

/// `dachat token --keys DIR --sub alice --contexts general,shipment-123`, or
/// the seed's form `dachat token KEY_ID alex` (the key in
/// `ecdsa-p256-KEY_ID-private.pem`, made by the seed's `openssl ecparam`
/// commands; contexts `general,random` unless given).
#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    /// The seed's form: the key id (its key is `ecdsa-p256-<KEY_ID>-private.pem`).
    #[arg(value_name = "KEY_ID", requires = "identity", conflicts_with_all = ["keys", "sub"])]
    pub key_id: Option<String>,
    /// The seed's form: the user's identity.
    #[arg(value_name = "IDENTITY")]
    pub identity: Option<String>,
    /// With KEY_ID: the private key file (PKCS#8 or SEC1 PEM) instead of
    /// ./ecdsa-p256-KEY_ID-private.pem.
    #[arg(long, requires = "key_id")]
    pub key: Option<PathBuf>,
    /// Folder written by `keygen`.
    #[arg(long, default_value = ".dachat/dev-keys")]
    pub keys: PathBuf,
    /// The user's identity (the token's `sub`).
    #[arg(long, required_unless_present = "key_id")]
    pub sub: Option<String>,
    /// Comma-separated contexts the user may enter, e.g. general,shipment-123
    /// (the seed's form defaults to general,random).
    #[arg(long, value_delimiter = ',')]
    pub contexts: Vec<String>,
    /// Comma-separated contexts the user moderates (each one of --contexts).
    #[arg(long, value_delimiter = ',')]
    pub moderates: Vec<String>,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = 3600)]
    pub ttl: u64,
    /// Optional `iss` claim.
    #[arg(long)]
    pub iss: Option<String>,
    /// Optional `aud` claim.
    #[arg(long)]
    pub aud: Option<String>,
    /// An `email` claim the host vouches for (`email_verified: true`):
    /// notification e-mail to it needs no confirmation code.
    #[arg(long)]
    pub email: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// A file of NAME=value settings (environment names); the environment wins.
    #[arg(long)]
    pub settings: Option<PathBuf>,
    /// A `keygen` folder: publish its JWKS and, unless DACHAT_JWKS_URL is
    /// set, trust it without fetching.
    #[arg(long)]
    pub dev_keys: Option<PathBuf>,
    /// Where the local server keeps its SQLite databases: the embedded chat
    /// provider's (when no Twilio settings are given), the notifications',
    /// and on Twilio the last aligned room sets (shared by every `serve` on
    /// the folder).
    #[arg(long, default_value = ".dachat/data")]
    pub data_dir: PathBuf,
    /// The built widget (loader and WASM), served at /widget/.
    #[arg(long, default_value = "widget/dist")]
    pub widget_dir: PathBuf,
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Keygen(args) => keygen(&args),
        Command::Token(args) => token(&args),
        Command::Serve(args) => serve(args).await,
        Command::Publish(args) => publish::publish(&args).await,
        Command::Configure(args) => configure::configure(&args).await,
        Command::Smoke(args) => smoke::smoke(&args).await,
        Command::Forget(args) => forget::forget(&args).await,
        Command::Export(args) => export::export(&args).await,
        Command::ModerationLog(args) => moderation_log::moderation_log(&args).await,
    }
}

fn keygen(args: &KeygenArgs) -> anyhow::Result<()> {
    let private_path = args.out_dir.join("private.pem");
    if private_path.exists() && !args.force {
        bail!("{} already exists; pass --force to replace it", private_path.display());
    }
    std::fs::create_dir_all(&args.out_dir).with_context(|| format!("cannot create {}", args.out_dir.display()))?;
    let key = SigningKey::generate()?;
    let public = key.public_key();
    let kid = uuid::Uuid::new_v4().to_string();
    write_private(&private_path, &key.to_pem())?;
    write(&args.out_dir.join("public.pem"), &public.to_pem())?;
    write(&args.out_dir.join("kid"), &format!("{kid}\n"))?;
    let standard = serde_json::json!({ "keys": [standard_jwk(&kid, &public)] });
    let legacy = serde_json::json!({ "keys": [legacy_jwk(&kid, &public)] });
    write(
        &args.out_dir.join("jwks.json"),
        &format!("{}\n", serde_json::to_string_pretty(&standard)?),
    )?;
    write(
        &args.out_dir.join("jwks-legacy.json"),
        &format!("{}\n", serde_json::to_string_pretty(&legacy)?),
    )?;
    println!("kid {kid}");
    println!(
        "wrote {} (keep it secret), public.pem, kid, jwks.json, jwks-legacy.json",
        private_path.display()
    );
    Ok(())
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// What a dev host token says.
#[derive(Debug, Clone, Copy)]
pub struct DevClaims<'a> {
    pub sub: &'a str,
    pub contexts: &'a [String],
    /// Rooms they moderate, each one of `contexts`.
    pub moderates: &'a [String],
    /// Seconds; negative makes an already expired token.
    pub ttl: i64,
    pub iss: Option<&'a str>,
    pub aud: Option<&'a str>,
    /// An address the host vouches for (`email_verified: true`).
    pub email: Option<&'a str>,
}

/// A `keygen` folder, read back.
#[derive(Debug)]
pub struct DevKeys {
    pub kid: String,
    pub key: SigningKey,
}

impl DevKeys {
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name)).with_context(|| {
                format!(
                    "cannot read {} (run `dachat keygen --out-dir {}`)",
                    dir.join(name).display(),
                    dir.display()
                )
            })
        };
        let kid = read("kid")?.trim().to_owned();
        if kid.is_empty() {
            bail!("{} is empty", dir.join("kid").display());
        }
        let key = SigningKey::from_pem(&read("private.pem")?)
            .with_context(|| format!("{}", dir.join("private.pem").display()))?;
        Ok(Self { kid, key })
    }

    /// A key id and a private key file (`dachat keygen`'s PKCS#8 or the
    /// seed's `openssl ecparam` SEC1 PEM).
    pub fn from_file(kid: &str, path: &Path) -> anyhow::Result<Self> {
        let kid = kid.trim();
        if kid.is_empty() {
            bail!("the key id is empty");
        }
        let pem = std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read {} (make it with `openssl ecparam -genkey -name secp256r1 -noout -out {}`, or use `dachat keygen`)",
                path.display(),
                path.display()
            )
        })?;
        let key = SigningKey::from_pem(&pem).with_context(|| format!("{}", path.display()))?;
        Ok(Self {
            kid: kid.to_owned(),
            key,
        })
    }

    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({ "keys": [standard_jwk(&self.kid, &self.key.public_key())] })
    }

    /// Signs a host token for `sub` and `contexts`, valid from now for `ttl` seconds.
    /// A negative `ttl` makes a token that expired that long ago (for tests).
    pub fn token(&self, dev: &DevClaims<'_>) -> anyhow::Result<String> {
        let DevClaims {
            sub,
            contexts,
            moderates,
            ttl,
            iss,
            aud,
            email,
        } = *dev;
        // named as the token's claims: the CLI's flags and /dev/token's
        // fields are both called so
        Identity::parse(sub).context("sub")?;
        if contexts.len() > MAX_CONTEXTS {
            bail!("contexts: at most {MAX_CONTEXTS} contexts");
        }
        for c in contexts {
            ContextName::parse(c).with_context(|| format!("contexts: {c:?}"))?;
        }
        for m in moderates {
            if !contexts.contains(m) {
                bail!("moderates: {m:?} is not one of the contexts");
            }
        }
        let now = Clock::system().now_secs();
        let exp = now.saturating_add_signed(ttl);
        let iat = now.min(exp.saturating_sub(60));
        let mut claims = serde_json::json!({ "sub": sub, "contexts": contexts, "iat": iat, "exp": exp });
        if !moderates.is_empty() {
            claims["moderates"] = moderates.into();
        }
        if let Some(iss) = iss {
            claims["iss"] = iss.into();
        }
        if let Some(aud) = aud {
            claims["aud"] = aud.into();
        }
        if let Some(email) = email {
            backend::notify::digest_mail::address(email)
                .map_err(|_| anyhow::anyhow!("email: {email:?} is not an e-mail address"))?;
            claims["email"] = email.into();
            claims["email_verified"] = true.into();
        }
        Ok(host_jwt::sign(&self.key, &self.kid, &claims)?)
    }
}

fn token(args: &TokenArgs) -> anyhow::Result<()> {
    let mut contexts: Vec<String> = args
        .contexts
        .iter()
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
        .collect();
    let (keys, sub) = match (&args.key_id, &args.identity, &args.sub) {
        (Some(kid), Some(identity), _) => {
            if contexts.is_empty() {
                contexts = vec!["general".to_owned(), "random".to_owned()];
            }
            let path = args
                .key
                .clone()
                .unwrap_or_else(|| PathBuf::from(format!("ecdsa-p256-{kid}-private.pem")));
            (DevKeys::from_file(kid, &path)?, identity.clone())
        }
        (_, _, Some(sub)) => (DevKeys::load(&args.keys)?, sub.clone()),
        _ => bail!("give KEY_ID IDENTITY, or --sub (with --keys)"),
    };
    let moderates: Vec<String> = args
        .moderates
        .iter()
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
        .collect();
    println!(
        "{}",
        keys.token(&DevClaims {
            sub: &sub,
            contexts: &contexts,
            moderates: &moderates,
            ttl: i64::try_from(args.ttl)?,
            iss: args.iss.as_deref(),
            aud: args.aud.as_deref(),
            email: args.email.as_deref(),
        })?
    );
    Ok(())
}

/// Why the data folder cannot be written (a read-only disk, a full one, no
/// permission), said after a database that would not open; empty when it
/// can be.
fn cannot_open(path: &std::path::Path, dir: &std::path::Path, e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("cannot open {}: {e}{}", path.display(), why_not_writable(dir))
}

pub(crate) fn why_not_writable(dir: &std::path::Path) -> String {
    let probe = dir.join(format!(".dachat-write-check-{}", std::process::id()));
    match std::fs::write(&probe, b"") {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
            String::new()
        }
        Err(e) => format!(" (the data folder {} cannot be written: {e})", dir.display()),
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let dev_keys = args.dev_keys.as_deref().map(DevKeys::load).transpose()?;
    let mut raw = RawSettings::from_file_and_env(args.settings.as_deref())?;
    let own_jwks_url = format!("http://{}/.well-known/jwks.json", args.listen);
    let trust_dev_key_directly = dev_keys.is_some() && !raw.has(config::JWKS_URL);
    if trust_dev_key_directly {
        raw.set(config::JWKS_URL, own_jwks_url.clone());
    }
    // unsubscribe links and the Twilio webhook's signed URL: the listening
    // address unless the operator names the public one
    if !raw.has(config::PUBLIC_URL) && !args.listen.ip().is_unspecified() {
        raw.set(config::PUBLIC_URL, format!("http://{}", args.listen));
    }
    let settings = Settings::parse(&raw, TwilioRequirement::Optional)?;
    let report_to = notify::report_address(&settings)?;
    let clock = Clock::system();
    let local = match settings.provider {
        ProviderSettings::Local => {
            let path = args.data_dir.join("chat.db");
            let files = local_chat::files::FileOptions {
                dir: args.data_dir.join("files"),
                settings: settings.attachments.clone(),
            };
            Some(
                LocalChat::open(&path, clock.clone(), Some(files))
                    .map_err(|e| cannot_open(&path, &args.data_dir, e))?,
            )
        }
        ProviderSettings::Twilio(_) => None,
    };
    let mut deps = Deps::new(http_client::build()?);
    let chat_view: Arc<dyn backend::notify::ChatView> = match (&local, &settings.provider) {
        (Some(chat), _) => Arc::new(chat.clone()),
        (None, ProviderSettings::Twilio(twilio)) => Arc::new(backend::notify::twilio_view::TwilioView::new(
            backend::twilio::rest::ConversationsClient::new(deps.http.clone(), twilio, Default::default()),
        )),
        (None, ProviderSettings::Local) => bail!("the local provider did not open"),
    };
    let notify = notify::LocalNotify::build(&settings.notify, chat_view, &args.data_dir, args.listen, clock.clone())?;
    deps.notify = Ok(notify.notifier.clone() as Arc<dyn backend::notify::Notify>);
    // reports to the operator: the local provider's as they come, Twilio's by the API
    let report_mail = notify.report_mail(report_to, &settings.notify.product);
    deps.report_mail = report_mail.clone();
    if let ProviderSettings::Twilio(_) = settings.provider {
        let dir = &args.data_dir;
        // every `dachat serve` on this data folder sees the others' alignments
        let path = dir.join("twilio.db");
        let aligned = local_chat::aligned_sqlite::SqliteAligned::open(&path);
        deps.aligned = Some(Arc::new(aligned.map_err(|e| cannot_open(&path, dir, e))?));
        // moderation's mutes, reports and record, in the tables the local
        // provider keeps them in (`dachat moderation-log` lists them)
        let path = dir.join("chat.db");
        let store = local_chat::store::Store::open(&path);
        deps.moderation = Some(Arc::new(store.map_err(|e| cannot_open(&path, dir, e))?));
    }
    let old_messages = match (&local, &settings.provider) {
        (Some(chat), _) => Some(retention::Messages::Local(chat.clone())),
        (None, ProviderSettings::Twilio(twilio)) => Some(retention::Messages::Twilio(
            backend::twilio::rest::ConversationsClient::new(deps.http.clone(), twilio, Default::default()),
        )),
        (None, ProviderSettings::Local) => None,
    };
    if let Some(messages) = old_messages {
        retention::spawn(
            messages,
            notify.notifier.clone(),
            settings.retention.clone(),
            clock.clone(),
        );
    }
    deps.clock = clock;
    deps.local = local.as_ref().map(LocalChat::provider);
    if let (Some(keys), true) = (&dev_keys, trust_dev_key_directly) {
        let mut set = KeySet::default();
        set.insert(keys.kid.clone(), keys.key.public_key());
        deps.fixed_keys = Some(set);
    }
    let state = AppState::new(&settings, deps)?;
    let options = HttpOptions {
        published_jwks: dev_keys.as_ref().map(DevKeys::jwks),
        ..HttpOptions::from_settings(&settings)
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let provider = match &settings.provider {
        ProviderSettings::Twilio(t) => format!("twilio ({})", t.chat_service_sid),
        ProviderSettings::Local => "local".to_owned(),
    };
    tracing::info!(
        address = %format!("http://{}", listener.local_addr()?),
        jwks = %settings.jwks_url,
        provider = %provider,
        "dachat is listening"
    );
    let mut router = api::router(Arc::new(state), options);
    if let Some(local) = &local {
        // the chat socket's refusals (not a WebSocket upgrade…) in our JSON too
        let socket = local.router().layer(axum::middleware::from_fn(api::json_errors));
        router = socket.merge(router);
    }
    {
        let n = &notify;
        n.spawn(local.as_ref().map(LocalChat::message_events));
        if let (Some(mail), Some(chat)) = (report_mail, &local) {
            notify::spawn_report_mail(mail, chat.report_events());
        }
        let replies = n.notifier.clone() as Arc<dyn backend::notify::Notify>;
        if let (Some(addr), Some(domain)) = (settings.notify.smtp_listen, &n.reply_domain) {
            let bound = inbound_smtp::listen(addr, domain.clone(), Arc::clone(&replies)).await?;
            tracing::info!(address = %bound, domain = %domain, "replies by e-mail: SMTP listener");
        }
        match (&n.inbox, dev_keys.is_some()) {
            (Some(inbox), true) => router = inbox.router(replies).merge(router),
            // codes and links of everyone: only on the demo server
            (Some(_), false) => {
                tracing::warn!("no DACHAT_SMTP_URL and no --dev-keys: notification e-mail is kept but shown nowhere")
            }
            (None, _) => {}
        }
    }
    if args.widget_dir.join("dachat.js").exists() {
        let manifest = widget_files::Manifest::load(&args.widget_dir)?;
        router = widget_router(&args.widget_dir, manifest).merge(router);
    } else {
        tracing::warn!(dir = %args.widget_dir.display(), "the widget is not built here; `cargo xtask dev` builds it");
    }
    if let Some(keys) = dev_keys {
        router = demo::router(Arc::new(keys)).merge(router);
    }
    // Chat frames are small and latency is what matters: no Nagle delay.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "could not set TCP_NODELAY");
        }
    });
    // Connect info gives the API the client address its failed-verification limit counts by.
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("server failed")
}

/// The built widget at `/widget/`: the precompressed `.br` or `.gz` file
/// when the browser accepts it (written by the widget build), else the
/// file itself, with the CDN's cache rules ([`widget_files`]): the loader
/// for minutes, the content-hashed files for a year.
fn widget_router(dir: &Path, manifest: widget_files::Manifest) -> axum::Router {
    let files = tower_http::services::ServeDir::new(dir)
        .precompressed_br()
        .precompressed_gzip();
    let manifest = Arc::new(manifest);
    axum::Router::new()
        .nest_service("/widget", files)
        .layer(axum::middleware::from_fn(move |request, next| {
            widget_cache(Arc::clone(&manifest), request, next)
        }))
}

async fn widget_cache(
    manifest: Arc<widget_files::Manifest>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let name = request
        .uri()
        .path()
        .strip_prefix("/widget/")
        .unwrap_or_default()
        .to_owned();
    let mut response = next.run(request).await;
    let found = response.status().is_success();
    let headers = response.headers_mut();
    // the same types as `dachat publish` gives S3: with the charset, since
    // the loader carries words in eight scripts and a host page without
    // `<meta charset>` would read them as Latin-1
    if found {
        headers.insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static(widget_files::content_type(&name)),
        );
    }
    headers.insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static(manifest.cache_control(&name)),
    );
    // the body depends on Accept-Encoding: a shared cache must keep them apart
    headers.insert(
        axum::http::header::VARY,
        axum::http::HeaderValue::from_static("accept-encoding"),
    );
    response
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => {
            let _ = ctrl_c.await;
            return;
        }
    };
    tokio::select! {
        _ = ctrl_c => {}
        _ = term.recv() => {}
    }
}
