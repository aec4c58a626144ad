//! The Teams connector's sections of the configuration: `[graph]` (Microsoft Graph and Entra:
//! the app, tenants, subscriptions, fetching) and `[privacy]` (what is kept of identities).

use callsight_core::config::{Problem, Problems, Secret, is_web_url};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// Microsoft Graph and Entra endpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GraphConfig {
    /// Graph API base URL.
    pub base_url: String,
    /// Entra authority host; tokens come from `{login_url}/{tenant}/oauth2/v2.0/token`.
    pub login_url: String,
    /// Client id of callsight's multi-tenant app registration (application permission
    /// `CallRecords.Read.All`).
    pub client_id: String,
    /// The app's client secret.
    pub client_secret: Secret,
    /// Public base URL of the ingest role as Graph and administrators' browsers reach it, e.g.
    /// `https://callsight.example.com`; notification URLs and the OAuth redirect live under it.
    pub public_url: String,
    /// Bearer token the `/teams/...` admin endpoints require; empty disables them.
    pub admin_token: Secret,
    /// Lifetime asked for a callRecords subscription (Graph allows at most 4230 minutes).
    #[serde(with = "humantime_serde")]
    pub subscription_lifetime: Duration,
    /// Renew a subscription this long before it expires.
    #[serde(with = "humantime_serde")]
    pub subscription_renew_before: Duration,
    /// How long a signed OAuth `state` (from `/teams/link` to the callback) stays valid.
    #[serde(with = "humantime_serde")]
    pub link_state_ttl: Duration,
    /// Retries of a record Graph answers 404 for (not produced yet), before giving up.
    pub fetch_not_found_retries: u32,
    /// First wait before retrying a fetch (404, 503, 504); it doubles each time.
    #[serde(with = "humantime_serde")]
    pub fetch_retry_base: Duration,
    /// Sessions per page asked of Graph (`Prefer: odata.maxpagesize`), at most 60.
    pub page_size: u32,
    /// Call records the fetcher fetches at once.
    pub fetch_concurrency: usize,
    /// How long the fetcher remembers the versions it published (a repeat within this time is
    /// skipped without a second publication).
    #[serde(with = "humantime_serde")]
    pub version_memory: Duration,
    /// How often the subscription manager checks every tenant's subscription.
    #[serde(with = "humantime_serde")]
    pub manage_interval: Duration,
    /// How far back a backfill lists call records (by start time) before the moment
    /// notifications may have been lost, to catch calls that started earlier and ended later.
    #[serde(with = "humantime_serde")]
    pub backfill_window: Duration,
    /// A notification delivery not acknowledged by the broker within this is answered 503, so
    /// that Graph (which waits 3 s) retries rather than flags the endpoint slow.
    #[serde(with = "humantime_serde")]
    pub webhook_deadline: Duration,
    /// Largest Graph notification delivery accepted; larger ones are answered 413. Much smaller
    /// than `ingest.max_body_bytes`: the webhook answers anyone, and a delivery is a few hundred
    /// notifications of about 1 KB.
    pub webhook_max_body_bytes: usize,
    /// Most notifications in one delivery; a delivery with more is answered 400 without
    /// checking any of them.
    pub webhook_max_notifications: usize,
    /// Tenants declared in configuration, by tenant GUID (they need no OAuth linking).
    pub tenants: BTreeMap<String, StaticTenantConfig>,
}

impl Default for GraphConfig {
    fn default() -> Self {
        GraphConfig {
            base_url: "https://graph.microsoft.com/v1.0".into(),
            login_url: "https://login.microsoftonline.com".into(),
            client_id: String::new(),
            client_secret: Secret::default(),
            public_url: String::new(),
            admin_token: Secret::default(),
            subscription_lifetime: Duration::from_secs(4230 * 60),
            subscription_renew_before: Duration::from_secs(24 * 3600),
            link_state_ttl: Duration::from_secs(600),
            fetch_not_found_retries: 8,
            fetch_retry_base: Duration::from_secs(30),
            page_size: 60,
            fetch_concurrency: 32,
            version_memory: Duration::from_secs(24 * 3600),
            manage_interval: Duration::from_secs(60),
            backfill_window: Duration::from_secs(6 * 3600),
            webhook_deadline: Duration::from_millis(2500),
            webhook_max_body_bytes: 1024 * 1024,
            webhook_max_notifications: 1000,
            tenants: BTreeMap::new(),
        }
    }
}

