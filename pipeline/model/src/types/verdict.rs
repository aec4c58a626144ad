//! `callsight.RootCauseVerdict` and its parts: why one call leg was (or was not) bad.

use super::common::{
    CauseCode, EntityKind, EvidenceGroup, FeedbackRating, MediaKind, StreamDirection, StreamQuality,
};
use serde::{Deserialize, Serialize};

/// Where along the media path the degradation starts (`callsight.FaultLocation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultLocation {
    /// Could not tell.
    #[default]
    Unknown,
    /// This participant's sending side.
    LocalUplink,
    /// This participant's receiving side and local network.
    LocalDownlink,
    /// The other participant.
    RemoteParticipant,
    /// The media path between (relay, TCP fallback, VPN tunnel).
    MediaPath,
    /// Nothing was degraded.
    None,
}

/// Overall quality of a leg (`callsight.LegQuality`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegQuality {
    /// No stream could be classified.
    #[default]
    Unclassified,
    /// Every classified stream was good.
    Good,
    /// At least one classified stream was poor.
    Poor,
}

/// One threshold comparison behind a stream classification (`callsight.ClassificationReason`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassificationReason {
    /// Metric, e.g. avg_jitter_ms.
    pub metric: String,
    /// Observed value.
    pub value: f64,
    /// Threshold.
    pub threshold: f64,
    /// The comparison marked the stream poor.
    pub poor: bool,
}

/// Classification of one stream (`callsight.StreamVerdict`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamVerdict {
    /// Graph stream id.
    pub stream_id: Option<String>,
    /// What the stream carries.
    #[serde(default)]
    pub media_kind: MediaKind,
    /// Sent or received by this leg.
    pub direction: StreamDirection,
    /// Classification.
    #[serde(default)]
    pub quality: StreamQuality,
    /// Rules used: cqd_current or cqd_legacy.
    pub rule_set: String,
    /// Why.
    #[serde(default)]
    pub reasons: Vec<ClassificationReason>,
}

/// Additive share of the degradation attributed to one evidence group (`callsight.AttributionShare`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributionShare {
    /// Evidence group.
    #[serde(default)]
    pub group: EvidenceGroup,
    /// Strongest cause within the group.
    #[serde(default)]
    pub cause: CauseCode,
    /// Share 0..1.
    pub share: f64,
}

/// One checkable fact behind a verdict (`callsight.Evidence`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// Domain.
    #[serde(default)]
    pub group: EvidenceGroup,
    /// Cause it supports.
    #[serde(default)]
    pub cause: CauseCode,
    /// Kind of entity.
    #[serde(default)]
    pub entity_kind: EntityKind,
    /// Entity id.
    pub entity_id: String,
    /// Metric.
    pub metric: String,
    /// Unit of value, threshold and baseline.
    pub unit: String,
    /// Observed value over the window.
    pub value: f64,
    /// Threshold it crossed.
    pub threshold: Option<f64>,
    /// The entity's or site's usual value.
    pub baseline: Option<f64>,
    /// Window start, epoch ms.
    pub window_start: i64,
    /// Window end, epoch ms.
    pub window_end: i64,
    /// Strength 0..1.
    #[serde(default)]
    pub score: f64,
    /// What the value was measured against where that was a choice, in words (which capacity a
    /// WAN utilisation is of: configured, contracted, or the interface's negotiated speed).
    #[serde(default)]
    pub basis: Option<String>,
}

/// How far a cause reaches (`callsight.Scope`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// Scope level.
    #[serde(default)]
    pub kind: EntityKind,
    /// The shared entity.
    pub entity_id: String,
    /// Calls through the entity in the window with the same cause.
    pub calls_affected: i32,
    /// Calls through the entity in the window.
    pub calls_total: i32,
    /// Usual share of poor calls through the entity.
    pub baseline_poor_ratio: Option<f64>,
    /// Window start, epoch ms.
    pub window_start: i64,
    /// Window end, epoch ms.
    pub window_end: i64,
}

/// What the verdict could see (`callsight.DataCompleteness`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataCompleteness {
    /// Evaluated before the network windows were complete.
    #[serde(default)]
    pub partial: bool,
    /// Client telemetry was found.
    #[serde(default)]
    pub client: bool,
    /// AP and radio telemetry was found.
    #[serde(default)]
    pub wireless: bool,
    /// Switch port telemetry was found.
    #[serde(default)]
    pub wired: bool,
    /// WAN telemetry was found.
    #[serde(default)]
    pub wan: bool,
    /// What was missing, in words.
    #[serde(default)]
    pub missing: Vec<String>,
}

/// Why one call leg was (or was not) bad (topic `rca.verdicts`, compacted, key `org|call|leg`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RootCauseVerdict {
    /// Deterministic id from call id, leg id and record version.
    pub verdict_id: String,
    /// Organization.
    pub org_id: String,
    /// Site of the leg.
    pub site_id: Option<String>,
    /// Entra tenant GUID.
    pub tenant_id: String,
    /// Graph callRecord id.
    pub call_id: String,
    /// Leg id.
    pub leg_id: String,
    /// Graph record version.
    pub record_version: i64,
    /// Pseudonym of the leg's participant.
    pub participant_id: String,
    /// Leg start, epoch ms.
    pub leg_start: i64,
    /// Leg end, epoch ms.
    pub leg_end: i64,
    /// Overall leg quality.
    #[serde(default)]
    pub quality: LegQuality,
    /// Per-stream classification.
    #[serde(default)]
    pub streams: Vec<StreamVerdict>,
    /// The participant's rating.
    #[serde(default)]
    pub rating: FeedbackRating,
    /// Rating of 1 or 2.
    #[serde(default)]
    pub poor_feedback: bool,
    /// Cause with the largest attribution share.
    #[serde(default)]
    pub primary_cause: CauseCode,
    /// Where the degradation starts.
    #[serde(default)]
    pub fault_location: FaultLocation,
    /// Pseudonym of the participant whose side caused it.
    pub guilty_participant_id: Option<String>,
    /// Confidence 0..1.
    pub confidence: f64,
    /// Shares per evidence group, summing to 1.
    #[serde(default)]
    pub attribution: Vec<AttributionShare>,
    /// The evidence.
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    /// How far the cause reaches.
    pub scope: Option<Scope>,
    /// What the verdict could see.
    pub completeness: DataCompleteness,
    /// One line a network engineer can read.
    pub summary: String,
}
