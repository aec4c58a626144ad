//! Loading a configuration made of sections that live beside their code.
//!
//! Layers: built-in defaults < `--config FILE` (TOML) < environment variables
//! `CALLSIGHT__SECTION__KEY` (`__` separates levels, e.g. `CALLSIGHT__KAFKA__BROKERS`). Unknown
//! keys are rejected, and [`Layered::validate`] names the key of every problem it finds. Each
//! crate owns its section (`callsight_kafka::config::KafkaConfig`,
//! `callsight_ingest::config::IngestConfig`, ...) with the checks of its own values; the binary
//! composes them into one type that implements [`Layered`] and adds the checks that span
//! sections.

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

/// Prefix of the environment variables that override configuration.
pub const ENV_PREFIX: &str = "CALLSIGHT__";

/// What replaces a secret when the configuration is printed.
pub const REDACTED: &str = "<redacted>";

/// A configuration value that must not be shown: printed as `<redacted>` by `Debug` and by the
/// sections' `redact`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl Secret {
    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// No value was configured.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Replaces a configured value by `<redacted>`, for printing.
    pub fn redact(&mut self) {
        if !self.is_empty() {
            self.0 = REDACTED.into();
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() {
            "\"\""
        } else {
            "<redacted>"
        })
    }
}

/// One thing wrong with the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key, e.g. `topics.legs.partitions`.
    pub key: String,
    /// What is wrong, and what would be right.
    pub problem: String,
}

/// The problems a section finds in its values, each under the section's key.
#[derive(Debug, Default)]
pub struct Problems {
    prefix: String,
    found: Vec<Problem>,
}

impl Problems {
    /// Problems of the section at `prefix` (e.g. `kafka`).
    pub fn new(prefix: &str) -> Self {
        Problems {
            prefix: prefix.to_string(),
            found: Vec::new(),
        }
    }

    /// `key` (relative to the section) is wrong: `problem` says how.
    pub fn bad(&mut self, key: &str, problem: impl Into<String>) {
        let key = if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.prefix)
        };
        self.found.push(Problem {
            key,
            problem: problem.into(),
        });
    }

    /// `key` must be an `http://` or `https://` URL.
    pub fn check_url(&mut self, key: &str, url: &str) {
        if !is_web_url(url) {
            self.bad(key, format!("{url:?} is not an http(s) URL"));
        }
    }

    /// The problems found.
    pub fn into_vec(self) -> Vec<Problem> {
        self.found
    }
}

/// Whether `url` is an `http://` or `https://` URL.
pub fn is_web_url(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

/// Configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The `--config` file does not exist.
    #[error("configuration file {0} does not exist")]
    MissingFile(PathBuf),
    /// A layer does not parse or does not fit the types (unknown key, wrong type).
    #[error("invalid configuration: {0}")]
    Load(String),
    /// Values parse but do not make sense together.
    #[error("invalid configuration:{}", .0.iter().map(|p| format!("\n  {}: {}", p.key, p.problem)).collect::<String>())]
    Invalid(Vec<Problem>),
}

impl ConfigError {
    /// `Ok` when nothing was found, else the problems.
    pub fn check(problems: Vec<Problem>) -> Result<(), ConfigError> {
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }
}

/// A whole configuration, composed of sections, as the loader needs to know it.
pub trait Layered: Serialize + DeserializeOwned + Default {
    /// Dotted keys of maps of named sections (`ingest.mist.orgs`): an entry's keys are typed
    /// like those of the entry named `*` in [`Layered::text_sample`].
    const NAMED: &'static [&'static str];
    /// Dotted keys of maps whose values are all text (`kafka.properties`).
    const TEXT_MAPS: &'static [&'static str];
    /// The defaults with one entry named `*` in each map of [`Layered::NAMED`] and every
    /// optional text set, so that every key that holds text appears in its serialization.
    fn text_sample() -> Self;
    /// Checks values that parse but do not make sense; every problem names its key.
    fn validate(&self) -> Result<(), ConfigError>;
}

