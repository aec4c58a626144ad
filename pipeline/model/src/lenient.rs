//! Lenient readers for the values real inputs send (Mist, Graph, exporters): numbers as strings, integers as floats,
//! epoch seconds with fractions, ISO timestamps without a zone.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A number given as a JSON number or a numeric string; `None` for null, absent or unusable
/// (`"NaN"` included).
pub fn number(value: &Value) -> Option<f64> {
    let n = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }?;
    n.is_finite().then_some(n)
}

/// Epoch milliseconds from epoch seconds (number or numeric string, with or without fraction)
/// or an ISO 8601 timestamp (a missing zone means UTC).
pub fn epoch_ms(value: &Value) -> Option<i64> {
    if let Some(seconds) = number(value) {
        return Some((seconds * 1000.0).round() as i64);
    }
    let text = value.as_str()?.trim();
    parse_timestamp_ms(text)
}

/// Parses an RFC 3339 / ISO 8601 timestamp to epoch milliseconds; no zone means UTC.
pub fn parse_timestamp_ms(text: &str) -> Option<i64> {
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        return Some(ts.as_millisecond());
    }
    let civil: jiff::civil::DateTime = text.parse().ok()?;
    jiff::tz::TimeZone::UTC
        .to_timestamp(civil)
        .ok()
        .map(|ts| ts.as_millisecond())
}

/// Serde adapter: an optional lenient number.
pub fn opt_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(number(&Value::deserialize(d)?))
}

/// Serde adapter: an optional lenient integer (floats are rounded).
pub fn opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(number(&Value::deserialize(d)?).map(|n| n.round() as i64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_come_in_many_shapes() {
        assert_eq!(number(&json!(3)), Some(3.0));
        assert_eq!(number(&json!(16709.39)), Some(16709.39));
        assert_eq!(number(&json!("42")), Some(42.0));
        assert_eq!(number(&json!("NaN")), None);
        assert_eq!(number(&json!(null)), None);
    }

    #[test]
    fn timestamps_come_in_many_shapes() {
        assert_eq!(epoch_ms(&json!(1691512031.358188)), Some(1_691_512_031_358));
        assert_eq!(epoch_ms(&json!("1691512031")), Some(1_691_512_031_000));
        assert_eq!(
            epoch_ms(&json!("2025-06-15T14:25:19")),
            Some(1_749_997_519_000)
        );
        assert_eq!(
            epoch_ms(&json!("2025-06-15T14:25:19+00:00")),
            Some(1_749_997_519_000)
        );
        assert_eq!(epoch_ms(&json!("yesterday")), None);
    }
}
