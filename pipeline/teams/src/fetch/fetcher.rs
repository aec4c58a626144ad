//! The fetcher: notifications from `teams.notifications` to call legs on `calls.legs`.
//!
//! For each notification of a linked tenant it GETs the call record with its sessions and
//! segments (every page; throttling and outages are retried by the Graph client and, past that,
//! here with a growing pause), treats 404 as "not produced yet" and asks again after
//! `graph.fetch_retry_base`, doubling, up to `graph.fetch_not_found_retries` times. A version not
//! newer than the one it already published for the call is skipped and counted. The record is
//! normalised with the tenant's current key and the inventory table (read whole from
//! `net.inventory`), and each leg is produced keyed `org|site`. The notification's offset is
//! committed only once every leg was acknowledged (in partition order, whatever order fetches
//! finish in); what cannot be fetched or normalised goes to `teams.notifications.dlq` with the
//! error.
//!
//! Notifications for one call are handled one at a time; different calls concurrently, up to
//! `graph.fetch_concurrency` requests to Graph at once.

use crate::Connector;
use crate::fetch::events::Retry;
use crate::fetch::offsets::Offsets;
use crate::link::keys;
use callsight_core::error::Report;
use callsight_core::readiness::Readiness;
use callsight_graph::normalize::{Lookups, Tenant};
use callsight_graph_client::{Graph, GraphError};
use callsight_inventory::Inventory;
use callsight_kafka::KafkaMetrics;
use callsight_kafka::config::KafkaConfig;
use callsight_kafka::consumer::{self, ConsumedRecord, ConsumerEvent};
use callsight_kafka::dead_letter::DeadLetters;
use callsight_kafka::table::TableEvent;
use callsight_model::clock::now_ms;
use callsight_model::types::{CallLeg, GraphNotification, InventoryRecord, LinkState};
use callsight_rca::ClassificationConfig;
use dashmap::DashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

/// Notifications taken from Kafka and not finished, at most.
const MAX_OPEN: usize = 10_000;
/// Longest pause between attempts while Graph or the broker is unavailable.
const MAX_PAUSE: Duration = Duration::from_secs(300);

/// What a fetch task shares.
pub struct Fetcher {
    connector: Arc<Connector>,
    graph: Graph,
    inventory: Arc<RwLock<Inventory>>,
    classification: ClassificationConfig,
    /// `tenant|call` → (highest version published, when).
    published: DashMap<String, (i64, Instant)>,
    /// One lock per call being handled.
    calls: DashMap<String, Arc<Mutex<()>>>,
    requests: Semaphore,
    dead_letters: DeadLetters,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fetcher")
    }
}

/// Why a fetched record could not become legs.
#[derive(Debug, thiserror::Error)]
enum NormalizeFailure {
    /// No master key, so no tenant key.
    #[error("privacy.master_key is not configured")]
    NoMasterKey,
    /// The link's key does not open.
    #[error(transparent)]
    Key(#[from] keys::LinkKeyError),
    /// The record does not normalise.
    #[error(transparent)]
    Normalize(#[from] callsight_graph::normalize::NormalizeError),
}

/// How a notification ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Its legs are on `calls.legs`.
    Published,
    /// The version was published before.
    StaleVersion,
    /// The tenant is not linked (any more).
    NotLinked,
    /// Graph never had the record; kept as a dead letter.
    NotFound,
    /// Graph refused, or the record could not be normalised; kept as a dead letter.
    Failed,
    /// The notification does not decode; kept as a dead letter.
    Undecodable,
    /// Shutting down before it finished: not committed, so it is taken again.
    Interrupted,
}

impl Outcome {
    /// The `outcome` label; `None` for an interrupted one, which is taken again.
    pub fn label(self) -> Option<&'static str> {
        Some(match self {
            Outcome::Published => "published",
            Outcome::StaleVersion => "stale_version",
            Outcome::NotLinked => "not_linked",
            Outcome::NotFound => "not_found",
            Outcome::Failed => "failed",
            Outcome::Undecodable => "undecodable",
            Outcome::Interrupted => return None,
        })
    }
}

