//! The one configuration of a callsight process, composed of the sections that live beside
//! their code; only the checks that span sections are here.
//!
//! Loaded in layers: built-in defaults < `--config FILE` (TOML) < environment variables
//! `CALLSIGHT__SECTION__KEY` (`callsight_core::config`).

use callsight_core::admin::AdminConfig;
use callsight_core::codec::CodecConfig;
use callsight_core::config::{self as loading, ConfigError, Layered, Problem};
use callsight_core::logging::LogConfig;
use callsight_core::serve::HttpConfig;
use callsight_core::shutdown::ShutdownConfig;
use callsight_ingest::config::{IngestConfig, MistOrgConfig};
use callsight_kafka::config::{KafkaConfig, TopicsConfig};
use callsight_processor::ProcessorConfig;
use callsight_rca::{ClassificationConfig, RcaConfig};
use callsight_teams::config::{GraphConfig, PrivacyConfig, StaticTenantConfig};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Every setting of a callsight process.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Kafka connection and client tuning.
    pub kafka: KafkaConfig,
    /// Topic names, partition counts and retention.
    pub topics: TopicsConfig,
    /// How records are framed on the wire.
    pub codec: CodecConfig,
    /// The admin HTTP server (metrics, health).
    pub admin: AdminConfig,
    /// Bounds on every HTTP connection (both listeners).
    pub http: HttpConfig,
    /// The ingest role: telemetry endpoints, and the Mist webhooks and statistics poller.
    pub ingest: IngestConfig,
    /// Logging.
    pub log: LogConfig,
    /// Graceful shutdown.
    pub shutdown: ShutdownConfig,
    /// Microsoft Graph and Entra: the app, tenants, subscriptions, fetching.
    pub graph: GraphConfig,
    /// Privacy at the source.
    pub privacy: PrivacyConfig,
    /// Event-time processing (read by the process role).
    pub processor: ProcessorConfig,
    /// Stream classification thresholds (read by the root-cause engine).
    pub classification: ClassificationConfig,
    /// Evidence thresholds, scoring and scope (read by the root-cause engine).
    pub rca: RcaConfig,
}

impl Layered for Config {
    const NAMED: &'static [&'static str] = &["ingest.mist.orgs", "graph.tenants"];
    const TEXT_MAPS: &'static [&'static str] = &["kafka.properties"];

    fn text_sample() -> Self {
        let mut sample = Config::default();
        sample
            .ingest
            .mist
            .orgs
            .insert("*".into(), MistOrgConfig::default());
        sample
            .graph
            .tenants
            .insert("*".into(), StaticTenantConfig::default());
        sample.codec.schema_registry_url = Some(String::new());
        sample.codec.schema_registry_username = Some(String::new());
        sample.processor.transactional_id = Some(String::new());
        sample
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let engine = |problems: Vec<(String, String)>| {
            problems
                .into_iter()
                .map(|(key, problem)| Problem { key, problem })
        };
        let mut problems: Vec<Problem> = [
            self.kafka.problems("kafka"),
            self.topics.problems("topics"),
            self.codec.problems("codec"),
            self.http.problems("http"),
            self.ingest.problems("ingest"),
            self.graph.problems("graph"),
            self.privacy.problems("privacy"),
            self.shutdown.problems("shutdown"),
            self.processor.problems("processor"),
        ]
        .into_iter()
        .flatten()
        .chain(engine(self.classification.problems("classification")))
        .chain(engine(self.rca.problems("rca")))
        .collect();
        problems.extend(self.across_sections());
        ConfigError::check(problems)
    }
}

impl Config {
    /// Loads defaults < `file` < the process environment, then validates.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        loading::load(file)
    }

    /// Like [`Config::load`], with the environment given as pairs.
    pub fn load_with_env(file: Option<&Path>, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        loading::load_with_env(file, env)
    }

    /// Checks values that parse but do not make sense; every problem names its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        Layered::validate(self)
    }

    /// What is wrong between sections.
    fn across_sections(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut bad = |key: &str, problem: String| {
            problems.push(Problem {
                key: key.into(),
                problem,
            })
        };
        if self.ingest.listen == self.admin.listen && self.ingest.listen.port() != 0 {
            bad("ingest.listen", "must differ from admin.listen".into());
        }
        if !self.graph.tenants.is_empty() && self.privacy.master_key.is_empty() {
            bad(
                "privacy.master_key",
                "is required when graph.tenants declares tenants".into(),
            );
        }
        if let Some(kept) = self.topics.telemetry.retention
            && kept < self.processor.retention
        {
            bad(
                "topics.telemetry.retention",
                format!(
                    "must be at least processor.retention ({}): state is restored by replaying the topic",
                    humantime::format_duration(self.processor.retention)
                ),
            );
        }
        problems
    }

    /// A copy with every secret replaced by `<redacted>`, for printing.
    pub fn redacted(&self) -> Config {
        let mut copy = self.clone();
        copy.kafka.redact();
        copy.codec.redact();
        copy.admin.redact();
        copy.ingest.redact();
        copy.graph.redact();
        copy.privacy.redact();
        copy
    }

    /// The configuration as TOML, secrets redacted: what `callsight config print` shows.
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string(&self.redacted()).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }
}
