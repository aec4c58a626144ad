//! ISO 8601 durations as Graph writes them (`PT0.016S`, `PT1M2.5S`, `P1DT2H`), in milliseconds.

/// Milliseconds of a duration; `None` when it does not parse.
pub fn to_ms(text: &str) -> Option<f64> {
    let text = text.trim();
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let rest = text.strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((date, time)) => (date, Some(time)),
        None => (rest, None),
    };
    let mut total = 0.0;
    let mut any = false;
    let mut take = |part: &str, units: &[(char, f64)]| -> Option<()> {
        let mut number = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' || c == ',' {
                number.push(if c == ',' { '.' } else { c });
                continue;
            }
            let (_, ms) = units.iter().find(|(u, _)| *u == c)?;
            total += number.parse::<f64>().ok()? * ms;
            number.clear();
            any = true;
        }
        number.is_empty().then_some(())
    };
    take(
        date,
        &[
            ('Y', 365.0 * 86_400_000.0),
            ('W', 7.0 * 86_400_000.0),
            ('D', 86_400_000.0),
        ],
    )?;
    if let Some(time) = time {
        if time.is_empty() {
            return None;
        }
        take(time, &[('H', 3_600_000.0), ('M', 60_000.0), ('S', 1000.0)])?;
    }
    (any && total.is_finite()).then_some(if negative { -total } else { total })
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
        for bad in ["", "P", "PT", "0.016", "PT1X", "PT.S"] {
            assert_eq!(to_ms(bad), None, "{bad}");
        }
    }
}
