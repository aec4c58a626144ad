//! The one typed configuration of every callsight process.
//!
//! Loaded in layers: built-in defaults < `--config FILE` (TOML) < environment variables
//! `CALLSIGHT__SECTION__KEY` (`__` separates levels, e.g. `CALLSIGHT__KAFKA__BROKERS`). Unknown
//! keys are rejected, and [`Config::validate`] names the key of every problem it finds.

pub use callsight_rca::config::{ClassificationConfig, RcaConfig, RuleSet};
use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Prefix of the environment variables that override configuration.
pub const ENV_PREFIX: &str = "CALLSIGHT__";

/// A configuration value that must not be shown: printed as `<redacted>` by
/// [`Config::redacted`] and by `Debug`.
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
    /// The ingest role: telemetry endpoints and the Mist poller.
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

/// Compression codec for produced batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    /// No compression.
    None,
    /// gzip.
    Gzip,
    /// Snappy.
    Snappy,
    /// LZ4 (the default: cheap on CPU, good on repetitive Avro).
    #[default]
    Lz4,
}

impl Compression {
    /// The librdkafka `compression.codec` value.
    pub fn as_librdkafka(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
        }
    }
}

/// Kafka connection and client tuning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaConfig {
    /// Bootstrap servers, comma-separated `host:port`. Empty starts the embedded broker
    /// (librdkafka's mock cluster) inside the process, for laptops and tests.
    pub brokers: String,
    /// `client.id` reported to the brokers.
    pub client_id: String,
    /// Consumer group of the processing roles.
    pub group_id: String,
    /// Extra librdkafka properties passed through unchanged (`security.protocol`,
    /// `sasl.mechanisms`, `ssl.ca.location`, ...). In environment variables write `_` for `.`:
    /// `CALLSIGHT__KAFKA__PROPERTIES__SECURITY_PROTOCOL=SASL_SSL`. Values of keys containing
    /// `password`, `secret` or `key` are redacted when printed.
    pub properties: BTreeMap<String, String>,
    /// How long the producer waits to fill a batch (`linger.ms`).
    #[serde(with = "humantime_serde")]
    pub linger: Duration,
    /// Largest batch per partition, bytes (`batch.size`).
    pub batch_bytes: u32,
    /// Compression of produced batches.
    pub compression: Compression,
    /// Upper bound on delivering a produced record, retries included (`delivery.timeout.ms`).
    #[serde(with = "humantime_serde")]
    pub delivery_timeout: Duration,
    /// How often librdkafka reports statistics (consumer lag, queues); 0s disables them.
    #[serde(with = "humantime_serde")]
    pub statistics_interval: Duration,
    /// Consumer group session timeout (`session.timeout.ms`); a dead member's partitions move
    /// after this long.
    #[serde(with = "humantime_serde")]
    pub session_timeout: Duration,
    /// Records buffered between the consumer thread and the async pipeline.
    pub consumer_buffer: usize,
    /// Replication factor of topics callsight creates on a real cluster.
    pub replication_factor: i16,
    /// Create missing topics at start-up (through the admin API, or on the embedded broker).
    pub create_topics: bool,
    /// Brokers in the embedded cluster (only when `brokers` is empty).
    pub embedded_brokers: i32,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            brokers: String::new(),
            client_id: "callsight".into(),
            group_id: "callsight".into(),
            properties: BTreeMap::new(),
            linger: Duration::from_millis(20),
            batch_bytes: 1_000_000,
            compression: Compression::Lz4,
            delivery_timeout: Duration::from_secs(120),
            statistics_interval: Duration::from_secs(15),
            session_timeout: Duration::from_secs(10),
            consumer_buffer: 8192,
            replication_factor: 3,
            create_topics: true,
            embedded_brokers: 1,
        }
    }
}

impl KafkaConfig {
    /// No brokers are configured: run the embedded broker.
    pub fn embedded(&self) -> bool {
        self.brokers.trim().is_empty()
    }

