//! The room set each user was last aligned to, kept where every instance
//! sees it (issue #28), so a renewal on an instance that has not seen the
//! user lately need not list their conversations on Twilio.
//!
//! A record per identity: the digest of the room set of the last alignment
//! ([`rooms_digest`]), when it ran, and a version that grows with every
//! write. Three implementations, held to one suite (module `suite`, behind the `store-suite` feature): DynamoDB in
//! production (`aligned_dynamo.rs`, on the notifications' table), SQLite in
//! the local server (`local_chat::aligned_sqlite`), and [`MemoryAligned`]
//! (one process; the tests' stand-in for several instances sharing a store).
//!
//! The rules that keep revocation whole ([`crate::twilio::provision`]
//! applies them):
//! - an alignment is skipped only when the record holds the same room set
//!   as the token being answered and is younger than
//!   `ProvisionPolicy::shared_for`; a token whose set differs always aligns;
//! - before a participation is added, [`AlignedStore::room_added`] clears
//!   the record's set (and grows its version), so no instance skips an
//!   alignment that could take the new room away; if that write fails, the
//!   room is not added;
//! - an alignment records its set only if the version is still the one it
//!   read before listing ([`AlignedStore::record`]): a room added while it
//!   listed makes the write fail, and the next request aligns again;
//! - a store that cannot be read means aligning on Twilio, as without one.
//!
//! The record also counts removals: every alignment that takes a
//! participation away grows [`AlignedRecord::removals`]
//! ([`AlignedStore::rooms_removed`]) after the removal. An instance
//! remembers the count it saw when it added a participation
//! ([`AlignedStore::room_added`] returns it) and trusts that memory only
//! while the count is the same: a room taken away on another instance and
//! given back is joined again, not assumed.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use crate::domain::ContextName;

/// The store failed (log-safe description).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlignedStoreError(pub String);

impl std::fmt::Display for AlignedStoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the aligned-rooms store failed: {}", self.0)
    }
}

impl std::error::Error for AlignedStoreError {}

/// What the store's methods return.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, AlignedStoreError>> + Send + 'a>>;

/// One identity's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlignedRecord {
    /// The digest of the room set last aligned to; `None` when a room was
    /// added since (no set stands until the next alignment).
    pub rooms: Option<String>,
    /// When it was written (Unix seconds).
    pub at: u64,
    /// Grows with every write of the set; never 0 for a record that exists.
    pub version: u64,
    /// How many alignments took a participation away (of any room), ever.
    pub removals: u64,
}

/// How long a record is kept at most (the stores' expiry; far beyond any
/// `shared_for`, which decides whether a record is used).
pub const RECORD_KEEP_SECS: u64 = 3 * 24 * 3600;

/// Where the last aligned room sets are kept.
pub trait AlignedStore: Send + Sync + std::fmt::Debug {
    /// The identity's record, if any.
    fn read<'a>(&'a self, identity: &'a str) -> StoreFuture<'a, Option<AlignedRecord>>;

    /// Records an alignment of `identity` to `rooms` at `at`, unless the
    /// record changed since it was read at version `seen` (0: there was
    /// none). `true`: recorded.
    fn record<'a>(&'a self, identity: &'a str, rooms: &'a str, at: u64, seen: u64) -> StoreFuture<'a, bool>;

    /// A room is about to be added to `identity`: clears the record's set
    /// and grows its version (creating the record if there is none).
    /// Returns the record's removals.
    fn room_added<'a>(&'a self, identity: &'a str, at: u64) -> StoreFuture<'a, u64>;

    /// An alignment took one or more of `identity`'s participations away:
    /// grows the record's removals, and nothing else (creating a record
    /// without a set if there is none).
    fn rooms_removed<'a>(&'a self, identity: &'a str, at: u64) -> StoreFuture<'a, ()>;

    /// Whether there is a record of `identity`; with `erase`, removes it
    /// (`dachat forget`). The next token of theirs aligns on Twilio.
    fn forget<'a>(&'a self, identity: &'a str, erase: bool) -> StoreFuture<'a, bool>;
}

