//! `callsight.GraphNotification`: a Graph change or lifecycle notification, made durable.

use serde::{Deserialize, Serialize};

/// Change a Graph change notification reports (`callsight.GraphChangeType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GraphChangeType {
    /// Not recognised.
    #[default]
    Unknown,
    /// A call record was created.
    Created,
    /// A call record got a new version.
    Updated,
}

/// Graph subscription lifecycle event (`callsight.LifecycleEvent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleEvent {
    /// Not recognised.
    #[default]
    Unknown,
    /// The subscription must be reauthorized.
    ReauthorizationRequired,
    /// Graph removed the subscription.
    SubscriptionRemoved,
    /// Graph missed notifications.
    Missed,
}

/// Where a notification came from (`callsight.NotificationOrigin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationOrigin {
    /// Delivered by Graph to the webhook.
    #[default]
    Webhook,
    /// Found by listing call records to cover missed notifications.
    Backfill,
    /// Re-played from recorded inputs.
    Replay,
}

/// One Microsoft Graph change or lifecycle notification for callRecords
/// (topic `teams.notifications`, key `tenant|call id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphNotification {
    /// Organization (Mist-style org id) the tenant is linked to.
    pub org_id: String,
    /// Entra tenant GUID the notification belongs to.
    pub tenant_id: String,
    /// Graph subscription that delivered it.
    pub subscription_id: String,
    /// Where the notification came from.
    #[serde(default)]
    pub origin: NotificationOrigin,
    /// `created` or `updated`; `None` for lifecycle notifications.
    pub change_type: Option<GraphChangeType>,
    /// Lifecycle event; `None` for change notifications.
    pub lifecycle_event: Option<LifecycleEvent>,
    /// callRecord id the change is about; `None` for lifecycle notifications.
    pub call_id: Option<String>,
    /// Graph resource path as delivered.
    pub resource: Option<String>,
    /// `subscriptionExpirationDateTime` carried by the notification, epoch ms.
    pub subscription_expires_at: Option<i64>,
    /// When ingest received the notification, epoch ms.
    pub received_at: i64,
}

impl GraphNotification {
    /// The notification's key on `teams.notifications`: `tenant|call id` (lifecycle
    /// notifications, which name no call, use `tenant|`).
    pub fn key(&self) -> String {
        crate::keys::notification_key(&self.tenant_id, self.call_id.as_deref())
    }
}
