//! Cumulative counters (bytes, packets, errors, retries since boot or connection) turned into
//! rates per second, with counter resets handled.

use std::collections::HashMap;

/// The last value of every counter, by entity and counter name, with the rate it gave.
#[derive(Debug, Default)]
pub struct Counters {
    last: HashMap<(String, &'static str), (i64, f64, Option<f64>)>,
    /// The newest time recorded: the counters' own clock.
    newest_ms: i64,
}

impl Counters {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `value` of counter `name` of `entity` at `time_ms` and returns the rate per second
    /// since the previous value: `None` for the first value, for a time that goes back (an
    /// out-of-order sample), and after a reset (the counter went backwards: a reboot or
    /// reconnect), which restarts the series. The same sample again (a repeated poll of
    /// unchanged statistics) gives the same rate as the first time, so that the record it makes
    /// is the same observation.
    pub fn rate(
        &mut self,
        entity: &str,
        name: &'static str,
        time_ms: i64,
        value: f64,
    ) -> Option<f64> {
        let key = (entity.to_string(), name);
        self.newest_ms = self.newest_ms.max(time_ms);
        let previous = self.last.get(&key).copied();
        match previous {
            Some((then, before, rate)) if time_ms == then && value == before => rate,
            Some((then, _, _)) if time_ms <= then => None,
            Some((then, before, _)) if value >= before => {
                // Saturating: a sender's time at the end of the range must not panic or wrap.
                let rate = (value - before) / (time_ms.saturating_sub(then) as f64 / 1000.0);
                self.last.insert(key, (time_ms, value, Some(rate)));
                Some(rate)
            }
            _ => {
                self.last.insert(key, (time_ms, value, None));
                None
            }
        }
    }

    /// Entities tracked, to bound memory.
    pub fn len(&self) -> usize {
        self.last.len()
    }

    /// Nothing tracked.
    pub fn is_empty(&self) -> bool {
        self.last.is_empty()
    }

    /// Forgets counters last seen before `before_ms`.
    pub fn expire(&mut self, before_ms: i64) {
        self.last.retain(|_, (time, _, _)| *time >= before_ms);
    }

    /// Forgets counters not updated within `horizon_ms` before the newest time recorded: by the
    /// samples' own clock, never the reader's, which may be far from it (a replay, a simulation,
    /// a skewed source).
    pub fn expire_idle(&mut self, horizon_ms: i64) {
        self.expire(self.newest_ms.saturating_sub(horizon_ms));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_counters_expire_by_their_own_clock() {
        let mut c = Counters::new();
        // Statistics of a day long past (a replay, a simulation): nothing is expired by being
        // old, only by being idle while others advance.
        c.rate("a", "x", 1_000_000, 1.0);
        c.rate("b", "x", 1_000_000 + 7_200_000, 1.0);
        c.expire_idle(3_600_000);
        assert_eq!(c.len(), 1);
        assert_eq!(c.rate("b", "x", 1_000_000 + 7_260_000, 61.0), Some(1.0));
    }

    #[test]
    fn extreme_times_neither_panic_nor_go_negative() {
        let mut c = Counters::new();
        assert_eq!(c.rate("ap", "tx_bytes", i64::MIN, 1.0), None);
        let rate = c.rate("ap", "tx_bytes", i64::MAX, 2.0).expect("a rate");
        assert!(rate >= 0.0 && rate.is_finite(), "{rate}");
    }

    #[test]
    fn rates_resets_and_repeats() {
        let mut c = Counters::new();
        assert_eq!(c.rate("p", "rx_errors", 0, 1520.0), None);
        // 3373 errors in 300 s.
        let rate = c.rate("p", "rx_errors", 300_000, 4893.0).expect("a rate");
        assert!((rate - 3373.0 / 300.0).abs() < 1e-9);
        // The same sample again (a repeated poll): the same rate, state unchanged.
        assert_eq!(c.rate("p", "rx_errors", 300_000, 4893.0), Some(rate));
        // Another value at the same time is no sample of this series.
        assert_eq!(c.rate("p", "rx_errors", 300_000, 5000.0), None);
        // A reboot: the counter restarts; no negative rate.
        assert_eq!(c.rate("p", "rx_errors", 360_000, 10.0), None);
        assert_eq!(c.rate("p", "rx_errors", 420_000, 70.0), Some(1.0));
    }
}
