//! The README's configuration and metrics references must match the code.

use callsight::Config;
use callsight_core::metrics::Metrics;
use callsight_e2e::repo_root;
use callsight_kafka::KafkaMetrics;
use serde_json::Value;
use std::collections::BTreeSet;

const TOPIC_KEYS: [&str; 8] = [
    "notifications",
    "legs",
    "telemetry",
    "inventory",
    "links",
    "verdicts",
    "alerts",
    "control",
];

fn readme() -> String {
    std::fs::read_to_string(repo_root().join("README.md")).expect("README.md")
}

/// The section of the README under a `## ` heading.
fn section(text: &str, heading: &str) -> String {
    let start = text
        .find(&format!("\n## {heading}\n"))
        .unwrap_or_else(|| panic!("README has no section {heading}"));
    let rest = &text[start + heading.len() + 5..];
    rest[..rest.find("\n## ").unwrap_or(rest.len())].to_string()
}

/// First-column backticked names of the table rows in `text`.
fn table_keys(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once('`').map(|(key, _)| key.to_string()))
        .collect()
}

fn flatten(prefix: &str, value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) if !map.is_empty() && prefix != "kafka.properties" => {
            for (key, inner) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&path, inner, out);
            }
        }
        _ => {
            out.insert(prefix.to_string());
        }
    }
}

fn config_keys() -> BTreeSet<String> {
    let mut config = Config::default();
    // Optional keys appear only when set.
    config.codec.schema_registry_url = Some("http://registry".into());
    config.codec.schema_registry_username = Some("user".into());
    config
        .ingest
        .mist
        .orgs
        .insert("<org>".into(), Default::default());
    config
        .graph
        .tenants
        .insert("<tenant>".into(), Default::default());
    let mut keys = BTreeSet::new();
    flatten(
        "",
        &serde_json::to_value(&config).expect("serializes"),
        &mut keys,
    );
    keys.into_iter()
        .map(|key| {
            let parts: Vec<&str> = key.split('.').collect();
            match parts.as_slice() {
                ["topics", topic, field] if TOPIC_KEYS.contains(topic) => {
                    format!("topics.<topic>.{field}")
                }
                _ => key,
            }
        })
        .collect()
}

#[test]
fn the_configuration_reference_lists_exactly_the_configuration_keys() {
    let documented = table_keys(&section(&readme(), "Configuration"));
    let actual = config_keys();
    let undocumented: Vec<_> = actual.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&actual).collect();
    assert!(
        undocumented.is_empty(),
        "keys missing from the README: {undocumented:?}"
    );
    assert!(
        stale.is_empty(),
        "README documents keys that do not exist: {stale:?}"
    );
}

#[test]
fn the_topics_table_names_every_topic_with_its_defaults() {
    let text = section(&readme(), "Topics");
    let config = Config::default();
    for (key, topic) in config.topics.all() {
        let row = text
            .lines()
            .find(|l| l.starts_with(&format!("| `topics.{key}` ")))
            .unwrap_or_else(|| panic!("no row for topics.{key}"));
        assert!(row.contains(&format!("`{}`", topic.name)), "{row}");
        assert!(row.contains(&format!("| {} |", topic.partitions)), "{row}");
    }
}

#[test]
fn the_metrics_reference_lists_exactly_the_registered_metrics() {
    let metrics = Metrics::new();
    KafkaMetrics::register(&metrics).expect("registers");
    callsight_ingest::metrics::IngestMetrics::register(&metrics).expect("registers");
    callsight_teams::metrics::TeamsMetrics::get(&metrics).expect("registers");
    callsight_processor::metrics::ProcessorMetrics::register(&metrics).expect("registers");
    let registered: BTreeSet<String> = metrics.names().into_iter().collect();
    let documented = table_keys(&section(&readme(), "Metrics"));
    let undocumented: Vec<_> = registered.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&registered).collect();
    assert!(
        undocumented.is_empty(),
        "metrics missing from the README: {undocumented:?}"
    );
    assert!(
        stale.is_empty(),
        "README documents metrics that do not exist: {stale:?}"
    );
}

#[test]
fn the_evidence_table_matches_the_features() {
    let text = section(&readme(), "Root-cause engine");
    let documented = table_keys(&text);
    for feature in callsight_rca::features::FEATURES {
        let row = text
            .lines()
            .find(|l| l.starts_with(&format!("| `{}` ", feature.metric)))
            .unwrap_or_else(|| panic!("no README row for {}", feature.metric));
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        assert_eq!(cells[3], format!("`{}`", feature.cause.code()), "{row}");
        assert_eq!(
            cells[7].parse::<f64>().ok(),
            Some(feature.threshold),
            "{row}"
        );
        assert_eq!(cells[8].parse::<f64>().ok(), Some(feature.margin), "{row}");
        assert_eq!(cells[9].parse::<f64>().ok(), Some(feature.weight), "{row}");
    }
    assert_eq!(
        documented.len(),
        callsight_rca::features::FEATURES.len(),
        "the README lists features that do not exist"
    );
}
