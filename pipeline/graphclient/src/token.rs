//! App-only access per tenant: client-credentials tokens against the tenant GUID with the
//! `.default` scope, cached until shortly before `expires_in` (Entra's lifetimes vary between 60
//! and 90 minutes), dropped and fetched again when Graph answers 401.

use crate::error::EntraError;
use dashmap::DashMap;
use serde::Deserialize;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Refresh this long before a token expires.
const EARLY: Duration = Duration::from_secs(300);

#[derive(Debug, Clone)]
struct Cached {
    token: String,
    expires: Instant,
}

/// The app's credentials and a token cache per tenant.
pub struct Tokens {
    http: reqwest::Client,
    login_url: String,
    client_id: String,
    client_secret: String,
    /// Tenants that use credentials of their own: tenant → (client id, secret).
    own: DashMap<String, (String, String)>,
    cache: DashMap<String, Cached>,
    /// One token request per tenant at a time: concurrent callers wait for it.
    fetching: DashMap<String, Arc<tokio::sync::Mutex<()>>>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("login_url", &self.login_url)
            .field("client_id", &self.client_id)
            .field("cached", &self.cache.len())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: serde_json::Value,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct EntraBody {
    error: String,
    error_description: String,
    error_codes: Vec<i64>,
}

/// Reads Entra's error body.
pub(crate) async fn entra_error(response: reqwest::Response) -> EntraError {
    let status = response.status().as_u16();
    let body: EntraBody = response.json().await.unwrap_or_default();
    EntraError {
        status,
        error: if body.error.is_empty() {
            "unknown".into()
        } else {
            body.error
        },
        codes: body.error_codes,
        description: body.error_description,
    }
}

impl Tokens {
    /// Tokens for the app `client_id` from the Entra authority at `login_url`.
    pub fn new(
        http: reqwest::Client,
        login_url: &str,
        client_id: &str,
        client_secret: &str,
    ) -> Self {
        Tokens {
            http,
            login_url: login_url.trim_end_matches('/').to_string(),
            client_id: client_id.to_string(),
            client_secret: client_secret.to_string(),
            own: DashMap::new(),
            cache: DashMap::new(),
            fetching: DashMap::new(),
        }
    }

    /// `tenant` authenticates with an app registration of its own.
    pub fn set_credentials(&self, tenant: &str, client_id: &str, client_secret: &str) {
        self.own.insert(
            tenant.to_string(),
            (client_id.to_string(), client_secret.to_string()),
        );
        self.cache.remove(tenant);
    }

    fn cached(&self, tenant: &str) -> Option<String> {
        self.cache
            .get(tenant)
            .filter(|c| c.expires > Instant::now())
            .map(|c| c.token.clone())
    }

    /// A valid token for `tenant` (a GUID, never `common`).
    pub async fn token(&self, tenant: &str) -> Result<String, EntraError> {
        if let Some(token) = self.cached(tenant) {
            return Ok(token);
        }
        let lock = self.fetching.entry(tenant.to_string()).or_default().clone();
        let _one_request = lock.lock().await;
        if let Some(token) = self.cached(tenant) {
            return Ok(token);
        }
        let url = format!("{}/{tenant}/oauth2/v2.0/token", self.login_url);
        let (client_id, client_secret) = self
            .own
            .get(tenant)
            .map(|c| c.value().clone())
            .unwrap_or_else(|| (self.client_id.clone(), self.client_secret.clone()));
        let response = self
            .http
            .post(&url)
            .form(&[
                ("client_id", client_id.as_str()),
                ("client_secret", client_secret.as_str()),
                ("scope", "https://graph.microsoft.com/.default"),
                ("grant_type", "client_credentials"),
            ])
            .send()
            .await
            .map_err(EntraError::transport)?;
        if !response.status().is_success() {
            return Err(entra_error(response).await);
        }
        let answer: TokenAnswer = response.json().await.map_err(EntraError::unexpected)?;
        let lifetime = callsight_model_seconds(&answer.expires_in).unwrap_or(3599);
        let expires = Instant::now() + Duration::from_secs(lifetime).saturating_sub(EARLY);
        self.cache.insert(
            tenant.to_string(),
            Cached {
                token: answer.access_token.clone(),
                expires,
            },
        );
        Ok(answer.access_token)
    }

    /// Forgets the tenant's token (after a 401).
    pub fn invalidate(&self, tenant: &str) {
        self.cache.remove(tenant);
    }
}

/// `expires_in` comes as a number or a numeric string.
fn callsight_model_seconds(value: &serde_json::Value) -> Option<u64> {
    match value {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.parse().ok(),
        _ => None,
    }
}
