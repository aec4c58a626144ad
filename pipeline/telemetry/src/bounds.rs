//! What one event or line may carry before any work is done on it: event times within a window
//! around the receiving time, identifiers and lines of bounded length. A sender's value outside
//! these bounds rejects that event or line only, never the delivery.

use serde_json::Value;
use std::time::Duration;

/// Longest `org_id`, `site_id` or `source`, in bytes (Mist's ids are 36).
pub const MAX_ID_BYTES: usize = 256;

/// Largest NDJSON line or Mist event, in bytes: far above any real one, and far below the
/// broker's message size, so that one record never makes a whole delivery fail to produce.
pub const MAX_ITEM_BYTES: usize = 64 * 1024;

/// The event times a delivery may carry, in epoch milliseconds (both ends included). An event
/// time far in the future would move the processor's watermark past every later record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    /// Earliest accepted event time.
    pub earliest_ms: i64,
    /// Latest accepted event time.
    pub latest_ms: i64,
}

impl TimeWindow {
    /// Every representable time: for reading recordings, never for what a sender posts.
    pub const ANY: TimeWindow = TimeWindow {
        earliest_ms: i64::MIN,
        latest_ms: i64::MAX,
    };

    /// From `max_age` before `now_ms` to `max_lead` after it (saturating).
    pub fn around(now_ms: i64, max_age: Duration, max_lead: Duration) -> TimeWindow {
        let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        TimeWindow {
            earliest_ms: now_ms.saturating_sub(ms(max_age)),
            latest_ms: now_ms.saturating_add(ms(max_lead)),
        }
    }

    /// `time_ms` when it lies in the window, else why not.
    pub fn check(&self, time_ms: i64) -> Result<i64, String> {
        if time_ms < self.earliest_ms {
            Err(format!(
                "the event time {time_ms} is older than accepted (earliest {})",
                self.earliest_ms
            ))
        } else if time_ms > self.latest_ms {
            Err(format!(
                "the event time {time_ms} is further ahead than accepted (latest {})",
                self.latest_ms
            ))
        } else {
            Ok(time_ms)
        }
    }
}

/// `id` when it is at most [`MAX_ID_BYTES`] long.
pub fn check_id<'a>(key: &str, id: &'a str) -> Result<&'a str, String> {
    if id.len() > MAX_ID_BYTES {
        Err(format!(
            "{key} is {} bytes long; at most {MAX_ID_BYTES} are accepted",
            id.len()
        ))
    } else {
        Ok(id)
    }
}

/// Whether `value` written as JSON takes at most `limit` bytes, counted from its strings, keys
/// and scalars (without whitespace), stopping as soon as the limit is passed.
pub fn json_within(value: &Value, limit: usize) -> bool {
    fn take(left: &mut usize, n: usize) -> bool {
        match left.checked_sub(n) {
            Some(rest) => {
                *left = rest;
                true
            }
            None => false,
        }
    }
    fn size(value: &Value, left: &mut usize) -> bool {
        match value {
            Value::Null | Value::Bool(_) => take(left, 5),
            Value::Number(_) => take(left, 24),
            Value::String(s) => take(left, s.len() + 2),
            Value::Array(items) => {
                take(left, items.len() + 2) && items.iter().all(|v| size(v, left))
            }
            Value::Object(fields) => {
                take(left, fields.len() * 2 + 2)
                    && fields
                        .iter()
                        .all(|(k, v)| take(left, k.len() + 2) && size(v, left))
            }
        }
    }
    let mut left = limit;
    size(value, &mut left)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_window_saturates_and_includes_its_ends() {
        let w = TimeWindow::around(1_000, Duration::from_millis(100), Duration::from_millis(10));
        assert_eq!((w.earliest_ms, w.latest_ms), (900, 1_010));
        assert!(w.check(900).is_ok() && w.check(1_010).is_ok());
        assert!(w.check(899).is_err() && w.check(1_011).is_err());
        assert!(w.check(i64::MAX).is_err() && w.check(i64::MIN).is_err());
        let wide = TimeWindow::around(i64::MAX - 1, Duration::MAX, Duration::MAX);
        assert_eq!((wide.earliest_ms, wide.latest_ms), (-1, i64::MAX));
        assert!(TimeWindow::ANY.check(i64::MIN).is_ok());
    }

    #[test]
    fn json_size_is_bounded_without_writing_it() {
        let small = json!({"topic": "alarms", "events": [{"org_id": "o", "n": 1}]});
        let written = serde_json::to_vec(&small).unwrap().len();
        assert!(json_within(&small, written + 64));
        assert!(!json_within(&small, 10));
        let big = json!({ "text": "x".repeat(MAX_ITEM_BYTES) });
        assert!(!json_within(&big, MAX_ITEM_BYTES));
        assert!(check_id("org_id", &"o".repeat(MAX_ID_BYTES)).is_ok());
        assert!(check_id("org_id", &"o".repeat(MAX_ID_BYTES + 1)).is_err());
    }
}
