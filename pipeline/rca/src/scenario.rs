//! Scenarios: a leg and its state view in a compact JSON form, with what the verdict should be.
//! Golden tests and `callsight explain` read them.
//!
//! ```json
//! {
//!   "description": "Wi-Fi caller, busy 5 GHz channel",
//!   "leg": { "minutes": 20, "network": { "connection_type": "wifi" },
//!            "streams": [ { "media_label": "main-audio", "media_kind": "audio",
//!                           "direction": "received", "packet_utilization": 30000,
//!                           "avg_jitter_ms": 48 } ] },
//!   "path": { "client_mac": "a4c3f0851a2b", "ap_mac": "5c5b35a1c020", "band": "band_5ghz" },
//!   "samples": [ { "t": 5, "ApRadio": { "ap_mac": "5c5b35a1c020", "band": "band_5ghz",
//!                                       "util_all_ratio": 0.93 } } ],
//!   "expect": { "primary_cause": "wireless_channel_utilization" }
//! }
//! ```
//!
//! Times are minutes after the leg's start (`t`); the leg lasts `minutes`. Omitted ids get
//! fixed values, so a scenario says only what matters to it.

use crate::scope::{LegObservation, ScopeTracker};
use crate::view::{Baseline, MatchMethod, Path, StateView};
use callsight_model::types::{
    CallLeg, CallType, CauseCode, CounterpartKind, DeviceInfo, EndpointInfo, EntityKind,
    FaultLocation, Feedback, LegQuality, MediaStream, NetworkInfo, NetworkSample, OtherLegSummary,
    RootCauseVerdict, SampleBody,
};
use serde::{Deserialize, Serialize};

/// Start of every scenario's leg: 2026-01-05T10:00:00Z.
pub const T0: i64 = 1_767_607_200_000;
const MINUTE: f64 = 60_000.0;

/// A scenario file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What the scenario shows.
    pub description: String,
    /// The leg.
    pub leg: LegSpec,
    /// How the client was matched.
    #[serde(default)]
    pub client_match: MatchMethod,
    /// The path.
    #[serde(default)]
    pub path: Path,
    /// Observations, at minutes after the leg's start.
    #[serde(default)]
    pub samples: Vec<SampleSpec>,
    /// Usual values.
    #[serde(default)]
    pub baselines: Vec<Baseline>,
    /// Evaluated before the windows were complete.
    #[serde(default)]
    pub partial: bool,
    /// What the processor could not find.
    #[serde(default)]
    pub missing: Vec<String>,
    /// Other legs scope already counted.
    #[serde(default)]
    pub history: Vec<HistorySpec>,
    /// What the verdict should say.
    #[serde(default)]
    pub expect: Option<Expectation>,
}

fn default_minutes() -> f64 {
    20.0
}
fn default_site() -> Option<String> {
    Some("site-hq".into())
}
fn default_participant() -> String {
    "p-self".into()
}
fn default_counterpart() -> CounterpartKind {
    CounterpartKind::Participant
}
fn default_call_type() -> CallType {
    CallType::PeerToPeer
}
fn default_version() -> i64 {
    1
}
fn default_count() -> u32 {
    1
}

/// The leg of a scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegSpec {
    /// peer_to_peer (default) or group_call.
    #[serde(default = "default_call_type")]
    pub call_type: CallType,
    /// Duration, minutes.
    #[serde(default = "default_minutes")]
    pub minutes: f64,
    /// Site; `null` for a leg off every known site.
    #[serde(default = "default_site")]
    pub site_id: Option<String>,
    /// Participant pseudonym.
    #[serde(default = "default_participant")]
    pub participant_id: String,
    /// What the other end is.
    #[serde(default = "default_counterpart")]
    pub counterpart: CounterpartKind,
    /// Graph record version.
    #[serde(default = "default_version")]
    pub record_version: i64,
    /// Network information.
    #[serde(default)]
    pub network: NetworkInfo,
    /// Device information.
    #[serde(default)]
    pub device: DeviceInfo,
    /// Endpoint information.
    #[serde(default)]
    pub endpoint: EndpointInfo,
    /// Streams.
    #[serde(default)]
    pub streams: Vec<MediaStream>,
    /// Rating.
    #[serde(default)]
    pub feedback: Option<Feedback>,
    /// The other legs.
    #[serde(default)]
    pub other_legs: Vec<OtherLegSummary>,
}

