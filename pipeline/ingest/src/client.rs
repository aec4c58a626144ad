//! A client of callsight's own telemetry endpoints, for what sends recorded or simulated
//! telemetry through the real interface: NDJSON lines (`POST /telemetry`) and Mist webhook bodies
//! signed as Mist signs them (`POST /telemetry/mist/{org}`). An overloaded ingest (503) is waited
//! out as its `Retry-After` says, for a bounded time.

use serde_json::Value;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Lines per telemetry request.
pub const BATCH_LINES: usize = 5000;
/// How long a request is retried while ingest answers 503 (overloaded, or Kafka unavailable).
pub const OVERLOAD_PATIENCE: Duration = Duration::from_secs(120);

/// A delivery did not get through.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No answer.
    #[error("POST {url}")]
    Request {
        /// Where.
        url: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// Ingest stayed overloaded (or without Kafka) past the patience.
    #[error("POST {url}: ingest still overloaded or without Kafka after {OVERLOAD_PATIENCE:?}")]
    Overloaded {
        /// Where.
        url: String,
    },
    /// Stopped while waiting out an overload.
    #[error("POST {url}: stopped while ingest was overloaded")]
    Stopped {
        /// Where.
        url: String,
    },
    /// Ingest refused the delivery as a whole.
    #[error("POST {url} answered {status}: {answer}")]
    Refused {
        /// Where.
        url: String,
        /// The status.
        status: reqwest::StatusCode,
        /// The answer's body.
        answer: Value,
    },
}

/// What ingest made of posted telemetry.
#[derive(Debug, Clone, Default)]
pub struct Posted {
    /// Records accepted.
    pub accepted: u64,
    /// Rejections as ingest named them (`{"index": .., "error": ..}`): the first ones of each
    /// request.
    pub rejected: Vec<Value>,
    /// Every rejection, named or not.
    pub rejected_count: u64,
}

impl Posted {
    fn add(&mut self, answer: &Value) {
        self.accepted += answer["accepted"].as_u64().unwrap_or(0);
        let named = answer["rejected"].as_array();
        if let Some(r) = named {
            self.rejected.extend(r.iter().cloned());
        }
        self.rejected_count += answer["rejected_count"]
            .as_u64()
            .unwrap_or_else(|| named.map_or(0, |r| r.len() as u64));
    }
}

/// Sends telemetry to one ingest role.
#[derive(Debug, Clone)]
pub struct IngestClient {
    http: reqwest::Client,
    /// Base URL of the ingest role, e.g. `http://127.0.0.1:8080`.
    pub base: String,
    /// Bearer token of `POST /telemetry` (`ingest.telemetry_token`), if set.
    pub token: Option<String>,
    /// Cancelled to stop: a request waiting out an overload gives up.
    stop: CancellationToken,
}

impl IngestClient {
    /// A client of the ingest role at `base`.
    pub fn new(base: String, token: Option<String>) -> IngestClient {
        IngestClient {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap_or_default(),
            base,
            token,
            stop: CancellationToken::new(),
        }
    }

    /// Stops waiting out overloads when `token` is cancelled.
    pub fn stop_on(mut self, token: CancellationToken) -> IngestClient {
        self.stop = token;
        self
    }

    /// Posts telemetry lines, [`BATCH_LINES`] per request, and returns what ingest accepted
    /// and rejected.
    pub async fn post_lines(&self, lines: &[Value]) -> Result<Posted, ClientError> {
        let mut posted = Posted::default();
        for chunk in lines.chunks(BATCH_LINES) {
            let mut body = String::new();
            for l in chunk {
                body.push_str(&l.to_string());
                body.push('\n');
            }
            let token = self.token.clone();
            let answer = self
                .post(
                    format!("{}/telemetry", self.base),
                    body.into_bytes(),
                    move |r| {
                        let r = r.header("content-type", "application/x-ndjson");
                        match &token {
                            Some(t) => r.bearer_auth(t),
                            None => r,
                        }
                    },
                )
                .await?;
            posted.add(&answer);
        }
        Ok(posted)
    }

    /// Posts one Mist webhook body for `org`, signed with `secret` as Mist signs it.
    pub async fn post_mist(
        &self,
        org: &str,
        body: Vec<u8>,
        secret: &str,
    ) -> Result<Posted, ClientError> {
        let signature = callsight_telemetry::mist::signature::sign_v2(secret.as_bytes(), &body);
        let answer = self
            .post(
                format!("{}/telemetry/mist/{org}", self.base),
                body,
                move |r| {
                    r.header("content-type", "application/json")
                        .header("x-mist-signature-v2", signature.clone())
                },
            )
            .await?;
        let mut posted = Posted::default();
        posted.add(&answer);
        Ok(posted)
    }

    /// POSTs `body`, retrying while ingest answers 503 (for at most [`OVERLOAD_PATIENCE`], and
    /// not once stopped), and returns the JSON answer.
    async fn post(
        &self,
        url: String,
        body: Vec<u8>,
        decorate: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<Value, ClientError> {
        let deadline = tokio::time::Instant::now() + OVERLOAD_PATIENCE;
        loop {
            let response = decorate(self.http.post(&url).body(body.clone()))
                .send()
                .await
                .map_err(|source| ClientError::Request {
                    url: url.clone(),
                    source,
                })?;
            let status = response.status();
            if status == reqwest::StatusCode::SERVICE_UNAVAILABLE {
                let wait = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(1)
                    .clamp(1, OVERLOAD_PATIENCE.as_secs());
                if tokio::time::Instant::now() + Duration::from_secs(wait) > deadline {
                    return Err(ClientError::Overloaded { url });
                }
                tokio::select! {
                    _ = self.stop.cancelled() => return Err(ClientError::Stopped { url }),
                    _ = tokio::time::sleep(Duration::from_secs(wait)) => {}
                }
                continue;
            }
            let answer: Value = response.json().await.unwrap_or_default();
            if !status.is_success() {
                return Err(ClientError::Refused {
                    url,
                    status,
                    answer,
                });
            }
            return Ok(answer);
        }
    }
}
