//! What the connector's parts share in one process: the Graph settings, the link table read
//! from `teams.links`, a producer, the codec and the master key.

use crate::config::{GraphConfig, PrivacyConfig, PrivacyMode};
use crate::link::store::{self, LinkStore};
use crate::metrics::TeamsMetrics;
use callsight_core::codec::{Codec, EncodeError};
use callsight_core::metrics::MetricError;
use callsight_graph::privacy::{KeyError, MasterKey};
use callsight_graph_client::{Graph, RetryPolicy, Tokens};
use callsight_kafka::config::TopicsConfig;
use callsight_kafka::producer::ProduceError;
use callsight_kafka::{KafkaError, Producer, Services};
use callsight_model::Record;
use std::sync::Arc;

/// Something the connector cannot start with.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The connector's metric families could not be registered.
    #[error("registering the Teams metrics")]
    Metrics(#[from] MetricError),
    /// The Kafka producer could not be created.
    #[error("creating the Kafka producer")]
    Producer(#[source] KafkaError),
    /// `privacy.master_key` is not a usable key.
    #[error("privacy.master_key")]
    MasterKey(#[source] KeyError),
    /// A table topic could not be read.
    #[error("reading {topic}")]
    Table {
        /// The topic.
        topic: String,
        /// Why.
        #[source]
        source: KafkaError,
    },
    /// The HTTP client for Graph and Entra could not be built.
    #[error("building the HTTP client for Graph and Entra")]
    HttpClient(#[source] reqwest::Error),
}

/// A record the connector writes (a notification, an instruction, a link) could not be made
/// durable.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// It does not encode.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The broker did not acknowledge it.
    #[error(transparent)]
    Produce(#[from] ProduceError),
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
        services: &Services,
        graph: &GraphConfig,
        privacy: &PrivacyConfig,
        public_url: &str,
    ) -> Result<Arc<Self>, StartError> {
        let teams_metrics = TeamsMetrics::get(&services.metrics)?;
        let producer = services.producer().map_err(StartError::Producer)?;
        let master = match privacy.master_key.expose() {
            "" => None,
            hex => Some(Arc::new(
                MasterKey::from_hex(hex).map_err(StartError::MasterKey)?,
            )),
        };
        let links = LinkStore::new(Some(teams_metrics.clone()));
        let topic = &services.topics.links.name;
        let (handle, events) = services.table(topic).map_err(|source| StartError::Table {
            topic: topic.clone(),
            source,
        })?;
        let follower = tokio::spawn(store::follow(links.clone(), services.codec.clone(), events));
        let token = services.shutdown.token.clone();
        services.shutdown.tracker.spawn(async move {
            token.cancelled().await;
            follower.abort();
            let _ = tokio::task::spawn_blocking(move || drop(handle)).await;
        });
        Ok(Arc::new(Connector {
            graph: graph.clone(),
            privacy_mode: privacy.mode,
            topics: services.topics.clone(),
            public_url: public_url.trim_end_matches('/').to_string(),
            producer,
            codec: services.codec.clone(),
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

    /// `value` encoded for `topic`.
    pub async fn encode<T: Record>(&self, topic: &str, value: &T) -> Result<Vec<u8>, WriteError> {
        Ok(self.codec.encode_for(topic, value).await?)
    }

    /// Writes `value` to `topic` under `key` and waits for the broker's acknowledgement.
    pub async fn write<T: Record>(
        &self,
        topic: &str,
        key: &str,
        value: &T,
    ) -> Result<(), WriteError> {
        let bytes = self.encode(topic, value).await?;
        self.producer
            .send(topic, key.as_bytes(), &bytes, &[])
            .await?;
        Ok(())
    }

    /// Whether identities may be kept (sealed) for a tenant that opted in.
    pub fn keeps_identity(&self, opted_in: bool) -> bool {
        opted_in && self.privacy_mode == PrivacyMode::Sealed
    }
}

/// The HTTP client for Graph and Entra: rustls, bounded connect and request times (reqwest's
/// own timeouts; retries are the Graph client's).
pub fn http_client() -> Result<reqwest::Client, StartError> {
    reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .map_err(StartError::HttpClient)
}
