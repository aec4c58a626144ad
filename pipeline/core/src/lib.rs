//! What every callsight process shares, beside the records themselves.
//!
//! Layout:
//! - [`config`]: the typed, layered configuration (defaults < file < environment).
//! - [`codec`]: the configured codec (single-object or Confluent framing);
//!   [`schema_registry`] is its Schema Registry client.
//! - [`logging`]: `tracing` set-up, text or JSON.
//! - [`metrics`]: the Prometheus registry and helpers that enforce the naming rules.
//! - [`readiness`]: named readiness conditions behind `/readyz`.
//! - [`admin`]: the admin HTTP server (`/metrics`, `/livez`, `/readyz`).
//! - [`shutdown`]: signal handling and a bounded drain.

pub mod admin;
pub mod codec;
pub mod config;
pub mod logging;
pub mod metrics;
pub mod readiness;
pub mod schema_registry;
pub mod shutdown;

pub use config::Config;
