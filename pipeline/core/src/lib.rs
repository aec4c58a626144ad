//! What every callsight process shares, beside the records themselves.
//!
//! Layout:
//! - [`config`]: loading a layered configuration (defaults < file < environment) whose sections
//!   live beside their code; [`Secret`](config::Secret) and the problem lists of validation.
//! - [`codec`]: the configured codec (single-object or Confluent framing) and its section;
//!   [`schema_registry`] is its Schema Registry client.
//! - [`logging`]: `tracing` set-up, text or JSON, and its section.
//! - [`metrics`]: the Prometheus registry and helpers that enforce the naming rules.
//! - [`readiness`]: named readiness conditions behind `/readyz`.
//! - [`admin`]: the admin HTTP server (`/metrics`, `/livez`, `/readyz`) and its section.
//! - [`shutdown`]: signal handling, a bounded drain, and its section.
//! - [`process`]: the metrics, readiness and shutdown every role of a process shares.
//! - [`serve`]: serving HTTP routes as a tracked task, until shutdown.
//! - [`error`]: an error with its chain of causes, for log lines; a panic's message.
//! - [`auth`]: bearer tokens compared in constant time.
//! - [`slots`]: CPU-bound work on bodies, off the runtime on a bounded number of threads.

pub mod admin;
pub mod auth;
pub mod codec;
pub mod config;
pub mod error;
pub mod logging;
pub mod metrics;
pub mod process;
pub mod readiness;
pub mod schema_registry;
pub mod serve;
pub mod shutdown;
pub mod slots;
pub mod throttle;

pub use process::Process;
