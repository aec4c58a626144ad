//! The table of tenant links every replica keeps in memory, read whole from the compacted
//! `teams.links` topic and followed from there.
//!
//! Only the subscription manager writes the topic. It also applies its own writes here at once,
//! so a record can arrive twice; a record older (by `updated_at`) than the one held is ignored,
//! which keeps an echo from undoing a newer write.

use crate::metrics::TeamsMetrics;
use callsight_core::codec::Codec;
use callsight_kafka::table::TableEvent;
use callsight_model::types::{LinkState, TenantLink};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

#[derive(Default)]
struct Table {
    by_org: HashMap<String, TenantLink>,
    /// Lower-case tenant GUID → org, for links that are not unlinked.
    org_of_tenant: HashMap<String, String>,
}

/// The link table.
pub struct LinkStore {
    table: RwLock<Table>,
    /// True once the topic was read up to where it was when the reader started.
    ready: watch::Sender<bool>,
    /// Bumped on every change, to wait for one.
    changes: watch::Sender<u64>,
    metrics: Option<TeamsMetrics>,
}

impl std::fmt::Debug for LinkStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LinkStore({} links)", self.read().by_org.len())
    }
}

fn state_label(state: LinkState) -> &'static str {
    match state {
        LinkState::Pending => "pending",
        LinkState::Linked => "linked",
        LinkState::ConsentRevoked => "consent_revoked",
        LinkState::Unlinked => "unlinked",
    }
}

