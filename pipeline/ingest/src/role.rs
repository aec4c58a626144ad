//! Starting the ingest roles on a process's [`Services`]: the telemetry routes (served by the
//! binary with the Teams routes) and the Mist statistics poller, sharing one sink.

use crate::config::IngestConfig;
use crate::http::IngestState;
use crate::metrics::IngestMetrics;
use crate::sink::Sink;
use callsight_core::metrics::MetricError;
use callsight_kafka::{KafkaError, Services};
use std::sync::{Arc, Mutex};

/// Something an ingest role could not start with.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The ingest metric families could not be registered.
    #[error("registering the ingest metrics")]
    Metrics(#[from] MetricError),
    /// The Kafka producer could not be created.
    #[error("creating the Kafka producer")]
    Producer(#[source] KafkaError),
}

/// The ingest roles of a process: one sink (one producer, one bound on the records in flight)
/// for the telemetry endpoints and the Mist poller when both run in the process.
pub struct Ingest {
    sink: Sink,
    metrics: IngestMetrics,
    config: IngestConfig,
}

impl Ingest {
    /// The ingest roles' shared parts on `services`; the producer is flushed when the process
    /// drains.
    pub fn new(services: &Services, config: &IngestConfig) -> Result<Ingest, StartError> {
        let metrics = services.metrics.shared(IngestMetrics::register)?;
        let producer = services.producer().map_err(StartError::Producer)?;
        let sink = Sink::new(
            producer.clone(),
            services.codec.clone(),
            services.dead_letters(producer.clone()),
            &services.topics,
            config.max_in_flight,
            config.overload_wait,
            metrics.clone(),
        );
        let (token, drain) = (services.shutdown.token.clone(), services.drain_timeout);
        services.shutdown.tracker.spawn(async move {
            token.cancelled().await;
            let _ = tokio::task::spawn_blocking(move || producer.flush(drain)).await;
        });
        Ok(Ingest {
            sink,
            metrics,
            config: config.clone(),
        })
    }

    /// The telemetry endpoints (`/telemetry`, `/telemetry/mist/{org}`, `/telemetry/schema`),
    /// ready to be served; a request is answered once what it brought is acknowledged by the
    /// broker.
    pub fn routes(&self) -> axum::Router {
        crate::http::router(Arc::new(IngestState {
            sink: self.sink.clone(),
            config: self.config.clone(),
            ndjson: Mutex::new(callsight_telemetry::ndjson::Parser::new()),
            // Bodies parsed at once; the others wait (bounded by overload_wait).
            parsing: callsight_core::slots::BlockingSlots::new(
                self.config.parse_threads,
                self.config.overload_wait,
            ),
            metrics: self.metrics.clone(),
        }))
    }

    /// Starts polling Mist's statistics for every org with an API token, until shutdown. Run it
    /// in exactly one process of a deployment: two pollers produce every sample twice.
    pub fn start_mist_poll(&self, services: &Services) {
        services.shutdown.spawn_watched(
            "mist-poll",
            crate::mist_poll::run(
                self.config.mist.clone(),
                self.sink.clone(),
                services.shutdown.token.clone(),
            ),
        );
    }
}