    /// `properties` with keys normalised (`_` becomes `.`, as environment variables need).
    pub fn librdkafka_properties(&self) -> BTreeMap<String, String> {
        self.properties
            .iter()
            .map(|(k, v)| (k.replace('_', "."), v.clone()))
            .collect()
    }
}

/// One topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicConfig {
    /// Topic name.
    pub name: String,
    /// Partition count.
    pub partitions: i32,
    /// How long the broker keeps records (`retention.ms`); unset keeps the broker's default.
    /// Compacted topics ignore it.
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub retention: Option<Duration>,
}

impl TopicConfig {
    fn new(name: &str, partitions: i32, retention_hours: Option<u64>) -> Self {
        TopicConfig {
            name: name.into(),
            partitions,
            retention: retention_hours.map(|h| Duration::from_secs(h * 3600)),
        }
    }
}

/// Topic names, partition counts and retention. `legs` and `telemetry` must have the same
/// partition count: they are co-partitioned by `org|site`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TopicsConfig {
    /// Graph change notifications (GraphNotification).
    pub notifications: TopicConfig,
    /// Call legs (CallLeg), keyed org|site.
    pub legs: TopicConfig,
    /// Network observations (NetworkSample), keyed org|site.
    pub telemetry: TopicConfig,
    /// Network inventory (InventoryRecord), compacted, keyed by entity.
    pub inventory: TopicConfig,
    /// Tenant links (TenantLink), compacted, keyed by org.
    pub links: TopicConfig,
    /// Verdicts (RootCauseVerdict), compacted, keyed org|call|leg.
    pub verdicts: TopicConfig,
    /// Scope alerts (ScopeAlert), keyed org|scope.
    pub alerts: TopicConfig,
    /// One partition whose owner in a consumer group manages the Graph subscriptions.
    pub control: TopicConfig,
    /// Suffix of each topic's dead-letter topic.
    pub dead_letter_suffix: String,
    /// Partitions of each dead-letter topic.
    pub dead_letter_partitions: i32,
    /// Retention of the dead-letter topics.
    #[serde(with = "humantime_serde")]
    pub dead_letter_retention: Duration,
}

impl Default for TopicsConfig {
    fn default() -> Self {
        TopicsConfig {
            notifications: TopicConfig::new("teams.notifications", 6, Some(7 * 24)),
            legs: TopicConfig::new("calls.legs", 12, Some(7 * 24)),
            telemetry: TopicConfig::new("net.telemetry", 12, Some(24)),
            inventory: TopicConfig::new("net.inventory", 3, None),
            links: TopicConfig::new("teams.links", 1, None),
            verdicts: TopicConfig::new("rca.verdicts", 12, None),
            alerts: TopicConfig::new("rca.alerts", 3, Some(30 * 24)),
            control: TopicConfig::new("callsight.control", 1, Some(24)),
            dead_letter_suffix: ".dlq".into(),
            dead_letter_partitions: 3,
            dead_letter_retention: Duration::from_secs(14 * 24 * 3600),
        }
    }
}

/// Wire framing of the records callsight writes. Readers accept both framings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FramingConfig {
    /// Avro single-object encoding: self-describing, no registry needed.
    #[default]
    SingleObject,
    /// Confluent wire format with schema ids from a Schema Registry.
    Confluent,
}

/// How records are framed on the wire.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CodecConfig {
    /// Framing of written records.
    pub framing: FramingConfig,
    /// Schema Registry base URL; required for the Confluent framing, and used to read
    /// Confluent-framed records written by others.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema_registry_url: Option<String>,
    /// Schema Registry basic-auth user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema_registry_username: Option<String>,
    /// Schema Registry basic-auth password.
    pub schema_registry_password: Secret,
}

/// The admin HTTP server every process runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Address of `/metrics`, `/livez` and `/readyz`.
    pub listen: SocketAddr,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            listen: SocketAddr::from(([0, 0, 0, 0], 9464)),
        }
    }
}

