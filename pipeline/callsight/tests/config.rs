//! Configuration layering, validation and redaction.

use callsight::Config;
use callsight_core::codec::FramingConfig;
use callsight_core::config::ConfigError;
use callsight_kafka::config::Compression;
use std::io::Write;
use std::time::Duration;

fn file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().expect("temp file");
    f.write_all(text.as_bytes()).expect("write");
    f
}

#[test]
fn defaults_are_valid_and_use_the_embedded_broker() {
    let config = Config::load_with_env(None, &[]).expect("defaults load");
    assert!(config.kafka.embedded());
    assert_eq!(
        config.topics.legs.partitions,
        config.topics.telemetry.partitions
    );
    assert_eq!(config.codec.framing, FramingConfig::SingleObject);
    config.validate().expect("defaults validate");
}

#[test]
fn file_overrides_defaults_and_environment_overrides_the_file() {
    let f = file(
        r#"
[kafka]
brokers = "kafka-0:9092,kafka-1:9092"
linger = "50ms"
compression = "gzip"

[kafka.properties]
"security.protocol" = "SASL_SSL"

[topics.legs]
name = "prod.calls.legs"
partitions = 24

[topics.telemetry]
name = "prod.net.telemetry"
partitions = 24
retention = "2days"
"#,
    );
    let config = Config::load_with_env(
        Some(f.path()),
        &[
            ("CALLSIGHT__KAFKA__LINGER", "5ms"),
            ("CALLSIGHT__ADMIN__LISTEN", "127.0.0.1:9999"),
            ("CALLSIGHT__KAFKA__PROPERTIES__SASL_PASSWORD", "hunter2"),
            ("UNRELATED", "ignored"),
        ],
    )
    .expect("loads");
    assert_eq!(config.kafka.brokers, "kafka-0:9092,kafka-1:9092");
    assert_eq!(config.kafka.linger, Duration::from_millis(5));
    assert_eq!(config.kafka.compression, Compression::Gzip);
    assert_eq!(config.topics.legs.name, "prod.calls.legs");
    assert_eq!(config.topics.legs.partitions, 24);
    assert_eq!(config.admin.listen.port(), 9999);
    let props = config.kafka.librdkafka_properties();
    assert_eq!(props["security.protocol"], "SASL_SSL");
    assert_eq!(props["sasl.password"], "hunter2");
}

#[test]
fn an_unknown_key_in_the_file_is_rejected_by_name() {
    let f = file("[kafka]\nbrokerz = \"x:1\"\n");
    let err = Config::load_with_env(Some(f.path()), &[]).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ConfigError::Load(_)));
    assert!(text.contains("brokerz"), "{text}");
}

#[test]
fn an_unknown_key_in_the_environment_is_rejected_by_name() {
    let err = Config::load_with_env(None, &[("CALLSIGHT__KAFKA__LINGERING", "5ms")]).unwrap_err();
    assert!(err.to_string().contains("lingering"), "{err}");
}

#[test]
fn a_wrong_type_names_the_key() {
    let err = Config::load_with_env(None, &[("CALLSIGHT__TOPICS__LEGS__PARTITIONS", "many")])
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("topics.legs.partitions"), "{text}");
}

#[test]
fn a_missing_file_is_an_error() {
    let err = Config::load_with_env(
        Some(std::path::Path::new("/nonexistent/callsight.toml")),
        &[],
    )
    .unwrap_err();
    assert!(matches!(err, ConfigError::MissingFile(_)), "{err}");
}

#[test]
fn validation_names_every_bad_key() {
    let err = Config::load_with_env(
        None,
        &[
            ("CALLSIGHT__KAFKA__BROKERS", "no-port"),
            ("CALLSIGHT__TOPICS__LEGS__PARTITIONS", "6"),
            ("CALLSIGHT__TOPICS__ALERTS__NAME", "rca verdicts!"),
            ("CALLSIGHT__TOPICS__INVENTORY__NAME", "calls.legs"),
            ("CALLSIGHT__CODEC__FRAMING", "confluent"),
            ("CALLSIGHT__CLASSIFICATION__AUDIO_PACKET_LOSS_RATE", "10"),
            ("CALLSIGHT__TOPICS__TELEMETRY__RETENTION", "1h"),
        ],
    )
    .unwrap_err();
    let ConfigError::Invalid(problems) = &err else {
        panic!("expected validation problems, got {err}")
    };
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    for expected in [
        "kafka.brokers",
        "topics.legs.partitions",
        "topics.alerts.name",
        "topics.inventory.name",
        "codec.schema_registry_url",
        "classification.audio_packet_loss_rate",
        "topics.telemetry.retention",
    ] {
        assert!(
            keys.contains(&expected),
            "{expected} not reported in {keys:?}"
        );
    }
    assert!(err.to_string().contains("co-partitioned"), "{err}");
}

