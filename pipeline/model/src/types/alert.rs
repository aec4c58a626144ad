//! `callsight.ScopeAlert`: many calls sharing one cause through one entity.

use super::common::CauseCode;
use super::verdict::Scope;
use serde::{Deserialize, Serialize};

/// Whether a scope alert is raised or cleared (`callsight.AlertState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// Raised.
    #[default]
    Raised,
    /// Cleared.
    Cleared,
}

/// Many calls sharing one cause through one entity (topic `rca.alerts`, key `org|scope`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeAlert {
    /// Deterministic id.
    pub alert_id: String,
    /// Organization.
    pub org_id: String,
    /// Site.
    pub site_id: Option<String>,
    /// Raised or cleared.
    #[serde(default)]
    pub state: AlertState,
    /// Shared cause.
    #[serde(default)]
    pub cause: CauseCode,
    /// The shared entity and the counts.
    pub scope: Scope,
    /// Share of calls through the entity that were poor for this cause.
    pub poor_ratio: f64,
    /// Event time the alert was raised, epoch ms.
    pub raised_at: i64,
    /// Event time of this state, epoch ms.
    pub updated_at: i64,
    /// A few affected legs.
    #[serde(default)]
    pub sample_leg_ids: Vec<String>,
    /// One line a network engineer can read.
    pub summary: String,
}