/// The ingest role's HTTP endpoints and telemetry sources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Address of the ingest endpoints (`/telemetry`, `/telemetry/mist/{org}`).
    pub listen: SocketAddr,
    /// Largest request body accepted; larger ones are answered 413.
    pub max_body_bytes: usize,
    /// Records being produced at once across all requests; beyond it requests are answered 503
    /// with `Retry-After` instead of buffering without bound.
    pub max_in_flight: usize,
    /// How long a request waits for room among the in-flight records before the 503.
    #[serde(with = "humantime_serde")]
    pub overload_wait: Duration,
    /// Bearer token `POST /telemetry` requires; empty accepts any sender (keep the endpoint on
    /// a private network then).
    pub telemetry_token: Secret,
    /// Juniper Mist.
    pub mist: MistConfig,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
            max_body_bytes: 16 * 1024 * 1024,
            max_in_flight: 100_000,
            overload_wait: Duration::from_secs(2),
            telemetry_token: Secret::default(),
            mist: MistConfig::default(),
        }
    }
}

/// Juniper Mist webhooks and REST API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MistConfig {
    /// REST API base URL of the org's cloud, e.g. `https://api.eu.mist.com`.
    pub api_url: String,
    /// How often the statistics are polled.
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// Run the statistics poller in this process. Run it in exactly one replica.
    pub poll: bool,
    /// Organisations, by Mist org id.
    pub orgs: BTreeMap<String, MistOrgConfig>,
}

impl Default for MistConfig {
    fn default() -> Self {
        MistConfig {
            api_url: "https://api.mist.com".into(),
            poll_interval: Duration::from_secs(60),
            poll: true,
            orgs: BTreeMap::new(),
        }
    }
}

/// One Mist organisation.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MistOrgConfig {
    /// The webhook's `secret`: deliveries must carry its HMAC-SHA256 signature. Webhooks of an
    /// org without one are refused.
    pub webhook_secret: Secret,
    /// Also accept the legacy HMAC-SHA1 signature when the v2 header is absent.
    pub allow_legacy_signature: bool,
    /// API token for polling statistics; empty disables polling for this org.
    pub api_token: Secret,
    /// Sites to poll; empty polls every site of the org.
    pub sites: Vec<String>,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Logging.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// Format of log lines.
    pub format: LogFormat,
    /// `tracing` filter directives, e.g. `info,callsight_kafka=debug`; `RUST_LOG` overrides it.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Text,
            filter: "info".into(),
        }
    }
}

/// Graceful shutdown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShutdownConfig {
    /// After SIGTERM or ctrl-c: how long to drain, flush and commit before exiting anyway.
    /// Keep it below Kubernetes' `terminationGracePeriodSeconds`.
    #[serde(with = "humantime_serde")]
    pub drain_timeout: Duration,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        ShutdownConfig {
            drain_timeout: Duration::from_secs(20),
        }
    }
}

/// Microsoft Graph and Entra endpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GraphConfig {
    /// Graph API base URL.
    pub base_url: String,
    /// Entra authority host; tokens come from `{login_url}/{tenant}/oauth2/v2.0/token`.
    pub login_url: String,
    /// Client id of callsight's multi-tenant app registration (application permission
    /// `CallRecords.Read.All`).
    pub client_id: String,
    /// The app's client secret.
    pub client_secret: Secret,
    /// Public base URL of the ingest role as Graph and administrators' browsers reach it, e.g.
    /// `https://callsight.example.com`; notification URLs and the OAuth redirect live under it.
    pub public_url: String,
    /// Bearer token the `/teams/...` admin endpoints require; empty disables them.
    pub admin_token: Secret,
    /// Lifetime asked for a callRecords subscription (Graph allows at most 4230 minutes).
    #[serde(with = "humantime_serde")]
    pub subscription_lifetime: Duration,
    /// Renew a subscription this long before it expires.
    #[serde(with = "humantime_serde")]
    pub subscription_renew_before: Duration,
    /// How long a signed OAuth `state` (from `/teams/link` to the callback) stays valid.
    #[serde(with = "humantime_serde")]
    pub link_state_ttl: Duration,
    /// Retries of a record Graph answers 404 for (not produced yet), before giving up.
    pub fetch_not_found_retries: u32,
    /// First wait before retrying a fetch (404, 503, 504); it doubles each time.
    #[serde(with = "humantime_serde")]
    pub fetch_retry_base: Duration,
    /// Sessions per page asked of Graph (`Prefer: odata.maxpagesize`), at most 60.
    pub page_size: u32,
    /// Call records the fetcher fetches at once.
    pub fetch_concurrency: usize,
    /// How long the fetcher remembers the versions it published (a repeat within this time is
    /// skipped without a second publication).
    #[serde(with = "humantime_serde")]
    pub version_memory: Duration,
    /// How often the subscription manager checks every tenant's subscription.
    #[serde(with = "humantime_serde")]
    pub manage_interval: Duration,
    /// How far back a backfill lists call records (by start time) before the moment
    /// notifications may have been lost, to catch calls that started earlier and ended later.
    #[serde(with = "humantime_serde")]
    pub backfill_window: Duration,
    /// A notification delivery not acknowledged by the broker within this is answered 503, so
    /// that Graph (which waits 3 s) retries rather than flags the endpoint slow.
    #[serde(with = "humantime_serde")]
    pub webhook_deadline: Duration,
    /// Tenants declared in configuration, by tenant GUID (they need no OAuth linking).
    pub tenants: BTreeMap<String, StaticTenantConfig>,
}

