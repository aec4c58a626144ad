//! Where ingested records go: `net.telemetry` and `net.inventory`, acknowledged by the broker
//! before the sender hears back, with a bound on how many are in flight; rejects go to the
//! dead-letter topic with their error.

use crate::metrics::IngestMetrics;
use callsight_core::codec::{Codec, EncodeError};
use callsight_kafka::Producer;
use callsight_kafka::config::TopicsConfig;
use callsight_kafka::dead_letter::{DeadLetterError, DeadLetters};
use callsight_kafka::producer::ProduceError;
use callsight_model::types::DeadLetter;
use callsight_telemetry::{Record, Rejected};
use futures::future::try_join_all;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Records counted on the in-flight gauge for as long as this lives: a request cancelled while
/// its records are produced (timed out) takes them off the gauge as one that finished does.
struct InFlight {
    gauge: prometheus::IntGauge,
    records: i64,
}

impl InFlight {
    fn count(gauge: &prometheus::IntGauge, records: usize) -> InFlight {
        let records = records as i64;
        gauge.add(records);
        InFlight {
            gauge: gauge.clone(),
            records,
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.gauge.sub(self.records);
    }
}

/// Dead letters built and produced at once for one request.
const DEAD_LETTER_SLICE: usize = 1000;

/// Why records could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// Too many records in flight; try again shortly.
    #[error("overloaded: too many records in flight")]
    Overloaded,
    /// The process is shutting down.
    #[error("shutting down")]
    Closed,
    /// A record did not encode.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The broker did not acknowledge a record.
    #[error(transparent)]
    Produce(#[from] ProduceError),
    /// A reject could not be kept as a dead letter.
    #[error("keeping a reject as a dead letter")]
    DeadLetter(#[from] DeadLetterError),
}

/// Produces ingested records. Clones share the producer and the bound on records in flight.
#[derive(Clone)]
pub struct Sink {
    producer: Producer,
    codec: Arc<Codec>,
    dead_letters: DeadLetters,
    telemetry_topic: String,
    inventory_topic: String,
    dead_letter_topic: String,
    room: Arc<Semaphore>,
    max_in_flight: usize,
    overload_wait: Duration,
    metrics: IngestMetrics,
}

impl Sink {
    /// A sink producing through `producer`.
    pub fn new(
        producer: Producer,
        codec: Arc<Codec>,
        dead_letters: DeadLetters,
        topics: &TopicsConfig,
        max_in_flight: usize,
        overload_wait: Duration,
        metrics: IngestMetrics,
    ) -> Self {
        Sink {
            producer,
            codec,
            dead_letters,
            telemetry_topic: topics.telemetry.name.clone(),
            inventory_topic: topics.inventory.name.clone(),
            dead_letter_topic: topics.dead_letter_topic(&topics.telemetry.name),
            room: Arc::new(Semaphore::new(max_in_flight)),
            max_in_flight,
            overload_wait,
            metrics,
        }
    }

    /// The metrics the sink reports to.
    pub fn metrics(&self) -> &IngestMetrics {
        &self.metrics
    }

    /// Produces every record and waits for every acknowledgement. A batch larger than the
    /// in-flight bound is produced in slices of that size.
    pub async fn produce(&self, records: &[Record]) -> Result<(), SinkError> {
        for slice in records.chunks(self.max_in_flight.max(1)) {
            let _room = self.room_for(slice.len()).await?;
            let _counted = InFlight::count(&self.metrics.in_flight, slice.len());
            try_join_all(slice.iter().map(|r| self.produce_one(r))).await?;
        }
        Ok(())
    }

    async fn produce_one(&self, record: &Record) -> Result<(), SinkError> {
        let key = record.key();
        let (topic, bytes) = match record {
            Record::Sample(s) => (
                &self.telemetry_topic,
                self.codec.encode_for(&self.telemetry_topic, s).await?,
            ),
            Record::Inventory(i) => (
                &self.inventory_topic,
                self.codec.encode_for(&self.inventory_topic, i).await?,
            ),
        };
        self.producer
            .send(topic, key.as_bytes(), &bytes, &[])
            .await?;
        Ok(())
    }

    /// Keeps rejected events or lines of `source` (an endpoint) in the dead-letter topic, within
    /// the bound on records in flight.
    pub async fn keep_rejects(
        &self,
        source: &str,
        rejects: &[Rejected],
        now_ms: i64,
    ) -> Result<(), SinkError> {
        // Dead letters are records in flight too, and are built and produced a slice at a
        // time: a body of bad lines is bounded as one of good lines is, in memory as in the
        // broker's queue.
        let letter = |r: &Rejected| DeadLetter {
            source_topic: source.to_string(),
            partition: None,
            offset: Some(r.index as i64),
            key: None,
            payload: r.raw.clone(),
            headers: Vec::new(),
            error_kind: "invalid".into(),
            error: r.error.clone(),
            stage: "ingest".into(),
            failed_at: now_ms,
        };
        for slice in rejects.chunks(DEAD_LETTER_SLICE.min(self.max_in_flight).max(1)) {
            let letters: Vec<DeadLetter> = slice.iter().map(letter).collect();
            let _room = self.room_for(letters.len()).await?;
            let _counted = InFlight::count(&self.metrics.in_flight, letters.len());
            self.dead_letters
                .write_all(&self.dead_letter_topic, &letters)
                .await?;
        }
        DeadLetters::log_kept(source, rejects.len());
        Ok(())
    }

    /// Room for `n` records in flight, waiting up to `overload_wait`.
    async fn room_for(&self, n: usize) -> Result<tokio::sync::SemaphorePermit<'_>, SinkError> {
        tokio::time::timeout(self.overload_wait, self.room.acquire_many(n as u32))
            .await
            .map_err(|_| SinkError::Overloaded)?
            .map_err(|_| SinkError::Closed)
    }
}
