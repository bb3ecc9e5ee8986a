//! Fixed-window counters by key: the session limit per identity
//! ([`crate::twilio::provision`]) and the failed-verification limit per
//! client address ([`crate::api`]). Time is an argument (Unix ms from the injected clock), so the
//! rules are tested without waiting.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

/// The window every limit here counts over.
pub const WINDOW_MS: u64 = 60_000;

/// At most `per_window` events per key per minute. Memory is bounded: when
/// `max_keys` keys are tracked, windows that have ended are dropped, and if
/// none has, all are (a limit forgets rather than grows without bound).
#[derive(Debug)]
pub struct WindowLimiter<K> {
    per_window: u32,
    max_keys: usize,
    /// Window start (Unix ms) and count, by key.
    windows: Mutex<HashMap<K, (u64, u32)>>,
}

impl<K: Hash + Eq + Clone> WindowLimiter<K> {
    pub fn per_minute(per_window: u32, max_keys: usize) -> Self {
        Self {
            per_window,
            max_keys,
            windows: Mutex::default(),
        }
    }

    /// Counts one event for `key` if it is under its limit; otherwise
    /// `Err(seconds until the window ends)` and nothing is counted.
    pub fn take(&self, key: &K, now: u64) -> Result<(), u64> {
        self.with_window(key, now, |count, per_window| {
            if *count >= per_window {
                return false;
            }
            *count += 1;
            true
        })
    }

    /// Whether `key` is over its limit, without counting anything.
    pub fn check(&self, key: &K, now: u64) -> Result<(), u64> {
        self.with_window(key, now, |count, per_window| *count < per_window)
    }

    /// Counts one event for `key`, even past the limit.
    pub fn charge(&self, key: &K, now: u64) {
        let _ = self.with_window(key, now, |count, _| {
            *count = count.saturating_add(1);
            true
        });
    }

    fn with_window(&self, key: &K, now: u64, f: impl FnOnce(&mut u32, u32) -> bool) -> Result<(), u64> {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() >= self.max_keys && !windows.contains_key(key) {
            windows.retain(|_, (start, _)| now.saturating_sub(*start) < WINDOW_MS);
            if windows.len() >= self.max_keys {
                windows.clear();
            }
        }
        let (start, count) = windows.entry(key.clone()).or_insert((now, 0));
        let elapsed = now.saturating_sub(*start);
        if elapsed >= WINDOW_MS {
            *start = now;
            *count = 0;
        }
        if f(count, self.per_window) {
            Ok(())
        } else {
            Err((WINDOW_MS - elapsed.min(WINDOW_MS)).div_ceil(1000).max(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_counts_up_to_the_limit_then_refuses_until_the_window_ends() {
        let limiter = WindowLimiter::per_minute(3, 10);
        for _ in 0..3 {
            assert_eq!(limiter.take(&"a", 1_000), Ok(()));
        }
        assert_eq!(limiter.take(&"a", 1_000), Err(60));
        assert_eq!(limiter.take(&"a", 31_000), Err(30));
        assert_eq!(limiter.take(&"b", 31_000), Ok(()), "keys are independent");
        assert_eq!(limiter.take(&"a", 61_000), Ok(()), "a new window");
    }

    #[test]
    fn check_does_not_count_and_charge_counts_past_the_limit() {
        let limiter = WindowLimiter::per_minute(2, 10);
        for _ in 0..10 {
            assert_eq!(limiter.check(&"a", 0), Ok(()));
        }
        limiter.charge(&"a", 0);
        assert_eq!(limiter.check(&"a", 0), Ok(()));
        limiter.charge(&"a", 0);
        limiter.charge(&"a", 0);
        assert_eq!(limiter.check(&"a", 59_500), Err(1));
        assert_eq!(limiter.check(&"a", 60_000), Ok(()));
    }

    #[test]
    fn memory_stays_bounded() {
        let limiter = WindowLimiter::per_minute(1, 100);
        for key in 0..10_000u32 {
            limiter.charge(&key, 0);
            assert!(limiter.windows.lock().unwrap().len() <= 100);
        }
        // ended windows go first; a key still in its window is kept if there is room
        let limiter = WindowLimiter::per_minute(1, 2);
        limiter.charge(&1, 0);
        limiter.charge(&2, 70_000);
        limiter.charge(&3, 70_000);
        assert_eq!(limiter.check(&2, 70_000), Err(60), "still counted");
        assert_eq!(limiter.check(&1, 70_000), Ok(()), "its window had ended");
    }
}
