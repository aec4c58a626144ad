//! The Microsoft Teams connector at run time: from a tenant administrator linking Teams to call
//! legs on `calls.legs`.
//!
//! Layout:
//! - [`links`]: the tenant link table every replica reads from `teams.links`.
//! - [`keys`]: tenant keys in links (wrapped with the master key, rotated, destroyed).
//! - [`link_state`]: the signed, expiring OAuth `state` of a link.
//! - [`linking`]: `/teams/link`, the OAuth callback, `/teams/links`, unlinking, key rotation.
//! - [`notification`]: reading and checking Graph notification deliveries.
//! - [`webhook`]: the Graph webhook (validation handshake, notifications, lifecycle).
//! - [`control`]: instructions to the subscription manager on `callsight.control`.
//! - [`manager`]: the subscription manager (links, subscriptions, lifecycle, backfill).
//! - [`election`]: which replica manages: the owner of the control topic's one partition.
//! - [`fetcher`]: notifications to call records to call legs.
//! - [`offsets`]: committing in order what finished out of order.
//! - [`metrics`]: the connector's metric families.

pub mod control;
pub mod election;
pub mod fetcher;
pub mod keys;
pub mod link_state;
pub mod linking;
pub mod links;
pub mod manager;
pub mod metrics;
pub mod notification;
pub mod offsets;
pub mod webhook;

use callsight_core::Config;
use callsight_core::codec::Codec;
use callsight_core::config::{GraphConfig, PrivacyMode, TopicsConfig};
use callsight_core::metrics::Metrics;
use callsight_core::shutdown::Shutdown;
use callsight_graph::privacy::MasterKey;
use callsight_graph_client::{Graph, RetryPolicy, Tokens};
use callsight_kafka::{KafkaMetrics, Producer};
use links::LinkStore;
use metrics::TeamsMetrics;
use std::sync::Arc;

/// Paths of the webhook under the public URL.
pub const NOTIFICATIONS_PATH: &str = "/graph/notifications";
/// Path of the lifecycle webhook.
pub const LIFECYCLE_PATH: &str = "/graph/lifecycle";
/// Path of the OAuth callback.
pub const CALLBACK_PATH: &str = "/teams/callback";

/// Something the connector cannot start with.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Kafka, a listener or a client could not be created.
    #[error("{0}")]
    Setup(String),
}

/// What the connector's parts share in one process.
pub struct Connector {
    /// Graph settings.
    pub graph: GraphConfig,
    /// `sealed` or `strict`.
    pub privacy_mode: PrivacyMode,
    /// Topic names.
    pub topics: TopicsConfig,
    /// Public base URL of the ingest role (no trailing slash).
    pub public_url: String,
    /// Producer for notifications, control messages, links and legs.
    pub producer: Producer,
    /// Record codec.
    pub codec: Arc<Codec>,
    /// The master key, when configured.
    pub master: Option<Arc<MasterKey>>,
    /// The link table.
    pub links: Arc<LinkStore>,
    /// Metrics.
    pub metrics: TeamsMetrics,
    /// How long a `/teams` answer waits for the manager to apply the change it asked for.
    pub apply_wait: std::time::Duration,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

impl Connector {
    /// Builds the shared parts and starts following `teams.links` (until shutdown).
    pub async fn start(
        config: &Config,
        bootstrap: &str,
        metrics: &Metrics,
        kafka_metrics: Arc<KafkaMetrics>,
        public_url: &str,
        shutdown: &Shutdown,
    ) -> Result<Arc<Self>, StartError> {
        let setup = |e: String| StartError::Setup(e);
        let teams_metrics = TeamsMetrics::get(metrics).map_err(|e| setup(e.to_string()))?;
        let producer = Producer::new(&config.kafka, bootstrap, kafka_metrics.clone())
            .map_err(|e| setup(format!("Kafka producer: {e}")))?;
        let codec = Arc::new(Codec::new(&config.codec).map_err(|e| setup(e.to_string()))?);
        let master = match config.privacy.master_key.expose() {
            "" => None,
            hex => Some(Arc::new(
                MasterKey::from_hex(hex).map_err(|e| setup(format!("privacy.master_key: {e}")))?,
            )),
        };
        let links = LinkStore::new(Some(teams_metrics.clone()));
        let (handle, events) = table(config, bootstrap, &config.topics.links.name, kafka_metrics)?;
        let follower = tokio::spawn(links::follow(links.clone(), codec.clone(), events));
        let token = shutdown.token.clone();
        shutdown.tracker.spawn(async move {
            token.cancelled().await;
            follower.abort();
            let _ = tokio::task::spawn_blocking(move || drop(handle)).await;
        });
        Ok(Arc::new(Connector {
            graph: config.graph.clone(),
            privacy_mode: config.privacy.mode,
            topics: config.topics.clone(),
            public_url: public_url.trim_end_matches('/').to_string(),
            producer,
            codec,
            master,
            links,
            metrics: teams_metrics,
            apply_wait: std::time::Duration::from_secs(10),
        }))
    }

    /// A Graph client with app-only tokens (configured tenants' own credentials included)
    /// whose answers are counted.
    pub fn graph_client(&self) -> Result<Graph, StartError> {
        let http = http_client()?;
        let tokens = Tokens::new(
            http.clone(),
            &self.graph.login_url,
            &self.graph.client_id,
            self.graph.client_secret.expose(),
        );
        for (tenant, t) in &self.graph.tenants {
            if !t.client_id.is_empty() {
                tokens.set_credentials(tenant, &t.client_id, t.client_secret.expose());
            }
        }
        Ok(Graph::new(
            http,
            &self.graph.base_url,
            Arc::new(tokens),
            self.graph.page_size,
            RetryPolicy::default(),
        )
        .with_observer(self.metrics.graph_observer()))
    }

