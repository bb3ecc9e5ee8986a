//! What both fan-out benchmarks share: a process's CPU time, and the load
//! generator's client side (reading a server's WebSocket frames with the
//! least work per frame, since it runs on the same two cores as the server).

use std::ops::Range;

/// User plus system CPU seconds of a process so far (`/proc/<pid>/stat`).
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .map(|(_, r)| r.split(' ').collect())
        .unwrap_or_default();
    let ticks: f64 = fields.get(11).and_then(|u| u.parse::<f64>().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
    ticks / 100.0
}

/// Reads a client's socket after the handshake: the server's frames,
/// unmasked, parsed here instead of by a WebSocket library: one read into
/// a 64 KiB buffer, then each text frame's payload is looked at in place.
/// Ends at close, a read error or a frame that is not a whole unmasked
/// text, binary or control frame.
pub async fn read_text_frames(mut stream: tokio::net::TcpStream, mut on_text: impl FnMut(&str)) {
    use tokio::io::AsyncReadExt as _;
    let mut buf = vec![0u8; 64 * 1024];
    let mut filled = 0;
    loop {
        match stream.read(&mut buf[filled..]).await {
            Ok(0) | Err(_) => return,
            Ok(read) => filled += read,
        }
        let mut at = 0;
        while let Some((opcode, payload)) = frame_at(&buf[at..filled]) {
            let start = at + payload.start;
            at += payload.end;
            match opcode {
                0x1 => match std::str::from_utf8(&buf[start..at]) {
                    Ok(text) => on_text(text),
                    Err(_) => return,
                },
                0x8 => return,
                _ => {}
            }
        }
        buf.copy_within(at..filled, 0);
        filled -= at;
        if filled == buf.len() {
            return; // a frame larger than the buffer: not one these servers send
        }
    }
}

/// The opcode and payload range of the whole frame at the start of
/// `bytes`, if it is all there (RFC 6455 §5.2, server frames: FIN set,
/// unmasked).
fn frame_at(bytes: &[u8]) -> Option<(u8, Range<usize>)> {
    let (&first, &second) = (bytes.first()?, bytes.get(1)?);
    assert!(
        first & 0x80 != 0 && second & 0x80 == 0,
        "a fragmented or masked server frame"
    );
    let (len, header) = match second & 0x7f {
        126 => (u16::from_be_bytes(bytes.get(2..4)?.try_into().ok()?) as usize, 4),
        127 => (u64::from_be_bytes(bytes.get(2..10)?.try_into().ok()?) as usize, 10),
        len => (len as usize, 2),
    };
    (bytes.len() >= header + len).then_some((first & 0x0f, header..header + len))
}

/// The sender's timestamp in a benchmark message body (`"body":"t<µs>"`).
pub fn sent_micros(text: &str) -> Option<u64> {
    let at = text.find("\"body\":\"t")?;
    let digits: String = text[at + 9..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The p-th quantile of sorted microseconds, in milliseconds.
pub fn quantile_ms(sorted: &[u64], p: f64) -> f64 {
    let at = ((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1));
    sorted.get(at).copied().unwrap_or(0) as f64 / 1000.0
}