/// Sleeps `pause` unless `token` is cancelled first; false when cancelled.
async fn pause(token: &CancellationToken, pause: Duration) -> bool {
    tokio::select! {
        _ = token.cancelled() => false,
        _ = tokio::time::sleep(pause) => true,
    }
}

impl Fetcher {
    /// A fetcher over `connector`, calling Graph with `graph`.
    pub fn new(
        connector: Arc<Connector>,
        graph: Graph,
        inventory: Arc<RwLock<Inventory>>,
        classification: ClassificationConfig,
        dead_letters: DeadLetters,
    ) -> Self {
        let concurrency = connector.graph.fetch_concurrency.max(1);
        Fetcher {
            connector,
            graph,
            inventory,
            classification,
            published: DashMap::new(),
            calls: DashMap::new(),
            requests: Semaphore::new(concurrency),
            dead_letters,
        }
    }

    /// Forgets published versions older than `graph.version_memory`.
    pub fn forget_old_versions(&self) {
        let keep = self.connector.graph.version_memory;
        self.published.retain(|_, (_, at)| at.elapsed() < keep);
    }

    async fn dead_letter(&self, record: &ConsumedRecord, kind: &str, error: &str) -> bool {
        self.dead_letters
            .send(record, "fetch", kind, error, now_ms())
            .await
            .is_ok()
    }

    /// Handles one notification (the consumed `record` is kept for dead letters).
    pub async fn handle(
        &self,
        n: &GraphNotification,
        record: &ConsumedRecord,
        token: &CancellationToken,
    ) -> Outcome {
        let Some(call_id) = n.call_id.clone() else {
            // Lifecycle notifications go to the manager, never here.
            return if self
                .dead_letter(record, "invalid", "the notification names no call record")
                .await
            {
                Outcome::Failed
            } else {
                Outcome::Interrupted
            };
        };
        let link = match self.connector.links.by_tenant(&n.tenant_id) {
            Some(l) if l.state == LinkState::Linked => l,
            _ => return Outcome::NotLinked,
        };
        let call_key = n.key();
        let lock = self.calls.entry(call_key.clone()).or_default().clone();
        let outcome = {
            let _one_at_a_time = lock.lock().await;
            self.fetch_and_publish(n, &link, &call_id, &call_key, record, token)
                .await
        };
        drop(lock);
        self.calls
            .remove_if(&call_key, |_, l| Arc::strong_count(l) == 1);
        outcome
    }

