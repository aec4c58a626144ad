//! Starting the connector on a process's [`Services`]: its ingest side (the Graph webhook and
//! the linking endpoints, as routes the binary serves with the telemetry endpoints) and the
//! fetch role (the fetcher and the election of the subscription manager).

use crate::config::{GraphConfig, PrivacyConfig};
use crate::connector::{Connector, StartError, http_client};
use crate::fetch::fetcher;
use crate::link::{self, state::Nonces};
use crate::manage::{election, manager};
use crate::webhook;
use callsight_kafka::Services;
use callsight_rca::ClassificationConfig;
use std::sync::Arc;
use std::time::Duration;

/// The bounds the webhook shares with the telemetry endpoints (`ingest.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookLimits {
    /// Largest delivery accepted; larger ones are answered 413.
    pub max_body_bytes: usize,
    /// Notifications being produced at once; beyond it deliveries are answered 503.
    pub max_in_flight: usize,
    /// How long a delivery waits for room (or a checking thread) before the 503.
    pub overload_wait: Duration,
    /// Deliveries checked at once (`ingest.parse_threads`); 0: one per CPU.
    pub parse_threads: usize,
}

/// The Graph webhook and the linking endpoints, ready to be served where `public_url` (Graph's
/// and browsers' way in) leads.
pub async fn webhook_routes(
    services: &Services,
    graph: &GraphConfig,
    privacy: &PrivacyConfig,
    limits: WebhookLimits,
    public_url: &str,
) -> Result<axum::Router, StartError> {
    let connector = Connector::start(services, graph, privacy, public_url).await?;
    let state = Arc::new(webhook::http::WebhookState {
        connector: connector.clone(),
        room: Arc::new(tokio::sync::Semaphore::new(limits.max_in_flight)),
        max_in_flight: limits.max_in_flight,
        overload_wait: limits.overload_wait,
        checking: callsight_core::slots::BlockingSlots::new(
            limits.parse_threads,
            limits.overload_wait,
        ),
    });
    let delegated = callsight_graph_client::delegated::Delegated::new(
        http_client()?,
        &graph.login_url,
        &graph.base_url,
        &graph.client_id,
        graph.client_secret.expose(),
    );
    let linking = Arc::new(link::http::LinkingState {
        connector,
        delegated,
        nonces: Nonces::default(),
    });
    Ok(webhook::http::router(state, limits.max_body_bytes).merge(link::http::router(linking)))
}

/// Starts the fetch role: the fetcher, and the election of the subscription manager. They run
/// until shutdown; `public_url` is where subscriptions send Graph's notifications.
pub async fn start_fetch(
    services: &Services,
    graph: &GraphConfig,
    privacy: &PrivacyConfig,
    classification: &ClassificationConfig,
    public_url: &str,
) -> Result<(), StartError> {
    let connector = Connector::start(services, graph, privacy, public_url).await?;
    if connector.public_url.is_empty() {
        tracing::warn!("graph.public_url is not set: subscriptions cannot be created");
    }
    if connector.master.is_none() {
        tracing::warn!("privacy.master_key is not set: no tenant can be linked or fetched");
    }
    services
        .readiness
        .register("fetcher", "loading the link and inventory tables");
    let inventory = Arc::new(std::sync::RwLock::new(callsight_inventory::Inventory::new()));
    let topic = &services.topics.inventory.name;
    let (table, events) = services.table(topic).map_err(|source| StartError::Table {
        topic: topic.clone(),
        source,
    })?;
    let (ready_tx, mut inventory_ready) = tokio::sync::watch::channel(false);
    let follower = tokio::spawn(fetcher::follow_inventory(
        inventory.clone(),
        connector.codec.clone(),
        events,
        ready_tx,
    ));
    let dead_letters = services.dead_letters(connector.producer.clone());
    // One client, so the fetcher and the manager share the tenants' tokens and connections.
    let graph_client = connector.graph_client()?;
    let fetch = Arc::new(fetcher::Fetcher::new(
        connector.clone(),
        graph_client.clone(),
        inventory,
        classification.clone(),
        dead_letters,
    ));
    let manager = manager::Manager::new(connector.clone(), graph_client);
    let (kafka, bootstrap, kafka_metrics, token, readiness) = (
        services.kafka.clone(),
        services.bootstrap.clone(),
        services.kafka_metrics.clone(),
        services.shutdown.token.clone(),
        services.readiness.clone(),
    );
    services.shutdown.spawn_watched("fetch", async move {
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
