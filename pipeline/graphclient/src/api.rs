//! The Graph API calls callsight makes with an app-only token: call records (expanded sessions
//! and segments, every `sessions@odata.nextLink` followed as an opaque URL), the list of records
//! over a `startDateTime` window, and callRecords subscriptions.
//!
//! Throttling and outages are retried here: 429 after its `Retry-After` (seconds, possibly
//! fractional), 503 and 504 after `Retry-After` or an exponential backoff, a bounded number of
//! times; a 401 drops the cached token and tries once more with a new one. A 404 is returned to
//! the caller, who knows whether to wait for the record or to give up.

use crate::error::GraphError;
use crate::token::Tokens;
use callsight_graph::model::{CallRecord, SessionPage};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// How often and how long to retry throttled or unavailable requests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// First wait when Graph gives no `Retry-After`; doubles each time.
    pub base: Duration,
    /// Longest wait, whatever `Retry-After` says.
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 8,
            base: Duration::from_secs(2),
            max: Duration::from_secs(120),
        }
    }
}

/// A record as `GET /communications/callRecords` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedRecord {
    /// Call id.
    pub id: String,
    /// Version, when listed.
    #[serde(default)]
    pub version: Option<i64>,
    /// Start.
    #[serde(default)]
    pub start_date_time: Option<String>,
}

/// A subscription to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewSubscription {
    /// `created,updated`.
    pub change_type: String,
    /// `/communications/callRecords`.
    pub resource: String,
    /// Where notifications go.
    pub notification_url: String,
    /// Where lifecycle notifications go.
    pub lifecycle_notification_url: String,
    /// RFC 3339 expiry.
    pub expiration_date_time: String,
    /// Echoed in every notification.
    pub client_state: String,
    /// `v1_2`.
    pub latest_supported_tls_version: String,
}

/// A subscription as Graph returns it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// Id.
    pub id: String,
    /// RFC 3339 expiry.
    pub expiration_date_time: String,
    /// Resource.
    #[serde(default)]
    pub resource: Option<String>,
    /// Where its notifications go.
    #[serde(default)]
    pub notification_url: Option<String>,
}

/// Told the status of every answer Graph gives (0 when no answer came), for metrics.
#[derive(Clone)]
pub struct Observer(pub Arc<dyn Fn(u16) + Send + Sync>);

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Observer")
    }
}

/// A Graph API client for one app, all tenants.
#[derive(Debug, Clone)]
pub struct Graph {
    http: reqwest::Client,
    base: String,
    tokens: Arc<Tokens>,
    page_size: u32,
    retry: RetryPolicy,
    observer: Option<Observer>,
}

/// `Retry-After` in seconds, possibly fractional (`2.128`); `None` for anything else (Graph
/// does not send the HTTP-date form), negative, or too large for a `Duration`.
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    retry_after_seconds(
        response
            .headers()
            .get(reqwest::header::RETRY_AFTER)?
            .to_str()
            .ok()?,
    )
}

fn retry_after_seconds(text: &str) -> Option<Duration> {
    Duration::try_from_secs_f64(text.trim().parse::<f64>().ok()?).ok()
}

async fn refusal(response: reqwest::Response) -> GraphError {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    GraphError::Refused {
        status,
        code: body["error"]["code"].as_str().unwrap_or("").to_string(),
        message: body["error"]["message"].as_str().unwrap_or("").to_string(),
    }
}

impl Graph {
    /// A client of the Graph at `base` (e.g. `https://graph.microsoft.com/v1.0`).
    pub fn new(
        http: reqwest::Client,
        base: &str,
        tokens: Arc<Tokens>,
        page_size: u32,
        retry: RetryPolicy,
    ) -> Self {
        Graph {
            http,
            base: base.trim_end_matches('/').to_string(),
            tokens,
            page_size,
            retry,
            observer: None,
        }
    }

