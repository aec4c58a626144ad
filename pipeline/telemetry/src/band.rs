//! Wi-Fi band spellings.

use callsight_model::types::WifiBand;

/// Mist writes `24`, `5`, `6` (and `band_24` in radio stats); others write `2.4`, `2.4GHz`.
pub fn parse(raw: &str) -> WifiBand {
    let lower = raw.trim().to_ascii_lowercase();
    let digits = lower
        .trim_start_matches("band_")
        .trim_end_matches("ghz")
        .trim();
    match digits {
        "24" | "2.4" | "2" => WifiBand::Band2_4Ghz,
        "5" => WifiBand::Band5Ghz,
        "6" => WifiBand::Band6Ghz,
        "60" => WifiBand::Band60Ghz,
        _ => WifiBand::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings() {
        assert_eq!(parse("24"), WifiBand::Band2_4Ghz);
        assert_eq!(parse("band_24"), WifiBand::Band2_4Ghz);
        assert_eq!(parse("2.4GHz"), WifiBand::Band2_4Ghz);
        assert_eq!(parse("5"), WifiBand::Band5Ghz);
        assert_eq!(parse("band_6"), WifiBand::Band6Ghz);
        assert_eq!(parse("x"), WifiBand::Unknown);
    }
}
