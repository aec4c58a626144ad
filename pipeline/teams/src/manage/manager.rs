//! The subscription manager: the one replica (see [`crate::manage::election`]) that writes `teams.links`
//! and keeps every linked tenant's Graph subscription alive.
//!
//! It applies the instructions of the control topic in order (link, unlink, rotate a key, act on
//! a lifecycle notification) and, every `graph.manage_interval`, checks each link: a linked
//! tenant without a subscription gets one (`created,updated` on `/communications/callRecords`,
//! the tenant's `clientState`, the lifecycle URL, an expiry within Graph's 4230 minutes); one
//! that expires within `graph.subscription_renew_before` is renewed; one Graph no longer knows
//! (404) is created again. Wherever notifications may have been lost (a `missed` event, a
//! removed or lapsed subscription) it backfills: it lists the tenant's call records by start
//! time, from `graph.backfill_window` before the gap until now, and writes a notification for
//! each to `teams.notifications`; the fetcher's version check drops what was already published.
//! Tenants declared in configuration are linked here too, with a key of their own.

use crate::Connector;
use crate::config::StaticTenantConfig;
use crate::connector::WriteError;
use crate::link::keys;
use callsight_core::error::Report;
use callsight_graph_client::api::NewSubscription;
use callsight_graph_client::{Graph, GraphError};
use callsight_model::clock::now_ms;
use callsight_model::lenient::parse_timestamp_ms;
use callsight_model::types::{
    ControlKind, ControlMessage, GraphChangeType, GraphNotification, LifecycleEvent, LinkState,
    NotificationOrigin, TenantLink,
};
use std::sync::Arc;
use std::time::Duration;

/// The resource callsight subscribes to.
pub const RESOURCE: &str = "/communications/callRecords";

/// Entra error codes that mean the app is no longer consented in the tenant (or the tenant is
/// gone): the link's consent is revoked until an administrator links again.
const CONSENT_GONE: [i64; 5] = [65001, 500011, 7000229, 700016, 90002];

/// How often a link write is tried before the instruction is given up for now.
const WRITE_ATTEMPTS: u32 = 5;

/// A backfill did not finish.
#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    /// The tenant's call records could not be listed.
    #[error("listing call records")]
    List(#[source] callsight_graph_client::GraphError),
    /// A notification could not be written.
    #[error("writing a notification")]
    Write(#[source] WriteError),
}

/// The manager.
pub struct Manager {
    connector: Arc<Connector>,
    graph: Graph,
}

impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Manager")
    }
}

fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

fn consent_gone(e: &GraphError) -> bool {
    match e {
        GraphError::Token(t) => t.codes.iter().any(|c| CONSENT_GONE.contains(c)),
        GraphError::Refused { status: 403, .. } => true,
        _ => false,
    }
}

fn kind_label(kind: ControlKind) -> &'static str {
    match kind {
        ControlKind::Unknown => "unknown",
        ControlKind::Link => "link",
        ControlKind::Unlink => "unlink",
        ControlKind::RotateKey => "rotate_key",
        ControlKind::Lifecycle => "lifecycle",
    }
}

impl Manager {
    /// A manager writing through `connector` and calling Graph with `graph`.
    pub fn new(connector: Arc<Connector>, graph: Graph) -> Self {
        Manager { connector, graph }
    }

    fn op(&self, operation: &str, ok: bool) {
        self.connector
            .metrics
            .subscription_operations
            .with_label_values(&[operation, if ok { "ok" } else { "error" }])
            .inc();
    }

