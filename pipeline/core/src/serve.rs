//! Serving HTTP routes as a tracked task of the process: until shutdown, letting in-flight
//! requests finish.

use crate::shutdown::Shutdown;
use axum::Router;
use tokio::net::TcpListener;

/// Serves `router` on `listener` until `shutdown` is triggered; requests in flight finish first,
/// and the drain waits for them. A failing server is logged under `name`.
///
/// No header-read, body-read or idle timeout is set here (axum's server gives hyper no timer, so
/// its header timeout is inactive): a slow sender can hold a connection open. Bounding that
/// (tower-http's timeout layers, hyper's header timeout with a timer) is still to do; until then
/// keep the listeners behind a proxy that bounds them.
pub fn spawn(shutdown: &Shutdown, listener: TcpListener, router: Router, name: &'static str) {
    let token = shutdown.token.clone();
    shutdown.tracker.spawn(async move {
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(token.cancelled_owned())
            .await
        {
            tracing::error!(server = name, error = %e, "HTTP server failed");
        }
    });
}
