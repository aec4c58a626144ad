//! `callsight-lab mistsim`: a simulator of the Juniper Mist cloud for one org, faithful to what
//! callsight's poller and webhook endpoint rely on, fed with a simulated network.
//!
//! REST (`/api/v1`, `Authorization: Token <token>`): the org's sites and networks, per site the
//! derived setting, wireless client statistics, device statistics of type `ap` (with
//! `radio_stat` per band and `lldp_stat`), `switch` and `gateway` (WAN interfaces in `if_stat`),
//! the port search (switch ports, and gateway WAN ports with latency, jitter and loss), the wired
//! clients search, and the org's VPN peer search. Searches page with `limit` and `page` and give
//! their time range (`start`, `end`); requests beyond `requests_per_hour` per token (Mist's
//! documented 5,000) are answered 429. Every body is shaped as Mist's OpenAPI specification
//! documents it (a test validates them against it).
//!
//! Webhooks: the network's events become `client-join`, `client-sessions`, `client-info`,
//! `device-events` and `nac-accounting` deliveries, signed with `X-Mist-Signature-v2` (HMAC-SHA256 of the body with
//! the webhook's secret) and posted to the configured URL, retried until answered 2xx.
//!
//! Control (`/_sim`): `POST /_sim/lines` takes lines of callsight's NDJSON format (the
//! inventory, then each minute's statistics and events) as the network's truth; `GET
//! /_sim/stats` counts requests, polls and deliveries; `PUT /_sim/faults` throttles.
//!
//! Layout: this module serves; [`state`] turns the lines into what Mist would report.

pub mod state;

use axum::Router;
use axum::extract::{Path, Query, State as AxumState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;
use state::{Deliveries, MistState};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// How the simulator runs.
#[derive(Debug, Clone)]
pub struct MistSimConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The org's id.
    pub org_id: String,
    /// The API token the org's requests must carry.
    pub api_token: String,
    /// The webhook's secret deliveries are signed with.
    pub webhook_secret: String,
    /// Where webhooks are posted (callsight's `/telemetry/mist/{org}`); none: not delivered.
    pub webhook_url: Option<String>,
    /// Requests per hour of the simulated clock before 429 (Mist documents 5,000 per token per
    /// hour).
    pub requests_per_hour: u32,
}

impl Default for MistSimConfig {
    fn default() -> Self {
        MistSimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            org_id: "6c3e0d3a-9a5b-4f41-8c2e-5a1f0b7d2c11".into(),
            api_token: "mistsim-token".into(),
            webhook_secret: "mistsim-secret".into(),
            webhook_url: None,
            requests_per_hour: 5000,
        }
    }
}

/// Injected faults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Answer the next N API requests 429.
    pub throttle_next: u32,
}

/// What the simulator has done.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// API requests answered (any status).
    pub requests: u64,
    /// Requests answered 401.
    pub unauthorized: u64,
    /// Requests answered 429.
    pub throttled: u64,
    /// Times the network's lines were taken.
    pub version: u64,
    /// The version the last complete poll (the org's sites first, its VPN peers last) read.
    pub polled_version: u64,
    /// Webhook deliveries answered 2xx.
    pub deliveries: u64,
    /// Delivery attempts that failed (retried).
    pub delivery_failures: u64,
    /// Webhook events delivered.
    pub events: u64,
}

struct Inner {
    state: MistState,
    stats: Stats,
    faults: Faults,
    /// The version a poll in progress started on.
    poll_started: Option<u64>,
    /// Requests in the current hour of the cloud's clock (the simulated time), and which hour.
    window: (i64, u32),
    webhook_url: Option<String>,
}

