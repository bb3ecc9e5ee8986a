//! The one way tests and benchmarks start the real `dachat serve`: with
//! dev keys made by `dachat keygen`, a data folder, a free loopback port,
//! the settings a test gives, and its log in a file; stopped by PID when
//! dropped. The caller names the binary (`env!("CARGO_BIN_EXE_dachat")`
//! exists only in the `cli` crate's own tests and benchmarks).
//!
//! ```no_run
//! # fn main() -> std::io::Result<()> {
//! let server = testkit::serve::Serve::new("/path/to/dachat", "my-test")
//!     .env("DACHAT_NOTIFY_DELAY", "1")
//!     .start()?;
//! println!("{}", server.base); // http://127.0.0.1:<port>
//! # Ok(())
//! # }
//! ```

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::process::{Supervised, free_port};

/// How long a starting server may take to accept connections.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// What to start: `dachat serve --listen 127.0.0.1:<port> --dev-keys <keys>
/// --data-dir <data>`, without the caller's `DACHAT_JWKS_URL` or
/// `DACHAT_SMTP_URL`, plus what the builder adds.
#[derive(Debug, Clone)]
pub struct Serve {
    binary: PathBuf,
    name: String,
    folders: Option<(PathBuf, PathBuf)>,
    port: Option<u16>,
    env: Vec<(String, String)>,
    args: Vec<String>,
    /// Where the log goes instead of the data folder.
    log_dir: Option<PathBuf>,
}

/// A running `dachat serve`. Folders it made itself are removed when it is
/// dropped (kept, with the log's path printed, when the test is failing);
/// folders the caller gave ([`Serve::folders`]) are left, so a test can
/// start a server again on the same data.
#[derive(Debug)]
pub struct Server {
    /// `None` only while dropping.
    process: Option<Supervised>,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// `127.0.0.1:<port>`.
    pub addr: String,
    pub port: u16,
    pub keys: PathBuf,
    pub data: PathBuf,
    /// The server's output.
    pub log: PathBuf,
    owned: Option<PathBuf>,
}

/// A fresh, empty folder under the temp dir, named for this process.
pub fn temp_dir(name: &str) -> io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("dachat-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// `dachat keygen --out-dir <dir>`.
pub fn keygen(binary: &Path, dir: &Path) -> io::Result<()> {
    let made = Command::new(binary).args(["keygen", "--out-dir"]).arg(dir).output()?;
    if made.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "dachat keygen failed: {}",
            String::from_utf8_lossy(&made.stderr)
        )))
    }
}

impl Serve {
    /// A server with fresh dev keys and an empty data folder, both under
    /// one temp folder named for `name`.
    pub fn new(binary: impl Into<PathBuf>, name: &str) -> Self {
        Self {
            binary: binary.into(),
            name: name.to_owned(),
            folders: None,
            port: None,
            env: Vec::new(),
            args: Vec::new(),
            log_dir: None,
        }
    }

    /// Writes the server's log in `dir` instead of the data folder (a test
    /// that fills or freezes the data folder's disk still reads it).
    pub fn log_in(mut self, dir: &Path) -> Self {
        self.log_dir = Some(dir.to_path_buf());
        self
    }

    /// Uses these dev keys and data folder (made by the caller, kept after).
    pub fn folders(mut self, keys: &Path, data: &Path) -> Self {
        self.folders = Some((keys.to_path_buf(), data.to_path_buf()));
        self
    }

    /// Listens on `port` instead of a free one (a restart on the same port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Sets one setting of the server's environment.
    pub fn env(mut self, name: &str, value: impl Into<String>) -> Self {
        self.env.push((name.to_owned(), value.into()));
        self
    }

    /// Adds arguments after the ones above.
    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| (*a).to_owned()));
        self
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start(self) -> io::Result<Server> {
        let (keys, data, owned) = match self.folders {
            Some((keys, data)) => (keys, data, None),
            None => {
                let dir = temp_dir(&format!("serve-{}", self.name))?;
                let keys = dir.join("keys");
                keygen(&self.binary, &keys)?;
                (keys, dir.join("data"), Some(dir))
            }
        };
        std::fs::create_dir_all(&data)?;
        let port = match self.port {
            Some(port) => port,
            None => free_port()?,
        };
        let addr = format!("127.0.0.1:{port}");
        let mut command = Command::new(&self.binary);
        command
            .args(["serve", "--listen", &addr, "--dev-keys"])
            .arg(&keys)
            .arg("--data-dir")
            .arg(&data)
            .args(&self.args)
            .env_remove("DACHAT_JWKS_URL")
            .env_remove("DACHAT_SMTP_URL");
        for (name, value) in &self.env {
            command.env(name, value);
        }
        let log = self
            .log_dir
            .as_deref()
            .unwrap_or(&data)
            .join(format!("serve-{port}.log"));
        let mut process = Supervised::spawn("dachat serve", &mut command, Some(&log))?;
        process.wait_for_port(port, READY_WITHIN)?;
        Ok(Server {
            process: Some(process),
            base: format!("http://{addr}"),
            addr,
            port,
            keys,
            data,
            log,
            owned,
        })
    }
}

impl Server {
    /// The server's process id (its CPU time, a signal).
    pub fn pid(&self) -> u32 {
        self.process.as_ref().map_or(0, Supervised::id)
    }

    /// SIGKILL now, as a crash would: no shutdown, no flush.
    pub fn kill_hard(&mut self) {
        if let Some(process) = &mut self.process {
            process.kill_hard();
        }
    }

    /// What the server has logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // stopped (SIGTERM, then SIGKILL) before its folder goes
        drop(self.process.take());
        match &self.owned {
            // a failing test's server keeps its log for the report
            Some(_) if std::thread::panicking() => {
                eprintln!("dachat serve's log: {}", self.log.display());
            }
            Some(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            None => {}
        }
    }
}
