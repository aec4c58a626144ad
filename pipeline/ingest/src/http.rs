//! The telemetry endpoints.
//!
//! - `POST /telemetry/mist/{org}`: Mist webhook deliveries of one org, signature verified over
//!   the raw body (`POST /telemetry/mist` when exactly one org is configured).
//! - `POST /telemetry`: the vendor-neutral NDJSON format.
//! - `GET /telemetry/schema`: the JSON Schema of an NDJSON line.
//!
//! A delivery is answered only once every accepted record is acknowledged by the broker and
//! every rejected event or line is kept in the dead-letter topic: 200 with
//! `{"accepted", "rejected": [{"index", "error"}], "rejected_count", "ignored"}`, where
//! `rejected` names the first [`MAX_REJECTS_ANSWERED`] rejects and `rejected_count` counts all; 400 when the body is unusable as
//! a whole; 401 for a bad signature or token, and for an org that is unknown or has no secret
//! (answered as a bad signature is, so that the answer does not tell which orgs exist); 413 above
//! `ingest.max_body_bytes`; 415 for an NDJSON body not sent as `application/x-ndjson` (or JSON,
//! so that no web page can post one cross-origin); 503 with
//! `Retry-After` when overloaded or when the broker does not acknowledge, so the sender retries.

use crate::config::IngestConfig;
use crate::events::{Endpoint, SignatureRefusal};
use crate::metrics::IngestMetrics;
use crate::sink::{Sink, SinkError};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use callsight_core::auth::bearer_matches;
use callsight_core::slots::{BlockingSlots, SlotError};
use callsight_model::clock::now_ms;
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
    /// NDJSON parser (its counter state turns cumulative counters into rates); held only to
    /// finish a body read without it.
    pub ndjson: Mutex<ndjson::Parser>,
    /// Bodies parsed at once, off the async runtime (`ingest.parse_threads`, waiting up to
    /// `ingest.overload_wait`).
    pub parsing: BlockingSlots,
    /// Metrics.
    pub metrics: IngestMetrics,
}

/// The ingest routes. A sender's credentials (bearer token, Mist signature header and org) are
/// checked before its body is read, and a body announced larger than `ingest.max_body_bytes`
/// is refused before a byte of it is.
pub fn router(state: Arc<IngestState>) -> Router {
    let limit = state.config.max_body_bytes;
    let routes = Router::new()
        .route("/telemetry", post(ndjson_delivery))
        .route("/telemetry/schema", get(schema))
        .route("/telemetry/mist", post(mist_default))
        .route("/telemetry/mist/{org}", post(mist_delivery))
        .with_state(state.clone());
    callsight_core::serve::limit_bodies(routes, limit).layer(axum::middleware::from_fn_with_state(
        state,
        count_refused_bodies,
    ))
}

/// Bodies over the limit are refused before a handler runs; count them too.
async fn count_refused_bodies(
    State(state): State<Arc<IngestState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let endpoint = if request.uri().path().starts_with("/telemetry/mist") {
        Endpoint::MistWebhook
    } else {
        Endpoint::Ndjson
    };
    let response = next.run(request).await;
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        state.metrics.body_too_large(endpoint);
    }
    response
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "error": message.into() }))).into_response()
}

async fn schema() -> Response {
    axum::Json(ndjson::json_schema()).into_response()
}

async fn mist_default(State(state): State<Arc<IngestState>>, request: Request) -> Response {
    let orgs: Vec<String> = state.config.mist.orgs.keys().cloned().collect();
    match orgs.as_slice() {
        [only] => mist_delivery(State(state), Path(only.clone()), request).await,
        _ => error(
            StatusCode::NOT_FOUND,
            "name the Mist org in the URL: /telemetry/mist/{org_id}",
        ),
    }
}

async fn mist_delivery(
    State(state): State<Arc<IngestState>>,
    Path(org): Path<String>,
    request: Request,
) -> Response {
    let started = Instant::now();
    let response = mist(&state, &org, request).await;
    finish(&state, Endpoint::MistWebhook, started, response)
}

