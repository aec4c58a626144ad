//! The Graph webhook, served by the ingest role.
//!
//! - `POST /graph/notifications?validationToken=...` and the same on `/graph/lifecycle`: the
//!   validation handshake; the URL-decoded token comes back as `text/plain`, 200.
//! - `POST /graph/notifications`: change notifications. Each is checked (tenant linked here,
//!   the link's subscription, the tenant's `clientState`); valid ones are written to
//!   `teams.notifications` (key `tenant|call id`) and the answer, 202, comes only once the
//!   broker acknowledged them, within `graph.webhook_deadline`; otherwise 503, so that Graph
//!   delivers again. When some notifications of a delivery are refused, the valid ones are still
//!   written and the answer is 403 with the refused ones counted by reason and the first few
//!   named (`{"accepted", "refused", "refused_by_reason", "examples": [{"index", "reason"}]}`).
//!   An unlinked tenant, a wrong `clientState` and an unknown subscription are one reason,
//!   `not_verified`, so that the answer does not tell which tenants are linked.
//! - `POST /graph/lifecycle`: lifecycle notifications, checked the same way and handed to the
//!   subscription manager on the control topic.
//!
//! 400 for a body that is not a notification collection or has more than
//! `graph.webhook_max_notifications` items, 413 above `graph.webhook_max_body_bytes`,
//! 503 with `Retry-After` when too many notifications are in flight.

