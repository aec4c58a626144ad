//! Serving HTTP routes as a tracked task of the process, every connection bounded: headers (and
//! the wait for the next request on a kept-alive connection) within `http.header_timeout`, a
//! whole request within `http.request_timeout`, a connection at most `http.max_connection_age`
//! (plus a request's time to finish the one in flight, then it is dropped), at most
//! `http.max_connections` at once, and bodies announced larger than their route takes refused
//! before a byte of them is read. Until shutdown; requests in flight finish first, and the drain
//! waits for them.

use crate::config::{Problem, Problems};
use crate::shutdown::Shutdown;
use axum::Router;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::IntoResponse;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Bounds on every connection of the HTTP listeners (`[http]`): what a slow or idle sender may
/// hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// A request's headers must arrive within this, and a kept-alive connection must start its
    /// next request within it; otherwise the connection is closed.
    #[serde(with = "humantime_serde")]
    pub header_timeout: Duration,
    /// A request must be read and handled within this, its body included; otherwise it is
    /// answered 408 (and the connection closed when its body was not all read). Leave room for
    /// the broker's acknowledgement.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Connections served at once per listener; further ones wait in the listen backlog.
    pub max_connections: usize,
    /// A connection is closed after this, once its request in flight is answered (or
    /// `request_timeout` later): a client that reads its answers slowly cannot keep its
    /// connection for ever.
    #[serde(with = "humantime_serde")]
    pub max_connection_age: Duration,
    /// Request bodies held at once per listener, bytes, counted as announced (`Content-Length`;
    /// a body without one counts as its route's largest): a body that finds no room within a
    /// second is answered 503 with `Retry-After`, so that many large bodies at once cannot exhaust
    /// memory.
    pub max_buffered_bytes: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            max_connections: 1024,
            max_connection_age: Duration::from_secs(600),
            max_buffered_bytes: 256 * 1024 * 1024,
        }
    }
}

impl HttpConfig {
    /// What is wrong with the section at `prefix`.
    pub fn problems(&self, prefix: &str) -> Vec<Problem> {
        let mut p = Problems::new(prefix);
        if self.header_timeout < Duration::from_millis(100) {
            p.bad("header_timeout", "must be at least 100ms");
        }
        if self.request_timeout < Duration::from_secs(1) {
            p.bad("request_timeout", "must be at least 1s");
        }
        if self.max_connections == 0 {
            p.bad("max_connections", "must be at least 1");
        }
        if self.max_buffered_bytes < 1024 * 1024 {
            p.bad("max_buffered_bytes", "must be at least 1 MiB");
        }
        if self.max_connection_age < Duration::from_secs(1) {
            p.bad("max_connection_age", "must be at least 1s");
        }
        p.into_vec()
    }
}

/// Room for request bodies on one listener, in KiB (set by [`spawn`], read by
/// [`limit_bodies`]).
#[derive(Clone)]
struct BodyBudget(Arc<Semaphore>);

/// How long a body waits for room in `http.max_buffered_bytes` before the 503.
const BODY_ROOM_WAIT: Duration = Duration::from_secs(1);

fn refuse(status: StatusCode, message: String) -> axum::response::Response {
    let mut response =
        (status, axum::Json(serde_json::json!({ "error": message }))).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("1"),
        );
    }
    response
}

/// Refuses, with 413 and before reading it, a body whose `Content-Length` is above `max_bytes`;
/// a body without one is bounded while it is read (axum's `DefaultBodyLimit`, set here too).
/// Served by [`spawn`], a body also takes room in the listener's `http.max_buffered_bytes` for
/// as long as its request is handled (503 with `Retry-After` when there is none).
pub fn limit_bodies(router: Router, max_bytes: usize) -> Router {
    router
        .layer(axum::middleware::from_fn(
            move |request: Request, next: Next| async move {
                let headers = request.headers();
                let announced = headers
                    .get(header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok());
                if announced.is_some_and(|n| n > max_bytes as u64) {
                    return refuse(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!("the body is larger than {max_bytes} bytes"),
                    );
                }
                // Without a length, a chunked body may be as large as the route takes.
                let chunked = headers.contains_key(header::TRANSFER_ENCODING);
                let bytes = announced.unwrap_or(if chunked { max_bytes as u64 } else { 0 });
                let budget = request.extensions().get::<BodyBudget>().cloned();
                let _room = match budget {
                    Some(BodyBudget(room)) if bytes > 0 => {
                        let kib = u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX);
                        match tokio::time::timeout(BODY_ROOM_WAIT, room.acquire_many_owned(kib))
                            .await
                        {
                            Ok(Ok(permit)) => Some(permit),
                            _ => {
                                return refuse(
                                    StatusCode::SERVICE_UNAVAILABLE,
                                    "overloaded: too many request bodies at once".into(),
                                );
                            }
                        }
                    }
                    _ => None,
                };
                next.run(request).await
            },
        ))
        .layer(axum::extract::DefaultBodyLimit::max(max_bytes))
}

/// Serves `router` on `listener` within `limits` until `shutdown` is triggered; requests in
/// flight finish first, and the drain waits for them. A failing accept is logged under `name`.
pub fn spawn(
    shutdown: &Shutdown,
    listener: TcpListener,
    router: Router,
    name: &'static str,
    limits: &HttpConfig,
) {
    let budget = BodyBudget(Arc::new(Semaphore::new(
        limits.max_buffered_bytes.div_ceil(1024),
    )));
    let router = router
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .layer(axum::Extension(budget));
    let token = shutdown.token.clone();
    let tracker = shutdown.tracker.clone();
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let limits = limits.clone();
    shutdown.tracker.spawn(async move {
        loop {
            // A connection is accepted only with room for it; the others wait in the backlog.
            let permit = tokio::select! {
                permit = connections.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
                () = token.cancelled() => break,
            };
            let stream = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of file descriptors, say: wait a little rather than spin.
                        tracing::warn!(server = name, error = %e, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
                () = token.cancelled() => break,
            };
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout);
            let connection = builder.serve_connection(
                TokioIo::new(stream),
                TowerToHyperService::new(router.clone()),
            );
            let (token, limits) = (token.clone(), limits.clone());
            tracker.spawn(async move {
                tokio::pin!(connection);
                let ended = tokio::select! {
                    ended = connection.as_mut() => Some(ended),
                    () = token.cancelled() => None,
                    () = tokio::time::sleep(limits.max_connection_age) => None,
                };
                let ended = match ended {
                    Some(ended) => ended,
                    None => {
                        // Shutdown, or the connection's age: its request in flight is answered
                        // (within a request's time), then it closes.
                        connection.as_mut().graceful_shutdown();
                        match tokio::time::timeout(limits.request_timeout, connection).await {
                            Ok(ended) => ended,
                            Err(_) => Ok(()),
                        }
                    }
                };
                // A closed or timed-out connection is the client's business, not an error of ours.
                if let Err(e) = ended {
                    tracing::debug!(server = name, error = %e, "connection ended with an error");
                }
                drop(permit);
            });
        }
    });
}