/// Reads a body of at most `limit` bytes: 413 above it, 400 when the sender breaks off.
async fn read_body(body: Body, limit: usize) -> Result<Bytes, Response> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let too_large =
            std::iter::successors(Some(&e as &(dyn std::error::Error + 'static)), |e| {
                e.source()
            })
            .any(|e| e.is::<http_body_util::LengthLimitError>());
        if too_large {
            error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is larger than {limit} bytes"),
            )
        } else {
            error(StatusCode::BAD_REQUEST, "the body could not be read")
        }
    })
}

/// The secret an unknown org's delivery is checked against, so that it is refused exactly as a
/// known org's delivery with a wrong signature is (no org enumeration). Even a signature that
/// matches it is refused.
const NO_ORG_SECRET: &[u8] = b"callsight: no such org";

async fn mist(state: &IngestState, org: &str, request: Request) -> Response {
    // An unknown org and an org without a secret are answered as a bad signature is: the answer
    // does not tell which orgs exist. The metric (admin only) says `no_secret`.
    let org_config = state
        .config
        .mist
        .orgs
        .get(org)
        .filter(|c| !c.webhook_secret.is_empty());
    let (secret, allow_legacy) = match org_config {
        Some(c) => (
            c.webhook_secret.expose().as_bytes(),
            c.allow_legacy_signature,
        ),
        None => (NO_ORG_SECRET, false),
    };
    let (parts, body) = request.into_parts();
    let header_text = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let (v2, legacy) = (
        header_text("x-mist-signature-v2"),
        header_text("x-mist-signature"),
    );
    // Without a signature header, or for an org without a secret, the delivery is refused
    // whatever its body says: refused before it is read (with the answer a wrong signature gets).
    let body = if org_config.is_none() || (v2.is_none() && legacy.is_none()) {
        Bytes::new()
    } else {
        match read_body(body, state.config.max_body_bytes).await {
            Ok(body) => body,
            Err(response) => return response,
        }
    };
    let verified =
        signature::verify(secret, &body, v2, legacy, allow_legacy).and(match org_config {
            Some(_) => Ok(()),
            None => Err(SignatureError::Mismatch),
        });
    if let Err(e) = verified {
        state.metrics.signature_refused(match (org_config, &e) {
            (None, _) => SignatureRefusal::NoSecret,
            (Some(_), SignatureError::Missing) => SignatureRefusal::Missing,
            (Some(_), SignatureError::LegacyNotAllowed) => SignatureRefusal::LegacyNotAllowed,
            (Some(_), SignatureError::Malformed) => SignatureRefusal::Malformed,
            (Some(_), SignatureError::Mismatch) => SignatureRefusal::Mismatch,
        });
        return error(StatusCode::UNAUTHORIZED, e.to_string());
    }
    let delivery = webhook::Delivery {
        org: Some(org),
        window: state.config.event_window(now_ms()),
    };
    let org = delivery.org.map(str::to_string);
    let window = delivery.window;
    let parsed = parse_off_runtime(state, Endpoint::MistWebhook, move || {
        webhook::parse(
            &body,
            &webhook::Delivery {
                org: org.as_deref(),
                window,
            },
        )
    })
    .await;
    let batch = match parsed {
        Ok(Ok(batch)) => batch,
        Ok(Err(e)) => return error(StatusCode::BAD_REQUEST, e.to_string()),
        Err(response) => return response,
    };
    deliver(state, Endpoint::MistWebhook, batch).await
}

async fn ndjson_delivery(State(state): State<Arc<IngestState>>, request: Request) -> Response {
    let started = Instant::now();
    let response = ndjson_lines(&state, request).await;
    finish(&state, Endpoint::Ndjson, started, response)
}

