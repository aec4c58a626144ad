//! The telemetry endpoints.
//!
//! - `POST /telemetry/mist/{org}`: Mist webhook deliveries of one org, signature verified over
//!   the raw body (`POST /telemetry/mist` when exactly one org is configured).
//! - `POST /telemetry`: the vendor-neutral NDJSON format.
//! - `GET /telemetry/schema`: the JSON Schema of an NDJSON line.
//!
//! A delivery is answered only once every accepted record is acknowledged by the broker and
//! every rejected event or line is kept in the dead-letter topic: 200 with
//! `{"accepted", "rejected": [{"index", "error"}], "ignored"}`; 400 when the body is unusable as
//! a whole; 401 for a bad signature or token; 413 above `ingest.max_body_bytes`; 503 with
//! `Retry-After` when overloaded or when the broker does not acknowledge, so the sender retries.

use crate::metrics::IngestMetrics;
use crate::sink::{Sink, SinkError};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use callsight_core::config::IngestConfig;
use callsight_telemetry::mist::signature::{self, SignatureError};
use callsight_telemetry::mist::webhook;
use callsight_telemetry::{Batch, ndjson};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Shared by the handlers.
pub struct IngestState {
    /// Where records go.
    pub sink: Sink,
    /// Endpoint settings and Mist orgs.
    pub config: IngestConfig,
    /// NDJSON parser (its counter state turns cumulative counters into rates).
    pub ndjson: Mutex<ndjson::Parser>,
    /// Metrics.
    pub metrics: IngestMetrics,
}

/// The ingest routes.
pub fn router(state: Arc<IngestState>) -> Router {
    let limit = state.config.max_body_bytes;
    Router::new()
        .route("/telemetry", post(ndjson_delivery))
        .route("/telemetry/schema", get(schema))
        .route("/telemetry/mist", post(mist_default))
        .route("/telemetry/mist/{org}", post(mist_delivery))
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            count_refused_bodies,
        ))
        .with_state(state)
}

/// Bodies over the limit are refused before a handler runs; count them too.
async fn count_refused_bodies(
    State(state): State<Arc<IngestState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let endpoint = if request.uri().path().starts_with("/telemetry/mist") {
        "mist_webhook"
    } else {
        "ndjson"
    };
    let response = next.run(request).await;
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        state
            .metrics
            .requests
            .with_label_values(&[endpoint, "413"])
            .inc();
    }
    response
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "error": message.into() }))).into_response()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

async fn schema() -> Response {
    axum::Json(ndjson::json_schema()).into_response()
}

async fn mist_default(
    State(state): State<Arc<IngestState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let orgs: Vec<String> = state.config.mist.orgs.keys().cloned().collect();
    match orgs.as_slice() {
        [only] => mist_delivery(State(state), Path(only.clone()), headers, body).await,
        _ => error(
            StatusCode::NOT_FOUND,
            "name the Mist org in the URL: /telemetry/mist/{org_id}",
        ),
    }
}

async fn mist_delivery(
    State(state): State<Arc<IngestState>>,
    Path(org): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let response = mist(&state, &org, &headers, &body).await;
    finish(&state, "mist_webhook", started, response)
}

async fn mist(state: &IngestState, org: &str, headers: &HeaderMap, body: &[u8]) -> Response {
    let Some(org_config) = state.config.mist.orgs.get(org) else {
        return error(StatusCode::NOT_FOUND, format!("unknown Mist org {org}"));
    };
    if org_config.webhook_secret.is_empty() {
        state
            .metrics
            .signature_failures
            .with_label_values(&["no_secret"])
            .inc();
        return error(
            StatusCode::UNAUTHORIZED,
            "no webhook secret is configured for this org",
        );
    }
    let header_text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Err(e) = signature::verify(
        org_config.webhook_secret.expose().as_bytes(),
        body,
        header_text("x-mist-signature-v2"),
        header_text("x-mist-signature"),
        org_config.allow_legacy_signature,
    ) {
        let reason = match e {
            SignatureError::Missing => "missing",
            SignatureError::LegacyNotAllowed => "legacy_not_allowed",
            SignatureError::Malformed => "malformed",
            SignatureError::Mismatch => "mismatch",
        };
        state
            .metrics
            .signature_failures
            .with_label_values(&[reason])
            .inc();
        tracing::warn!(reason, "Mist delivery refused for its signature");
        return error(StatusCode::UNAUTHORIZED, e.to_string());
    }
    let batch = match webhook::parse(body, Some(org)) {
        Ok(batch) => batch,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    deliver(state, "mist_webhook", batch).await
}

async fn ndjson_delivery(
    State(state): State<Arc<IngestState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let response = ndjson_lines(&state, &headers, body).await;
    finish(&state, "ndjson", started, response)
}

async fn ndjson_lines(state: &Arc<IngestState>, headers: &HeaderMap, body: Bytes) -> Response {
    let token = state.config.telemetry_token.expose();
    if !token.is_empty() {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if given != Some(token) {
            return error(StatusCode::UNAUTHORIZED, "a valid bearer token is required");
        }
    }
    if std::str::from_utf8(&body).is_err() {
        return error(StatusCode::BAD_REQUEST, "the body is not UTF-8");
    }
    let parsing = state.clone();
    let batch = tokio::task::spawn_blocking(move || {
        parsing
            .ndjson
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .parse(&body)
    })
    .await;
    match batch {
        Ok(batch) => deliver(state, "ndjson", batch).await,
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("parsing failed: {e}"),
        ),
    }
}

/// Produces a parsed delivery and answers.
async fn deliver(state: &IngestState, endpoint: &'static str, batch: Batch) -> Response {
    let result = async {
        state.sink.produce(&batch.records).await?;
        if !batch.rejected.is_empty() {
            let source = match endpoint {
                "mist_webhook" => "http:/telemetry/mist",
                _ => "http:/telemetry",
            };
            state
                .sink
                .keep_rejects(source, &batch.rejected, now_ms())
                .await?;
        }
        Ok::<(), SinkError>(())
    }
    .await;
    match result {
        Ok(()) => {
            let records = &state.metrics.records;
            records
                .with_label_values(&[endpoint, "accepted"])
                .inc_by(batch.records.len() as u64);
            records
                .with_label_values(&[endpoint, "rejected"])
                .inc_by(batch.rejected.len() as u64);
            records
                .with_label_values(&[endpoint, "ignored"])
                .inc_by(batch.ignored as u64);
            let rejected: Vec<_> = batch
                .rejected
                .iter()
                .map(|r| json!({ "index": r.index, "error": r.error }))
                .collect();
            axum::Json(json!({
                "accepted": batch.records.len(),
                "rejected": rejected,
                "ignored": batch.ignored,
            }))
            .into_response()
        }
        Err(SinkError::Overloaded) => {
            state.metrics.overload.with_label_values(&[endpoint]).inc();
            retry_later("overloaded: too many records in flight")
        }
        Err(SinkError::Unavailable(e)) => {
            tracing::warn!(endpoint, error = %e, "cannot hand the records to Kafka");
            retry_later(format!("the broker is unavailable: {e}"))
        }
    }
}

fn retry_later(message: impl Into<String>) -> Response {
    let mut response = error(StatusCode::SERVICE_UNAVAILABLE, message);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

fn finish(state: &IngestState, endpoint: &str, started: Instant, response: Response) -> Response {
    state
        .metrics
        .requests
        .with_label_values(&[endpoint, response.status().as_str()])
        .inc();
    state
        .metrics
        .request_seconds
        .with_label_values(&[endpoint])
        .observe(started.elapsed().as_secs_f64());
    response
}