    /// Writes a link to `teams.links` (retrying a few times) and into the local table.
    async fn write(&self, mut link: TenantLink) -> Result<TenantLink, WriteError> {
        let held = self.connector.links.get(&link.org_id);
        link.updated_at = now_ms().max(held.map_or(0, |h| h.updated_at + 1));
        let topic = &self.connector.topics.links.name;
        let mut wait = Duration::from_millis(200);
        let mut attempt = 1;
        loop {
            match self.connector.write(topic, &link.org_id, &link).await {
                Ok(()) => {
                    self.connector.links.apply(link.clone());
                    return Ok(link);
                }
                Err(e @ WriteError::Produce(_)) if attempt < WRITE_ATTEMPTS => {
                    tracing::warn!(org = %link.org_id, attempt, error = %Report(&e), "link write failed; retrying");
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Applies one instruction; the `outcome` label.
    pub async fn handle(&self, message: &ControlMessage) -> &'static str {
        let outcome = match message.kind {
            ControlKind::Link => self.link(message).await,
            ControlKind::Unlink => self.unlink(&message.org_id).await,
            ControlKind::RotateKey => self.rotate(&message.org_id).await,
            ControlKind::Lifecycle => match &message.notification {
                Some(n) => self.lifecycle(n).await,
                None => "refused",
            },
            ControlKind::Unknown => "ignored",
        };
        self.connector
            .metrics
            .control_messages
            .with_label_values(&[kind_label(message.kind), outcome])
            .inc();
        tracing::info!(org = %message.org_id, kind = kind_label(message.kind), outcome, request = %message.request_id, "control message applied");
        outcome
    }

    async fn link(&self, message: &ControlMessage) -> &'static str {
        let Some(requested) = &message.link else {
            return "refused";
        };
        let Some(master) = self.connector.master.clone() else {
            tracing::error!("cannot link a tenant without privacy.master_key");
            return "refused";
        };
        if let Some(other) = self.connector.links.by_tenant(&requested.tenant_id)
            && other.org_id != requested.org_id
        {
            tracing::warn!(org = %requested.org_id, other = %other.org_id, "the tenant is linked to another org; link refused");
            return "refused";
        }
        let held = self.connector.links.get(&requested.org_id);
        let mut link = TenantLink {
            state: LinkState::Linked,
            key_id: None,
            wrapped_keys: Vec::new(),
            subscription_id: None,
            subscription_expires_at: None,
            ..requested.clone()
        };
        match held {
            // The same tenant again (say, another administrator): keys and subscription stay,
            // so pseudonyms stay stable.
            Some(h)
                if h.tenant_id.eq_ignore_ascii_case(&link.tenant_id)
                    && h.state != LinkState::Unlinked
                    && h.key_id.is_some() =>
            {
                link.key_id = h.key_id.clone();
                link.wrapped_keys = h.wrapped_keys.clone();
                link.subscription_id = h.subscription_id.clone();
                link.subscription_expires_at = h.subscription_expires_at;
                link.linked_at = h.linked_at;
            }
            Some(h) if h.state != LinkState::Unlinked => {
                tracing::warn!(org = %link.org_id, "the org is linked to another tenant; unlink it first");
                return "refused";
            }
            _ => {
                if let Err(e) = keys::add_new(&master, &mut link, now_ms()) {
                    tracing::error!(error = %Report(&e), "cannot make a tenant key");
                    return "error";
                }
            }
        }
        let link = match self.write(link).await {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %Report(&e), "cannot write the link");
                return "error";
            }
        };
        if link.subscription_id.is_none() {
            self.subscribe(link, None).await;
        }
        "ok"
    }

