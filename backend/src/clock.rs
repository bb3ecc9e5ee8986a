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

/// Unix seconds of an RFC 3339 UTC time as Twilio writes it
/// (`2020-01-02T03:04:05Z`, fractions allowed).
pub fn unix_seconds(text: &str) -> Option<u64> {
    let (date, time) = text.trim().split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let time = time.strip_suffix('Z')?;
    let mut t = time.splitn(3, ':');
    let (h, min) = (t.next()?.parse::<i64>().ok()?, t.next()?.parse::<i64>().ok()?);
    let s = t.next()?.split('.').next()?.parse::<i64>().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || h > 23 || min > 59 || s > 60 {
        return None;
    }
    // days from the civil date (Howard Hinnant's algorithm)
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + h * 3600 + min * 60 + s).ok()
}

/// Unix seconds as an RFC 3339 UTC time (`2020-01-02T03:04:05Z`), as
/// Twilio writes them and [`unix_seconds`] reads them.
pub fn rfc3339(unix_seconds: u64) -> String {
    let days = i64::try_from(unix_seconds / 86_400).unwrap_or(i64::MAX / 2);
    let rem = unix_seconds % 86_400;
    // the civil date of a day count (Howard Hinnant's algorithm)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
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

    #[test]
    fn times_written_read_back() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_772_323_200), "2026-03-01T00:00:00Z");
        assert_eq!(rfc3339(1_709_208_000), "2024-02-29T12:00:00Z");
        for t in [1, 86_399, 951_782_400, 1_450_304_317, 4_102_444_799] {
            assert_eq!(unix_seconds(&rfc3339(t)), Some(t), "{t}");
        }
    }

    #[test]
    fn twilio_times() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_seconds("2015-12-16T22:18:37Z"), Some(1_450_304_317));
        assert_eq!(unix_seconds("2024-02-29T12:00:00.123Z"), Some(1_709_208_000));
        assert_eq!(unix_seconds("2024-02-29 12:00:00"), None);
        assert_eq!(unix_seconds("2024-13-01T00:00:00Z"), None);
        assert_eq!(unix_seconds("yesterday"), None);
    }
}