impl Default for GraphConfig {
    fn default() -> Self {
        GraphConfig {
            base_url: "https://graph.microsoft.com/v1.0".into(),
            login_url: "https://login.microsoftonline.com".into(),
            client_id: String::new(),
            client_secret: Secret::default(),
            public_url: String::new(),
            admin_token: Secret::default(),
            subscription_lifetime: Duration::from_secs(4230 * 60),
            subscription_renew_before: Duration::from_secs(24 * 3600),
            link_state_ttl: Duration::from_secs(600),
            fetch_not_found_retries: 8,
            fetch_retry_base: Duration::from_secs(30),
            page_size: 60,
            fetch_concurrency: 32,
            version_memory: Duration::from_secs(24 * 3600),
            manage_interval: Duration::from_secs(60),
            backfill_window: Duration::from_secs(6 * 3600),
            webhook_deadline: Duration::from_millis(2500),
            tenants: BTreeMap::new(),
        }
    }
}

/// A tenant declared in configuration.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StaticTenantConfig {
    /// Organization (Mist-style org id) the tenant's calls belong to.
    pub org_id: String,
    /// Keep participants' clear identities, sealed with the tenant key.
    pub keep_identity: bool,
    /// Client id of an app registration of the tenant's own; empty uses `graph.client_id`.
    pub client_id: String,
    /// That app's secret.
    pub client_secret: Secret,
}

/// Whether clear identities may be kept (sealed) at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrivacyMode {
    /// Keep the clear identity, sealed with the tenant key, for tenants that opted in.
    #[default]
    Sealed,
    /// Never keep it, whatever a tenant chose (HIPAA-bound organisations).
    Strict,
}

/// Privacy at the source.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrivacyConfig {
    /// `sealed` or `strict`.
    pub mode: PrivacyMode,
    /// 256-bit master key as 64 hex digits (secret): wraps tenant keys and derives the keys of
    /// configured tenants. Required once a tenant is linked or configured.
    pub master_key: Secret,
}

