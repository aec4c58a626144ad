//! `callsight-lab graphsim`: a simulator of Microsoft Graph's callRecords API and of Entra, faithful
//! to what callsight relies on, for tests, the demo and benchmarks.
//!
//! Entra: `POST /{tenant}/oauth2/v2.0/token` (client credentials and authorization code, with
//! Entra-shaped errors and AADSTS codes), `GET /{tenant}/oauth2/v2.0/authorize` (an
//! administrator's sign-in with admin consent, redirecting back with a code or an error).
//! Graph (`/v1.0`): `/me`, `/organization`, call records with `$expand=sessions($expand=segments)`
//! and paged sessions (`Prefer: odata.maxpagesize`), the record list with a `startDateTime`
//! filter, subscriptions with the real validation handshake against the registered URLs, and
//! notification delivery (batched, retried when not acknowledged within 3 s). Faults: 429 with a
//! fractional `Retry-After`, 503, slow answers, 404 before a record is ready, refused consent.
//!
//! Control (`/_sim`): add tenants, complete and update calls, set faults, read counters and
//! subscriptions, send lifecycle events.
//!
//! Layout: this module starts the server and holds the control API; `entra` serves tokens and
//! sign-in, `graph` the Graph API, `delivery` notification delivery, [`state`] the tenants,
//! records, subscriptions and faults.

mod delivery;
mod entra;
mod graph;
pub mod state;

use axum::Router;
use axum::routing::{get, post, put};
use serde_json::Value;
use state::{Faults, State, Stats, TenantSpec};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How the simulator runs.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The app registration's client id.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
    /// Largest page of sessions served.
    pub page_size: usize,
    /// Lifetime of issued tokens.
    pub token_lifetime: Duration,
    /// How long an unacknowledged notification is retried (Graph: 4 hours).
    pub delivery_retry_for: Duration,
    /// A delivery not answered 2xx within this is a failure (Graph: 3 s).
    pub delivery_timeout: Duration,
    /// Longest pause between two attempts of a delivery (the pause doubles from 400 ms).
    pub delivery_max_backoff: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            client_id: "11111111-2222-4333-8444-555555555555".into(),
            client_secret: "sim-secret".into(),
            page_size: 60,
            token_lifetime: Duration::from_secs(3599),
            delivery_retry_for: Duration::from_secs(4 * 3600),
            delivery_timeout: Duration::from_secs(3),
            delivery_max_backoff: Duration::from_secs(60),
        }
    }
}

pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
    pub(crate) config: SimConfig,
    pub(crate) base_url: String,
    pub(crate) deliveries: mpsc::UnboundedSender<delivery::Pending>,
    pub(crate) http: reqwest::Client,
}