struct Shared {
    inner: Mutex<Inner>,
    config: MistSimConfig,
    polled: watch::Sender<u64>,
    http: reqwest::Client,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running simulator.
pub struct MistSim {
    /// Where it listens.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    stop: CancellationToken,
}

/// The simulator could not start, or a delivery could not be made.
#[derive(Debug, thiserror::Error)]
#[error("mistsim: {0}")]
pub struct SimError(String);

type Hmac256 = Hmac<Sha256>;

/// The `X-Mist-Signature-v2` of `body` with `secret`: lowercase hex HMAC-SHA256.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

impl MistSim {
    /// Starts the simulator.
    pub async fn start(config: MistSimConfig) -> Result<MistSim, SimError> {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| SimError(format!("cannot listen on {}: {e}", config.listen)))?;
        let addr = listener.local_addr().map_err(|e| SimError(e.to_string()))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| SimError(e.to_string()))?;
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                state: MistState::new(&config.org_id),
                stats: Stats::default(),
                faults: Faults::default(),
                poll_started: None,
                window: (0, 0),
                webhook_url: config.webhook_url.clone(),
            }),
            polled: watch::channel(0).0,
            config,
            http,
        });
        let app = Router::new()
            .route("/api/v1/orgs/{org}/sites", get(org_sites))
            .route("/api/v1/orgs/{org}/networks", get(org_networks))
            .route("/api/v1/orgs/{org}/stats/vpn_peers/search", get(vpn_peers))
            .route("/api/v1/sites/{site}/setting/derived", get(derived))
            .route("/api/v1/sites/{site}/stats/clients", get(clients))
            .route("/api/v1/sites/{site}/stats/devices", get(devices))
            .route("/api/v1/sites/{site}/stats/ports/search", get(ports))
            .route(
                "/api/v1/sites/{site}/wired_clients/search",
                get(wired_clients),
            )
            .route("/_sim/lines", post(take_lines))
            .route("/_sim/stats", get(stats))
            .route("/_sim/faults", put(set_faults))
            .with_state(shared.clone());
        let stop = CancellationToken::new();
        let until = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { until.cancelled().await })
                .await;
        });
        Ok(MistSim { addr, shared, stop })
    }

    /// The API's base URL (`ingest.mist.api_url`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The simulated org.
    pub fn org_id(&self) -> &str {
        &self.shared.config.org_id
    }

    /// The API token.
    pub fn api_token(&self) -> &str {
        &self.shared.config.api_token
    }

    /// The webhook secret.
    pub fn webhook_secret(&self) -> &str {
        &self.shared.config.webhook_secret
    }

    /// Posts webhooks to `url` from now on.
    pub fn set_webhook_url(&self, url: Option<String>) {
        self.shared.lock().webhook_url = url;
    }

    /// Takes lines of the network's truth and delivers the webhooks they cause; returns the new
    /// version of the org's state.
    pub async fn apply(&self, lines: &[Value]) -> Result<u64, SimError> {
        apply(&self.shared, lines).await
    }

    /// Takes lines of the network's truth without delivering the webhooks they cause: returns
    /// the new version and the deliveries (each topic's events), to be recorded.
    pub fn take(&self, lines: &[Value]) -> (u64, Deliveries) {
        take(&self.shared, lines)
    }

    /// Waits until a complete poll read `version` or later; false after `timeout`.
    pub async fn wait_polled(&self, version: u64, timeout: Duration) -> bool {
        let mut polled = self.shared.polled.subscribe();
        tokio::time::timeout(timeout, polled.wait_for(|v| *v >= version))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.shared.lock().stats.clone()
    }

    /// Sets the faults.
    pub fn set_faults(&self, faults: Faults) {
        self.shared.lock().faults = faults;
    }

    /// Stops serving.
    pub fn shutdown(&self) {
        self.stop.cancel();
    }
}

impl std::fmt::Debug for MistSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MistSim")
            .field("addr", &self.addr)
            .field("org_id", &self.shared.config.org_id)
            .finish_non_exhaustive()
    }
}