/// Event-time processing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProcessorConfig {
    /// How much network history the processor keeps (call records arrive hours late).
    #[serde(with = "humantime_serde")]
    pub retention: Duration,
    /// How late telemetry may arrive and still count; the watermark trails the newest event by
    /// this much.
    #[serde(with = "humantime_serde")]
    pub allowed_lateness: Duration,
    /// Extra wait after a leg's end has passed the watermark, so its windows are complete.
    #[serde(with = "humantime_serde")]
    pub settle_margin: Duration,
    /// Wall-clock bound after which a leg is evaluated with what there is, marked partial.
    #[serde(with = "humantime_serde")]
    pub max_wait: Duration,
    /// Directory of the processor's RocksDB state.
    pub state_dir: PathBuf,
    /// History before a leg from which its entities' usual values (baselines) are taken.
    #[serde(with = "humantime_serde")]
    pub baseline_history: Duration,
    /// Slices that history is cut into; a baseline is the median over the slices with data.
    pub baseline_slices: u32,
    /// RocksDB block cache shared by every column family, bytes.
    pub block_cache_bytes: usize,
    /// RocksDB memtable budget shared by every column family, bytes.
    pub write_buffer_bytes: usize,
    /// Records taken from Kafka and applied in one RocksDB write batch, at most.
    pub batch_records: usize,
    /// Threads a batch's partitions are decoded and applied on, side by side (one partition
    /// per thread at a time); 0: one per CPU available to the process (its cgroup quota
    /// counts).
    pub apply_threads: usize,
    /// How often legs that waited `max_wait` are looked for (wall clock).
    #[serde(with = "humantime_serde")]
    pub tick_interval: Duration,
    /// Kafka transactions: when set, each batch's outputs and the input offsets after it are
    /// committed in one transaction under this `transactional.id` (unique and stable per
    /// processor instance, e.g. the StatefulSet pod's name). Unset: the idempotent producer and
    /// the outbox, committing offsets after the outputs were acknowledged.
    pub transactional_id: Option<String>,
}

impl ProcessorConfig {
    /// The threads batches are applied on: `apply_threads`, or one per available CPU.
    pub fn apply_threads(&self) -> usize {
        match self.apply_threads {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        }
    }
}

