//! The one place that reads the wall clock. Services take a [`Clock`] so that tests can fix or move time.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

/// A source of the current time.
#[derive(Clone)]
pub enum Clock {
    /// The system clock.
    System,
    /// A clock that only moves when told to; for tests.
    Fixed(Arc<AtomicI64>),
}

impl Clock {
    /// A fixed clock starting at `start` (Unix milliseconds).
    pub fn fixed(start: Millis) -> Self {
        Clock::Fixed(Arc::new(AtomicI64::new(start)))
    }

    /// The current time in Unix milliseconds.
    pub fn now_ms(&self) -> Millis {
        match self {
            Clock::System => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default();
                i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
            }
            Clock::Fixed(t) => t.load(Ordering::SeqCst),
        }
    }

    /// Moves a fixed clock forward by `ms`; the system clock ignores this.
    pub fn advance(&self, ms: Millis) {
        if let Clock::Fixed(t) = self {
            t.fetch_add(ms, Ordering::SeqCst);
        }
    }
}

/// Formats Unix milliseconds as an RFC 3339 timestamp in UTC with millisecond precision.
pub fn rfc3339(ms: Millis) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Parses an RFC 3339 timestamp into Unix milliseconds.
pub fn parse_rfc3339(s: &str) -> Option<Millis> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_moves_only_when_advanced() {
        let clock = Clock::fixed(1_000);
        assert_eq!(clock.now_ms(), 1_000);
        clock.advance(500);
        assert_eq!(clock.now_ms(), 1_500);
    }

    #[test]
    fn timestamps_round_trip_through_rfc3339() {
        let s = rfc3339(1_700_000_000_123);
        assert_eq!(s, "2023-11-14T22:13:20.123Z");
        assert_eq!(parse_rfc3339(&s), Some(1_700_000_000_123));
    }
}
