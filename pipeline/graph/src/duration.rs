//! ISO 8601 durations as Graph writes them (`PT0.016S`, `PT1M2.5S`, `P1DT2H`), in milliseconds,
//! parsed by jiff's ISO 8601 (Temporal) span parser.

use jiff::fmt::temporal::SpanParser;
use jiff::{SpanTotal, Unit};

static PARSER: SpanParser = SpanParser::new();

/// Milliseconds of a duration; `None` when it does not parse. Days count 24 hours; years and
/// months (which need a date to mean a length) are not durations Graph writes and do not parse.
pub fn to_ms(text: &str) -> Option<f64> {
    let span = PARSER.parse_span(text.trim()).ok()?;
    span.total(SpanTotal::from(Unit::Millisecond).days_are_24_hours())
        .ok()
}

#[cfg(test)]
mod tests {
    use super::to_ms;

    #[test]
    fn graph_durations() {
        assert_eq!(to_ms("PT0.016S"), Some(16.0));
        assert_eq!(to_ms("PT1S"), Some(1000.0));
        assert_eq!(to_ms("PT1M2.5S"), Some(62_500.0));
        assert_eq!(to_ms("P1DT2H"), Some(93_600_000.0));
        assert_eq!(to_ms("PT0S"), Some(0.0));
        assert_eq!(to_ms(" PT0.02S "), Some(20.0));
        assert_eq!(to_ms("-PT1S"), Some(-1000.0));
        for bad in ["", "P", "PT", "0.016", "PT1X", "PT.S", "2h 30m"] {
            assert_eq!(to_ms(bad), None, "{bad}");
        }
    }
}