#[test]
fn printing_redacts_secrets() {
    let config = Config::load_with_env(
        None,
        &[
            ("CALLSIGHT__KAFKA__PROPERTIES__SASL_PASSWORD", "hunter2"),
            ("CALLSIGHT__KAFKA__PROPERTIES__SASL_USERNAME", "svc"),
            (
                "CALLSIGHT__CODEC__SCHEMA_REGISTRY_URL",
                "http://registry:8081",
            ),
            ("CALLSIGHT__CODEC__SCHEMA_REGISTRY_PASSWORD", "s3cr3t"),
        ],
    )
    .expect("loads");
    let printed = config.to_redacted_toml();
    assert!(!printed.contains("hunter2"), "{printed}");
    assert!(!printed.contains("s3cr3t"), "{printed}");
    assert!(printed.contains("svc"), "{printed}");
    assert!(printed.contains("<redacted>"), "{printed}");
    assert!(!format!("{config:?}").contains("s3cr3t"));
    // A statically declared tenant's app secret too.
    let mut with_tenant = config.clone();
    with_tenant.graph.tenants.insert(
        "0b6f3c2e-1d4a-4e8b-9c7d-2a1f3e5b6c7d".into(),
        callsight_teams::config::StaticTenantConfig {
            client_secret: callsight_core::config::Secret("tenant-s3cret".into()),
            ..Default::default()
        },
    );
    let printed_tenant = with_tenant.to_redacted_toml();
    assert!(
        !printed_tenant.contains("tenant-s3cret"),
        "{printed_tenant}"
    );
    // What is printed loads back (with secrets replaced).
    let f = file(&printed);
    Config::load_with_env(Some(f.path()), &[]).expect("printed configuration loads");
}

#[test]
fn environment_values_that_look_like_numbers_stay_text_where_the_key_holds_text() {
    let org = "6748cfa6-4e12-11e6-9188-0242ac110007";
    let secret_key = format!("CALLSIGHT__INGEST__MIST__ORGS__{org}__WEBHOOK_SECRET");
    let config = Config::load_with_env(
        None,
        &[
            ("CALLSIGHT__INGEST__TELEMETRY_TOKEN", "0012345"),
            ("CALLSIGHT__GRAPH__ADMIN_TOKEN", "true"),
            (secret_key.as_str(), "4242"),
            (
                "CALLSIGHT__KAFKA__PROPERTIES__ENABLE_AUTO_OFFSET_STORE",
                "false",
            ),
            ("CALLSIGHT__KAFKA__PROPERTIES__SOCKET_TIMEOUT_MS", "30000"),
            // Keys that hold numbers, booleans and lists are still parsed.
            ("CALLSIGHT__TOPICS__LEGS__PARTITIONS", "24"),
            ("CALLSIGHT__TOPICS__TELEMETRY__PARTITIONS", "24"),
            ("CALLSIGHT__KAFKA__CREATE_TOPICS", "false"),
            ("CALLSIGHT__RCA__THRESHOLDS__RSSI_DBM_P10", "-72.5"),
        ],
    )
    .expect("loads");
    assert_eq!(config.ingest.telemetry_token.expose(), "0012345");
    assert_eq!(config.graph.admin_token.expose(), "true");
    assert_eq!(config.ingest.mist.orgs[org].webhook_secret.expose(), "4242");
    let props = config.kafka.librdkafka_properties();
    assert_eq!(props["enable.auto.offset.store"], "false");
    assert_eq!(props["socket.timeout.ms"], "30000");
    assert_eq!(config.topics.legs.partitions, 24);
    assert!(!config.kafka.create_topics);
    assert_eq!(config.rca.thresholds["rssi_dbm_p10"], -72.5);
}