use crate::Connector;
use crate::connector::WriteError;
use crate::manage::control;
use crate::webhook::notification::{self, Checked};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use callsight_core::error::Report;
use callsight_core::slots::{BlockingSlots, SlotError};
use callsight_core::throttle::Throttle;
use callsight_model::clock::now_ms;
use callsight_model::types::GraphNotification;
use futures::future::try_join_all;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Longest validation token answered (Graph's are a few hundred characters).
const MAX_TOKEN_CHARS: usize = 4096;

/// What the webhook handlers share.
pub struct WebhookState {
    /// The connector.
    pub connector: Arc<Connector>,
    /// Room for notifications in flight.
    pub room: Arc<Semaphore>,
    /// The room's size (`ingest.max_in_flight`): a delivery larger than it takes all of it.
    pub max_in_flight: usize,
    /// How long to wait for room (or a checking thread) before answering 503.
    pub overload_wait: Duration,
    /// Deliveries parsed and checked at once, off the async runtime (`ingest.parse_threads`,
    /// waiting up to `overload_wait`).
    pub checking: BlockingSlots,
}

/// The webhook routes, with a body limit (a body announced larger is refused before it is read).
pub fn router(state: Arc<WebhookState>, max_body_bytes: usize) -> Router {
    let routes = Router::new()
        .route(
            crate::webhook::NOTIFICATIONS_PATH,
            post(|State(s), Query(q), body| receive(s, q, body, "notifications")),
        )
        .route(
            crate::webhook::LIFECYCLE_PATH,
            post(|State(s), Query(q), body| receive(s, q, body, "lifecycle")),
        )
        .with_state(state);
    callsight_core::serve::limit_bodies(routes, max_body_bytes)
}

#[derive(Debug, Deserialize)]
struct Handshake {
    #[serde(rename = "validationToken")]
    validation_token: Option<String>,
}

fn answer(
    state: &WebhookState,
    endpoint: &str,
    started: Instant,
    status: StatusCode,
    body: serde_json::Value,
) -> Response {
    let metrics = &state.connector.metrics;
    metrics
        .webhook_requests
        .with_label_values(&[endpoint, status.as_str()])
        .inc();
    metrics
        .webhook_seconds
        .with_label_values(&[endpoint])
        .observe(started.elapsed().as_secs_f64());
    let mut response = (status, axum::Json(body)).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

fn handshake(state: &WebhookState, token: String) -> Response {
    let started = Instant::now();
    let metrics = &state.connector.metrics;
    if token.chars().count() > MAX_TOKEN_CHARS {
        return answer(
            state,
            "validation",
            started,
            StatusCode::BAD_REQUEST,
            json!({"error": "validationToken is too long"}),
        );
    }
    metrics
        .webhook_requests
        .with_label_values(&["validation", "200"])
        .inc();
    // Anyone can cause this line: at most one per 10 s, with the number left out.
    static LOG: Throttle = Throttle::new(Duration::from_secs(10));
    if let Some(left_out) = LOG.admit() {
        tracing::info!(left_out, "Graph validated the webhook");
    }
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        token,
    )
        .into_response()
}

/// One handler for both URLs: the handshake, else a delivery counted under `endpoint`.
async fn receive(
    state: Arc<WebhookState>,
    query: Handshake,
    body: Bytes,
    endpoint: &'static str,
) -> Response {
    match query.validation_token {
        Some(token) => handshake(&state, token),
        None => delivery(&state, endpoint, body).await,
    }
}

/// Refused notifications named in an answer, beyond which only counts are given.
const MAX_REFUSED_EXAMPLES: usize = 5;

async fn delivery(state: &WebhookState, endpoint: &str, body: Bytes) -> Response {
    let started = Instant::now();
    let connector = &state.connector;
    let metrics = &connector.metrics;
    // Parsing and checking take CPU in proportion to the body: off the async workers, on at
    // most `ingest.parse_threads` threads at once; a delivery that waits longer than
    // `overload_wait` for one is answered 503, and Graph delivers it again.
    let checking = connector.clone();
    let checked = state
        .checking
        .run(move || {
            notification::check(
                &body,
                checking.graph.webhook_max_notifications,
                &checking.links,
                checking.master.as_deref(),
                now_ms(),
            )
        })
        .await;
    let checked = match checked {
        Ok(Ok(checked)) => checked,
        Ok(Err(e)) => {
            metrics
                .notifications
                .with_label_values(&["malformed"])
                .inc();
            return answer(
                state,
                endpoint,
                started,
                StatusCode::BAD_REQUEST,
                json!({"error": e.to_string()}),
            );
        }
        Err(SlotError::Busy) => {
            return answer(
                state,
                endpoint,
                started,
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "overloaded: too many deliveries being checked"}),
            );
        }
        Err(SlotError::Failed(e)) => {
            tracing::error!(error = %e, "checking a notification delivery failed");
            return answer(
                state,
                endpoint,
                started,
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": "checking the delivery failed"}),
            );
        }
    };
    let mut valid: Vec<GraphNotification> = Vec::new();
    // Refusals are answered as counts by reason, with a few examples: an answer never grows
    // with the delivery. A tenant that is not linked, a wrong clientState and an unknown
    // subscription are one reason in the answer (no link enumeration); the metric tells them
    // apart for the operator.
    let mut refused_by_reason: std::collections::BTreeMap<&str, usize> = Default::default();
    let mut examples = Vec::new();
    for item in checked {
        match item {
            Checked::Valid(n) => valid.push(n),
            Checked::Refused { index, refusal } => {
                metrics
                    .notifications
                    .with_label_values(&[refusal.label()])
                    .inc();
                *refused_by_reason.entry(refusal.answer()).or_default() += 1;
                if examples.len() < MAX_REFUSED_EXAMPLES {
                    examples.push(json!({"index": index, "reason": refusal.answer()}));
                }
            }
        }
    }
    let refused: usize = refused_by_reason.values().sum();
    // Anyone can send refused notifications: at most one line per 10 s.
    static REFUSED_LOG: Throttle = Throttle::new(Duration::from_secs(10));
    if refused > 0
        && let Some(left_out) = REFUSED_LOG.admit()
    {
        tracing::warn!(
            endpoint,
            refused,
            valid = valid.len(),
            left_out,
            "notifications refused"
        );
    }
    // Each notification takes a place; a delivery larger than the whole room waits for all of
    // it (bounded by what is free now, a large delivery would go beyond the bound).
    let permits = valid.len().clamp(1, state.max_in_flight.max(1)) as u32;
    let _room = match tokio::time::timeout(
        state.overload_wait,
        state.room.clone().acquire_many_owned(permits),
    )
    .await
    {
        Ok(Ok(permits)) => permits,
        _ => {
            return answer(
                state,
                endpoint,
                started,
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "overloaded: too many notifications in flight"}),
            );
        }
    };
    let written = tokio::time::timeout(
        connector.graph.webhook_deadline,
        try_join_all(valid.iter().map(|n| write(connector, n))),
    )
    .await;
    match written {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %Report(&e), "notifications could not be made durable");
            return answer(
                state,
                endpoint,
                started,
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "the broker did not acknowledge; deliver again"}),
            );
        }
        Err(_) => {
            tracing::warn!("the broker did not acknowledge notifications in time");
            return answer(
                state,
                endpoint,
                started,
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "the broker did not acknowledge in time; deliver again"}),
            );
        }
    }
    for n in &valid {
        let outcome = if n.lifecycle_event.is_some() {
            "lifecycle"
        } else {
            "accepted"
        };
        metrics.notifications.with_label_values(&[outcome]).inc();
    }
    if refused == 0 {
        answer(
            state,
            endpoint,
            started,
            StatusCode::ACCEPTED,
            json!({"accepted": valid.len()}),
        )
    } else {
        answer(
            state,
            endpoint,
            started,
            StatusCode::FORBIDDEN,
            json!({
                "accepted": valid.len(),
                "refused": refused,
                "refused_by_reason": refused_by_reason,
                "examples": examples,
            }),
        )
    }
}

/// Makes one notification durable: change notifications on `teams.notifications`, lifecycle
/// notifications on the control topic.
async fn write(connector: &Connector, n: &GraphNotification) -> Result<(), WriteError> {
    if n.lifecycle_event.is_some() {
        return control::send(connector, &control::lifecycle(n.clone(), now_ms()))
            .await
            .map_err(|control::ControlError(e)| e);
    }
    let topic = &connector.topics.notifications.name;
    connector.write(topic, &n.key(), n).await
}