/// The digest a record keeps for a room set: SHA-256 over the sorted,
/// distinct names, as 32 hex digits. The same on every instance, whatever
/// order the token lists the rooms in.
pub fn rooms_digest(rooms: &[ContextName]) -> String {
    let mut names: Vec<&str> = rooms.iter().map(ContextName::as_str).collect();
    names.sort_unstable();
    names.dedup();
    let mut hasher = ring::digest::Context::new(&ring::digest::SHA256);
    for name in names {
        // a name never holds a newline, so the joined text is unambiguous
        hasher.update(name.as_bytes());
        hasher.update(b"\n");
    }
    hasher.finish().as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The records in this process's memory: shared by the instances of one
/// process (the tests run several on one store), gone at exit.
#[derive(Debug, Default)]
pub struct MemoryAligned {
    records: Mutex<HashMap<String, AlignedRecord>>,
}

impl MemoryAligned {
    fn records(&self) -> std::sync::MutexGuard<'_, HashMap<String, AlignedRecord>> {
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl AlignedStore for MemoryAligned {
    fn read<'a>(&'a self, identity: &'a str) -> StoreFuture<'a, Option<AlignedRecord>> {
        let found = self.records().get(identity).cloned();
        Box::pin(async move { Ok(found) })
    }

    fn record<'a>(&'a self, identity: &'a str, rooms: &'a str, at: u64, seen: u64) -> StoreFuture<'a, bool> {
        let mut records = self.records();
        let (version, removals) = records.get(identity).map_or((0, 0), |r| (r.version, r.removals));
        let recorded = version == seen;
        if recorded {
            records.insert(
                identity.to_owned(),
                AlignedRecord {
                    rooms: Some(rooms.to_owned()),
                    at,
                    version: version + 1,
                    removals,
                },
            );
        }
        Box::pin(async move { Ok(recorded) })
    }

    fn room_added<'a>(&'a self, identity: &'a str, at: u64) -> StoreFuture<'a, u64> {
        let mut records = self.records();
        let (version, removals) = records.get(identity).map_or((0, 0), |r| (r.version, r.removals));
        records.insert(
            identity.to_owned(),
            AlignedRecord {
                rooms: None,
                at,
                version: version + 1,
                removals,
            },
        );
        Box::pin(async move { Ok(removals) })
    }

    fn forget<'a>(&'a self, identity: &'a str, erase: bool) -> StoreFuture<'a, bool> {
        let mut records = self.records();
        let found = if erase {
            records.remove(identity).is_some()
        } else {
            records.contains_key(identity)
        };
        Box::pin(async move { Ok(found) })
    }

    fn rooms_removed<'a>(&'a self, identity: &'a str, at: u64) -> StoreFuture<'a, ()> {
        self.records()
            .entry(identity.to_owned())
            .or_insert(AlignedRecord {
                rooms: None,
                at,
                version: 1,
                removals: 0,
            })
            .removals += 1;
        Box::pin(async { Ok(()) })
    }
}

/// The one suite every implementation passes. Each check uses identities
/// of its own under `run`, so runs against a shared store do not meet.
#[cfg(any(test, feature = "store-suite"))]
pub mod suite {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Runs every check against `store`.
    pub async fn run_all(store: &dyn AlignedStore, run: &str) {
        an_unknown_identity_has_no_record(store, run).await;
        the_first_record_is_taken_once(store, run).await;
        a_record_names_the_version_it_read(store, run).await;
        an_added_room_clears_the_set_and_beats_an_alignment_in_flight(store, run).await;
        removals_are_counted_apart_from_the_set(store, run).await;
        a_forgotten_record_is_gone(store, run).await;
    }

    async fn a_forgotten_record_is_gone(store: &dyn AlignedStore, run: &str) {
        let (who, other) = (format!("{run}-forgotten"), format!("{run}-kept"));
        assert!(!store.forget(&who, false).await.unwrap());
        for identity in [&who, &other] {
            assert!(store.record(identity, "aaaa", 10, 0).await.unwrap());
        }
        assert!(store.forget(&who, false).await.unwrap(), "found, kept on a dry run");
        assert!(store.read(&who).await.unwrap().is_some());
        assert!(store.forget(&who, true).await.unwrap());
        assert_eq!(store.read(&who).await.unwrap(), None);
        assert!(!store.forget(&who, true).await.unwrap(), "idempotent");
        assert!(store.read(&other).await.unwrap().is_some());
    }

    async fn an_unknown_identity_has_no_record(store: &dyn AlignedStore, run: &str) {
        assert_eq!(store.read(&format!("{run}-nobody")).await.unwrap(), None);
    }

    async fn the_first_record_is_taken_once(store: &dyn AlignedStore, run: &str) {
        let who = format!("{run}-first");
        assert!(store.record(&who, "aaaa", 100, 0).await.unwrap());
        let record = store.read(&who).await.unwrap().expect("recorded");
        assert_eq!((record.rooms.as_deref(), record.at), (Some("aaaa"), 100));
        assert!(record.version > 0);
        // another alignment that also saw no record loses
        assert!(!store.record(&who, "bbbb", 101, 0).await.unwrap());
        assert_eq!(store.read(&who).await.unwrap(), Some(record));
    }