impl Default for ProcessorConfig {
    fn default() -> Self {
        ProcessorConfig {
            retention: Duration::from_secs(6 * 3600),
            allowed_lateness: Duration::from_secs(120),
            settle_margin: Duration::from_secs(60),
            max_wait: Duration::from_secs(600),
            state_dir: PathBuf::from("state"),
            baseline_history: Duration::from_secs(2 * 3600),
            baseline_slices: 8,
            block_cache_bytes: 128 << 20,
            write_buffer_bytes: 128 << 20,
            batch_records: 8192,
            apply_threads: 0,
            tick_interval: Duration::from_secs(5),
            transactional_id: None,
        }
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

impl Config {
    /// Loads defaults < `file` < the process environment, then validates.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let vars: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX))
            .collect();
        let pairs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Self::load_with_env(file, &pairs)
    }

    /// Like [`Config::load`], with the environment given as pairs. A variable's value is taken
    /// as written for a key that holds text (a secret, an id, a librdkafka property: a token of
    /// digits stays text), and parsed (number, boolean, list) for the other keys.
    pub fn load_with_env(file: Option<&Path>, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: Vec<(String, String)> = env
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix(ENV_PREFIX)
                    .map(|k| (k.replace("__", ".").to_lowercase(), v.to_string()))
            })
            .collect();
        let mut figment = Figment::new();
        for (key, value) in vars {
            let value = if holds_text(&key) {
                figment::value::Value::from(value)
            } else {
                parse_env_value(&value)
            };
            figment = figment.merge(figment::providers::Serialized::global(&key, value));
        }
        Self::load_from(file, figment)
    }

    fn load_from(
        file: Option<&Path>,
        overrides: impl figment::Provider,
    ) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError::MissingFile(path.to_path_buf()));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        let config: Config = figment
            .merge(overrides)
            .extract()
            .map_err(|e| ConfigError::Load(describe_figment_error(e)))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks values that parse but do not make sense; every problem names its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        let mut bad = |key: &str, problem: String| {
            problems.push(Problem {
                key: key.to_string(),
                problem,
            })
        };

        if !self.kafka.embedded() {
            for broker in self.kafka.brokers.split(',') {
                let broker = broker.trim();
                let valid = broker
                    .rsplit_once(':')
                    .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
                if !valid {
                    bad(
                        "kafka.brokers",
                        format!(
                            "{broker:?} is not host:port (leave empty for the embedded broker)"
                        ),
                    );
                }
            }
        }
        if self.kafka.group_id.trim().is_empty() {
            bad("kafka.group_id", "must not be empty".into());
        }
        if self.kafka.consumer_buffer == 0 {
            bad("kafka.consumer_buffer", "must be at least 1".into());
        }
        if self.kafka.replication_factor < 1 {
            bad("kafka.replication_factor", "must be at least 1".into());
        }
        if !(1..=16).contains(&self.kafka.embedded_brokers) {
            bad("kafka.embedded_brokers", "must be between 1 and 16".into());
        }
        if self.kafka.session_timeout < Duration::from_secs(1) {
            bad("kafka.session_timeout", "must be at least 1s".into());
        }
        if self.kafka.delivery_timeout <= self.kafka.linger {
            bad(
                "kafka.delivery_timeout",
                "must be longer than kafka.linger".into(),
            );
        }

        let topics = self.topics.all();
        for (key, topic) in &topics {
            if let Err(problem) = check_topic_name(&topic.name) {
                bad(&format!("topics.{key}.name"), problem);
            }
            if topic.partitions < 1 {
                bad(
                    &format!("topics.{key}.partitions"),
                    "must be at least 1".into(),
                );
            }
        }
        for (i, (key, topic)) in topics.iter().enumerate() {
            if let Some((other, _)) = topics[..i].iter().find(|(_, t)| t.name == topic.name) {
                bad(
                    &format!("topics.{key}.name"),
                    format!("{:?} is also the name of topics.{other}", topic.name),
                );
            }
        }
        if self.topics.legs.partitions != self.topics.telemetry.partitions {
            bad(
                "topics.legs.partitions",
                format!(
                    "must equal topics.telemetry.partitions ({}): legs and telemetry are co-partitioned by org|site",
                    self.topics.telemetry.partitions
                ),
            );
        }
        if self.topics.dead_letter_suffix.is_empty()
            || check_topic_name(&format!("x{}", self.topics.dead_letter_suffix)).is_err()
        {
            bad(
                "topics.dead_letter_suffix",
                "must be a non-empty run of letters, digits, '.', '_' or '-'".into(),
            );
        }
        if self.topics.dead_letter_partitions < 1 {
            bad("topics.dead_letter_partitions", "must be at least 1".into());
        }

        if self.codec.framing == FramingConfig::Confluent
            && self.codec.schema_registry_url.is_none()
        {
            bad(
                "codec.schema_registry_url",
                "is required when codec.framing is confluent".into(),
            );
        }
        if let Some(url) = &self.codec.schema_registry_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            bad(
                "codec.schema_registry_url",
                format!("{url:?} is not an http(s) URL"),
            );
        }
        for (key, url) in [
            ("graph.base_url", &self.graph.base_url),
            ("graph.login_url", &self.graph.login_url),
        ] {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                bad(key, format!("{url:?} is not an http(s) URL"));
            }
        }

        if self.ingest.max_body_bytes < 1024 {
            bad("ingest.max_body_bytes", "must be at least 1024".into());
        }
        if self.ingest.max_in_flight == 0 {
            bad("ingest.max_in_flight", "must be at least 1".into());
        }
        if !(self.ingest.mist.api_url.starts_with("http://")
            || self.ingest.mist.api_url.starts_with("https://"))
        {
            bad(
                "ingest.mist.api_url",
                format!("{:?} is not an http(s) URL", self.ingest.mist.api_url),
            );
        }
        if self.ingest.mist.poll_interval < Duration::from_secs(1) {
            bad("ingest.mist.poll_interval", "must be at least 1s".into());
        }
        if self.ingest.listen == self.admin.listen && self.ingest.listen.port() != 0 {
            bad("ingest.listen", "must differ from admin.listen".into());
        }
        let g = &self.graph;
        let web_url = |u: &str| u.starts_with("http://") || u.starts_with("https://");
        if !(g.public_url.is_empty() || web_url(&g.public_url)) {
            bad(
                "graph.public_url",
                format!("{:?} is not an http(s) URL", g.public_url),
            );
        }
        if !(1..=60).contains(&g.page_size) {
            bad("graph.page_size", "must be between 1 and 60".into());
        }
        if g.subscription_lifetime < Duration::from_secs(45 * 60)
            || g.subscription_lifetime > Duration::from_secs(4230 * 60)
        {
            bad(
                "graph.subscription_lifetime",
                "must be between 45m and 4230m (Graph's limits for callRecords)".into(),
            );
        }
        if g.subscription_renew_before >= g.subscription_lifetime {
            bad(
                "graph.subscription_renew_before",
                "must be shorter than graph.subscription_lifetime".into(),
            );
        }
        if g.fetch_concurrency == 0 {
            bad("graph.fetch_concurrency", "must be at least 1".into());
        }
        if g.manage_interval < Duration::from_millis(100) {
            bad("graph.manage_interval", "must be at least 100ms".into());
        }
        if g.webhook_deadline.is_zero() || g.webhook_deadline > Duration::from_secs(3) {
            bad(
                "graph.webhook_deadline",
                "must be between 1ms and 3s (Graph waits 3 s for an answer)".into(),
            );
        }
        for (tenant, t) in &g.tenants {
            if t.org_id.is_empty() {
                bad(
                    &format!("graph.tenants.{tenant}.org_id"),
                    "must not be empty".into(),
                );
            }
            if t.client_id.is_empty() != t.client_secret.is_empty() {
                bad(
                    &format!("graph.tenants.{tenant}.client_secret"),
                    "client_id and client_secret go together".into(),
                );
            }
        }
        let mut orgs = std::collections::BTreeMap::new();
        for (tenant, t) in &g.tenants {
            if let Some(other) = orgs.insert(&t.org_id, tenant) {
                bad(
                    &format!("graph.tenants.{tenant}.org_id"),
                    format!("{:?} is also the org of tenant {other}", t.org_id),
                );
            }
        }
        let master = self.privacy.master_key.expose();
        let hex_256 = master.len() == 64 && master.chars().all(|c| c.is_ascii_hexdigit());
        if !(master.is_empty() || hex_256) {
            bad(
                "privacy.master_key",
                "must be 64 hex digits (256 bits)".into(),
            );
        }
        if !g.tenants.is_empty() && master.is_empty() {
            bad(
                "privacy.master_key",
                "is required when graph.tenants declares tenants".into(),
            );
        }
        if self.shutdown.drain_timeout.is_zero() {
            bad("shutdown.drain_timeout", "must be longer than 0s".into());
        }
        if self.processor.retention < Duration::from_secs(3600) {
            bad(
                "processor.retention",
                "must be at least 1h: call records arrive long after the call".into(),
            );
        }
        if self.processor.baseline_history >= self.processor.retention {
            bad(
                "processor.baseline_history",
                "must be shorter than processor.retention".into(),
            );
        }
        let min_slices = callsight_rca::evidence::BASELINE_MIN_SLICES;
        if (self.processor.baseline_slices as usize) < min_slices {
            bad(
                "processor.baseline_slices",
                format!(
                    "must be at least {min_slices}: a baseline needs that many slices with data"
                ),
            );
        }
        if self.processor.tick_interval.is_zero() {
            bad("processor.tick_interval", "must be longer than 0s".into());
        }
        if self
            .processor
            .transactional_id
            .as_deref()
            .is_some_and(|id| id.trim().is_empty())
        {
            bad(
                "processor.transactional_id",
                "must not be empty when set".into(),
            );
        }
        if self.processor.batch_records == 0 {
            bad("processor.batch_records", "must be at least 1".into());
        }
        if self.processor.block_cache_bytes < (1 << 20)
            || self.processor.write_buffer_bytes < (1 << 20)
        {
            bad(
                "processor.block_cache_bytes",
                "the block cache and write buffers need at least 1 MiB each".into(),
            );
        }
        if self.processor.allowed_lateness >= self.processor.retention {
            bad(
                "processor.allowed_lateness",
                "must be shorter than processor.retention".into(),
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

        for (key, problem) in self
            .classification
            .problems("classification")
            .into_iter()
            .chain(self.rca.problems("rca"))
        {
            bad(&key, problem);
        }

        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }

    /// A copy with every secret replaced by `<redacted>`, for printing.
    pub fn redacted(&self) -> Config {
        const REDACTED: &str = "<redacted>";
        let mut copy = self.clone();
        for (key, value) in copy.kafka.properties.iter_mut() {
            let key = key.to_lowercase();
            if ["password", "secret", "key"]
                .iter()
                .any(|s| key.contains(s))
            {
                *value = REDACTED.into();
            }
        }
        for secret in [
            &mut copy.codec.schema_registry_password,
            &mut copy.ingest.telemetry_token,
            &mut copy.graph.client_secret,
            &mut copy.graph.admin_token,
            &mut copy.privacy.master_key,
        ]
        .into_iter()
        .chain(
            copy.ingest
                .mist
                .orgs
                .values_mut()
                .flat_map(|org| [&mut org.webhook_secret, &mut org.api_token]),
        )
        .chain(
            copy.graph
                .tenants
                .values_mut()
                .map(|t| &mut t.client_secret),
        ) {
            if !secret.is_empty() {
                *secret = Secret(REDACTED.into());
            }
        }
        copy
    }

    /// The configuration as TOML, secrets redacted: what `callsight config print` shows.
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string(&self.redacted()).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }
}

