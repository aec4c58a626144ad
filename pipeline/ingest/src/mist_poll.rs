//! The Mist statistics poller (the `mist-poll` role): every `ingest.mist.poll_interval`, for every org with an API token,
//! reads its sites' statistics from the Mist REST API and produces samples and inventory.
//!
//! Per org: `GET /api/v1/orgs/{org}/sites`, `/orgs/{org}/networks` and
//! `/orgs/{org}/stats/vpn_peers/search`; per site: `/sites/{site}/stats/clients`,
//! `/wired_clients/search`, `/stats/devices?type=ap|switch|gateway`, `/stats/ports/search` and
//! `/setting/derived`.
//! Counter rates need two polls, so the first poll after a start has none. One failing request
//! costs only its own records (counted); a `429` ends the org's poll early, to be resumed next
//! time. Run the poller in exactly one replica: two would produce every sample twice.

use crate::config::{MistConfig, MistOrgConfig};
use crate::events::Endpoint;
use crate::metrics::IngestMetrics;
use crate::mist_record::{RecordedPoll, Recorder};
use crate::sink::Sink;
use callsight_core::error::Report;
use callsight_telemetry::Batch;
use callsight_telemetry::mist::stats::{self, Scope, StatsNormalizer};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A Mist API request failed.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// Rate limited: stop this org's poll.
    #[error("rate limited by the Mist API")]
    RateLimited,
    /// The HTTP client could not be built.
    #[error("building the HTTP client of the Mist API")]
    Client(#[source] reqwest::Error),
    /// The request did not get an answer.
    #[error("GET {path}")]
    Request {
        /// The path asked for.
        path: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// The answer is not JSON.
    #[error("GET {path}: not JSON")]
    NotJson {
        /// The path asked for.
        path: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// The API answered with an error status.
    #[error("GET {path}: {status}")]
    Status {
        /// The path asked for.
        path: String,
        /// The status.
        status: reqwest::StatusCode,
    },
}

/// A client of one org's Mist API, or the answers of a recorded poll.
pub struct MistApi {
    source: Source,
    metrics: IngestMetrics,
    recorder: Option<std::sync::Mutex<Recorder>>,
}

enum Source {
    /// The API over HTTP.
    Http {
        http: reqwest::Client,
        base: String,
        token: String,
    },
    /// A recorded poll's answers, by path (a path not recorded answers 404).
    Recorded(BTreeMap<String, Value>),
}

impl MistApi {
    /// A client of the API at `base` with an org's `token`.
    pub fn new(base: &str, token: &str, metrics: IngestMetrics) -> Result<Self, PollError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(PollError::Client)?;
        Ok(MistApi {
            source: Source::Http {
                http,
                base: base.trim_end_matches('/').to_string(),
                token: token.to_string(),
            },
            metrics,
            recorder: None,
        })
    }

    /// The answers of a recorded poll, served as the API would.
    pub fn recorded(poll: &RecordedPoll, metrics: IngestMetrics) -> Self {
        MistApi {
            source: Source::Recorded(poll.answers.clone()),
            metrics,
            recorder: None,
        }
    }

    /// Records every answer into `dir` ([`crate::mist_record`]).
    pub fn recording_into(mut self, dir: &std::path::Path, org_id: &str) -> Self {
        self.recorder = Some(std::sync::Mutex::new(Recorder::new(dir, org_id)));
        self
    }

    /// Starts the recording of a poll made at `now_ms`, when recording.
    fn begin_poll(&self, now_ms: i64) {
        if let Some(recorder) = &self.recorder {
            recorder
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .begin(now_ms);
        }
    }

    async fn get(&self, path: &str) -> Result<Value, PollError> {
        let result = match &self.source {
            Source::Http { http, base, token } => Self::fetch(http, base, token, path).await,
            Source::Recorded(answers) => answers.get(path).cloned().ok_or(PollError::Status {
                path: path.to_string(),
                status: reqwest::StatusCode::NOT_FOUND,
            }),
        };
        if let (Ok(body), Some(recorder)) = (&result, &self.recorder) {
            recorder
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .answer(path, body);
        }
        self.metrics.mist_request(result.is_ok());
        result
    }

    async fn fetch(
        http: &reqwest::Client,
        base: &str,
        token: &str,
        path: &str,
    ) -> Result<Value, PollError> {
        let url = format!("{base}{path}");
        async {
            let response = http
                .get(&url)
                .header("Authorization", format!("Token {token}"))
                .send()
                .await
                .map_err(|source| PollError::Request {
                    path: path.to_string(),
                    source,
                })?;
            match response.status() {
                s if s.is_success() => {
                    response
                        .json::<Value>()
                        .await
                        .map_err(|source| PollError::NotJson {
                            path: path.to_string(),
                            source,
                        })
                }
                reqwest::StatusCode::TOO_MANY_REQUESTS => Err(PollError::RateLimited),
                status => Err(PollError::Status {
                    path: path.to_string(),
                    status,
                }),
            }
        }
        .await
    }

    /// A search endpoint's `results`, following `next` links.
    async fn search(&self, path: &str) -> Result<Vec<Value>, PollError> {
        Ok(self.search_until(path).await?.0)
    }

    /// A search endpoint's `results`, following `next` links, and the end of the time range the
    /// first page says it covers (`end`, epoch seconds, as ms): the Mist cloud's own time of
    /// those statistics, which stamps rows without a time of their own.
    async fn search_until(&self, path: &str) -> Result<(Vec<Value>, Option<i64>), PollError> {
        let mut out = Vec::new();
        let mut end = None;
        let mut next = Some(path.to_string());
        let mut pages = 0;
        while let Some(path) = next.take() {
            let page = self.get(&path).await?;
            if pages == 0 {
                end = page
                    .get("end")
                    .and_then(callsight_model::lenient::epoch_ms)
                    .filter(|t| *t > 0);
            }
            out.extend(
                page.get("results")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
            );
            pages += 1;
            next = page
                .get("next")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty() && pages < 100)
                .map(str::to_string);
        }
        Ok((out, end))
    }
}

