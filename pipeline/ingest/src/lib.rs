//! callsight's ingest roles: the HTTP endpoints that take network telemetry in (`ingest`), and
//! the Mist statistics poller (`mist-poll`). The binary serves these routes on one listener with
//! the Graph webhook and the tenant linking endpoints of `callsight-teams`.
//!
//! Layout:
//! - [`config`]: the `[ingest]` section (endpoints, Mist orgs and polling).
//! - [`http`]: `POST /telemetry/mist/{org}`, `POST /telemetry`, `GET /telemetry/schema`.
//! - [`sink`]: producing to `net.telemetry` and `net.inventory` with bounded in-flight
//!   records; rejects to the dead-letter topic.
//! - [`mist_poll`]: polling the Mist REST API for statistics.
//! - [`mist_record`]: recordings of the polls' answers, for `callsight replay`.
//! - [`client`]: a client of these endpoints (NDJSON, signed Mist deliveries), for what sends
//!   recorded or simulated telemetry through them (`callsight replay`, the lab).
//! - [`metrics`]: ingest metric families; [`events`]: what counts them, each with its log line.
//! - [`role`]: the endpoints and the poller on a process's [`Services`], one sink between them.
//!
//! [`Services`]: callsight_kafka::Services

pub mod client;
pub mod config;
pub mod events;
pub mod http;
pub mod metrics;
pub mod mist_poll;
pub mod mist_record;
pub mod role;
pub mod sink;

pub use config::IngestConfig;
pub use role::{Ingest, StartError};