/// One observation of a scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SampleSpec {
    /// Minutes after the leg's start.
    pub t: f64,
    /// Source sequence number.
    #[serde(default)]
    pub seq: i64,
    /// The observation, e.g. `"ApRadio": { ... }`.
    #[serde(flatten)]
    pub body: SampleBody,
}

/// Other legs scope has already counted.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistorySpec {
    /// How many such legs.
    #[serde(default = "default_count")]
    pub count: u32,
    /// How long before this leg's end they ended, minutes.
    pub minutes_before_end: f64,
    /// They were poor with a cause.
    pub bad: bool,
    /// Their cause.
    #[serde(default)]
    pub cause: CauseCode,
    /// Entities they crossed.
    pub entities: Vec<(EntityKind, String)>,
}

/// What a scenario's verdict should say; absent fields are not checked.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// Primary cause.
    pub primary_cause: CauseCode,
    /// Leg quality.
    #[serde(default)]
    pub quality: Option<LegQuality>,
    /// Fault location.
    #[serde(default)]
    pub fault_location: Option<FaultLocation>,
    /// Guilty participant.
    #[serde(default)]
    pub guilty: Option<String>,
    /// Scope level.
    #[serde(default)]
    pub scope: Option<EntityKind>,
    /// Metric of the strongest evidence for the primary cause.
    #[serde(default)]
    pub top_evidence: Option<String>,
    /// Causes that must have a share in the attribution.
    #[serde(default)]
    pub attribution_includes: Vec<CauseCode>,
}

impl Scenario {
    /// Parses a scenario file's text.
    pub fn parse(text: &str) -> Result<Scenario, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The leg, its view, and the scope state the scenario describes.
    pub fn build(&self) -> (CallLeg, StateView, ScopeTracker) {
        let spec = &self.leg;
        let start = T0;
        let end = T0 + (spec.minutes * MINUTE) as i64;
        let call_id = "call-scenario".to_string();
        let leg = CallLeg {
            leg_id: format!("{call_id}/{}/0", spec.participant_id),
            org_id: "org-scenario".into(),
            site_id: spec.site_id.clone(),
            tenant_id: "tenant-scenario".into(),
            call_id,
            record_version: spec.record_version,
            call_type: spec.call_type,
            call_start: start,
            call_end: end,
            leg_start: start,
            leg_end: end,
            participant_id: spec.participant_id.clone(),
            sealed_identity: None,
            counterpart: spec.counterpart,
            endpoint: spec.endpoint.clone(),
            network: spec.network.clone(),
            device: spec.device.clone(),
            streams: spec.streams.clone(),
            feedback: spec.feedback.clone(),
            failure: None,
            is_test: false,
            other_legs: spec.other_legs.clone(),
            fetched_at: end + 30 * 60_000,
        };
        let site = spec.site_id.clone().unwrap_or_else(|| "site-hq".into());
        let samples = self
            .samples
            .iter()
            .map(|s| NetworkSample {
                org_id: leg.org_id.clone(),
                site_id: site.clone(),
                time: start + (s.t * MINUTE) as i64,
                source: "scenario".into(),
                sequence: s.seq,
                body: s.body.clone(),
            })
            .collect();
        let view = StateView {
            client_match: self.client_match,
            path: self.path.clone(),
            samples,
            baselines: self.baselines.clone(),
            partial: self.partial,
            missing: self.missing.clone(),
        };
        let mut tracker = ScopeTracker::new();
        for (i, h) in self.history.iter().enumerate() {
            for j in 0..h.count {
                tracker.observe(LegObservation {
                    leg_id: format!("history-{i}-{j}"),
                    org_id: leg.org_id.clone(),
                    site_id: leg.site_id.clone(),
                    end: end - (h.minutes_before_end * MINUTE) as i64,
                    bad: h.bad,
                    cause: h.cause,
                    entities: h.entities.clone(),
                    sequence: None,
                });
            }
        }
        (leg, view, tracker)
    }

