//! Search benchmark of the local provider (issue #29): one room of 100,000
//! messages in a file database (as `dachat serve` keeps it), then 1,000
//! searches of the kinds people make (a common word, a rare one, two
//! words, a prefix being typed, a number), each timed alone.
//!
//!     cargo bench -p local-chat --bench search [-- MESSAGES]
//!
//! Prints the insert cost with and without the index, the index's size on
//! disk (SQLite's `dbstat`), and `SEARCH p50_ms=… p99_ms=… max_ms=…`. The
//! goal (issue #29): p99 ≤ 20 ms at 100,000 messages.

// A benchmark: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use local_chat::store::Store;

/// A deterministic stream of numbers (xorshift), so every run is the same.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const COMMON: &[&str] = &[
    "the",
    "pallet",
    "truck",
    "port",
    "customs",
    "arrived",
    "today",
    "tomorrow",
    "please",
    "check",
    "boxes",
    "warehouse",
    "delivery",
    "shipment",
    "driver",
    "papers",
    "blankets",
    "food",
    "water",
    "medical",
];

/// A word list: the common words, then 5,000 rarer made-up ones (names,
/// places, codes).
fn vocabulary() -> Vec<String> {
    let mut words: Vec<String> = COMMON.iter().map(|w| (*w).to_owned()).collect();
    let mut random = Random(7);
    let syllables = [
        "ka", "lo", "mi", "ne", "ra", "tu", "sel", "dor", "vin", "ast", "em", "ol",
    ];
    for _ in 0..5_000 {
        let n = 2 + random.below(3);
        words.push((0..n).map(|_| syllables[random.below(syllables.len())]).collect());
    }
    words
}

fn message(random: &mut Random, words: &[String]) -> String {
    let n = 4 + random.below(16);
    (0..n)
        .map(|_| {
            // common words four times as often as all the rare ones together
            if random.below(5) < 4 {
                words[random.below(COMMON.len())].clone()
            } else if random.below(10) == 0 {
                format!("{}", random.below(100_000))
            } else {
                words[COMMON.len() + random.below(words.len() - COMMON.len())].clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn fill(store: &Store, count: usize, words: &[String]) -> f64 {
    let mut random = Random(42);
    let started = Instant::now();
    for i in 0..count {
        store
            .insert(
                "shipment-1",
                "alice",
                &message(&mut random, words),
                i as i64,
                None,
                None,
            )
            .unwrap();
    }
    started.elapsed().as_secs_f64()
}

fn main() {
    let count: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let words = vocabulary();
    let dir = std::env::temp_dir().join(format!("dachat-search-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    // the same messages without the index: what the index costs an insert
    let plain = Store::open(&dir.join("plain.db")).unwrap();
    plain.drop_search_index().unwrap();
    let plain_s = fill(&plain, count, &words);
    drop(plain);
    let store = Store::open(&dir.join("chat.db")).unwrap();
    let indexed_s = fill(&store, count, &words);
    println!(
        "INSERT messages={count} with_index_us={:.1} without_us={:.1} (per message, one transaction each)",
        indexed_s * 1e6 / count as f64,
        plain_s * 1e6 / count as f64
    );
    let (index_bytes, table_bytes): (i64, i64) = store
        .db_for_bench()
        .query_row(
            "SELECT (SELECT SUM(pgsize) FROM dbstat WHERE name LIKE 'messages_fts%'),
                    (SELECT SUM(pgsize) FROM dbstat WHERE name = 'messages')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    println!(
        "INDEX bytes={index_bytes} ({:.1} per message) messages_table_bytes={table_bytes}",
        index_bytes as f64 / count as f64
    );

    // 1,000 searches of five kinds, 200 each, in turn
    let mut random = Random(99);
    let mut kinds: Vec<(&str, Vec<f64>)> = ["common", "rare", "two-words", "prefix", "number"]
        .iter()
        .map(|k| (*k, Vec::new()))
        .collect();
    let mut found = 0usize;
    for i in 0..1_000 {
        let kind = i % 5;
        let rare = || words[COMMON.len() + 1 + (i * 37) % (words.len() - COMMON.len() - 1)].clone();
        let query = match kind {
            0 => COMMON[random.below(COMMON.len())].to_owned(),
            1 => rare(),
            2 => format!("{} {}", COMMON[random.below(COMMON.len())], rare()),
            3 => rare().chars().take(3).collect(),
            _ => format!("{}", random.below(100_000)),
        };
        let started = Instant::now();
        let (results, _) = store.search("shipment-1", &query, None, 20).unwrap();
        kinds[kind].1.push(started.elapsed().as_secs_f64() * 1e3);
        found += results.len();
    }
    let mut all: Vec<f64> = kinds.iter().flat_map(|(_, t)| t.iter().copied()).collect();
    let quantile = |v: &mut Vec<f64>, q: f64| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[((v.len() as f64 * q).ceil() as usize)
            .saturating_sub(1)
            .min(v.len() - 1)]
    };
    for (kind, times) in &mut kinds {
        println!(
            "SEARCH kind={kind} p50_ms={:.2} p99_ms={:.2} max_ms={:.2}",
            quantile(times, 0.5),
            quantile(times, 0.99),
            quantile(times, 1.0)
        );
    }
    println!(
        "SEARCH all searches=1000 results={found} p50_ms={:.2} p99_ms={:.2} max_ms={:.2} (goal: p99 <= 20 ms)",
        quantile(&mut all, 0.5),
        quantile(&mut all, 0.99),
        quantile(&mut all, 1.0)
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
