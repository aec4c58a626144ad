//! MAC and BSSID normalisation: every MAC callsight stores is 12 lowercase hex digits.
//!
//! Sources write them as `5c5b35a1c010`, `5C:5B:35:A1:C0:10`, `5c-5b-35-a1-c0-10` or
//! `5c5b.35a1.c010`; Microsoft's examples even show 8-octet forms. Anything that is not six
//! octets, the all-zero address, and the `02:00:00:00:00:00` placeholder that operating systems
//! report instead of the real address are treated as absent.

/// The placeholder iOS, Android and macOS report when they hide the real MAC.
pub const PRIVACY_PLACEHOLDER: &str = "020000000000";

/// Normalises a MAC; `None` when it is not a usable address. Written out rather than taken from a
/// MAC crate: the rules are callsight's (lenient separators, placeholders and broadcast as
/// absent) and the result is stored as text, which a MAC type would only be converted back to.
pub fn normalize(raw: &str) -> Option<String> {
    let hex: String = raw
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | '.' | ' '))
        .collect::<String>()
        .to_ascii_lowercase();
    if hex.len() != 12 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    if hex == PRIVACY_PLACEHOLDER || hex == "000000000000" || hex == "ffffffffffff" {
        return None;
    }
    Some(hex)
}

/// A locally administered (randomised) MAC: bit 1 of the first octet is set.
pub fn is_randomized(mac: &str) -> bool {
    u8::from_str_radix(mac.get(..2).unwrap_or("00"), 16).is_ok_and(|first| first & 0x02 != 0)
}

/// The MAC `offset` addresses above `base` (BSSIDs are a radio's base MAC plus 0..15).
pub fn offset(base: &str, offset: u64) -> Option<String> {
    let value = u64::from_str_radix(base, 16).ok()?;
    let next = value.checked_add(offset)?;
    (next <= 0xffff_ffff_ffff).then(|| format!("{next:012x}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_normalises_to_twelve_lowercase_digits() {
        for raw in [
            "5c5b35a1c010",
            "5C:5B:35:A1:C0:10",
            "5c-5b-35-a1-c0-10",
            "5c5b.35a1.c010",
        ] {
            assert_eq!(normalize(raw).as_deref(), Some("5c5b35a1c010"), "{raw}");
        }
    }

    #[test]
    fn placeholders_and_other_lengths_are_absent() {
        for raw in [
            "02:00:00:00:00:00",
            "00-00-00-00-00-00-00-00",
            "00:00:00:00:00:00",
            "",
            "not a mac",
            "5c5b35a1c0",
        ] {
            assert_eq!(normalize(raw), None, "{raw}");
        }
    }

    #[test]
    fn randomised_macs_are_recognised() {
        assert!(is_randomized("6a1f2e3d4c5b"));
        assert!(!is_randomized("a4c3f0851a2b"));
        assert_eq!(offset("5c5b35f2d220", 1).as_deref(), Some("5c5b35f2d221"));
    }
}