    async fn fetch_and_publish(
        &self,
        n: &GraphNotification,
        link: &callsight_model::types::TenantLink,
        call_id: &str,
        call_key: &str,
        record: &ConsumedRecord,
        token: &CancellationToken,
    ) -> Outcome {
        let metrics = &self.connector.metrics;

        let retries = self.connector.graph.fetch_not_found_retries;
        let base = self.connector.graph.fetch_retry_base;
        let mut not_found = 0u32;
        let mut unavailable = 0u32;
        let fetched = loop {
            let result = {
                let Ok(_permit) = self.requests.acquire().await else {
                    return Outcome::Interrupted;
                };
                tokio::select! {
                    _ = token.cancelled() => return Outcome::Interrupted,
                    r = self.graph.call_record(&link.tenant_id, call_id) => r,
                }
            };
            match result {
                Ok(r) => break r,
                Err(GraphError::NotFound) if not_found < retries => {
                    let wait = base.saturating_mul(1 << not_found.min(16));
                    metrics.fetch_retry(Retry::NotFound, wait);
                    if !pause(token, wait).await {
                        return Outcome::Interrupted;
                    }
                    not_found += 1;
                }
                Err(GraphError::NotFound) => {
                    let error = format!("Graph answered 404 {} times", retries + 1);
                    return if self.dead_letter(record, "not_found", &error).await {
                        Outcome::NotFound
                    } else {
                        Outcome::Interrupted
                    };
                }
                Err(e @ (GraphError::Unavailable { .. } | GraphError::Transport(_))) => {
                    let wait = (base.saturating_mul(1 << unavailable.min(16))).min(MAX_PAUSE);
                    metrics.fetch_retry(Retry::Unavailable(&e), wait);
                    if !pause(token, wait).await {
                        return Outcome::Interrupted;
                    }
                    unavailable += 1;
                }
                Err(e) => {
                    let error = Report(&e).to_string();
                    return if self.dead_letter(record, e.kind(), &error).await {
                        Outcome::Failed
                    } else {
                        Outcome::Interrupted
                    };
                }
            }
        };

        let version = fetched.version.unwrap_or(0);
        if self
            .published
            .get(call_key)
            .is_some_and(|held| held.0 >= version)
        {
            return Outcome::StaleVersion;
        }
        let legs = match self.normalize(n, link, &fetched) {
            Ok(legs) => legs,
            Err(error) => {
                let error = Report(&error).to_string();
                return if self.dead_letter(record, "normalize", &error).await {
                    Outcome::Failed
                } else {
                    Outcome::Interrupted
                };
            }
        };
        if !self.produce(&legs, token).await {
            return Outcome::Interrupted;
        }
        self.published
            .insert(call_key.to_string(), (version, Instant::now()));
        let latency = Duration::from_millis(now_ms().saturating_sub(n.received_at).max(0) as u64);
        metrics.legs_published(n.origin, legs.len(), latency, call_id, version);
        Outcome::Published
    }

    fn normalize(
        &self,
        n: &GraphNotification,
        link: &callsight_model::types::TenantLink,
        record: &callsight_graph::model::CallRecord,
    ) -> Result<Vec<CallLeg>, NormalizeFailure> {
        let master = self
            .connector
            .master
            .as_deref()
            .ok_or(NormalizeFailure::NoMasterKey)?;
        let key = keys::current(master, link)?;
        let inventory = self
            .inventory
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        callsight_graph::normalize::legs(
            record,
            Tenant {
                org_id: &link.org_id,
                tenant_id: &n.tenant_id,
                key: &key,
                keep_identity: self.connector.keeps_identity(link.keep_identity),
            },
            Lookups {
                inventory: &inventory,
                classification: &self.classification,
            },
            now_ms(),
        )
        .map_err(NormalizeFailure::from)
    }

    /// Produces every leg (all of a record's legs in flight together, not one round trip
    /// each), retrying while the broker is unavailable; false when interrupted.
    async fn produce(&self, legs: &[CallLeg], token: &CancellationToken) -> bool {
        futures::future::join_all(legs.iter().map(|leg| self.produce_one(leg, token)))
            .await
            .into_iter()
            .all(|sent| sent)
    }

    async fn produce_one(&self, leg: &CallLeg, token: &CancellationToken) -> bool {
        let topic = &self.connector.topics.legs.name;
        let bytes = match self.connector.codec.encode(topic, leg).await {
            Ok(b) => b,
            Err(e) => {
                // Our own record does not encode: a bug; stop rather than lose it.
                tracing::error!(error = %Report(&e), "a call leg does not encode");
                return false;
            }
        };
        let key = leg.key();
        let mut wait = Duration::from_millis(500);
        loop {
            match self
                .connector
                .producer
                .send(topic, key.as_bytes(), &bytes, &[])
                .await
            {
                Ok(_) => return true,
                Err(e) => {
                    self.connector.metrics.fetch_retry(Retry::Broker(&e), wait);
                    if !pause(token, wait).await {
                        return false;
                    }
                    wait = (wait * 2).min(Duration::from_secs(30));
                }
            }
        }
    }
}

