//! The Graph webhook, served with the ingest endpoints.
//!
//! - [`notification`]: reading and checking Graph notification deliveries.
//! - [`http`]: the validation handshake, change and lifecycle notifications.

pub mod http;
pub mod notification;

/// Path of the change-notification webhook under the public URL.
pub const NOTIFICATIONS_PATH: &str = "/graph/notifications";
/// Path of the lifecycle webhook.
pub const LIFECYCLE_PATH: &str = "/graph/lifecycle";
