//! [`Clock`]: the one source of "now" wherever time decides behaviour
//! (token lifetimes, rate-limit windows, cache freshness, revocation
//! intervals, message timestamps). It is injected, so tests set the time
//! instead of waiting for it.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Wall-clock time in Unix milliseconds. Cloning shares the same clock.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> u64 + Send + Sync>);

impl Clock {
    /// The system's clock.
    pub fn system() -> Self {
        Self(Arc::new(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
                .unwrap_or(0)
        }))
    }

    /// A clock that reads `now_ms` (tests).
    pub fn from_fn(now_ms: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        Self(Arc::new(now_ms))
    }

    pub fn now_ms(&self) -> u64 {
        (self.0)()
    }

    pub fn now_secs(&self) -> u64 {
        self.now_ms() / 1000
    }

    /// Time passed since `earlier_ms` (zero if the clock went back).
    pub fn since(&self, earlier_ms: u64) -> Duration {
        Duration::from_millis(self.now_ms().saturating_sub(earlier_ms))
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Clock").field(&self.now_ms()).finish()
    }
}

/// Milliseconds of a duration, saturating.
pub fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn a_test_clock_is_read_through_every_clone() {
        let now = Arc::new(AtomicU64::new(1_700_000_000_500));
        let clock = Clock::from_fn({
            let now = now.clone();
            move || now.load(Ordering::Relaxed)
        });
        let copy = clock.clone();
        assert_eq!(copy.now_secs(), 1_700_000_000);
        now.fetch_add(2_000, Ordering::Relaxed);
        assert_eq!(clock.now_ms(), 1_700_000_002_500);
        assert_eq!(copy.since(1_700_000_001_000), Duration::from_millis(1_500));
        assert_eq!(copy.since(u64::MAX), Duration::ZERO);
    }

    #[test]
    fn the_system_clock_is_after_2020() {
        assert!(Clock::system().now_secs() > 1_577_836_800);
    }
}
