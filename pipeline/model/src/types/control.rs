//! `callsight.ControlMessage`: an instruction to the replica that manages tenant links and
//! Graph subscriptions.

use crate::types::{GraphNotification, TenantLink};
use serde::{Deserialize, Serialize};

/// What a control message asks (`callsight.ControlKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlKind {
    /// Not recognised (written by a newer version); ignored.
    #[default]
    Unknown,
    /// Link an organization to a tenant (or refresh who linked it).
    Link,
    /// Unlink: delete the subscription, destroy the tenant's keys.
    Unlink,
    /// Give the tenant a new key; older keys stay to open what they sealed.
    RotateKey,
    /// A Graph lifecycle notification to act on.
    Lifecycle,
}

/// One instruction (topic `callsight.control`, one partition, key org).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlMessage {
    /// What is asked.
    #[serde(default)]
    pub kind: ControlKind,
    /// Organization the instruction is about.
    pub org_id: String,
    /// Unique id of the request.
    pub request_id: String,
    /// For [`ControlKind::Link`]: the link asked for.
    #[serde(default)]
    pub link: Option<TenantLink>,
    /// For [`ControlKind::Lifecycle`]: the notification.
    #[serde(default)]
    pub notification: Option<GraphNotification>,
    /// When the request was made, epoch ms.
    pub requested_at: i64,
}