impl TopicsConfig {
    /// Every topic with its configuration key, in a fixed order.
    pub fn all(&self) -> Vec<(&'static str, &TopicConfig)> {
        vec![
            ("notifications", &self.notifications),
            ("legs", &self.legs),
            ("telemetry", &self.telemetry),
            ("inventory", &self.inventory),
            ("links", &self.links),
            ("verdicts", &self.verdicts),
            ("alerts", &self.alerts),
            ("control", &self.control),
        ]
    }

    /// The dead-letter topic of a topic.
    pub fn dead_letter_topic(&self, topic: &str) -> String {
        format!("{topic}{}", self.dead_letter_suffix)
    }
}

/// Kafka's rules for topic names.
fn check_topic_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 249 {
        return Err("must be 1 to 249 characters".into());
    }
    if name == "." || name == ".." {
        return Err("must not be . or ..".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "{name:?} contains {c:?}; use letters, digits, '.', '_' and '-'"
        ));
    }
    Ok(())
}

/// Environment values are typed the way figment types them: numbers, booleans, else strings.
/// Whether the dotted configuration `key` holds text: a string in the defaults (with an entry
/// in each map of named sections), or any librdkafka property.
fn holds_text(key: &str) -> bool {
    static TEXT_KEYS: std::sync::OnceLock<std::collections::BTreeSet<String>> =
        std::sync::OnceLock::new();
    let keys = TEXT_KEYS.get_or_init(|| {
        let mut sample = Config::default();
        sample
            .ingest
            .mist
            .orgs
            .insert("*".into(), Default::default());
        sample.graph.tenants.insert("*".into(), Default::default());
        sample.codec.schema_registry_url = Some(String::new());
        sample.codec.schema_registry_username = Some(String::new());
        sample.processor.transactional_id = Some(String::new());
        let mut keys = std::collections::BTreeSet::new();
        fn walk(
            prefix: &str,
            value: &serde_json::Value,
            keys: &mut std::collections::BTreeSet<String>,
        ) {
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
        if let Ok(json) = serde_json::to_value(&sample) {
            walk("", &json, &mut keys);
        }
        keys
    });
    let parts: Vec<&str> = key.split('.').collect();
    let normalised = match parts.as_slice() {
        ["kafka", "properties", _] => return true,
        ["ingest", "mist", "orgs", _, rest @ ..] => {
            format!("ingest.mist.orgs.*.{}", rest.join("."))
        }
        ["graph", "tenants", _, rest @ ..] => format!("graph.tenants.*.{}", rest.join(".")),
        _ => key.to_string(),
    };
    keys.contains(&normalised)
}

fn parse_env_value(value: &str) -> figment::value::Value {
    value
        .parse::<figment::value::Value>()
        .unwrap_or_else(|_| figment::value::Value::from(value.to_string()))
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
