//! The local server's disk failing under it (issue #28): its data folder
//! on a small tmpfs of the test's own, filled to the last byte, then
//! A send that cannot be written is refused with an error frame naming it
//! (the window's outbox keeps the message and sends it again), and service
//! resumes when space returns, without a restart. Then the same data on a
//! read-only disk: the server refuses to start, saying which file and why,
//! and starts with everything kept once the disk is writable again. Every
//! message acknowledged is kept, none twice, and the database passes
//! `PRAGMA integrity_check`. (A disk cannot turn read-only under a running
//! server: Linux refuses to remount a filesystem with files open for
//! writing.) Mounting needs root, as the machines `cargo xtask test` runs
//! on give.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use testkit::serve::Serve;

use crate::support::{DACHAT, client, say};

/// A tmpfs mounted at a folder, unmounted when dropped.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .expect("runs mount");
        assert!(
            status.success(),
            "this test mounts a tmpfs at {}: it needs root",
            dir.display()
        );
        Self { dir: dir.to_path_buf() }
    }

    fn remount(&self, mode: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,{mode}")])
            .arg(&self.dir)
            .status()
            .expect("runs mount");
        assert!(status.success(), "remount {mode}");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// Writes `path` until the disk has no byte left; its size.
fn fill(path: &Path) -> u64 {
    let mut file = std::fs::File::create(path).unwrap();
    let mut written = 0u64;
    for chunk in [64 * 1024, 4096, 1] {
        let bytes = vec![0u8; chunk];
        while file.write_all(&bytes).is_ok() {
            written += chunk as u64;
        }
    }
    written
}

fn send(client_id: &str) -> Value {
    json!({ "type": "send", "room": "general", "clientId": client_id, "body": format!("pallet count {client_id}") })
}

#[tokio::test]
async fn a_full_or_read_only_disk_refuses_sends_clearly_keeps_what_was_acknowledged_and_recovers() {
    let root = testkit::serve::temp_dir("disk").unwrap();
    let (keys, data, logs) = (root.join("keys"), root.join("data"), root.join("logs"));
    testkit::serve::keygen(Path::new(DACHAT), &keys).unwrap();
    std::fs::create_dir_all(&logs).unwrap();
    let disk = Tmpfs::mount(&data, "8m");
    let serve = || Serve::new(DACHAT, "disk").folders(&keys, &data).log_in(&logs);
    let server = client(serve().start().unwrap());
    let alice = server.token("alice", None).await;
    let mut socket = server.chat(&alice).await;
    let mut acknowledged = Vec::new();
    for n in 1..=20 {
        acknowledged.push(say(&mut socket, "general", n).await);
    }

    // another program takes the disk's last byte
    let filler = data.join("filler");
    assert!(fill(&filler) > 0);
    socket.send(send("c-full")).await;
    let refused = socket.expect("error").await;
    assert_eq!(
        (refused["code"].as_str(), refused["clientId"].as_str()),
        (Some("unavailable"), Some("c-full")),
        "{refused}"
    );
    server.logged("database or disk is full", 1).await;
    // space again: the outbox's next try is taken, without a restart
    std::fs::remove_file(&filler).unwrap();
    socket.send(send("c-full")).await;
    acknowledged.push(socket.expect("ack").await["id"].as_i64().unwrap());
    drop(socket);
    drop(server);

    // the same data on a read-only disk: a clear refusal to start
    disk.remount("ro");
    let refused = Command::new(DACHAT)
        .args(["serve", "--listen", "127.0.0.1:0", "--dev-keys"])
        .arg(&keys)
        .arg("--data-dir")
        .arg(&data)
        .env_remove("DACHAT_JWKS_URL")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("chat.db") && said.contains("Read-only file system"),
        "names the file and the problem: {said}"
    );
    disk.remount("rw");
    let server = client(serve().start().unwrap());
    let mut socket = server.chat(&alice).await;
    socket.send(send("c-after")).await;
    acknowledged.push(socket.expect("ack").await["id"].as_i64().unwrap());
    drop(socket);
    drop(server);

    // figures: acknowledged 22, kept 22, doubled 0; the file is intact
    let db = rusqlite::Connection::open(data.join("chat.db")).unwrap();
    let check: String = db.query_row("PRAGMA integrity_check", [], |row| row.get(0)).unwrap();
    assert_eq!(check, "ok");
    let kept: Vec<(i64, String)> = db
        .prepare("SELECT id, client_id FROM messages ORDER BY id")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(kept.iter().map(|(id, _)| *id).collect::<Vec<_>>(), acknowledged);
    let mut sends: Vec<&str> = kept.iter().map(|(_, client_id)| client_id.as_str()).collect();
    sends.sort_unstable();
    sends.dedup();
    assert_eq!(sends.len(), kept.len(), "no send was kept twice");
    drop(db);
    drop(disk);
    std::fs::remove_dir_all(&root).unwrap();
}
