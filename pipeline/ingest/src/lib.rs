//! callsight's ingest role: the HTTP endpoints that take network telemetry in, the Mist
//! statistics poller, and (from `callsight-teams`) the Graph webhook and the tenant linking
//! endpoints on the same listener.
//!
//! Layout:
//! - [`http`]: `POST /telemetry/mist/{org}`, `POST /telemetry`, `GET /telemetry/schema`.
//! - [`sink`]: producing to `net.telemetry` and `net.inventory` with bounded in-flight
//!   records; rejects to the dead-letter topic.
//! - [`mist_poller`]: polling the Mist REST API for statistics.
//! - [`metrics`]: ingest metric families.

pub mod http;
pub mod metrics;
pub mod mist_poller;
pub mod sink;

use callsight_core::Config;
use callsight_core::codec::Codec;
use callsight_core::metrics::Metrics;
use callsight_core::shutdown::Shutdown;
use callsight_kafka::dead_letter::DeadLetters;
use callsight_kafka::{KafkaMetrics, Producer};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

/// A running ingest role.
pub struct Ingest {
    /// Where the endpoints listen.
    pub addr: SocketAddr,
    /// Where Graph and browsers reach them: `graph.public_url`, else `http://{addr}` (with
    /// `localhost` for an unspecified address).
    pub public_url: String,
}

/// Something the ingest role could not start with.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A listener or client could not be created.
    #[error("{0}")]
    Io(String),
}

/// Starts the endpoints (and the poller, when configured) on the cluster at `bootstrap`; they
/// run until `shutdown.token` is cancelled, and in-flight requests finish first.
pub async fn start(
    config: &Config,
    bootstrap: &str,
    metrics: &Metrics,
    kafka_metrics: Arc<KafkaMetrics>,
    shutdown: &Shutdown,
) -> Result<Ingest, StartError> {
    let ingest_metrics =
        metrics::IngestMetrics::register(metrics).map_err(|e| StartError::Io(e.to_string()))?;
    let producer = Producer::new(&config.kafka, bootstrap, kafka_metrics.clone())
        .map_err(|e| StartError::Io(format!("Kafka producer: {e}")))?;
    let codec = Arc::new(Codec::new(&config.codec).map_err(|e| StartError::Io(e.to_string()))?);
    let kafka_metrics_for_teams = kafka_metrics.clone();
    let dead_letters = DeadLetters::new(
        producer.clone(),
        codec.clone(),
        &config.topics.dead_letter_suffix,
        kafka_metrics,
    );
    let sink = sink::Sink::new(
        producer.clone(),
        codec,
        dead_letters,
        &config.topics,
        config.ingest.max_in_flight,
        config.ingest.overload_wait,
        ingest_metrics.clone(),
    );
    let state = Arc::new(http::IngestState {
        sink,
        config: config.ingest.clone(),
        ndjson: Mutex::new(callsight_telemetry::ndjson::Parser::new()),
        metrics: ingest_metrics.clone(),
    });
    let listener = TcpListener::bind(config.ingest.listen).await.map_err(|e| {
        StartError::Io(format!(
            "ingest: cannot listen on {}: {e}",
            config.ingest.listen
        ))
    })?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError::Io(e.to_string()))?;
    let public_url = if config.graph.public_url.is_empty() {
        // Listening on every interface: this machine is reachable as localhost.
        if addr.ip().is_unspecified() {
            format!("http://localhost:{}", addr.port())
        } else {
            format!("http://{addr}")
        }
    } else {
        config.graph.public_url.trim_end_matches('/').to_string()
    };
    let teams = callsight_teams::ingest_routes(
        config,
        bootstrap,
        metrics,
        kafka_metrics_for_teams,
        &public_url,
        shutdown,
    )
    .await
    .map_err(|e| StartError::Io(e.to_string()))?;
    let router = http::router(state.clone()).merge(teams);
    let token = shutdown.token.clone();
    shutdown.tracker.spawn(async move {
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(token.cancelled_owned())
            .await
        {
            tracing::error!(error = %e, "ingest server failed");
        }
    });
    if config.ingest.mist.poll {
        let (poller_state, mist, token) = (
            state.clone(),
            config.ingest.mist.clone(),
            shutdown.token.clone(),
        );
        shutdown
            .tracker
            .spawn(mist_poller::run(mist, poller_state, token));
    }
    // Flush what is queued when the process drains.
    let token = shutdown.token.clone();
    let drain = config.shutdown.drain_timeout;
    shutdown.tracker.spawn(async move {
        token.cancelled().await;
        let _ = tokio::task::spawn_blocking(move || producer.flush(drain)).await;
    });
    Ok(Ingest { addr, public_url })
}
