//! Starting roles: `callsight run` starts every role in one process (the Kafka cluster, embedded
//! or configured, its topics, the admin server, ingest with the Graph webhook and linking
//! endpoints, fetch with the subscription manager's election, and the processor); `callsight
//! ingest`, `callsight fetch` and `callsight process` start one role each with the admin server.

use anyhow::Context as _;
use callsight_core::Config;
use callsight_core::admin;
use callsight_core::metrics::Metrics;
use callsight_core::readiness::Readiness;
use callsight_core::shutdown::Shutdown;
use callsight_kafka::KafkaMetrics;
use callsight_kafka::cluster::Cluster;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// How often readiness re-checks that the cluster answers.
const BROKER_PROBE_INTERVAL: Duration = Duration::from_secs(10);

/// Which roles a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    /// The ingest endpoints (telemetry, the Graph webhook, linking) and the Mist poller.
    pub ingest: bool,
    /// The fetcher and the subscription manager's election.
    pub fetch: bool,
    /// The stateful processor.
    pub process: bool,
}

impl Roles {
    /// Every role (`callsight run`).
    pub const ALL: Roles = Roles {
        ingest: true,
        fetch: true,
        process: true,
    };
    /// Only ingest (`callsight ingest`).
    pub const INGEST: Roles = Roles {
        ingest: true,
        fetch: false,
        process: false,
    };
    /// Only fetch (`callsight fetch`).
    pub const FETCH: Roles = Roles {
        ingest: false,
        fetch: true,
        process: false,
    };
    /// Only the processor (`callsight process`).
    pub const PROCESS: Roles = Roles {
        ingest: false,
        fetch: false,
        process: true,
    };
}

/// A started process: where it listens, and what keeps it alive.
pub struct Running {
    /// Address of the admin server.
    pub admin_addr: SocketAddr,
    /// Address of the ingest endpoints, when the role runs.
    pub ingest_addr: Option<SocketAddr>,
    /// Where Graph and browsers reach the ingest endpoints (`graph.public_url`, else the
    /// in-process ingest address).
    pub public_url: String,
    /// `bootstrap.servers` of the cluster in use.
    pub bootstrap: String,
    /// The broker runs inside this process.
    pub embedded: bool,
    /// The process's metrics.
    pub metrics: Metrics,
    /// The process's readiness.
    pub readiness: Readiness,
    /// Holds the embedded broker (if any) until the process stops.
    cluster: Cluster,
}

/// Starts `roles`; they run until `shutdown.token` is cancelled.
pub async fn start(config: &Config, roles: Roles, shutdown: &Shutdown) -> anyhow::Result<Running> {
    let metrics = Metrics::new();
    let readiness = Readiness::new();
    readiness.register("broker", "connecting");
    readiness.register("topics", "not checked yet");

    let listener = TcpListener::bind(config.admin.listen)
        .await
        .with_context(|| format!("admin server: cannot listen on {}", config.admin.listen))?;
    let admin_addr = listener.local_addr()?;
    shutdown.tracker.spawn({
        let (metrics, readiness, token) =
            (metrics.clone(), readiness.clone(), shutdown.token.clone());
        async move {
            if let Err(e) = admin::serve(listener, metrics, readiness, token).await {
                tracing::error!(error = %e, "admin server failed");
            }
        }
    });

    let cluster = Cluster::connect(&config.kafka, &config.topics)
        .await
        .context("Kafka")?;
    readiness.set(
        "topics",
        true,
        format!("{} topics present", cluster.specs().len()),
    );
    let bootstrap = cluster.bootstrap().to_string();
    let kafka_metrics = Arc::new(KafkaMetrics::register(&metrics)?);
    let (ingest_addr, public_url) = if roles.ingest {
        let ingest = callsight_ingest::start(
            config,
            &bootstrap,
            &metrics,
            kafka_metrics.clone(),
            shutdown,
        )
        .await?;
        (Some(ingest.addr), ingest.public_url)
    } else {
        (None, config.graph.public_url.clone())
    };
    if roles.fetch {
        callsight_teams::start_fetch(
            config,
            &bootstrap,
            &metrics,
            kafka_metrics.clone(),
            &readiness,
            &public_url,
            shutdown,
        )
        .await?;
    }
    if roles.process {
        callsight_processor::start(
            config,
            &bootstrap,
            &metrics,
            kafka_metrics.clone(),
            &readiness,
            shutdown,
        )
        .await?;
    }
    shutdown.tracker.spawn(probe_broker(
        config.kafka.clone(),
        bootstrap.clone(),
        readiness.clone(),
        shutdown.token.clone(),
    ));

    Ok(Running {
        admin_addr,
        ingest_addr,
        public_url,
        embedded: cluster.is_embedded(),
        bootstrap,
        metrics,
        readiness,
        cluster,
    })
}

impl Running {
    /// The Kafka cluster in use.
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }
}

/// Keeps the `broker` readiness condition true while the cluster answers metadata requests.
async fn probe_broker(
    kafka: callsight_core::config::KafkaConfig,
    bootstrap: String,
    readiness: Readiness,
    token: tokio_util::sync::CancellationToken,
) {
    loop {
        let (k, b) = (kafka.clone(), bootstrap.clone());
        let result =
            tokio::task::spawn_blocking(move || Cluster::probe(&k, &b, Duration::from_secs(5)))
                .await;
        match result {
            Ok(Ok(topics)) => {
                readiness.set("broker", true, format!("{bootstrap}, {topics} topics"))
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "the Kafka cluster does not answer");
                readiness.set("broker", false, e);
            }
            Err(e) => readiness.set("broker", false, format!("probe failed: {e}")),
        }
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tokio::time::sleep(BROKER_PROBE_INTERVAL) => {}
        }
    }
}