/// Keeps `inventory` equal to `net.inventory` from a table reader's events; marks `ready` once
/// caught up.
pub async fn follow_inventory(
    inventory: Arc<RwLock<Inventory>>,
    codec: Arc<callsight_core::codec::Codec>,
    events: mpsc::Receiver<TableEvent>,
    ready: tokio::sync::watch::Sender<bool>,
) {
    callsight_kafka::table::follow::<InventoryRecord>(codec, events, ready, |key, record| {
        inventory
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .apply_keyed(key, record);
    })
    .await;
}

/// Consumes `teams.notifications` in group `<kafka.group_id>-fetch` until `token` is cancelled.
pub async fn run(
    fetcher: Arc<Fetcher>,
    kafka: KafkaConfig,
    bootstrap: String,
    kafka_metrics: Arc<KafkaMetrics>,
    readiness: Option<Readiness>,
    token: CancellationToken,
) {
    let connector = fetcher.connector.clone();
    let metrics = connector.metrics.clone();
    let topic = connector.topics.notifications.name.clone();
    let group = format!("{}-fetch", kafka.group_id);
    let (handle, mut events) =
        match consumer::start(&kafka, &bootstrap, &group, &[&topic], kafka_metrics) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "the fetcher cannot consume notifications");
                return;
            }
        };
    if let Some(r) = &readiness {
        r.set("fetcher", true, format!("consuming {topic}"));
    }
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<(i32, i64)>();
    let open = Arc::new(Semaphore::new(MAX_OPEN));
    let mut offsets = Offsets::default();
    let mut prune = tokio::time::interval(Duration::from_secs(60));
    let tasks = tokio_util::task::TaskTracker::new();
    loop {
        tokio::select! {
            _ = token.cancelled() => break,
            _ = prune.tick() => fetcher.forget_old_versions(),
            Some((partition, offset)) = done_rx.recv() => {
                if let Some(upto) = offsets.finish(partition, offset)
                    && let Err(e) = handle.store(&topic, partition, upto)
                {
                    tracing::debug!(error = %e, partition, "offset not stored (partition revoked?)");
                }
                metrics.in_flight.set(offsets.open() as i64);
            }
            event = events.recv() => match event {
                None => break,
                Some(ConsumerEvent::Assigned(_)) => {}
                Some(ConsumerEvent::Revoked(partitions)) => {
                    for p in partitions.iter().filter(|p| p.topic == topic) {
                        offsets.forget(p.partition);
                    }
                }
                Some(ConsumerEvent::Record(record)) => {
                    let Ok(room) = open.clone().acquire_owned().await else { break };
                    offsets.start(record.partition, record.offset);
                    metrics.in_flight.set(offsets.open() as i64);
                    let (fetcher, token, done) = (fetcher.clone(), token.clone(), done_tx.clone());
                    tasks.spawn(async move {
                        let _room = room;
                        let bytes = record.payload.clone().unwrap_or_default();
                        let outcome = match fetcher.connector.codec.decode::<GraphNotification>(&bytes).await {
                            Ok(n) => fetcher.handle(&n, &record, &token).await,
                            Err(e) => {
                                match fetcher.dead_letters.undecodable(&record, "fetch", &e, now_ms()).await {
                                    Ok(()) => Outcome::Undecodable,
                                    Err(_) => Outcome::Interrupted,
                                }
                            }
                        };
                        fetcher.connector.metrics.fetch_finished(outcome);
                        if outcome != Outcome::Interrupted {
                            let _ = done.send((record.partition, record.offset));
                        }
                    });
                }
            }
        }
    }
    tasks.close();
    tasks.wait().await;
    // Store what finished while the tasks wound down.
    while let Ok((partition, offset)) = done_rx.try_recv() {
        if let Some(upto) = offsets.finish(partition, offset) {
            let _ = handle.store(&topic, partition, upto);
        }
    }
    if let Some(r) = &readiness {
        r.set("fetcher", false, "stopped");
    }
    let _ = tokio::task::spawn_blocking(move || handle.stop()).await;
}
