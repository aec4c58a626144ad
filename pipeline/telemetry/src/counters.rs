//! Cumulative counters (bytes, packets, errors, retries since boot or connection) turned into
//! rates per second, with counter resets handled.

use std::collections::HashMap;

/// The last value of every counter, by entity and counter name.
#[derive(Debug, Default)]
pub struct Counters {
    last: HashMap<(String, &'static str), (i64, f64)>,
}

impl Counters {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `value` of counter `name` of `entity` at `time_ms` and returns the rate per second
    /// since the previous value: `None` for the first value, for a time that does not advance
    /// (an out-of-order or repeated sample), and after a reset (the counter went backwards: a
    /// reboot or reconnect), which restarts the series.
    pub fn rate(
        &mut self,
        entity: &str,
        name: &'static str,
        time_ms: i64,
        value: f64,
    ) -> Option<f64> {
        let key = (entity.to_string(), name);
        let previous = self.last.get(&key).copied();
        match previous {
            Some((then, _)) if time_ms <= then => None,
            Some((then, before)) if value >= before => {
                self.last.insert(key, (time_ms, value));
                // Saturating: a sender's time at the end of the range must not panic or wrap.
                Some((value - before) / (time_ms.saturating_sub(then) as f64 / 1000.0))
            }
            _ => {
                self.last.insert(key, (time_ms, value));
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
        self.last.retain(|_, (time, _)| *time >= before_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        // The same sample again: no rate, state unchanged.
        assert_eq!(c.rate("p", "rx_errors", 300_000, 4893.0), None);
        // A reboot: the counter restarts; no negative rate.
        assert_eq!(c.rate("p", "rx_errors", 360_000, 10.0), None);
        assert_eq!(c.rate("p", "rx_errors", 420_000, 70.0), Some(1.0));
    }
}