    async fn a_record_names_the_version_it_read(store: &dyn AlignedStore, run: &str) {
        let who = format!("{run}-versions");
        assert!(store.record(&who, "aaaa", 100, 0).await.unwrap());
        let first = store.read(&who).await.unwrap().unwrap();
        assert!(store.record(&who, "bbbb", 200, first.version).await.unwrap());
        let second = store.read(&who).await.unwrap().unwrap();
        assert_eq!((second.rooms.as_deref(), second.at), (Some("bbbb"), 200));
        assert!(second.version > first.version);
        // a write that read the old version is refused
        assert!(!store.record(&who, "cccc", 300, first.version).await.unwrap());
        assert_eq!(store.read(&who).await.unwrap(), Some(second));
    }

    async fn an_added_room_clears_the_set_and_beats_an_alignment_in_flight(store: &dyn AlignedStore, run: &str) {
        let who = format!("{run}-added");
        // a room added to someone never aligned: a record without a set
        store.room_added(&who, 50).await.unwrap();
        let fresh = store.read(&who).await.unwrap().unwrap();
        assert_eq!(fresh.rooms, None);
        assert!(
            !store.record(&who, "aaaa", 60, 0).await.unwrap(),
            "the record exists now"
        );
        assert!(store.record(&who, "aaaa", 100, fresh.version).await.unwrap());
        // an alignment reads, a room is added while it lists, its write loses
        let read = store.read(&who).await.unwrap().unwrap();
        store.room_added(&who, 150).await.unwrap();
        let after = store.read(&who).await.unwrap().unwrap();
        assert_eq!(after.rooms, None);
        assert!(after.version > read.version);
        assert!(!store.record(&who, "aaaa", 160, read.version).await.unwrap());
        assert_eq!(store.read(&who).await.unwrap().unwrap().rooms, None);
        // the next alignment, having read the new version, records
        assert!(store.record(&who, "aaaa", 170, after.version).await.unwrap());
        assert_eq!(store.read(&who).await.unwrap().unwrap().rooms.as_deref(), Some("aaaa"));
    }

    async fn removals_are_counted_apart_from_the_set(store: &dyn AlignedStore, run: &str) {
        // a removal for someone without a record makes one, without a set
        let who = format!("{run}-removed-first");
        store.rooms_removed(&who, 40).await.unwrap();
        let made = store.read(&who).await.unwrap().unwrap();
        assert_eq!((made.rooms, made.removals), (None, 1));
        assert!(made.version > 0);
        assert!(store.record(&who, "aaaa", 41, made.version).await.unwrap());
        // otherwise it grows the count and leaves the set and version alone
        let who = format!("{run}-removals");
        assert_eq!(store.room_added(&who, 50).await.unwrap(), 0);
        let added = store.read(&who).await.unwrap().unwrap();
        assert!(store.record(&who, "aaaa", 60, added.version).await.unwrap());
        let aligned = store.read(&who).await.unwrap().unwrap();
        store.rooms_removed(&who, 70).await.unwrap();
        store.rooms_removed(&who, 71).await.unwrap();
        let removed = store.read(&who).await.unwrap().unwrap();
        assert_eq!(removed.removals, 2);
        assert_eq!(
            (removed.rooms.as_deref(), removed.at, removed.version),
            (Some("aaaa"), 60, aligned.version)
        );
        // writes of the set keep the count, and an added room reports it
        assert!(store.record(&who, "bbbb", 80, removed.version).await.unwrap());
        assert_eq!(store.read(&who).await.unwrap().unwrap().removals, 2);
        assert_eq!(store.room_added(&who, 90).await.unwrap(), 2);
        assert_eq!(store.read(&who).await.unwrap().unwrap().removals, 2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rooms(names: &[&str]) -> Vec<ContextName> {
        names.iter().map(|n| ContextName::parse(n).unwrap()).collect()
    }

    #[test]
    fn the_digest_depends_on_the_set_only() {
        let a = rooms_digest(&rooms(&["general", "shipment-1"]));
        assert_eq!(a, rooms_digest(&rooms(&["shipment-1", "general", "general"])));
        assert_ne!(a, rooms_digest(&rooms(&["general"])));
        assert_ne!(a, rooms_digest(&rooms(&["general", "shipment-10"])));
        assert_ne!(rooms_digest(&rooms(&["ab", "c"])), rooms_digest(&rooms(&["a", "bc"])));
        assert_eq!(a.len(), 32);
    }

    #[tokio::test]
    async fn the_memory_store_passes_the_suite() {
        suite::run_all(&MemoryAligned::default(), "memory").await;
    }
}