fn as_array(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// What one poll of an org produced.
#[derive(Debug, Clone, Default)]
pub struct Polled {
    /// Records produced.
    pub records: usize,
    /// The inventory among them (sites, devices, links, subnets).
    pub inventory: Vec<callsight_model::types::InventoryRecord>,
}

/// Polls one org once, producing what it finds (and recording the answers, when recording).
pub async fn poll_org(
    api: &MistApi,
    org_id: &str,
    org: &MistOrgConfig,
    normalizer: &mut StatsNormalizer,
    sink: &Sink,
    now_ms: i64,
) -> Result<Polled, PollError> {
    poll(api, org_id, org, normalizer, Some(sink), now_ms).await
}

/// Polls one org once only to record the answers (`api` must be recording): what it finds is
/// normalised, counted and dropped.
pub async fn record_poll(
    api: &MistApi,
    org_id: &str,
    org: &MistOrgConfig,
    normalizer: &mut StatsNormalizer,
    now_ms: i64,
) -> Result<Polled, PollError> {
    poll(api, org_id, org, normalizer, None, now_ms).await
}

async fn poll(
    api: &MistApi,
    org_id: &str,
    org: &MistOrgConfig,
    normalizer: &mut StatsNormalizer,
    sink: Option<&Sink>,
    now_ms: i64,
) -> Result<Polled, PollError> {
    api.begin_poll(now_ms);
    let mut produced = 0;
    let mut inventory = Vec::new();
    let mut emit = async |batch: Batch| {
        inventory.extend(batch.records.iter().filter_map(|r| match r {
            callsight_telemetry::Record::Inventory(i) => Some(i.clone()),
            callsight_telemetry::Record::Sample(_) => None,
        }));
        if !batch.rejected.is_empty() {
            tracing::warn!(
                org = org_id,
                rejected = batch.rejected.len(),
                "Mist objects not understood"
            );
        }
        let n = batch.records.len();
        let Some(sink) = sink else {
            return n;
        };
        match sink.produce(&batch.records).await {
            Ok(()) => {
                sink.metrics()
                    .records_taken(Endpoint::MistPoller, n, batch.rejected.len(), 0);
                n
            }
            Err(e) => {
                sink.metrics().poll_not_produced(org_id, &e);
                0
            }
        }
    };
    let sites = as_array(api.get(&format!("/api/v1/orgs/{org_id}/sites")).await?);
    let networks = match api.get(&format!("/api/v1/orgs/{org_id}/networks")).await {
        Ok(v) => as_array(v),
        Err(PollError::RateLimited) => return Err(PollError::RateLimited),
        Err(e) => {
            tracing::warn!(org = org_id, error = %Report(&e), "no org networks this poll");
            Vec::new()
        }
    };
    let wanted: BTreeSet<&String> = org.sites.iter().collect();
    for site in &sites {
        let Some(site_id) = site.get("id").and_then(Value::as_str) else {
            continue;
        };
        if !wanted.is_empty() && !wanted.contains(&site_id.to_string()) {
            continue;
        }
        let mut batch = Batch::default();
        batch.records.extend(stats::site(org_id, site, now_ms));
        produced += emit(batch).await;
        let scope = Scope {
            org_id,
            site_id,
            poll_ms: now_ms,
        };
        let base = format!("/api/v1/sites/{site_id}");
        macro_rules! fetch {
            ($path:expr) => {
                match api.get(&$path).await {
                    Ok(v) => as_array(v),
                    Err(PollError::RateLimited) => return Err(PollError::RateLimited),
                    Err(e) => {
                        tracing::warn!(org = org_id, site = site_id, error = %Report(&e), "Mist request failed");
                        Vec::new()
                    }
                }
            };
        }
        let clients = fetch!(format!("{base}/stats/clients"));
        produced += emit(normalizer.wireless_clients(&scope, &clients)).await;
        // Rows without a time of their own are stamped with the search's end (Mist's clock).
        let at = |end: Option<i64>| Scope {
            poll_ms: end.unwrap_or(now_ms),
            ..scope.clone()
        };
        macro_rules! search {
            ($path:expr) => {
                match api.search_until(&$path).await {
                    Ok(found) => found,
                    Err(PollError::RateLimited) => return Err(PollError::RateLimited),
                    Err(e) => {
                        tracing::warn!(org = org_id, site = site_id, error = %Report(&e), "Mist request failed");
                        (Vec::new(), None)
                    }
                }
            };
        }
        let (wired, end) = search!(format!("{base}/wired_clients/search?limit=1000"));
        produced += emit(normalizer.wired_clients(&at(end), &wired)).await;
        let aps = fetch!(format!("{base}/stats/devices?type=ap"));
        produced += emit(normalizer.aps(&scope, &aps)).await;
        let gateways = fetch!(format!("{base}/stats/devices?type=gateway&fields=*"));
        let gateway_ports = stats::GatewayPorts::of(&gateways);
        produced += emit(normalizer.gateways(&scope, &gateways)).await;
        let switches: BTreeMap<String, (Option<String>, Option<String>)> =
            fetch!(format!("{base}/stats/devices?type=switch"))
                .iter()
                .filter_map(|s| {
                    let mac = callsight_model::mac::normalize(s.get("mac")?.as_str()?)?;
                    let text = |k: &str| s.get(k).and_then(Value::as_str).map(str::to_string);
                    Some((mac, (text("name"), text("model"))))
                })
                .collect();
        let (ports, end) = search!(format!("{base}/stats/ports/search?limit=1000"));
        produced +=
            emit(normalizer.switch_ports(&at(end), &ports, &switches, &gateway_ports)).await;
        let derived = match api.get(&format!("{base}/setting/derived")).await {
            Ok(v) => v,
            Err(PollError::RateLimited) => return Err(PollError::RateLimited),
            Err(_) => Value::Null,
        };
        produced += emit(stats::subnets(&scope, &networks, &derived)).await;
    }
    let peers = api
        .search(&format!(
            "/api/v1/orgs/{org_id}/stats/vpn_peers/search?limit=1000"
        ))
        .await?;
    let peers: Vec<Value> = peers
        .into_iter()
        .filter(|p| {
            wanted.is_empty()
                || p.get("site_id")
                    .and_then(Value::as_str)
                    .is_some_and(|s| wanted.contains(&s.to_string()))
        })
        .collect();
    produced += emit(normalizer.vpn_peers(org_id, now_ms, &peers)).await;
    // Clients that left an hour ago need no counter history (by Mist's clock, which stamps the
    // statistics, not this one).
    normalizer.expire_idle(3_600_000);
    Ok(Polled {
        records: produced,
        inventory,
    })
}

/// Polls every org with an API token until `token` is cancelled.
pub async fn run(config: MistConfig, sink: Sink, token: CancellationToken) {
    let metrics = sink.metrics().clone();
    // One API client per org, kept across polls (its connections and TLS sessions with it).
    let mut orgs: Vec<(String, MistOrgConfig, MistApi)> = Vec::new();
    for (org_id, org) in config.orgs.iter().filter(|(_, o)| !o.api_token.is_empty()) {
        match MistApi::new(&config.api_url, org.api_token.expose(), metrics.clone()) {
            Ok(api) => {
                let api = match &config.record_dir {
                    Some(dir) => api.recording_into(dir, org_id),
                    None => api,
                };
                orgs.push((org_id.clone(), org.clone(), api));
            }
            Err(e) => {
                tracing::error!(error = %Report(&e), "the Mist poller cannot start its HTTP client");
                return;
            }
        }
    }
    if orgs.is_empty() {
        return;
    }
    tracing::info!(orgs = orgs.len(), interval = ?config.poll_interval, "Mist poller started");
    let mut normalizers: BTreeMap<String, StatsNormalizer> = BTreeMap::new();
    let mut ticker = tokio::time::interval(config.poll_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = token.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let now_ms = callsight_model::clock::now_ms();
        for (org_id, org, api) in &orgs {
            let normalizer = normalizers.entry(org_id.clone()).or_default();
            match poll_org(api, org_id, org, normalizer, &sink, now_ms).await {
                Ok(polled) => {
                    tracing::debug!(org = %org_id, records = polled.records, "Mist poll done")
                }
                Err(e) => {
                    tracing::warn!(org = %org_id, error = %Report(&e), "Mist poll ended early")
                }
            }
        }
    }
}