    async fn unlink(&self, org: &str) -> &'static str {
        let Some(mut link) = self.connector.links.get(org) else {
            return "refused";
        };
        if let Some(id) = link.subscription_id.clone() {
            match self.graph.delete_subscription(&link.tenant_id, &id).await {
                Ok(()) => {
                    self.op("delete", true);
                    link.subscription_id = None;
                    link.subscription_expires_at = None;
                }
                // Consent already withdrawn: Graph drops the subscription itself.
                Err(e) if consent_gone(&e) => {
                    self.op("delete", false);
                    link.subscription_id = None;
                    link.subscription_expires_at = None;
                }
                Err(e) => {
                    // Kept on the link: the next check deletes it.
                    self.op("delete", false);
                    tracing::warn!(org, error = %Report(&e), "cannot delete the subscription now; will retry");
                }
            }
        }
        link.state = LinkState::Unlinked;
        keys::destroy(&mut link);
        match self.write(link).await {
            Ok(_) => "ok",
            Err(e) => {
                tracing::error!(org, error = %Report(&e), "cannot write the unlinked link");
                "error"
            }
        }
    }

    async fn rotate(&self, org: &str) -> &'static str {
        let (Some(mut link), Some(master)) =
            (self.connector.links.get(org), self.connector.master.clone())
        else {
            return "refused";
        };
        if link.state == LinkState::Unlinked {
            return "refused";
        }
        if let Err(e) = keys::add_new(&master, &mut link, now_ms()) {
            tracing::error!(error = %Report(&e), "cannot make a tenant key");
            return "error";
        }
        match self.write(link).await {
            Ok(_) => "ok",
            Err(_) => "error",
        }
    }

    async fn lifecycle(&self, n: &GraphNotification) -> &'static str {
        let Some(link) = self.connector.links.by_tenant(&n.tenant_id) else {
            return "stale";
        };
        if link.subscription_id.as_deref() != Some(n.subscription_id.as_str()) {
            return "stale";
        }
        let now = now_ms();
        match n.lifecycle_event {
            Some(LifecycleEvent::ReauthorizationRequired) => {
                self.renew(link).await;
                "ok"
            }
            Some(LifecycleEvent::SubscriptionRemoved) => {
                let link = TenantLink {
                    subscription_id: None,
                    ..link
                };
                match self.write(link).await {
                    Ok(link) => {
                        self.subscribe(link, Some(now)).await;
                        "ok"
                    }
                    Err(_) => "error",
                }
            }
            Some(LifecycleEvent::Missed) => match self.backfill(&link, now).await {
                Ok(_) => "ok",
                Err(_) => "error",
            },
            _ => "ignored",
        }
    }

    fn notification_url(&self) -> String {
        format!(
            "{}{}",
            self.connector.public_url,
            crate::webhook::NOTIFICATIONS_PATH
        )
    }

    fn lifecycle_url(&self) -> String {
        format!(
            "{}{}",
            self.connector.public_url,
            crate::webhook::LIFECYCLE_PATH
        )
    }

    fn expiry(&self) -> String {
        // Keep a minute inside Graph's 4230-minute bound against clock skew.
        let lifetime = self
            .connector
            .graph
            .subscription_lifetime
            .min(Duration::from_secs(4229 * 60));
        rfc3339(now_ms() + lifetime.as_millis() as i64)
    }

    /// Creates the link's subscription (adopting one Graph already holds for this app and URL)
    /// and backfills from `gap_from` when notifications may have been lost since.
    async fn subscribe(&self, link: TenantLink, gap_from: Option<i64>) -> TenantLink {
        let Some(master) = &self.connector.master else {
            return link;
        };
        let new = NewSubscription {
            change_type: "created,updated".into(),
            resource: RESOURCE.into(),
            notification_url: self.notification_url(),
            lifecycle_notification_url: self.lifecycle_url(),
            expiration_date_time: self.expiry(),
            client_state: master.client_state(&link.tenant_id),
            latest_supported_tls_version: "v1_2".into(),
        };
        let tenant = link.tenant_id.clone();
        let mut result = self.graph.create_subscription(&tenant, &new).await;
        if let Err(GraphError::Refused { status: 409, .. }) = &result {
            result = self.adopt(&tenant, &new).await;
        }
        let link = match result {
            Ok(sub) => {
                self.op("create", true);
                tracing::info!(org = %link.org_id, subscription = %sub.id, expires = %sub.expiration_date_time, "subscription created");
                let updated = TenantLink {
                    state: LinkState::Linked,
                    subscription_id: Some(sub.id),
                    subscription_expires_at: parse_timestamp_ms(&sub.expiration_date_time),
                    ..link.clone()
                };
                match self.write(updated).await {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::error!(error = %Report(&e), "cannot record the subscription");
                        link
                    }
                }
            }
            Err(e) => {
                self.op("create", false);
                tracing::warn!(org = %link.org_id, error = %Report(&e), "cannot create the subscription");
                return self.maybe_revoked(link, &e).await;
            }
        };
        if let Some(from) = gap_from {
            let _ = self.backfill(&link, from).await;
        }
        link
    }

    /// After a 409: the app already has a callRecords subscription in the tenant. One for our
    /// URL is renewed and kept; another is deleted and ours created.
    async fn adopt(
        &self,
        tenant: &str,
        new: &NewSubscription,
    ) -> Result<callsight_graph_client::api::Subscription, GraphError> {
        let existing = self.graph.list_subscriptions(tenant).await?;
        for sub in existing.iter().filter(|s| {
            s.resource
                .as_deref()
                .is_some_and(|r| r.trim_start_matches('/') == RESOURCE.trim_start_matches('/'))
        }) {
            if sub.notification_url.as_deref() == Some(new.notification_url.as_str()) {
                return self
                    .graph
                    .renew_subscription(tenant, &sub.id, &new.expiration_date_time)
                    .await;
            }
            self.graph.delete_subscription(tenant, &sub.id).await?;
        }
        self.graph.create_subscription(tenant, new).await
    }

    /// Marks the link's consent revoked when the error says the app lost it.
    async fn maybe_revoked(&self, link: TenantLink, e: &GraphError) -> TenantLink {
        if !consent_gone(e) || link.state == LinkState::ConsentRevoked {
            return link;
        }
        tracing::warn!(org = %link.org_id, "the tenant withdrew consent; the link is marked consent_revoked");
        let revoked = TenantLink {
            state: LinkState::ConsentRevoked,
            subscription_id: None,
            ..link.clone()
        };
        self.write(revoked).await.unwrap_or(link)
    }

    /// Renews (and so reauthorizes) the link's subscription; one Graph no longer knows is
    /// created again, with a backfill.
    async fn renew(&self, link: TenantLink) -> TenantLink {
        let Some(id) = link.subscription_id.clone() else {
            return self.subscribe(link, None).await;
        };
        match self
            .graph
            .renew_subscription(&link.tenant_id, &id, &self.expiry())
            .await
        {
            Ok(sub) => {
                self.op("renew", true);
                let updated = TenantLink {
                    subscription_expires_at: parse_timestamp_ms(&sub.expiration_date_time),
                    ..link.clone()
                };
                self.write(updated).await.unwrap_or(link)
            }
            Err(GraphError::NotFound) => {
                self.op("renew", false);
                tracing::warn!(org = %link.org_id, "Graph no longer knows the subscription; creating it again");
                let gap = link
                    .subscription_expires_at
                    .unwrap_or(i64::MAX)
                    .min(now_ms());
                let cleared = TenantLink {
                    subscription_id: None,
                    ..link
                };
                self.subscribe(cleared, Some(gap)).await
            }
            Err(e) => {
                self.op("renew", false);
                tracing::warn!(org = %link.org_id, error = %Report(&e), "cannot renew the subscription");
                self.maybe_revoked(link, &e).await
            }
        }
    }

    /// Lists the tenant's call records that started from `backfill_window` before `gap_from`
    /// until now and writes a notification for each.
    pub async fn backfill(&self, link: &TenantLink, gap_from: i64) -> Result<usize, BackfillError> {
        let now = now_ms();
        let from = gap_from.min(now) - self.connector.graph.backfill_window.as_millis() as i64;
        let records = match self
            .graph
            .list_call_records(&link.tenant_id, &rfc3339(from), &rfc3339(now + 60_000))
            .await
        {
            Ok(r) => r,
            Err(e) => {
                self.op("backfill", false);
                tracing::warn!(org = %link.org_id, error = %Report(&e), "backfill: cannot list call records");
                return Err(BackfillError::List(e));
            }
        };
        let topic = &self.connector.topics.notifications.name;
        for record in &records {
            let n = GraphNotification {
                org_id: link.org_id.clone(),
                tenant_id: link.tenant_id.clone(),
                subscription_id: link.subscription_id.clone().unwrap_or_default(),
                origin: NotificationOrigin::Backfill,
                change_type: Some(GraphChangeType::Updated),
                lifecycle_event: None,
                call_id: Some(record.id.clone()),
                resource: Some(format!("communications/callRecords/{}", record.id)),
                subscription_expires_at: link.subscription_expires_at,
                received_at: now,
            };
            if let Err(e) = self.connector.write(topic, &n.key(), &n).await {
                self.op("backfill", false);
                tracing::error!(org = %link.org_id, error = %Report(&e), "backfill: cannot write a notification");
                return Err(BackfillError::Write(e));
            }
            self.connector.metrics.backfilled.inc();
        }
        self.op("backfill", true);
        tracing::info!(org = %link.org_id, records = records.len(), from = %rfc3339(from), "backfilled");
        Ok(records.len())
    }

    /// Links configured tenants that are not linked yet.
    async fn link_configured(&self, tenant: &str, config: &StaticTenantConfig) {
        let held = self.connector.links.get(&config.org_id);
        let current = held.as_ref().is_some_and(|h| {
            h.tenant_id.eq_ignore_ascii_case(tenant)
                && h.state == LinkState::Linked
                && h.static_config
                && h.keep_identity == config.keep_identity
        });
        if current {
            return;
        }
        let now = now_ms();
        let request = TenantLink {
            org_id: config.org_id.clone(),
            tenant_id: tenant.to_string(),
            state: LinkState::Linked,
            linked_by_name: None,
            linked_by_email: None,
            linked_at: now,
            updated_at: now,
            static_config: true,
            keep_identity: config.keep_identity,
            key_id: None,
            wrapped_keys: Vec::new(),
            subscription_id: None,
            subscription_expires_at: None,
        };
        let message = crate::manage::control::link(request, now);
        self.handle(&message).await;
    }

    /// One pass over every link (and every configured tenant).
    pub async fn check(&self) {
        let configured = self.connector.graph.tenants.clone();
        for (tenant, config) in &configured {
            self.link_configured(tenant, config).await;
        }
        let now = now_ms();
        let renew_before = self.connector.graph.subscription_renew_before.as_millis() as i64;
        for link in self.connector.links.all() {
            let removed_from_config = link.static_config
                && link.state != LinkState::Unlinked
                && !configured.iter().any(|(t, c)| {
                    t.eq_ignore_ascii_case(&link.tenant_id) && c.org_id == link.org_id
                });
            if removed_from_config {
                tracing::warn!(org = %link.org_id, "a configured tenant left the configuration; unlinking it");
                self.unlink(&link.org_id).await;
                continue;
            }
            match (
                link.state,
                &link.subscription_id,
                link.subscription_expires_at,
            ) {
                (LinkState::Linked, None, lapsed) => {
                    let gap = lapsed.filter(|at| *at < now);
                    self.subscribe(link, gap).await;
                }
                (LinkState::Linked, Some(_), Some(at)) if at <= now => {
                    // Expired: Graph deleted it; notifications since then were lost.
                    tracing::warn!(org = %link.org_id, "the subscription expired; creating it again");
                    let cleared = TenantLink {
                        subscription_id: None,
                        ..link
                    };
                    self.subscribe(cleared, Some(at)).await;
                }
                (LinkState::Linked, Some(_), at)
                    if at.is_none_or(|at| at - now <= renew_before) =>
                {
                    self.renew(link).await;
                }
                (LinkState::ConsentRevoked, _, _) => {
                    // Consent may have been granted again outside callsight.
                    let gap = Some(link.updated_at);
                    self.subscribe(link, gap).await;
                }
                (LinkState::Unlinked, Some(_), _) => {
                    self.unlink(&link.org_id).await;
                }
                _ => {}
            }
        }
    }
}