async fn ndjson_lines(state: &Arc<IngestState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    // Without a token configured, any sender (ingest.allow_unauthenticated, or the embedded
    // broker's development setup).
    let token = state.config.telemetry_token.expose();
    if !token.is_empty() && !bearer_matches(headers, token) {
        return error(StatusCode::UNAUTHORIZED, "a valid bearer token is required");
    }
    // A web page can POST cross-origin without asking only as text/plain, a form or no type:
    // none of those is taken.
    if !ndjson_content_type(headers) {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/x-ndjson (or application/json)",
        );
    }
    // Only an authenticated sender's body is read.
    let body = match read_body(body, state.config.max_body_bytes).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    if std::str::from_utf8(&body).is_err() {
        return error(StatusCode::BAD_REQUEST, "the body is not UTF-8");
    }
    let window = state.config.event_window(now_ms());
    let shared = state.clone();
    let batch = parse_off_runtime(state, Endpoint::Ndjson, move || {
        // Read side by side with other bodies; the counter state only for the rates.
        let lines = ndjson::read(&body, window);
        shared
            .ndjson
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .finish(lines)
    })
    .await;
    match batch {
        Ok(batch) => deliver(state, Endpoint::Ndjson, batch).await,
        Err(response) => response,
    }
}

/// Runs `parse` on one of the parse threads; a body that waits longer than
/// `ingest.overload_wait` for one is answered 503 with `Retry-After`, so bodies waiting to be
/// parsed are bounded in number and in time.
async fn parse_off_runtime<T: Send + 'static>(
    state: &IngestState,
    endpoint: Endpoint,
    parse: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Response> {
    match state.parsing.run(parse).await {
        Ok(parsed) => Ok(parsed),
        Err(SlotError::Busy) => {
            state.metrics.not_produced(endpoint, &SinkError::Overloaded);
            Err(retry_later("overloaded: too many bodies being parsed"))
        }
        Err(SlotError::Failed(e)) => Err(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("parsing failed: {e}"),
        )),
    }
}

/// Whether the request says its body is NDJSON (`application/x-ndjson`, `application/ndjson`,
/// `application/jsonl` or `application/json`, any parameters).
fn ndjson_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    [
        "application/x-ndjson",
        "application/ndjson",
        "application/jsonl",
        "application/json",
    ]
    .iter()
    .any(|t| essence.eq_ignore_ascii_case(t))
}

/// Rejects named in an answer; `rejected_count` counts them all.
pub const MAX_REJECTS_ANSWERED: usize = 100;

/// Produces a parsed delivery and answers.
async fn deliver(state: &IngestState, endpoint: Endpoint, batch: Batch) -> Response {
    let result = async {
        state.sink.produce(&batch.records).await?;
        if !batch.rejected.is_empty() {
            let source = match endpoint {
                Endpoint::MistWebhook => "http:/telemetry/mist",
                Endpoint::Ndjson | Endpoint::MistPoller => "http:/telemetry",
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
            state.metrics.records_taken(
                endpoint,
                batch.records.len(),
                batch.rejected.len(),
                batch.ignored,
            );
            // The answer names the first rejects and counts them all: it never grows with the
            // body beyond that (every reject is in the dead-letter topic).
            let rejected: Vec<_> = batch
                .rejected
                .iter()
                .take(MAX_REJECTS_ANSWERED)
                .map(|r| json!({ "index": r.index, "error": r.error }))
                .collect();
            axum::Json(json!({
                "accepted": batch.records.len(),
                "rejected": rejected,
                "rejected_count": batch.rejected.len(),
                "ignored": batch.ignored,
            }))
            .into_response()
        }
        Err(e) => {
            state.metrics.not_produced(endpoint, &e);
            match e {
                SinkError::Overloaded => retry_later("overloaded: too many records in flight"),
                other => retry_later(format!(
                    "the broker is unavailable: {}",
                    callsight_core::error::Report(&other)
                )),
            }
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

fn finish(
    state: &IngestState,
    endpoint: Endpoint,
    started: Instant,
    response: Response,
) -> Response {
    state
        .metrics
        .request_answered(endpoint, response.status().as_u16(), started.elapsed());
    response
}
