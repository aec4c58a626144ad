//! Notification delivery as Graph does it: notifications for one URL are batched into one
//! `{"value": [...]}` POST; a delivery not answered 2xx within the timeout (3 s) is retried with
//! a growing delay until `delivery_retry_for` has passed, then dropped.

use crate::Shared;
use crate::state::Sub;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// One notification on its way.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    url: String,
    notification: Value,
    first_try: Instant,
    attempts: u32,
    due: Instant,
}

impl Pending {
    pub(crate) fn new(url: String, notification: Value) -> Self {
        let now = Instant::now();
        Pending {
            url,
            notification,
            first_try: now,
            attempts: 0,
            due: now,
        }
    }
}

pub(crate) fn change_notification(sub: &Sub, change: &str, id: &str) -> Value {
    json!({
        "subscriptionId": sub.id,
        "clientState": sub.client_state,
        "changeType": change,
        "resource": format!("communications/callRecords/{id}"),
        "subscriptionExpirationDateTime": sub.expiration,
        "resourceData": {
            "@odata.type": "#Microsoft.Graph.callrecord",
            "@odata.id": format!("communications/callRecords/{id}"),
            "id": id,
        },
        "tenantId": sub.tenant_id,
    })
}

pub(crate) fn lifecycle_notification(sub: &Sub, event: &str) -> Value {
    json!({
        "subscriptionId": sub.id,
        "subscriptionExpirationDateTime": sub.expiration,
        "tenantId": sub.tenant_id,
        "clientState": sub.client_state,
        "lifecycleEvent": event,
    })
}

const BATCH: usize = 50;

pub(crate) async fn run(
    shared: Arc<Shared>,
    mut rx: mpsc::UnboundedReceiver<Pending>,
    stop: CancellationToken,
) {
    let mut waiting: Vec<Pending> = Vec::new();
    loop {
        let next_due = waiting.iter().map(|p| p.due).min();
        let sleep = next_due
            .map(|due| due.saturating_duration_since(Instant::now()))
            .unwrap_or(Duration::from_secs(3600));
        tokio::select! {
            _ = stop.cancelled() => return,
            received = rx.recv() => match received {
                Some(p) => {
                    waiting.push(p);
                    // Let a burst gather into batches.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    while let Ok(p) = rx.try_recv() {
                        waiting.push(p);
                    }
                }
                None => return,
            },
            _ = tokio::time::sleep(sleep) => {}
        }
        let now = Instant::now();
        let (due, later): (Vec<Pending>, Vec<Pending>) =
            waiting.drain(..).partition(|p| p.due <= now);
        waiting = later;
        let mut by_url: BTreeMap<String, Vec<Pending>> = BTreeMap::new();
        for p in due {
            by_url.entry(p.url.clone()).or_default().push(p);
        }
        let mut sends = Vec::new();
        for (url, pending) in by_url {
            for chunk in pending.chunks(BATCH) {
                let (shared, url, chunk) = (shared.clone(), url.clone(), chunk.to_vec());
                sends.push(tokio::spawn(
                    async move { deliver(&shared, &url, chunk).await },
                ));
            }
        }
        for send in sends {
            if let Ok(retry) = send.await {
                waiting.extend(retry);
            }
        }
    }
}

/// POSTs one batch; returns what must be tried again.
async fn deliver(shared: &Shared, url: &str, batch: Vec<Pending>) -> Vec<Pending> {
    let body = json!({ "value": batch.iter().map(|p| p.notification.clone()).collect::<Vec<_>>() });
    shared.lock().stats.deliveries += 1;
    let acknowledged = matches!(
        shared.http.post(url).json(&body).send().await,
        Ok(response) if response.status().is_success()
    );
    let mut state = shared.lock();
    if acknowledged {
        state.stats.deliveries_acknowledged += 1;
        state.stats.notifications_acknowledged += batch.len() as u64;
        return Vec::new();
    }
    let retry_for = shared.config.delivery_retry_for;
    let mut retry = Vec::new();
    for mut p in batch {
        p.attempts += 1;
        if p.first_try.elapsed() >= retry_for {
            state.stats.notifications_dropped += 1;
            continue;
        }
        let backoff = Duration::from_millis(200) * 2u32.saturating_pow(p.attempts.min(10));
        p.due = Instant::now() + backoff.min(shared.config.delivery_max_backoff);
        retry.push(p);
    }
    retry
}