impl Shared {
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running simulator.
pub struct GraphSim {
    /// Where it listens.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    stop: CancellationToken,
}

/// The simulator could not start.
#[derive(Debug, thiserror::Error)]
#[error("graphsim: {0}")]
pub struct SimError(String);

impl GraphSim {
    /// Starts the simulator.
    pub async fn start(config: SimConfig) -> Result<GraphSim, SimError> {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| SimError(format!("cannot listen on {}: {e}", config.listen)))?;
        let addr = listener.local_addr().map_err(|e| SimError(e.to_string()))?;
        let (tx, rx) = mpsc::unbounded_channel();
        let http = reqwest::Client::builder()
            .timeout(config.delivery_timeout)
            .build()
            .map_err(|e| SimError(e.to_string()))?;
        let state = State {
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            app_id: state::guid(),
            token_lifetime: config.token_lifetime,
            ..State::default()
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            config,
            base_url: format!("http://{addr}"),
            deliveries: tx,
            http,
        });
        let stop = CancellationToken::new();
        tokio::spawn(delivery::run(shared.clone(), rx, stop.clone()));
        let app = router(shared.clone());
        let token = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(token.cancelled_owned())
                .await;
        });
        Ok(GraphSim { addr, shared, stop })
    }

    /// `http://host:port`: the Entra authority (`graph.login_url`).
    pub fn login_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// `http://host:port/v1.0`: the Graph base (`graph.base_url`).
    pub fn graph_url(&self) -> String {
        format!("{}/v1.0", self.shared.base_url)
    }

    /// The app's client id.
    pub fn client_id(&self) -> String {
        self.shared.config.client_id.clone()
    }

    /// The app's client secret.
    pub fn client_secret(&self) -> String {
        self.shared.config.client_secret.clone()
    }

    /// Adds (or replaces) a tenant; the next interactive sign-in is its administrator's.
    pub fn add_tenant(&self, spec: TenantSpec) {
        control::add_tenant(&self.shared, spec);
    }

    /// Completes a call: stores the record (its `version`, else 1) and notifies `created`.
    pub fn complete_call(&self, tenant: &str, record: Value) -> Result<(String, i64), String> {
        control::store_call(&self.shared, tenant, record, false)
    }

    /// A new version of a call: stores it as the next version and notifies `updated`.
    pub fn update_call(&self, tenant: &str, record: Value) -> Result<(String, i64), String> {
        control::store_call(&self.shared, tenant, record, true)
    }

    /// Sets the faults.
    pub fn set_faults(&self, faults: Faults) {
        self.shared.lock().faults = faults;
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.shared.lock().stats.clone()
    }

    /// Subscriptions: (id, tenant, expiration).
    pub fn subscriptions(&self) -> Vec<(String, String, String)> {
        self.shared
            .lock()
            .subscriptions
            .values()
            .map(|s| (s.id.clone(), s.tenant_id.clone(), s.expiration.clone()))
            .collect()
    }

    /// Sends a lifecycle event (`reauthorizationRequired`, `subscriptionRemoved`, `missed`) for a
    /// subscription; `subscriptionRemoved` also removes it.
    pub fn lifecycle(&self, subscription_id: &str, event: &str) -> Result<(), String> {
        control::lifecycle(&self.shared, subscription_id, event)
    }

    /// Invalidates every issued token (as if they had expired).
    pub fn revoke_tokens(&self) {
        self.shared.lock().grants.clear();
    }

    /// Stops serving.
    pub fn shutdown(&self) {
        self.stop.cancel();
    }
}

impl Drop for GraphSim {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

mod control {
    use super::*;
    use axum::Json;
    use axum::extract::{Path, State as AxState};
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};

    pub(crate) fn add_tenant(shared: &Shared, spec: TenantSpec) {
        let mut state = shared.lock();
        state.signin_tenant = Some(spec.tenant_id.clone());
        state.tenants.insert(
            spec.tenant_id.clone(),
            state::Tenant {
                spec,
                records: Default::default(),
            },
        );
    }

