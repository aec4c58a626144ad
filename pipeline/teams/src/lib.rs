//! The Microsoft Teams connector at run time: from a tenant administrator linking Teams to call
//! legs on `calls.legs`.
//!
//! Layout, by where each part runs:
//! - [`config`]: the `[graph]` and `[privacy]` sections.
//! - [`connector`]: what the connector's parts share in one process (Graph settings, the link
//!   table, the producer, the master key).
//! - [`link`] (ingest, manager): tenant links, their keys and OAuth state, the linking
//!   endpoints.
//! - [`webhook`] (ingest): the Graph webhook and the checking of notification deliveries.
//! - [`fetch`] (fetch): notifications to call records to call legs, offsets committed in order.
//! - [`manage`] (fetch, one elected replica): the subscription manager, its election, and the
//!   instructions it takes on the control topic.
//! - [`role`]: starting the ingest side (routes) and the fetch role on a process's
//!   [`Services`](callsight_kafka::Services).
//! - [`metrics`]: the connector's metric families.

pub mod config;
pub mod connector;
pub mod fetch;
pub mod link;
pub mod manage;
pub mod metrics;
pub mod role;
pub mod webhook;

pub use config::{GraphConfig, PrivacyConfig};
pub use connector::{Connector, StartError};
pub use link::CALLBACK_PATH;
pub use role::{WebhookLimits, start_fetch, webhook_routes};
pub use webhook::{LIFECYCLE_PATH, NOTIFICATIONS_PATH};
