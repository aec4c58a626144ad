//! `callsight.TenantLink`: an organization's link to a Microsoft Teams tenant.

use serde::{Deserialize, Serialize};

/// State of an organization's link to a Teams tenant (`callsight.LinkState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// Consent requested, not yet granted.
    #[default]
    Pending,
    /// Linked and usable.
    Linked,
    /// The tenant withdrew consent.
    ConsentRevoked,
    /// Unlinked; the tenant's keys are destroyed.
    Unlinked,
}

/// A tenant key encrypted with the deployment's master key (`callsight.WrappedTenantKey`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WrappedTenantKey {
    /// Key id.
    pub key_id: String,
    /// 96-bit nonce, hex.
    pub nonce: String,
    /// The encrypted key with its GCM tag, hex.
    pub ciphertext: String,
    /// When the key was made, epoch ms.
    pub created_at: i64,
}

/// An organization's link to a Microsoft Teams tenant (topic `teams.links`, compacted, key org).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantLink {
    /// Organization.
    pub org_id: String,
    /// Entra tenant GUID.
    pub tenant_id: String,
    /// Link state.
    #[serde(default)]
    pub state: LinkState,
    /// Display name of the administrator who linked the tenant.
    pub linked_by_name: Option<String>,
    /// E-mail (or UPN) of the administrator who linked the tenant.
    pub linked_by_email: Option<String>,
    /// When the link was made, epoch ms.
    pub linked_at: i64,
    /// Last change of this record, epoch ms.
    pub updated_at: i64,
    /// Declared in configuration rather than linked over OAuth.
    #[serde(default)]
    pub static_config: bool,
    /// The tenant opted in to keeping sealed clear-text identities.
    #[serde(default)]
    pub keep_identity: bool,
    /// Id of the tenant's current key; `None` once destroyed.
    pub key_id: Option<String>,
    /// The tenant's keys, newest last, wrapped with the master key; empty once destroyed.
    #[serde(default)]
    pub wrapped_keys: Vec<WrappedTenantKey>,
    /// Graph subscription for callRecords.
    pub subscription_id: Option<String>,
    /// When that subscription expires, epoch ms.
    pub subscription_expires_at: Option<i64>,
}