impl LinkStore {
    /// An empty table, not ready; `metrics` get the link counts by state.
    pub fn new(metrics: Option<TeamsMetrics>) -> Arc<Self> {
        Arc::new(LinkStore {
            table: RwLock::new(Table::default()),
            ready: watch::Sender::new(false),
            changes: watch::Sender::new(0),
            metrics,
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Table> {
        self.table
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes `link` unless the table holds a newer record for its org; true when it changed
    /// the table.
    pub fn apply(&self, link: TenantLink) -> bool {
        {
            let mut table = self
                .table
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some(held) = table.by_org.get(&link.org_id) {
                if held.updated_at > link.updated_at || *held == link {
                    return false;
                }
                let tenant = held.tenant_id.to_ascii_lowercase();
                if table.org_of_tenant.get(&tenant) == Some(&link.org_id) {
                    table.org_of_tenant.remove(&tenant);
                }
            }
            if link.state != LinkState::Unlinked {
                table
                    .org_of_tenant
                    .insert(link.tenant_id.to_ascii_lowercase(), link.org_id.clone());
            }
            table.by_org.insert(link.org_id.clone(), link);
            self.export(&table);
        }
        self.changes.send_modify(|n| *n += 1);
        true
    }

    /// Forgets an org (a tombstone on the topic).
    pub fn remove(&self, org: &str) {
        {
            let mut table = self
                .table
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some(held) = table.by_org.remove(org) {
                let tenant = held.tenant_id.to_ascii_lowercase();
                if table.org_of_tenant.get(&tenant).map(String::as_str) == Some(org) {
                    table.org_of_tenant.remove(&tenant);
                }
            }
            self.export(&table);
        }
        self.changes.send_modify(|n| *n += 1);
    }

    fn export(&self, table: &Table) {
        let Some(metrics) = &self.metrics else {
            return;
        };
        let mut counts: HashMap<&'static str, i64> = HashMap::new();
        for link in table.by_org.values() {
            *counts.entry(state_label(link.state)).or_default() += 1;
            match (link.state, link.subscription_expires_at) {
                (LinkState::Linked, Some(at)) => metrics
                    .subscription_expiry
                    .with_label_values(&[&link.org_id])
                    .set(at / 1000),
                _ => {
                    let _ = metrics
                        .subscription_expiry
                        .remove_label_values(&[&link.org_id]);
                }
            }
        }
        for state in ["pending", "linked", "consent_revoked", "unlinked"] {
            metrics
                .links
                .with_label_values(&[state])
                .set(counts.get(state).copied().unwrap_or(0));
        }
    }

    /// The org's link, whatever its state.
    pub fn get(&self, org: &str) -> Option<TenantLink> {
        self.read().by_org.get(org).cloned()
    }

    /// The link of a tenant (GUID, any case) that is not unlinked.
    pub fn by_tenant(&self, tenant: &str) -> Option<TenantLink> {
        let table = self.read();
        let org = table.org_of_tenant.get(&tenant.to_ascii_lowercase())?;
        table.by_org.get(org).cloned()
    }

    /// Every link, by org.
    pub fn all(&self) -> Vec<TenantLink> {
        let mut links: Vec<TenantLink> = self.read().by_org.values().cloned().collect();
        links.sort_by(|a, b| a.org_id.cmp(&b.org_id));
        links
    }

    /// Marks the table complete.
    pub fn set_ready(&self) {
        self.ready.send_replace(true);
    }

    /// Whether the table is complete.
    pub fn is_ready(&self) -> bool {
        *self.ready.borrow()
    }

    /// Waits until the table is complete.
    pub async fn ready(&self) {
        let mut ready = self.ready.subscribe();
        let _ = ready.wait_for(|r| *r).await;
    }

    /// Waits up to `bound` for `check` to hold of the table; whether it did.
    pub async fn wait_for(&self, bound: Duration, check: impl Fn(&LinkStore) -> bool) -> bool {
        let mut changes = self.changes.subscribe();
        tokio::time::timeout(bound, async {
            loop {
                if check(self) {
                    return;
                }
                if changes.changed().await.is_err() {
                    // The store is going away; nothing will change any more.
                    std::future::pending::<()>().await;
                }
            }
        })
        .await
        .is_ok()
    }
}

/// Applies the records of a `teams.links` table reader to `store` until the reader stops. A
/// record that does not decode is logged and counted by the Kafka layer's consumer counters; it
/// stays in the topic (every replica reads it, so none of them dead-letters it).
pub async fn follow(
    store: Arc<LinkStore>,
    codec: Arc<Codec>,
    mut events: mpsc::Receiver<TableEvent>,
) {
    while let Some(event) = events.recv().await {
        match event {
            TableEvent::CaughtUp => {
                tracing::info!(links = store.all().len(), "tenant links loaded");
                store.set_ready();
            }
            TableEvent::Record(record) => match (&record.payload, &record.key) {
                (None, Some(key)) => store.remove(&String::from_utf8_lossy(key)),
                (None, None) => {}
                (Some(bytes), _) => match codec.decode::<TenantLink>(bytes).await {
                    Ok(link) => {
                        store.apply(link);
                    }
                    Err(e) => tracing::error!(
                        partition = record.partition,
                        offset = record.offset,
                        error = %e,
                        "a tenant link does not decode; it is ignored"
                    ),
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use callsight_testkit::samples;

    #[test]
    fn older_records_do_not_undo_newer_ones_and_tenants_resolve_while_linked() {
        let store = LinkStore::new(None);
        let link = samples::tenant_link();
        assert!(store.apply(link.clone()));
        assert!(
            !store.apply(link.clone()),
            "the same record twice changes nothing"
        );
        let older = TenantLink {
            updated_at: link.updated_at - 1,
            keep_identity: false,
            ..link.clone()
        };
        assert!(!store.apply(older));
        assert!(store.get(&link.org_id).expect("held").keep_identity);
        assert_eq!(
            store
                .by_tenant(&link.tenant_id.to_uppercase())
                .map(|l| l.org_id),
            Some(link.org_id.clone())
        );
        let unlinked = TenantLink {
            state: LinkState::Unlinked,
            updated_at: link.updated_at + 1,
            ..link.clone()
        };
        assert!(store.apply(unlinked));
        assert!(store.by_tenant(&link.tenant_id).is_none());
        assert_eq!(store.all().len(), 1);
        store.remove(&link.org_id);
        assert!(store.all().is_empty());
    }

    #[tokio::test]
    async fn waiting_sees_a_later_change() {
        let store = LinkStore::new(None);
        let link = samples::tenant_link();
        let org = link.org_id.clone();
        let waiter = {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .wait_for(Duration::from_secs(10), |s| s.get(&org).is_some())
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        store.apply(link);
        assert!(waiter.await.expect("joins"));
        assert!(
            !store
                .wait_for(Duration::from_millis(20), |s| s.get("other").is_some())
                .await
        );
    }
}