    /// Whether identities may be kept (sealed) for a tenant that opted in.
    pub fn keeps_identity(&self, opted_in: bool) -> bool {
        opted_in && self.privacy_mode == PrivacyMode::Sealed
    }
}

/// Starts the connector's ingest side: the Graph webhook and the linking endpoints, as routes
/// for the ingest server; `public_url` is where Graph and browsers reach that server.
pub async fn ingest_routes(
    config: &Config,
    bootstrap: &str,
    metrics: &Metrics,
    kafka_metrics: Arc<KafkaMetrics>,
    public_url: &str,
    shutdown: &Shutdown,
) -> Result<axum::Router, StartError> {
    let connector = Connector::start(
        config,
        bootstrap,
        metrics,
        kafka_metrics,
        public_url,
        shutdown,
    )
    .await?;
    let webhook = Arc::new(webhook::WebhookState {
        connector: connector.clone(),
        room: Arc::new(tokio::sync::Semaphore::new(config.ingest.max_in_flight)),
        max_in_flight: config.ingest.max_in_flight,
        overload_wait: config.ingest.overload_wait,
    });
    let delegated = callsight_graph_client::delegated::Delegated::new(
        http_client()?,
        &config.graph.login_url,
        &config.graph.base_url,
        &config.graph.client_id,
        config.graph.client_secret.expose(),
    );
    let linking = Arc::new(linking::LinkingState {
        connector,
        delegated,
        nonces: link_state::Nonces::default(),
    });
    Ok(webhook::router(webhook, config.ingest.max_body_bytes).merge(linking::router(linking)))
}

/// Starts the fetch role: the fetcher, and the election of the subscription manager. They run
/// until `shutdown.token` is cancelled.
pub async fn start_fetch(
    config: &Config,
    bootstrap: &str,
    metrics: &Metrics,
    kafka_metrics: Arc<KafkaMetrics>,
    readiness: &callsight_core::readiness::Readiness,
    public_url: &str,
    shutdown: &Shutdown,
) -> Result<(), StartError> {
    let connector = Connector::start(
        config,
        bootstrap,
        metrics,
        kafka_metrics.clone(),
        public_url,
        shutdown,
    )
    .await?;
    if connector.public_url.is_empty() {
        tracing::warn!("graph.public_url is not set: subscriptions cannot be created");
    }
    if connector.master.is_none() {
        tracing::warn!("privacy.master_key is not set: no tenant can be linked or fetched");
    }
    readiness.register("fetcher", "loading the link and inventory tables");
    let inventory = Arc::new(std::sync::RwLock::new(callsight_inventory::Inventory::new()));
    let (table, events) = table(
        config,
        bootstrap,
        &config.topics.inventory.name,
        kafka_metrics.clone(),
    )?;
    let (ready_tx, mut inventory_ready) = tokio::sync::watch::channel(false);
    let follower = tokio::spawn(fetcher::follow_inventory(
        inventory.clone(),
        connector.codec.clone(),
        events,
        ready_tx,
    ));

    let dead_letters = callsight_kafka::dead_letter::DeadLetters::new(
        connector.producer.clone(),
        connector.codec.clone(),
        &config.topics.dead_letter_suffix,
        kafka_metrics.clone(),
    );
    // One client, so the fetcher and the manager share the tenants' tokens and connections.
    let graph = connector.graph_client()?;
    let fetch = Arc::new(fetcher::Fetcher::new(
        connector.clone(),
        graph.clone(),
        inventory,
        config.classification.clone(),
        dead_letters,
    ));
    let manager = manager::Manager::new(connector.clone(), graph);
    let (kafka, bootstrap, token, readiness) = (
        config.kafka.clone(),
        bootstrap.to_string(),
        shutdown.token.clone(),
        readiness.clone(),
    );
    shutdown.tracker.spawn(async move {
        // Fetch only with complete tables: sites resolve from the inventory, keys from links.
        tokio::select! {
            _ = token.cancelled() => {}
            _ = async {
                connector.links.ready().await;
                let _ = inventory_ready.wait_for(|r| *r).await;
            } => {
                let elect = tokio::spawn(election::run(
                    connector.clone(),
                    manager,
                    kafka.clone(),
                    bootstrap.clone(),
                    kafka_metrics.clone(),
                    token.clone(),
                ));
                fetcher::run(fetch, kafka, bootstrap, kafka_metrics, Some(readiness), token).await;
                let _ = elect.await;
            }
        }
        follower.abort();
        let _ = tokio::task::spawn_blocking(move || drop(table)).await;
        // Legs and links still queued in the producer are flushed.
        let _ = tokio::task::spawn_blocking(move || {
            connector.producer.flush(std::time::Duration::from_secs(10))
        })
        .await;
    });
    Ok(())
}

/// Starts reading a compacted topic whole (see `callsight_kafka::table`).
fn table(
    config: &Config,
    bootstrap: &str,
    topic: &str,
    kafka_metrics: Arc<KafkaMetrics>,
) -> Result<
    (
        callsight_kafka::table::TableHandle,
        tokio::sync::mpsc::Receiver<callsight_kafka::table::TableEvent>,
    ),
    StartError,
> {
    callsight_kafka::table::start(&config.kafka, bootstrap, topic, kafka_metrics)
        .map_err(|e| StartError::Setup(format!("reading {topic}: {e}")))
}

/// The HTTP client for Graph and Entra: rustls, bounded timeouts.
pub fn http_client() -> Result<reqwest::Client, StartError> {
    reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .map_err(|e| StartError::Setup(format!("HTTP client: {e}")))
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}
