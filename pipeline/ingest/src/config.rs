//! The ingest section of the configuration (`[ingest]`): the telemetry endpoints, and Juniper
//! Mist's webhooks and statistics API (`[ingest.mist]`).

use callsight_core::config::{Problem, Problems, Secret};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

/// The ingest role's HTTP endpoints and telemetry sources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Address of the ingest endpoints (`/telemetry`, `/telemetry/mist/{org}`).
    pub listen: SocketAddr,
    /// Largest request body accepted; larger ones are answered 413.
    pub max_body_bytes: usize,
    /// Records being produced at once across all requests; beyond it requests are answered 503
    /// with `Retry-After` instead of buffering without bound.
    pub max_in_flight: usize,
    /// Bodies parsed at once, off the async runtime (telemetry bodies, and apart from them Graph
    /// webhook deliveries); 0: one per CPU the process may use. A body
    /// waits up to `overload_wait` for its turn, then is answered 503 with `Retry-After`.
    pub parse_threads: usize,
    /// How long a request waits for room among the in-flight records (or for a parse thread)
    /// before the 503.
    #[serde(with = "humantime_serde")]
    pub overload_wait: Duration,
    /// Bearer token `POST /telemetry` requires. Empty is refused at start-up with a Kafka
    /// cluster unless `allow_unauthenticated` is set (the embedded broker's development setup
    /// takes it).
    pub telemetry_token: Secret,
    /// Serve `POST /telemetry` without a token to anyone who reaches it (keep the endpoint on
    /// a private network then).
    pub allow_unauthenticated: bool,
    /// Oldest event time accepted, before the receiving time: an older event or line is
    /// rejected (dead letter). Raise it to post recordings of the past.
    #[serde(with = "humantime_serde")]
    pub max_event_age: Duration,
    /// Furthest event time accepted after the receiving time (clock skew): a later one is
    /// rejected, since it would make the processor treat every on-time record as late.
    #[serde(with = "humantime_serde")]
    pub max_event_lead: Duration,
    /// Juniper Mist.
    pub mist: MistConfig,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
            max_body_bytes: 16 * 1024 * 1024,
            max_in_flight: 100_000,
            parse_threads: 0,
            overload_wait: Duration::from_secs(2),
            telemetry_token: Secret::default(),
            allow_unauthenticated: false,
            max_event_age: Duration::from_secs(7 * 24 * 3600),
            max_event_lead: Duration::from_secs(600),
            mist: MistConfig::default(),
        }
    }
}

/// Juniper Mist webhooks and REST API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MistConfig {
    /// REST API base URL of the org's cloud, e.g. `https://api.eu.mist.com`.
    pub api_url: String,
    /// How often the statistics are polled (at least 100ms). Mist allows 5,000 API requests per
    /// token per hour, and a poll makes three requests per org and seven per site: at the
    /// default, up to about ten sites per token.
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// Whether `callsight run` polls the statistics in its process. The `mist-poll` role always
    /// polls and the `ingest` role never does; run exactly one poller per deployment, since two
    /// would produce every sample twice.
    pub poll: bool,
    /// Organisations, by Mist org id.
    pub orgs: BTreeMap<String, MistOrgConfig>,
    /// Writes every answer of every poll into this folder (one folder per org and poll) for
    /// `callsight replay`: turn it on during an incident, since it grows by every poll's
    /// answers. Unset: nothing is recorded.
    pub record_dir: Option<std::path::PathBuf>,
}

impl Default for MistConfig {
    fn default() -> Self {
        MistConfig {
            api_url: "https://api.mist.com".into(),
            poll_interval: Duration::from_secs(60),
            poll: true,
            orgs: BTreeMap::new(),
            record_dir: None,
        }
    }
}

/// One Mist organisation.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MistOrgConfig {
    /// The webhook's `secret`: deliveries must carry its HMAC-SHA256 signature. Webhooks of an
    /// org without one are refused.
    pub webhook_secret: Secret,
    /// Also accept the legacy HMAC-SHA1 signature when the v2 header is absent.
    pub allow_legacy_signature: bool,
    /// API token for polling statistics; empty disables polling for this org.
    pub api_token: Secret,
    /// Sites to poll; empty polls every site of the org.
    pub sites: Vec<String>,
}

impl IngestConfig {
    /// The event times a delivery received at `now_ms` may carry.
    pub fn event_window(&self, now_ms: i64) -> callsight_telemetry::TimeWindow {
        callsight_telemetry::TimeWindow::around(now_ms, self.max_event_age, self.max_event_lead)
    }

    /// What is wrong with the section at `prefix`.
    pub fn problems(&self, prefix: &str) -> Vec<Problem> {
        let mut p = Problems::new(prefix);
        if self.max_body_bytes < 1024 {
            p.bad("max_body_bytes", "must be at least 1024");
        }
        if self.max_in_flight == 0 {
            p.bad("max_in_flight", "must be at least 1");
        }
        if self.max_event_age.is_zero() {
            p.bad("max_event_age", "must be above 0");
        }
        p.check_url("mist.api_url", &self.mist.api_url);
        if self.mist.poll_interval < Duration::from_millis(100) {
            p.bad("mist.poll_interval", "must be at least 100ms");
        }
        p.into_vec()
    }

    /// Hides the secrets, for printing.
    pub fn redact(&mut self) {
        self.telemetry_token.redact();
        for org in self.mist.orgs.values_mut() {
            org.webhook_secret.redact();
            org.api_token.redact();
        }
    }
}
