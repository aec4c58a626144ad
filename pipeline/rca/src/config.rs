//! The engine's settings: Microsoft's stream classification thresholds, evidence threshold
//! overrides, and the scope and scoring parameters. Part of callsight's configuration file
//! (`[classification]` and `[rca]`).

use crate::features::FEATURES;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which Call Quality Dashboard audio rules to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleSet {
    /// Microsoft's current rules (round trip, loss, jitter; packet utilisation gate).
    #[default]
    Current,
    /// The legacy rules, which add audio degradation and concealed samples.
    Legacy,
}

impl RuleSet {
    /// The name written into each stream verdict.
    pub fn label(self) -> &'static str {
        match self {
            RuleSet::Current => "cqd_current",
            RuleSet::Legacy => "cqd_legacy",
        }
    }
}

/// Stream classification thresholds, after Microsoft's Call Quality Dashboard. A stream is poor
/// when it crosses them (see the README for the exact rules).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClassificationConfig {
    /// Rules for audio.
    pub rule_set: RuleSet,
    /// Streams with at most this many packets are unclassified.
    pub min_packets: i64,
    /// Audio: average round trip above this (ms) is poor.
    pub audio_round_trip_ms: f64,
    /// Audio: average packet loss above this (fraction) is poor.
    pub audio_packet_loss_rate: f64,
    /// Audio: average jitter above this (ms) is poor.
    pub audio_jitter_ms: f64,
    /// Legacy audio: average degradation above this is poor.
    pub legacy_audio_degradation: f64,
    /// Legacy audio: average concealed-sample ratio above this is poor.
    pub legacy_concealed_ratio: f64,
    /// Video: frame loss above this (percent) is poor.
    pub video_frame_loss_pct: f64,
    /// Video: frame rate below this (fps) is poor.
    pub video_frame_rate: f64,
    /// Video: post-FEC packet loss above this (fraction) is poor.
    pub video_post_fec_loss_rate: f64,
    /// Screen sharing (VBSS): inbound frame loss above this (percent) is poor.
    pub vbss_frame_loss_pct: f64,
    /// Screen sharing (VBSS): frame rate below this (fps) is poor.
    pub vbss_frame_rate: f64,
}

impl Default for ClassificationConfig {
    fn default() -> Self {
        ClassificationConfig {
            rule_set: RuleSet::Current,
            min_packets: 500,
            audio_round_trip_ms: 500.0,
            audio_packet_loss_rate: 0.1,
            audio_jitter_ms: 30.0,
            legacy_audio_degradation: 1.0,
            legacy_concealed_ratio: 0.07,
            video_frame_loss_pct: 50.0,
            video_frame_rate: 7.0,
            video_post_fec_loss_rate: 0.15,
            vbss_frame_loss_pct: 50.0,
            vbss_frame_rate: 1.0,
        }
    }
}

/// Root-cause settings beyond classification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RcaConfig {
    /// Evidence is gathered over the leg's interval widened by this many seconds on each side
    /// (per-minute statistics are stamped at the end of their minute).
    pub evidence_margin_seconds: i64,
    /// An evidence group must reach this strength (0..1) to count as an anomaly.
    pub min_group_strength: f64,
    /// Overrides of evidence thresholds by metric name, e.g. `rssi_dbm_p10 = -70.0`. The
    /// README lists every metric with its default.
    pub thresholds: BTreeMap<String, f64>,
    /// Sliding window over which scope counts calls, seconds.
    pub scope_window_seconds: i64,
    /// Calls through an entity in the window before its bad-call rate is judged.
    pub scope_min_calls: u32,
    /// Affected calls (this one included) before an entity can be the scope.
    pub scope_min_affected: u32,
    /// Significance level of the test "this entity's bad-call rate is above its baseline".
    pub scope_alpha: f64,
    /// Bad-call rate assumed for an entity without enough history of its own.
    pub default_poor_ratio: f64,
    /// Calls of history an entity needs before its own baseline replaces the default.
    pub baseline_min_calls: u32,
    /// Affected calls before a scope alert is raised.
    pub alert_min_affected: u32,
    /// Significance level that raises an alert; it clears when the rate is no longer
    /// significant at `scope_alpha` (hysteresis).
    pub alert_alpha: f64,
    /// Capacities of WAN links by link (`gateway_mac/port_id`), overriding what the inventory
    /// and the telemetry say: e.g. `[rca.wan_capacity."4c96147e2b00/ge-0/0/7"]` with
    /// `down_bps = 50_000_000` and `up_bps = 10_000_000`.
    pub wan_capacity: BTreeMap<String, WanCapacity>,
}

/// A WAN link's capacity (`rca.wan_capacity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WanCapacity {
    /// Downstream, bit/s.
    pub down_bps: i64,
    /// Upstream, bit/s.
    pub up_bps: i64,
}

