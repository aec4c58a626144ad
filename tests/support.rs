//! Helpers shared by the end-to-end tests.

use callsight::Config;
use std::time::Duration;

pub use callsight_testkit::eventually;

/// A configuration for tests: embedded broker, admin server on an ephemeral port, short
/// Kafka timeouts, small partition counts.
pub fn test_config() -> Config {
    let mut config = Config::default();
    config.admin.listen = "127.0.0.1:0".parse().expect("address");
    config.ingest.listen = "127.0.0.1:0".parse().expect("address");
    // The simulator's timeline is of a fixed day in the past.
    config.ingest.max_event_age = Duration::MAX;
    config.kafka.session_timeout = Duration::from_secs(6);
    config.kafka.linger = Duration::from_millis(1);
    config.kafka.statistics_interval = Duration::from_millis(500);
    config.topics.legs.partitions = 4;
    config.topics.telemetry.partitions = 4;
    config.topics.verdicts.partitions = 4;
    // Each process gets a RocksDB of its own (left behind in the temporary folder).
    config.processor.state_dir = tempfile::Builder::new()
        .prefix("callsight-state-")
        .tempdir()
        .expect("a temporary folder")
        .keep();
    config.validate().expect("the test configuration is valid");
    config
}

/// The repository root.
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}
