//! What kind of audio device a capture or render device name describes. The name itself often
//! carries a person's name ("Priya's AirPods Pro") and never leaves normalisation in clear; the
//! category is what diagnosis needs (a Bluetooth hands-free link, a wired headset, a laptop's
//! built-in microphone).

/// The categories a device name falls into, first match wins.
const CATEGORIES: &[(&str, &[&str])] = &[
    ("virtual", &["virtual", "cable input", "cable output"]),
    (
        "system_default",
        &["default input", "default output", "default device"],
    ),
    (
        "bluetooth",
        &[
            "bluetooth",
            "hands-free",
            "handsfree",
            "airpods",
            "buds",
            " bt ",
        ],
    ),
    ("headset", &["headset", "headphone", "earphone", "earbud"]),
    ("speakerphone", &["speakerphone", "speak ", "conference"]),
    (
        "built_in",
        &[
            "built-in",
            "builtin",
            "internal",
            "integrated",
            "realtek",
            "array",
            "macbook",
        ],
    ),
];

/// The category of a device name: `virtual`, `system_default`, `bluetooth`, `headset`,
/// `speakerphone`, `built_in` or `other`; `None` for no name.
pub fn category(name: Option<&str>) -> Option<String> {
    let name = name.map(str::trim).filter(|n| !n.is_empty())?;
    let padded = format!(" {} ", name.to_lowercase());
    let found = CATEGORIES
        .iter()
        .find(|(_, words)| words.iter().any(|w| padded.contains(w)))
        .map_or("other", |(category, _)| category);
    Some(found.to_string())
}

#[cfg(test)]
mod tests {
    use super::category;

    #[test]
    fn names_become_categories() {
        for (name, expected) in [
            ("Priya's AirPods Pro", "bluetooth"),
            (
                "Headset (Marcus's WH-1000XM4 Hands-Free AG Audio)",
                "bluetooth",
            ),
            ("Headset Microphone (Jabra Evolve2 65)", "headset"),
            ("Headphones (Logitech Zone Vibe 125)", "headset"),
            ("Microphone (Jabra Speak 510)", "speakerphone"),
            ("MacBook Pro Microphone", "built_in"),
            ("Microphone Array (Realtek(R) Audio)", "built_in"),
            (
                "Speakers (Microsoft Virtual Audio Device (Simple) (WDM))",
                "virtual",
            ),
            ("Default input device", "system_default"),
            ("Microphone (Yealink UH36)", "other"),
        ] {
            assert_eq!(category(Some(name)).as_deref(), Some(expected), "{name}");
        }
        assert_eq!(category(Some("  ")), None);
        assert_eq!(category(None), None);
    }
}
