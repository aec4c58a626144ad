//! The Kafka sections of the configuration: `[kafka]` (connection and client tuning) and
//! `[topics]` (names, partition counts, retention).

use callsight_core::config::{Problem, Problems};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

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

/// Kafka connection and client tuning (`[kafka]`).
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

    /// What is wrong with the section at `prefix`.
    pub fn problems(&self, prefix: &str) -> Vec<Problem> {
        let mut p = Problems::new(prefix);
        if !self.embedded() {
            for broker in self.brokers.split(',') {
                let broker = broker.trim();
                let valid = broker
                    .rsplit_once(':')
                    .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
                if !valid {
                    p.bad(
                        "brokers",
                        format!(
                            "{broker:?} is not host:port (leave empty for the embedded broker)"
                        ),
                    );
                }
            }
        }
        if self.group_id.trim().is_empty() {
            p.bad("group_id", "must not be empty");
        }
        if self.consumer_buffer == 0 {
            p.bad("consumer_buffer", "must be at least 1");
        }
        if self.replication_factor < 1 {
            p.bad("replication_factor", "must be at least 1");
        }
        if !(1..=16).contains(&self.embedded_brokers) {
            p.bad("embedded_brokers", "must be between 1 and 16");
        }
        if self.session_timeout < Duration::from_secs(1) {
            p.bad("session_timeout", "must be at least 1s");
        }
        if self.delivery_timeout <= self.linger {
            p.bad("delivery_timeout", "must be longer than kafka.linger");
        }
        p.into_vec()
    }

    /// Hides the values of properties whose key says they are secret, for printing.
    pub fn redact(&mut self) {
        for (key, value) in self.properties.iter_mut() {
            let key = key.to_lowercase();
            if ["password", "secret", "key"]
                .iter()
                .any(|s| key.contains(s))
            {
                *value = callsight_core::config::REDACTED.into();
            }
        }
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

/// Topic names, partition counts and retention (`[topics]`). `legs` and `telemetry` must have
/// the same partition count: they are co-partitioned by `org|site`.
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

    /// What is wrong with the section at `prefix`.
    pub fn problems(&self, prefix: &str) -> Vec<Problem> {
        let mut p = Problems::new(prefix);
        let topics = self.all();
        for (key, topic) in &topics {
            if let Err(problem) = check_topic_name(&topic.name) {
                p.bad(&format!("{key}.name"), problem);
            }
            if topic.partitions < 1 {
                p.bad(&format!("{key}.partitions"), "must be at least 1");
            }
        }
        for (i, (key, topic)) in topics.iter().enumerate() {
            if let Some((other, _)) = topics[..i].iter().find(|(_, t)| t.name == topic.name) {
                p.bad(
                    &format!("{key}.name"),
                    format!("{:?} is also the name of topics.{other}", topic.name),
                );
            }
        }
        if self.legs.partitions != self.telemetry.partitions {
            p.bad(
                "legs.partitions",
                format!(
                    "must equal topics.telemetry.partitions ({}): legs and telemetry are co-partitioned by org|site",
                    self.telemetry.partitions
                ),
            );
        }
        if self.dead_letter_suffix.is_empty()
            || check_topic_name(&format!("x{}", self.dead_letter_suffix)).is_err()
        {
            p.bad(
                "dead_letter_suffix",
                "must be a non-empty run of letters, digits, '.', '_' or '-'",
            );
        }
        if self.dead_letter_partitions < 1 {
            p.bad("dead_letter_partitions", "must be at least 1");
        }
        p.into_vec()
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
