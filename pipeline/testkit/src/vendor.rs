//! The vendors' own published examples and specifications, kept outside the project
//! (`../shared/reference/` beside the clone): Microsoft's call-record examples, Mist's webhook
//! and statistics examples, and Mist's OpenAPI specification. Tests read them from there so that
//! the diagnosis is checked on data shaped by the vendors, not by callsight's own simulator.

use std::path::{Path, PathBuf};

/// The reference folder: `CALLSIGHT_REFERENCE` if set, else the first `shared/reference` beside
/// the clone or one of its ancestors, else `/work/shared/reference`. Panics, naming where it
/// looked, when none exists: a vendor test never passes by not running.
pub fn reference_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CALLSIGHT_REFERENCE") {
        return PathBuf::from(dir);
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidates: Vec<PathBuf> = manifest
        .ancestors()
        .map(|a| a.join("shared/reference"))
        .chain([PathBuf::from("/work/shared/reference")])
        .collect();
    candidates
        .iter()
        .find(|c| c.join("vendor_examples").is_dir())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "the vendors' reference folder is missing: set CALLSIGHT_REFERENCE or put it at \
                 one of {candidates:?}"
            )
        })
}

/// The bytes of `vendor_examples/<name>`, e.g. `graph/02-v1.0-get-expanded.json` or
/// `mist/stats-ports-search-1.json`.
pub fn example(name: &str) -> Vec<u8> {
    let path = reference_dir().join("vendor_examples").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// An example parsed as JSON.
pub fn example_json(name: &str) -> serde_json::Value {
    serde_json::from_slice(&example(name)).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"))
}

/// Mist's OpenAPI specification (`mist_openapi/mist.openapi.json`, API 2509.1.1).
pub fn mist_openapi() -> serde_json::Value {
    let path = reference_dir().join("mist_openapi/mist.openapi.json");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("Mist's OpenAPI is not JSON: {e}"))
}

/// The value of one of the examples of Mist's OpenAPI specification
/// (`components.examples.<name>.value`), e.g. `WiredClientsSearchExample`.
pub fn mist_openapi_example(name: &str) -> serde_json::Value {
    let spec = mist_openapi();
    let value = &spec["components"]["examples"][name]["value"];
    assert!(!value.is_null(), "Mist's OpenAPI has no example {name}");
    value.clone()
}