    pub(crate) fn store_call(
        shared: &Shared,
        tenant: &str,
        mut record: Value,
        update: bool,
    ) -> Result<(String, i64), String> {
        let id = record["id"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .unwrap_or_else(state::guid);
        let mut state = shared.lock();
        let not_ready = state.faults.not_ready_gets;
        let tenant_state = state
            .tenants
            .get_mut(tenant)
            .ok_or_else(|| format!("unknown tenant {tenant}"))?;
        let previous = tenant_state.records.get(&id).map(|r| r.version);
        let version = match (update, previous) {
            (true, Some(v)) => v + 1,
            (true, None) => return Err(format!("no call {id} to update")),
            (false, _) => record["version"].as_i64().unwrap_or(1),
        };
        record["id"] = Value::String(id.clone());
        record["version"] = Value::from(version);
        record["lastModifiedDateTime"] = Value::String(graph::now_rfc3339());
        tenant_state.records.insert(
            id.clone(),
            state::Record {
                json: record,
                version,
                not_ready_left: if update { 0 } else { not_ready },
            },
        );
        let change = if update { "updated" } else { "created" };
        let subs: Vec<state::Sub> = state
            .subscriptions
            .values()
            .filter(|s| {
                s.tenant_id == tenant && s.change_type.split(',').any(|c| c.trim() == change)
            })
            .cloned()
            .collect();
        drop(state);
        for sub in subs {
            let _ = shared.deliveries.send(delivery::Pending::new(
                sub.notification_url.clone(),
                delivery::change_notification(&sub, change, &id),
            ));
        }
        Ok((id, version))
    }

    pub(crate) fn lifecycle(
        shared: &Shared,
        subscription_id: &str,
        event: &str,
    ) -> Result<(), String> {
        let mut state = shared.lock();
        let sub = state
            .subscriptions
            .get(subscription_id)
            .cloned()
            .ok_or("unknown subscription")?;
        if event == "subscriptionRemoved" {
            state.subscriptions.remove(subscription_id);
        }
        drop(state);
        let url = sub
            .lifecycle_url
            .clone()
            .ok_or("the subscription has no lifecycle URL")?;
        let _ = shared.deliveries.send(delivery::Pending::new(
            url,
            delivery::lifecycle_notification(&sub, event),
        ));
        Ok(())
    }

    fn answer(result: Result<(String, i64), String>) -> Response {
        match result {
            Ok((id, version)) => {
                Json(serde_json::json!({ "id": id, "version": version })).into_response()
            }
            Err(e) => (StatusCode::BAD_REQUEST, e).into_response(),
        }
    }

    pub(crate) async fn post_tenant(
        AxState(shared): AxState<Arc<Shared>>,
        Json(spec): Json<TenantSpec>,
    ) -> StatusCode {
        add_tenant(&shared, spec);
        StatusCode::CREATED
    }

    pub(crate) async fn post_call(
        AxState(shared): AxState<Arc<Shared>>,
        Path(tenant): Path<String>,
        Json(record): Json<Value>,
    ) -> Response {
        answer(store_call(&shared, &tenant, record, false))
    }

    pub(crate) async fn post_version(
        AxState(shared): AxState<Arc<Shared>>,
        Path((tenant, id)): Path<(String, String)>,
        Json(mut record): Json<Value>,
    ) -> Response {
        record["id"] = Value::String(id);
        answer(store_call(&shared, &tenant, record, true))
    }

    pub(crate) async fn put_faults(
        AxState(shared): AxState<Arc<Shared>>,
        Json(faults): Json<Faults>,
    ) -> StatusCode {
        shared.lock().faults = faults;
        StatusCode::NO_CONTENT
    }

    pub(crate) async fn get_stats(AxState(shared): AxState<Arc<Shared>>) -> Json<Stats> {
        Json(shared.lock().stats.clone())
    }

    /// `GET /_sim/subscriptions`: `[{"id", "tenant_id", "expiration"}]`.
    pub(crate) async fn get_subscriptions(
        AxState(shared): AxState<Arc<Shared>>,
    ) -> Json<serde_json::Value> {
        let subs: Vec<serde_json::Value> = shared
            .lock()
            .subscriptions
            .values()
            .map(|s| {
                serde_json::json!({"id": s.id, "tenant_id": s.tenant_id, "expiration": s.expiration})
            })
            .collect();
        Json(serde_json::Value::Array(subs))
    }

    pub(crate) async fn post_lifecycle(
        AxState(shared): AxState<Arc<Shared>>,
        Path((id, event)): Path<(String, String)>,
    ) -> Response {
        match lifecycle(&shared, &id, &event) {
            Ok(()) => StatusCode::ACCEPTED.into_response(),
            Err(e) => (StatusCode::NOT_FOUND, e).into_response(),
        }
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(entra::token))
        .route("/{tenant}/oauth2/v2.0/authorize", get(entra::authorize))
        .route("/v1.0/me", get(graph::me))
        .route("/v1.0/organization", get(graph::organization))
        .route("/v1.0/communications/callRecords", get(graph::list_records))
        .route(
            "/v1.0/communications/callRecords/{id}",
            get(graph::get_record),
        )
        .route(
            "/v1.0/communications/callRecords/{id}/sessions",
            get(graph::get_sessions),
        )
        .route(
            "/v1.0/subscriptions",
            post(graph::create_subscription).get(graph::list_subscriptions),
        )
        .route(
            "/v1.0/subscriptions/{id}",
            axum::routing::patch(graph::renew_subscription).delete(graph::delete_subscription),
        )
        .route(
            "/v1.0/subscriptions/{id}/reauthorize",
            post(graph::reauthorize_subscription),
        )
        .route("/_sim/tenants", post(control::post_tenant))
        .route("/_sim/tenants/{tenant}/calls", post(control::post_call))
        .route(
            "/_sim/tenants/{tenant}/calls/{id}",
            post(control::post_version),
        )
        .route("/_sim/faults", put(control::put_faults))
        .route("/_sim/stats", get(control::get_stats))
        .route("/_sim/subscriptions", get(control::get_subscriptions))
        .route(
            "/_sim/subscriptions/{id}/lifecycle/{event}",
            post(control::post_lifecycle),
        )
        .with_state(shared)
}