    /// How `verdict` differs from the expectation, in words (empty when it matches).
    pub fn mismatches(&self, verdict: &RootCauseVerdict) -> Vec<String> {
        let Some(expect) = &self.expect else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if verdict.primary_cause != expect.primary_cause {
            out.push(format!(
                "primary cause {} (expected {})",
                verdict.primary_cause, expect.primary_cause
            ));
        }
        if let Some(q) = expect.quality
            && verdict.quality != q
        {
            out.push(format!("quality {:?} (expected {q:?})", verdict.quality));
        }
        if let Some(f) = expect.fault_location
            && verdict.fault_location != f
        {
            out.push(format!(
                "fault location {:?} (expected {f:?})",
                verdict.fault_location
            ));
        }
        if let Some(g) = &expect.guilty
            && verdict.guilty_participant_id.as_ref() != Some(g)
        {
            out.push(format!(
                "guilty {:?} (expected {g})",
                verdict.guilty_participant_id
            ));
        }
        if let Some(kind) = expect.scope
            && verdict.scope.as_ref().map(|s| s.kind) != Some(kind)
        {
            out.push(format!(
                "scope {:?} (expected {kind:?})",
                verdict
                    .scope
                    .as_ref()
                    .map(|s| (s.kind, s.calls_affected, s.calls_total))
            ));
        }
        if let Some(metric) = &expect.top_evidence {
            let top = verdict
                .evidence
                .iter()
                .find(|e| e.cause == verdict.primary_cause)
                .map(|e| e.metric.as_str());
            if top != Some(metric.as_str()) {
                out.push(format!("top evidence {top:?} (expected {metric})"));
            }
        }
        for cause in &expect.attribution_includes {
            if !verdict
                .attribution
                .iter()
                .any(|a| a.cause == *cause && a.share > 0.0)
            {
                out.push(format!("no attribution share for {cause}"));
            }
        }
        out
    }
}

/// A leg and its view exactly as the processor saw them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Saved {
    /// The leg.
    pub leg: CallLeg,
    /// Its view.
    pub view: StateView,
}

/// What `explain` can read: a saved leg and view, or a scenario.
#[derive(Debug, Clone)]
pub enum Input {
    /// A leg and view as the processor saw them.
    Saved(Box<Saved>),
    /// A scenario.
    Scenario(Box<Scenario>),
}

impl Input {
    /// Parses either form; the error names both attempts.
    pub fn parse(text: &str) -> Result<Input, String> {
        match serde_json::from_str::<Saved>(text) {
            Ok(saved) => Ok(Input::Saved(Box::new(saved))),
            Err(saved_error) => match Scenario::parse(text) {
                Ok(scenario) => Ok(Input::Scenario(Box::new(scenario))),
                Err(scenario_error) => Err(format!(
                    "neither a saved leg and view ({saved_error}) nor a scenario ({scenario_error})"
                )),
            },
        }
    }

    /// The leg, its view and the scope state.
    pub fn build(&self) -> (CallLeg, StateView, ScopeTracker) {
        match self {
            Input::Saved(saved) => (saved.leg.clone(), saved.view.clone(), ScopeTracker::new()),
            Input::Scenario(scenario) => scenario.build(),
        }
    }

    /// Mismatches with the scenario's expectation (none for a saved input).
    pub fn mismatches(&self, verdict: &RootCauseVerdict) -> Vec<String> {
        match self {
            Input::Saved(_) => Vec::new(),
            Input::Scenario(scenario) => scenario.mismatches(verdict),
        }
    }
}
