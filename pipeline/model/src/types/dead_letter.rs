//! `callsight.DeadLetter`: a record callsight could not process, kept with the reason.

use serde::{Deserialize, Serialize};

/// One Kafka record header (`callsight.RecordHeader`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordHeader {
    /// Header key.
    pub key: String,
    /// Header value; `None` when the header has none.
    #[serde(with = "apache_avro::serde::bytes_opt")]
    pub value: Option<Vec<u8>>,
}

/// A record callsight could not process (topic `<topic>.dlq`, key the original key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadLetter {
    /// Topic (or HTTP endpoint) the record came from.
    pub source_topic: String,
    /// Source partition.
    pub partition: Option<i32>,
    /// Source offset.
    pub offset: Option<i64>,
    /// Original key.
    #[serde(with = "apache_avro::serde::bytes_opt")]
    pub key: Option<Vec<u8>>,
    /// The raw bytes, unchanged.
    #[serde(with = "apache_avro::serde::bytes")]
    pub payload: Vec<u8>,
    /// The original record's headers, in order.
    #[serde(default)]
    pub headers: Vec<RecordHeader>,
    /// Closed set of error kinds (safe as a metric label).
    pub error_kind: String,
    /// The error, in words.
    pub error: String,
    /// Stage that failed: ingest, fetch, process.
    pub stage: String,
    /// When it failed, epoch ms.
    pub failed_at: i64,
}
