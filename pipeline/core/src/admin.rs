//! The admin HTTP server every process runs: `/metrics`, `/livez`, `/readyz`. Roles that serve
//! more (ingest) mount their routes on their own listener. Served with
//! [`serve::spawn`](crate::serve::spawn).

use crate::config::Secret;
use crate::metrics::Metrics;
use crate::readiness::Readiness;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

/// The admin HTTP server every process runs (`[admin]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Address of `/metrics`, `/livez` and `/readyz`.
    pub listen: SocketAddr,
    /// Bearer token that shows the details of `/readyz` (broker address, errors); without it,
    /// `/readyz` names each condition and whether it holds, nothing more. Empty: never shown.
    pub token: Secret,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            listen: SocketAddr::from(([0, 0, 0, 0], 9464)),
            token: Secret::default(),
        }
    }
}

impl AdminConfig {
    /// Hides the secrets, for printing.
    pub fn redact(&mut self) {
        self.token.redact();
    }
}

#[derive(Clone)]
struct AdminState {
    metrics: Metrics,
    readiness: Readiness,
    token: Secret,
}

/// The admin routes; `token` shows `/readyz`'s details (empty: never).
pub fn router(metrics: Metrics, readiness: Readiness, token: Secret) -> Router {
    Router::new()
        .route("/metrics", get(render_metrics))
        .route("/livez", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .with_state(AdminState {
            metrics,
            readiness,
            token,
        })
}

async fn render_metrics(State(state): State<AdminState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}

async fn ready(State(state): State<AdminState>, headers: HeaderMap) -> impl IntoResponse {
    let (ready, lines) = state.readiness.report();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    // An empty token shows nothing.
    let detailed = crate::auth::bearer_matches(&headers, state.token.expose());
    let lines: Vec<String> = if detailed {
        lines.into_iter().map(|l| l.detailed).collect()
    } else {
        lines.into_iter().map(|l| l.summary).collect()
    };
    (status, format!("{}\n", lines.join("\n")))
}