/// Loads defaults < `file` < the process environment, then validates.
pub fn load<C: Layered>(file: Option<&Path>) -> Result<C, ConfigError> {
    let vars: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with(ENV_PREFIX))
        .collect();
    let pairs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    load_with_env(file, &pairs)
}

/// Like [`load`], with the environment given as pairs. A variable's value is taken as written
/// for a key that holds text (a secret, an id, a librdkafka property: a token of digits stays
/// text), and parsed (number, boolean, list) for the other keys.
pub fn load_with_env<C: Layered>(
    file: Option<&Path>,
    env: &[(&str, &str)],
) -> Result<C, ConfigError> {
    let text = TextKeys::of::<C>();
    let mut overrides = Figment::new();
    for (key, value) in env.iter().filter_map(|(k, v)| {
        k.strip_prefix(ENV_PREFIX)
            .map(|k| (k.replace("__", ".").to_lowercase(), *v))
    }) {
        let value = if text.holds_text(&key) {
            figment::value::Value::from(value.to_string())
        } else {
            value
                .parse::<figment::value::Value>()
                .unwrap_or_else(|_| figment::value::Value::from(value.to_string()))
        };
        overrides = overrides.merge(Serialized::global(&key, value));
    }
    let mut figment = Figment::from(Serialized::defaults(C::default()));
    if let Some(path) = file {
        if !path.is_file() {
            return Err(ConfigError::MissingFile(path.to_path_buf()));
        }
        figment = figment.merge(Toml::file_exact(path));
    }
    let config: C = figment
        .merge(overrides)
        .extract()
        .map_err(|e| ConfigError::Load(describe_figment_error(e)))?;
    config.validate()?;
    Ok(config)
}

/// The dotted keys of a configuration that hold text.
struct TextKeys {
    keys: BTreeSet<String>,
    named: &'static [&'static str],
    text_maps: &'static [&'static str],
}

impl TextKeys {
    fn of<C: Layered>() -> Self {
        fn walk(prefix: &str, value: &serde_json::Value, keys: &mut BTreeSet<String>) {
            match value {
                serde_json::Value::Object(map) => {
                    for (k, v) in map {
                        let path = if prefix.is_empty() {
                            k.clone()
                        } else {
                            format!("{prefix}.{k}")
                        };
                        walk(&path, v, keys);
                    }
                }
                serde_json::Value::String(_) => {
                    keys.insert(prefix.to_string());
                }
                _ => {}
            }
        }
        let mut keys = BTreeSet::new();
        if let Ok(json) = serde_json::to_value(C::text_sample()) {
            walk("", &json, &mut keys);
        }
        TextKeys {
            keys,
            named: C::NAMED,
            text_maps: C::TEXT_MAPS,
        }
    }

    fn holds_text(&self, key: &str) -> bool {
        if self.text_maps.iter().any(|m| {
            key.strip_prefix(m)
                .is_some_and(|rest| rest.starts_with('.'))
        }) {
            return true;
        }
        for map in self.named {
            if let Some(rest) = key.strip_prefix(map).and_then(|r| r.strip_prefix('.')) {
                let after_name = rest.split_once('.').map_or("", |(_, after)| after);
                return self.keys.contains(&format!("{map}.*.{after_name}"));
            }
        }
        self.keys.contains(key)
    }
}

/// Figment's errors carry the key path; render all of them, one per line.
fn describe_figment_error(error: figment::Error) -> String {
    error
        .into_iter()
        .map(|e| {
            let key = if e.path.is_empty() {
                String::new()
            } else {
                format!("{}: ", e.path.join("."))
            };
            // Files and the environment say where a value came from; internal providers do not.
            let origin = e
                .metadata
                .as_ref()
                .filter(|m| !m.name.contains("::"))
                .map(|m| match &m.source {
                    Some(source) => format!(" (from {source})"),
                    None => format!(" (from {})", m.name),
                })
                .unwrap_or_default();
            format!("{key}{}{origin}", e.kind)
        })
        .collect::<Vec<_>>()
        .join("; ")
}