impl Default for RcaConfig {
    fn default() -> Self {
        RcaConfig {
            evidence_margin_seconds: 60,
            min_group_strength: 0.3,
            thresholds: BTreeMap::new(),
            scope_window_seconds: 3600,
            scope_min_calls: 3,
            scope_min_affected: 2,
            scope_alpha: 0.05,
            default_poor_ratio: 0.05,
            baseline_min_calls: 20,
            alert_min_affected: 3,
            alert_alpha: 0.01,
            wan_capacity: BTreeMap::new(),
        }
    }
}

/// A configuration key and what is wrong with it.
pub type Problem = (String, String);

impl ClassificationConfig {
    /// Problems with the values, each with its key under `prefix`.
    pub fn problems(&self, prefix: &str) -> Vec<Problem> {
        let mut out = Vec::new();
        for (key, value) in [
            ("audio_packet_loss_rate", self.audio_packet_loss_rate),
            ("legacy_concealed_ratio", self.legacy_concealed_ratio),
            ("video_post_fec_loss_rate", self.video_post_fec_loss_rate),
        ] {
            if !(0.0..=1.0).contains(&value) {
                out.push((
                    format!("{prefix}.{key}"),
                    format!("{value} is not a fraction between 0 and 1"),
                ));
            }
        }
        for (key, value) in [
            ("video_frame_loss_pct", self.video_frame_loss_pct),
            ("vbss_frame_loss_pct", self.vbss_frame_loss_pct),
        ] {
            if !(0.0..=100.0).contains(&value) {
                out.push((
                    format!("{prefix}.{key}"),
                    format!("{value} is not a percentage between 0 and 100"),
                ));
            }
        }
        for (key, value) in [
            ("audio_round_trip_ms", self.audio_round_trip_ms),
            ("audio_jitter_ms", self.audio_jitter_ms),
            ("video_frame_rate", self.video_frame_rate),
            ("vbss_frame_rate", self.vbss_frame_rate),
            ("legacy_audio_degradation", self.legacy_audio_degradation),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                out.push((
                    format!("{prefix}.{key}"),
                    format!("{value} must be a non-negative number"),
                ));
            }
        }
        if self.min_packets < 0 {
            out.push((
                format!("{prefix}.min_packets"),
                "must not be negative".into(),
            ));
        }
        out
    }
}

impl RcaConfig {
    /// Problems with the values, each with its key under `prefix`.
    pub fn problems(&self, prefix: &str) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut bad = |key: &str, problem: String| out.push((format!("{prefix}.{key}"), problem));
        if self.evidence_margin_seconds < 0 {
            bad("evidence_margin_seconds", "must not be negative".into());
        }
        if !(0.0..1.0).contains(&self.min_group_strength) {
            bad("min_group_strength", "must be in [0, 1)".into());
        }
        for (metric, value) in &self.thresholds {
            if !FEATURES.iter().any(|f| f.metric == metric) {
                bad(
                    &format!("thresholds.{metric}"),
                    "is not an evidence metric (the README lists them)".into(),
                );
            } else if !value.is_finite() {
                bad(&format!("thresholds.{metric}"), "must be a number".into());
            }
        }
        for (link, capacity) in &self.wan_capacity {
            if link.split('/').count() < 2 {
                bad(
                    &format!("wan_capacity.{link}"),
                    "must name a link as gateway_mac/port_id".into(),
                );
            }
            if capacity.down_bps <= 0 || capacity.up_bps <= 0 {
                bad(
                    &format!("wan_capacity.{link}"),
                    "down_bps and up_bps must be positive".into(),
                );
            }
        }
        if self.scope_window_seconds < 60 {
            bad("scope_window_seconds", "must be at least 60".into());
        }
        if self.scope_min_calls < 1 {
            bad("scope_min_calls", "must be at least 1".into());
        }
        for (key, value) in [
            ("scope_alpha", self.scope_alpha),
            ("alert_alpha", self.alert_alpha),
        ] {
            if !(value > 0.0 && value < 1.0) {
                bad(key, "must be strictly between 0 and 1".into());
            }
        }
        if self.alert_alpha > self.scope_alpha {
            bad(
                "alert_alpha",
                "must not exceed scope_alpha (raising must be harder than clearing)".into(),
            );
        }
        if !(self.default_poor_ratio > 0.0 && self.default_poor_ratio < 1.0) {
            bad(
                "default_poor_ratio",
                "must be strictly between 0 and 1".into(),
            );
        }
        out
    }

    /// The threshold of a metric: the override if configured, else the built-in default.
    pub fn threshold(&self, metric: &str, default: f64) -> f64 {
        self.thresholds.get(metric).copied().unwrap_or(default)
    }
}