impl Drop for MistSim {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Takes lines into the org's state: the new version and the deliveries they cause.
fn take(shared: &Shared, lines: &[Value]) -> (u64, Deliveries) {
    let mut inner = shared.lock();
    let deliveries = inner.state.apply(lines);
    inner.stats.version += 1;
    (inner.stats.version, deliveries)
}

async fn apply(shared: &Shared, lines: &[Value]) -> Result<u64, SimError> {
    let (version, deliveries) = take(shared, lines);
    let url = shared.lock().webhook_url.clone();
    if let Some(url) = url {
        deliver(shared, &url, deliveries).await?;
    }
    Ok(version)
}

/// Posts each topic's events as one signed delivery, retrying each until answered 2xx (at most
/// ten attempts).
async fn deliver(shared: &Shared, url: &str, deliveries: Deliveries) -> Result<(), SimError> {
    for (topic, events) in deliveries {
        let count = events.len() as u64;
        let body = serde_json::to_vec(&json!({"topic": topic, "events": events}))
            .map_err(|e| SimError(e.to_string()))?;
        let signed = signature(shared.config.webhook_secret.as_bytes(), &body);
        let mut attempt: u64 = 0;
        loop {
            attempt += 1;
            let answer = shared
                .http
                .post(url)
                .header("Content-Type", "application/json")
                .header("X-Mist-Signature-v2", &signed)
                .body(body.clone())
                .send()
                .await;
            match answer {
                Ok(r) if r.status().is_success() => {
                    let mut inner = shared.lock();
                    inner.stats.deliveries += 1;
                    inner.stats.events += count;
                    break;
                }
                other => {
                    shared.lock().stats.delivery_failures += 1;
                    if attempt >= 10 {
                        let why = match other {
                            Ok(r) => format!("answered {}", r.status()),
                            Err(e) => e.to_string(),
                        };
                        return Err(SimError(format!("a {topic} delivery to {url}: {why}")));
                    }
                    tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
                }
            }
        }
    }
    Ok(())
}

fn detail(status: StatusCode, detail: &str) -> Response {
    (status, axum::Json(json!({"detail": detail}))).into_response()
}

/// Authenticates and counts a request, and applies the rate limit and faults: the answer to send
/// instead of serving it, if any.
fn refusal(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
    let mut inner = shared.lock();
    inner.stats.requests += 1;
    let expected = format!("Token {}", shared.config.api_token);
    let given = headers.get("authorization").and_then(|v| v.to_str().ok());
    if given != Some(expected.as_str()) {
        inner.stats.unauthorized += 1;
        return Some(detail(
            StatusCode::UNAUTHORIZED,
            "Authentication credentials were not provided.",
        ));
    }
    if inner.faults.throttle_next > 0 {
        inner.faults.throttle_next -= 1;
        inner.stats.throttled += 1;
        return Some(detail(
            StatusCode::TOO_MANY_REQUESTS,
            "Request was throttled.",
        ));
    }
    // Per hour of the simulated clock: the simulation polls once per simulated minute, however
    // fast it runs.
    let hour = inner.state.now_ms().div_euclid(3_600_000);
    let count = if inner.window.0 == hour {
        inner.window.1 + 1
    } else {
        1
    };
    inner.window = (hour, count);
    if count > shared.config.requests_per_hour {
        inner.stats.throttled += 1;
        return Some(detail(
            StatusCode::TOO_MANY_REQUESTS,
            "Request was throttled.",
        ));
    }
    None
}

fn not_found() -> Response {
    detail(StatusCode::NOT_FOUND, "Not found.")
}

async fn org_sites(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path(org): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = refusal(&shared, &headers) {
        return r;
    }
    let mut inner = shared.lock();
    if org != inner.state.org_id() {
        return not_found();
    }
    // A poll begins with the org's sites.
    inner.poll_started = Some(inner.stats.version);
    axum::Json(inner.state.sites()).into_response()
}

async fn org_networks(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path(org): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = refusal(&shared, &headers) {
        return r;
    }
    let inner = shared.lock();
    if org != inner.state.org_id() {
        return not_found();
    }
    axum::Json(inner.state.networks()).into_response()
}

/// Paging of a search: `limit` (default 100, at most 1000) and `page` (from 1).
#[derive(Debug, Default, Deserialize)]
struct Paging {
    limit: Option<usize>,
    page: Option<usize>,
}

/// One page of a search's `rows`, with Mist's envelope.
fn search(path: &str, rows: Vec<Value>, paging: &Paging, now_ms: i64) -> Response {
    let limit = paging.limit.unwrap_or(100).clamp(1, 1000);
    let page = paging.page.unwrap_or(1).max(1);
    let total = rows.len();
    let results: Vec<Value> = rows
        .into_iter()
        .skip((page - 1) * limit)
        .take(limit)
        .collect();
    let end = now_ms as f64 / 1000.0;
    let mut body = json!({"start": end - 3600.0, "end": end, "limit": limit, "total": total,
        "results": results});
    if page * limit < total {
        body["next"] = format!("{path}?limit={limit}&page={}", page + 1).into();
    }
    axum::Json(body).into_response()
}

async fn vpn_peers(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path(org): Path<String>,
    Query(paging): Query<Paging>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = refusal(&shared, &headers) {
        return r;
    }
    let mut inner = shared.lock();
    if org != inner.state.org_id() {
        return not_found();
    }
    // A poll ends with the org's VPN peers: what it read is as of the version it began on.
    if let Some(version) = inner.poll_started.take() {
        inner.stats.polled_version = inner.stats.polled_version.max(version);
        shared.polled.send_replace(inner.stats.polled_version);
    }
    search(
        &format!("/api/v1/orgs/{org}/stats/vpn_peers/search"),
        Vec::new(),
        &paging,
        inner.state.now_ms(),
    )
}

/// Answers with a site's body, or 404 for a site the org does not have.
fn site_answer(
    shared: &Shared,
    headers: &HeaderMap,
    body: impl FnOnce(&MistState) -> Option<Value>,
) -> Response {
    if let Some(r) = refusal(shared, headers) {
        return r;
    }
    let inner = shared.lock();
    match body(&inner.state) {
        Some(body) => axum::Json(body).into_response(),
        None => not_found(),
    }
}

async fn derived(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path(site): Path<String>,
    headers: HeaderMap,
) -> Response {
    site_answer(&shared, &headers, |s| s.derived(&site))
}

async fn clients(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path(site): Path<String>,
    headers: HeaderMap,
) -> Response {
    site_answer(&shared, &headers, |s| s.clients(&site))
}

async fn devices(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path(site): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    site_answer(&shared, &headers, |s| {
        match query.get("type").map_or("ap", String::as_str) {
            "ap" => s.aps(&site),
            "switch" => s.switches(&site),
            "gateway" => s.gateways(&site),
            "all" => {
                let mut all = Vec::new();
                for part in [s.aps(&site), s.switches(&site), s.gateways(&site)] {
                    all.extend(part?.as_array().cloned().unwrap_or_default());
                }
                Some(Value::Array(all))
            }
            _ => Some(json!([])),
        }
    })
}

/// One page of a site's search, or 404 for a site the org does not have.
fn site_search(
    shared: &Shared,
    headers: &HeaderMap,
    path: String,
    paging: &Paging,
    rows: impl FnOnce(&MistState) -> Option<Vec<Value>>,
) -> Response {
    if let Some(r) = refusal(shared, headers) {
        return r;
    }
    let inner = shared.lock();
    match rows(&inner.state) {
        Some(rows) => search(&path, rows, paging, inner.state.now_ms()),
        None => not_found(),
    }
}

async fn ports(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path(site): Path<String>,
    Query(paging): Query<Paging>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/api/v1/sites/{site}/stats/ports/search");
    site_search(&shared, &headers, path, &paging, |s| s.ports(&site))
}

async fn wired_clients(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path(site): Path<String>,
    Query(paging): Query<Paging>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/api/v1/sites/{site}/wired_clients/search");
    site_search(&shared, &headers, path, &paging, |s| s.wired_clients(&site))
}

async fn take_lines(
    AxumState(shared): AxumState<Arc<Shared>>,
    axum::Json(lines): axum::Json<Vec<Value>>,
) -> Response {
    match apply(&shared, &lines).await {
        Ok(version) => axum::Json(json!({"version": version})).into_response(),
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

async fn stats(AxumState(shared): AxumState<Arc<Shared>>) -> Response {
    axum::Json(shared.lock().stats.clone()).into_response()
}

async fn set_faults(
    AxumState(shared): AxumState<Arc<Shared>>,
    axum::Json(faults): axum::Json<Faults>,
) -> Response {
    shared.lock().faults = faults;
    StatusCode::NO_CONTENT.into_response()
}
