//! What the simulator holds: the app, tenants with their records and subscriptions, tokens,
//! sign-in codes, faults, and counters.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// A random GUID-shaped id.
pub fn guid() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("the OS has randomness");
    let h = hex::encode(b);
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// A random opaque token.
pub fn token() -> String {
    let mut b = [0u8; 24];
    getrandom::fill(&mut b).expect("the OS has randomness");
    format!("sim-{}", hex::encode(b))
}

/// The administrator of a simulated tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Admin {
    /// Display name.
    pub display_name: String,
    /// E-mail; `None` as Graph often has it.
    pub mail: Option<String>,
    /// User principal name.
    pub user_principal_name: String,
}

/// A simulated tenant as created through `POST /_sim/tenants`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TenantSpec {
    /// Tenant GUID.
    pub tenant_id: String,
    /// Organization name.
    #[serde(default)]
    pub display_name: String,
    /// Its administrator.
    pub admin: Admin,
    /// The app already has admin consent (as after linking).
    #[serde(default)]
    pub consented: bool,
}

/// Injectable faults; counters count down as requests consume them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Answer the next N Graph requests 429 with `Retry-After: retry_after_seconds`.
    pub throttle_next: u32,
    /// `Retry-After` of throttled answers, seconds (fractional allowed).
    pub retry_after_seconds: f64,
    /// Answer the next N Graph requests 503.
    pub unavailable_next: u32,
    /// Delay every Graph answer by this many milliseconds.
    pub delay_ms: u64,
    /// A new call record answers 404 to its first N GETs (not produced yet).
    pub not_ready_gets: u32,
    /// Answer the next N call record GETs 200 with a whole body that is not a call record (JSON
    /// cut off where a field's value should be).
    pub malformed_next: u32,
    /// The next admin sign-in is refused (`error=consent_required`).
    pub deny_next_consent: bool,
}

/// One subscription.
#[derive(Debug, Clone)]
pub(crate) struct Sub {
    pub(crate) id: String,
    pub(crate) tenant_id: String,
    pub(crate) change_type: String,
    pub(crate) resource: String,
    pub(crate) notification_url: String,
    pub(crate) lifecycle_url: Option<String>,
    pub(crate) client_state: Option<String>,
    pub(crate) expiration: String,
    pub(crate) tls: String,
}

/// One call record with its versions.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    /// The current version's JSON (sessions expanded).
    pub(crate) json: Value,
    /// Current version.
    pub(crate) version: i64,
    /// GETs left that answer 404.
    pub(crate) not_ready_left: u32,
}

/// One tenant.
#[derive(Debug, Clone)]
pub(crate) struct Tenant {
    pub(crate) spec: TenantSpec,
    pub(crate) records: BTreeMap<String, Record>,
}

/// Who a token belongs to.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub(crate) tenant_id: String,
    pub(crate) delegated: bool,
    pub(crate) expires: Instant,
}

/// A pending sign-in code.
#[derive(Debug, Clone)]
pub(crate) struct Code {
    pub(crate) tenant_id: String,
    pub(crate) redirect_uri: String,
}

/// Counters, for tests and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Graph requests answered.
    pub graph_requests: u64,
    /// Of which throttled (429).
    pub throttled: u64,
    /// Of which unavailable (503).
    pub unavailable: u64,
    /// Call record GETs answered 404 as not ready.
    pub not_ready: u64,
    /// Tokens issued.
    pub tokens_issued: u64,
    /// Notification deliveries attempted.
    pub deliveries: u64,
    /// Deliveries acknowledged with 2xx in time.
    pub deliveries_acknowledged: u64,
    /// Notifications acknowledged.
    pub notifications_acknowledged: u64,
    /// Notifications given up after retrying.
    pub notifications_dropped: u64,
    /// Endpoint validations (handshakes) that succeeded.
    pub validations: u64,
}

/// Everything, behind one lock (the simulator is not the bottleneck of anything it serves).
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    pub(crate) app_id: String,
    pub(crate) tenants: HashMap<String, Tenant>,
    pub(crate) grants: HashMap<String, Grant>,
    pub(crate) codes: HashMap<String, Code>,
    pub(crate) subscriptions: BTreeMap<String, Sub>,
    pub(crate) faults: Faults,
    pub(crate) stats: Stats,
    /// Which tenant the next interactive sign-in belongs to.
    pub(crate) signin_tenant: Option<String>,
    /// Lifetime of issued tokens.
    pub(crate) token_lifetime: Duration,
}