    /// Reports every answer's status to `observer`.
    pub fn with_observer(mut self, observer: Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    fn observe(&self, status: u16) {
        if let Some(observer) = &self.observer {
            (observer.0)(status);
        }
    }

    /// Sends a request with the tenant's token, retrying throttling, outages and one 401.
    async fn send(
        &self,
        tenant: &str,
        method: reqwest::Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<reqwest::Response, GraphError> {
        let mut refreshed = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let token = self.tokens.token(tenant).await?;
            let mut request = self
                .http
                .request(method.clone(), url)
                .bearer_auth(&token)
                .header("Prefer", format!("odata.maxpagesize={}", self.page_size));
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = request.send().await.map_err(|e| {
                self.observe(0);
                GraphError::Transport(format!("{method} {url}: {e}"))
            })?;
            let status = response.status();
            self.observe(status.as_u16());
            match status.as_u16() {
                200..=299 => return Ok(response),
                401 if !refreshed => {
                    self.tokens.invalidate(tenant);
                    refreshed = true;
                    attempt -= 1;
                }
                404 => return Err(GraphError::NotFound),
                429 | 503 | 504 => {
                    if attempt >= self.retry.attempts {
                        return Err(GraphError::Unavailable {
                            status: status.as_u16(),
                            attempts: attempt,
                        });
                    }
                    let backoff = self.retry.base * 2u32.saturating_pow(attempt - 1);
                    let wait = retry_after(&response)
                        .unwrap_or(backoff)
                        .min(self.retry.max);
                    tracing::debug!(
                        status = status.as_u16(),
                        wait_ms = wait.as_millis() as u64,
                        attempt,
                        "Graph asks to wait"
                    );
                    tokio::time::sleep(wait).await;
                }
                _ => return Err(refusal(response).await),
            }
        }
    }

    async fn json<T: serde::de::DeserializeOwned>(
        response: reqwest::Response,
        what: &str,
    ) -> Result<T, GraphError> {
        // A body cut short is the network's failure; a whole body that does not parse is not.
        let body = response
            .bytes()
            .await
            .map_err(|e| GraphError::Transport(format!("{what}: reading the answer: {e}")))?;
        serde_json::from_slice::<T>(&body)
            .map_err(|e| GraphError::Invalid(format!("{what}: not what Graph documents: {e}")))
    }

    /// `GET /communications/callRecords/{id}?$expand=sessions($expand=segments)`, with every
    /// page of sessions.
    ///
    /// `id` must be a GUID, as call record ids are: it becomes a path segment of the URL, so
    /// anything else (`../../organization`) is refused before any request.
    pub async fn call_record(&self, tenant: &str, id: &str) -> Result<CallRecord, GraphError> {
        let id = uuid::Uuid::try_parse(id)
            .map_err(|_| GraphError::Invalid("the call record id is not a GUID".into()))?
            .hyphenated();
        let url = format!(
            "{}/communications/callRecords/{id}?$expand=sessions($expand=segments)",
            self.base
        );
        let response = self.send(tenant, reqwest::Method::GET, &url, None).await?;
        let mut record: CallRecord = Self::json(response, "call record").await?;
        let mut next = record.sessions_next_link.take();
        let mut pages = 0;
        while let Some(url) = next {
            pages += 1;
            if pages > 1000 {
                return Err(GraphError::Invalid(
                    "more than 1000 pages of sessions".into(),
                ));
            }
            let response = self.send(tenant, reqwest::Method::GET, &url, None).await?;
            let page: SessionPage = Self::json(response, "sessions page").await?;
            record.sessions.extend(page.value);
            next = page.next_link;
        }
        Ok(record)
    }

    /// `GET /communications/callRecords?$filter=startDateTime ge FROM and startDateTime lt TO`,
    /// every page (to backfill what notifications missed).
    pub async fn list_call_records(
        &self,
        tenant: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<ListedRecord>, GraphError> {
        #[derive(Deserialize)]
        struct Page {
            #[serde(default)]
            value: Vec<ListedRecord>,
            #[serde(rename = "@odata.nextLink")]
            next: Option<String>,
        }
        let mut url = Some(format!(
            "{}/communications/callRecords?$filter=startDateTime ge {from} and startDateTime lt {to}",
            self.base
        ));
        let mut out = Vec::new();
        while let Some(u) = url {
            let response = self.send(tenant, reqwest::Method::GET, &u, None).await?;
            let page: Page = Self::json(response, "call record list").await?;
            out.extend(page.value);
            url = page.next;
        }
        Ok(out)
    }

    /// `POST /subscriptions`.
    pub async fn create_subscription(
        &self,
        tenant: &str,
        new: &NewSubscription,
    ) -> Result<Subscription, GraphError> {
        let body = serde_json::to_value(new).map_err(|e| GraphError::Transport(e.to_string()))?;
        let url = format!("{}/subscriptions", self.base);
        let response = self
            .send(tenant, reqwest::Method::POST, &url, Some(&body))
            .await?;
        Self::json(response, "subscription").await
    }

    /// `GET /subscriptions`: the app's subscriptions in the tenant, every page.
    pub async fn list_subscriptions(&self, tenant: &str) -> Result<Vec<Subscription>, GraphError> {
        #[derive(Deserialize)]
        struct Page {
            #[serde(default)]
            value: Vec<Subscription>,
            #[serde(rename = "@odata.nextLink")]
            next: Option<String>,
        }
        let mut url = Some(format!("{}/subscriptions", self.base));
        let mut out = Vec::new();
        while let Some(u) = url {
            let response = self.send(tenant, reqwest::Method::GET, &u, None).await?;
            let page: Page = Self::json(response, "subscription list").await?;
            out.extend(page.value);
            url = page.next;
        }
        Ok(out)
    }

    /// `PATCH /subscriptions/{id}` with a new expiry (renews and reauthorizes).
    pub async fn renew_subscription(
        &self,
        tenant: &str,
        id: &str,
        expiry: &str,
    ) -> Result<Subscription, GraphError> {
        let body = serde_json::json!({ "expirationDateTime": expiry });
        let url = format!("{}/subscriptions/{id}", self.base);
        let response = self
            .send(tenant, reqwest::Method::PATCH, &url, Some(&body))
            .await?;
        Self::json(response, "subscription").await
    }

    /// `POST /subscriptions/{id}/reauthorize`.
    pub async fn reauthorize_subscription(&self, tenant: &str, id: &str) -> Result<(), GraphError> {
        let url = format!("{}/subscriptions/{id}/reauthorize", self.base);
        self.send(tenant, reqwest::Method::POST, &url, None)
            .await
            .map(|_| ())
    }

    /// `DELETE /subscriptions/{id}`; a subscription already gone is fine.
    pub async fn delete_subscription(&self, tenant: &str, id: &str) -> Result<(), GraphError> {
        let url = format!("{}/subscriptions/{id}", self.base);
        match self.send(tenant, reqwest::Method::DELETE, &url, None).await {
            Ok(_) | Err(GraphError::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::retry_after_seconds;
    use std::time::Duration;

    #[test]
    fn retry_after_takes_seconds_and_refuses_what_is_not_a_duration() {
        assert_eq!(
            retry_after_seconds("2.128"),
            Some(Duration::from_secs_f64(2.128))
        );
        assert_eq!(retry_after_seconds(" 30 "), Some(Duration::from_secs(30)));
        for bad in [
            "-1",
            "1e20",
            "NaN",
            "inf",
            "Wed, 21 Oct 2015 07:28:00 GMT",
            "",
        ] {
            assert_eq!(retry_after_seconds(bad), None, "{bad}");
        }
    }
}
