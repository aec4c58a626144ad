//! The one wall clock every stage reads: milliseconds since the Unix epoch.
//!
//! Event time never comes from here (it is the records' own); this is for what is stamped when
//! it happens (when a notification was received, a leg fetched, a dead letter written) and for
//! wall-clock bounds (how long a leg waited, where a restore starts).

/// Milliseconds since the Unix epoch by the system clock; 0 for a clock set before 1970.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
