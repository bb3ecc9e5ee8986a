//! Supervised child processes: started with their output in a log file (or
//! discarded), ready once their port accepts connections, stopped by PID
//! when dropped.

use std::fs::File;
use std::io;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port nothing listens on right now (loopback).
pub fn free_port() -> io::Result<u16> {
    // Never the same port twice in one process: a port handed out and not
    // bound yet (or freed by a test that restarts its server on it) would
    // otherwise go to a second server, whose requests then reach the first.
    static GIVEN: std::sync::Mutex<std::collections::BTreeSet<u16>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    for _ in 0..1000 {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        if GIVEN.lock().unwrap_or_else(|p| p.into_inner()).insert(port) {
            return Ok(port);
        }
    }
    Err(other(
        "no loopback port left that this process has not handed out".to_owned(),
    ))
}

/// Whether process `pid`, or a process it started (`cargo lambda watch`,
/// `npx prism` run their servers as descendants), holds a listening TCP
/// socket on `port` (Linux: the socket's inode in `/proc/net/tcp{,6}`
/// among those processes' open files). Without `/proc`, any listener counts.
fn listens_on(pid: u32, port: u16) -> bool {
    if !Path::new("/proc/net/tcp").exists() {
        return true;
    }
    let port = format!(":{port:04X}");
    let mut inodes = std::collections::HashSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        for line in std::fs::read_to_string(table).unwrap_or_default().lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // local address, state (0A: LISTEN), inode
            if let (Some(local), Some(&"0A"), Some(inode)) = (fields.get(1), fields.get(3), fields.get(9))
                && local.ends_with(&port)
            {
                inodes.insert(format!("socket:[{inode}]"));
            }
        }
    }
    process_tree(pid).into_iter().any(|pid| {
        std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
            fds.filter_map(Result::ok).any(|fd| {
                std::fs::read_link(fd.path()).is_ok_and(|target| inodes.contains(target.to_string_lossy().as_ref()))
            })
        })
    })
}

/// `pid` and its descendants, from each process's parent in `/proc/<pid>/stat`.
fn process_tree(pid: u32) -> Vec<u32> {
    let mut children: std::collections::HashMap<u32, Vec<u32>> = std::collections::HashMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().filter_map(Result::ok) {
        let Some(child) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        // "pid (comm) state ppid …": the command may hold spaces and parentheses
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        if let Some(parent) = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok())
        {
            children.entry(parent).or_default().push(child);
        }
    }
    let mut tree = vec![pid];
    let mut next = 0;
    while next < tree.len() {
        tree.extend(children.get(&tree[next]).into_iter().flatten().copied());
        next += 1;
    }
    tree
}

/// A running child process, stopped when dropped: SIGTERM first (so servers
/// shut down as in production), SIGKILL if it is still there after 5 s.
#[derive(Debug)]
pub struct Supervised {
    name: String,
    child: Child,
    log: Option<PathBuf>,
}

fn other(message: String) -> io::Error {
    io::Error::other(message)
}

impl Supervised {
    /// Starts `cmd` with no input; its output goes to `log`, or nowhere.
    pub fn spawn(name: &str, cmd: &mut Command, log: Option<&Path>) -> io::Result<Self> {
        let (stdout, stderr) = match log {
            Some(path) => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                let file = File::create(path)?;
                (Stdio::from(file.try_clone()?), Stdio::from(file))
            }
            None => (Stdio::null(), Stdio::null()),
        };
        let child = cmd
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .map_err(|e| other(format!("cannot start {name}: {e}")))?;
        Ok(Self {
            name: name.to_owned(),
            child,
            log: log.map(Path::to_path_buf),
        })
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Waits until `port` on loopback accepts connections; fails at once if
    /// the process exits first (with its log), or after `timeout`.
    pub fn wait_for_port(&mut self, port: u16, timeout: Duration) -> io::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let accepted =
                TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200)).is_ok();
            let exited = self.child.try_wait()?;
            // the port must be our process's: another one that took it between
            // `free_port` and our bind would answer while ours fails and exits
            if accepted && exited.is_none() && listens_on(self.child.id(), port) {
                return Ok(());
            }
            // (a port that accepts while our process has exited is someone else's)
            if let Some(status) = exited {
                let log = self
                    .log
                    .as_ref()
                    .and_then(|path| std::fs::read_to_string(path).ok())
                    .unwrap_or_default();
                return Err(other(format!(
                    "{} exited ({status}) before it was ready:\n{log}",
                    self.name
                )));
            }
            if Instant::now() > deadline {
                return Err(other(format!(
                    "{} did not accept connections on port {port} within {} s",
                    self.name,
                    timeout.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the process has exited (without waiting).
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// SIGKILL now, as a crash would (`kill -9`), and reap it.
    pub fn kill_hard(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        if self.has_exited() {
            return;
        }
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.has_exited() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill_hard();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_that_exits_early_is_reported_with_its_log() {
        let log = std::env::temp_dir().join(format!("testkit-{}.log", std::process::id()));
        let mut child = Supervised::spawn(
            "early",
            Command::new("sh").args(["-c", "echo broken config; exit 3"]),
            Some(&log),
        )
        .unwrap();
        let err = child
            .wait_for_port(free_port().unwrap(), Duration::from_secs(10))
            .unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with("early exited (exit status: 3)"), "{message}");
        assert!(message.contains("broken config"), "{message}");
        std::fs::remove_file(&log).unwrap();
    }

    #[test]
    fn a_port_someone_else_holds_is_not_taken_for_our_process_being_ready() {
        // this test process holds the port; the child cannot bind it and exits
        let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = held.local_addr().unwrap().port();
        let log = std::env::temp_dir().join(format!("testkit-held-{}.log", std::process::id()));
        let mut child = Supervised::spawn(
            "late",
            Command::new("python3").args(["-m", "http.server", "--bind", "127.0.0.1", &port.to_string()]),
            Some(&log),
        )
        .unwrap();
        let err = child.wait_for_port(port, Duration::from_secs(30)).unwrap_err();
        assert!(err.to_string().starts_with("late exited"), "{err}");
        assert!(
            listens_on(std::process::id(), port),
            "the holder is found by its socket"
        );
        std::fs::remove_file(&log).unwrap();
    }

    #[test]
    fn a_server_started_through_a_wrapper_is_found_in_its_process_tree() {
        let port = free_port().unwrap();
        let mut child = Supervised::spawn(
            "wrapped",
            Command::new("sh").args(["-c", &format!("python3 -m http.server --bind 127.0.0.1 {port}; exit 1")]),
            None,
        )
        .unwrap();
        child.wait_for_port(port, Duration::from_secs(30)).unwrap();
        // the server is the shell's child: stop it too
        for pid in process_tree(child.id()).into_iter().rev() {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    }

    #[test]
    fn a_listening_process_is_ready_and_is_stopped_when_dropped() {
        let port = free_port().unwrap();
        let mut child = Supervised::spawn(
            "listener",
            Command::new("python3").args(["-m", "http.server", "--bind", "127.0.0.1", &port.to_string()]),
            None,
        )
        .unwrap();
        child.wait_for_port(port, Duration::from_secs(30)).unwrap();
        let pid = child.id();
        drop(child);
        let alive = Command::new("kill")
            .args(["-0", &pid.to_string()])
            .status()
            .unwrap()
            .success();
        assert!(!alive, "pid {pid} still runs");
    }
}