/// A tenant declared in configuration.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StaticTenantConfig {
    /// Organization (Mist-style org id) the tenant's calls belong to.
    pub org_id: String,
    /// Keep participants' clear identities, sealed with the tenant key.
    pub keep_identity: bool,
    /// Client id of an app registration of the tenant's own; empty uses `graph.client_id`.
    pub client_id: String,
    /// That app's secret.
    pub client_secret: Secret,
}

impl GraphConfig {
    /// What is wrong with the section at `prefix`.
    pub fn problems(&self, prefix: &str) -> Vec<Problem> {
        let mut p = Problems::new(prefix);
        p.check_url("base_url", &self.base_url);
        p.check_url("login_url", &self.login_url);
        if !(self.public_url.is_empty() || is_web_url(&self.public_url)) {
            p.bad(
                "public_url",
                format!("{:?} is not an http(s) URL", self.public_url),
            );
        }
        if !(1..=60).contains(&self.page_size) {
            p.bad("page_size", "must be between 1 and 60");
        }
        if self.subscription_lifetime < Duration::from_secs(45 * 60)
            || self.subscription_lifetime > Duration::from_secs(4230 * 60)
        {
            p.bad(
                "subscription_lifetime",
                "must be between 45m and 4230m (Graph's limits for callRecords)",
            );
        }
        if self.subscription_renew_before >= self.subscription_lifetime {
            p.bad(
                "subscription_renew_before",
                "must be shorter than graph.subscription_lifetime",
            );
        }
        if self.fetch_concurrency == 0 {
            p.bad("fetch_concurrency", "must be at least 1");
        }
        if self.manage_interval < Duration::from_millis(100) {
            p.bad("manage_interval", "must be at least 100ms");
        }
        if self.webhook_max_body_bytes < 1024 {
            p.bad("webhook_max_body_bytes", "must be at least 1024");
        }
        if self.webhook_max_notifications == 0 {
            p.bad("webhook_max_notifications", "must be at least 1");
        }
        if self.webhook_deadline.is_zero() || self.webhook_deadline > Duration::from_secs(3) {
            p.bad(
                "webhook_deadline",
                "must be between 1ms and 3s (Graph waits 3 s for an answer)",
            );
        }
        for (tenant, t) in &self.tenants {
            if t.org_id.is_empty() {
                p.bad(&format!("tenants.{tenant}.org_id"), "must not be empty");
            }
            if t.client_id.is_empty() != t.client_secret.is_empty() {
                p.bad(
                    &format!("tenants.{tenant}.client_secret"),
                    "client_id and client_secret go together",
                );
            }
        }
        let mut orgs = BTreeMap::new();
        for (tenant, t) in &self.tenants {
            if let Some(other) = orgs.insert(&t.org_id, tenant) {
                p.bad(
                    &format!("tenants.{tenant}.org_id"),
                    format!("{:?} is also the org of tenant {other}", t.org_id),
                );
            }
        }
        p.into_vec()
    }

    /// Hides the secrets, for printing.
    pub fn redact(&mut self) {
        self.client_secret.redact();
        self.admin_token.redact();
        for tenant in self.tenants.values_mut() {
            tenant.client_secret.redact();
        }
    }
}

/// Whether clear identities may be kept (sealed) at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrivacyMode {
    /// Keep the clear identity, sealed with the tenant key, for tenants that opted in.
    #[default]
    Sealed,
    /// Never keep it, whatever a tenant chose (HIPAA-bound organisations).
    Strict,
}

/// Privacy at the source.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrivacyConfig {
    /// `sealed` or `strict`.
    pub mode: PrivacyMode,
    /// 256-bit master key as 64 hex digits (secret): wraps tenant keys and derives the keys of
    /// configured tenants. Required once a tenant is linked or configured.
    pub master_key: Secret,
}

impl PrivacyConfig {
    /// What is wrong with the section at `prefix`.
    pub fn problems(&self, prefix: &str) -> Vec<Problem> {
        let mut p = Problems::new(prefix);
        let master = self.master_key.expose();
        let hex_256 = master.len() == 64 && master.chars().all(|c| c.is_ascii_hexdigit());
        if !(master.is_empty() || hex_256) {
            p.bad("master_key", "must be 64 hex digits (256 bits)");
        }
        p.into_vec()
    }

    /// Hides the secrets, for printing.
    pub fn redact(&mut self) {
        self.master_key.redact();
    }
}
