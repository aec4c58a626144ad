//! Evidence: every feature of [`crate::features::FEATURES`] measured over the leg's interval,
//! scored against its threshold and the entity's own baseline.
//!
//! One module per domain: [`client`] (the participant's device, from the call record),
//! [`wireless`] (the client's radio link, its AP radio and AP), [`wired`] (access port and
//! uplinks), [`wan`] (the site's WAN links), [`remote`] (other participants, external networks
//! and Microsoft's relay).

mod client;
mod remote;
mod wan;
mod wired;
mod wireless;

use crate::config::RcaConfig;
use crate::features::{self, Feature};
use crate::stats::percentile;
use crate::view::{Baseline, StateView};
use callsight_model::types::{
    CallLeg, ConnectionType, CounterpartKind, EntityKind, Evidence, NetworkEvent, NetworkSample,
    SampleBody, StreamDirection, StreamQuality,
};
use std::collections::BTreeMap;

/// One measured feature, before scoring.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Measurement {
    pub feature: &'static Feature,
    pub entity_id: String,
    pub value: f64,
    /// What the value is measured against, where that was a choice.
    pub basis: Option<String>,
}

/// What the evidence gatherers share: the leg, the view, the window.
pub(crate) struct Context<'a> {
    pub leg: &'a CallLeg,
    pub view: &'a StateView,
    /// The view's samples inside the window, each observation once, in identity order.
    samples: Vec<&'a NetworkSample>,
}

impl<'a> Context<'a> {
    pub fn new(leg: &'a CallLeg, view: &'a StateView, config: &RcaConfig) -> Self {
        let margin = config.evidence_margin_seconds * 1000;
        let (start, end) = (leg.leg_start - margin, leg.leg_end + margin);
        // Duplicates (an observation delivered twice) count once, and the order of the view
        // never matters.
        let mut keyed: Vec<_> = view
            .samples
            .iter()
            .filter(|s| s.time >= start && s.time <= end)
            .map(|s| (identity(s), s))
            .collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        keyed.dedup_by(|a, b| a.0 == b.0);
        Context {
            leg,
            view,
            samples: keyed.into_iter().map(|(_, s)| s).collect(),
        }
    }

    /// Samples inside the window, each observation once.
    pub fn samples(&self) -> &[&'a NetworkSample] {
        &self.samples
    }

    /// Network events inside the window, each once.
    pub fn events(&self) -> Vec<(i64, &'a NetworkEvent)> {
        self.samples
            .iter()
            .filter_map(|s| match &s.body {
                SampleBody::Event(e) => Some((s.time, e)),
                _ => None,
            })
            .collect()
    }

    /// Whether the leg's media leaves the site through its WAN.
    pub fn crosses_wan(&self) -> bool {
        crosses_wan(self.leg)
    }

    /// The leg is off every known site: its network is not ours.
    pub fn off_site(&self) -> bool {
        self.leg.site_id.is_none()
    }

    /// The leg used Wi-Fi.
    pub fn wifi(&self) -> bool {
        self.leg.network.connection_type == ConnectionType::Wifi || self.view.path.ap_mac.is_some()
    }
}

/// Whether a leg's media leaves its site through the WAN: meetings go to Microsoft's media
/// servers; a peer-to-peer call leaves the site unless the other leg is on it.
pub(crate) fn crosses_wan(leg: &CallLeg) -> bool {
    if leg.site_id.is_none() {
        return false;
    }
    match leg.counterpart {
        CounterpartKind::MediaServer => true,
        CounterpartKind::Participant | CounterpartKind::Unknown => {
            leg.other_legs.is_empty() || leg.other_legs.iter().any(|o| o.site_id != leg.site_id)
        }
    }
}

/// Identity of an observation: applying it twice is a no-op.
fn identity(sample: &NetworkSample) -> (i64, String, i64, String) {
    let body = serde_json::to_string(&sample.body).unwrap_or_default();
    (sample.time, sample.source.clone(), sample.sequence, body)
}

/// Pushes a measurement of `metric` when `value` is present.
pub(crate) fn measure(
    out: &mut Vec<Measurement>,
    metric: &'static str,
    entity_id: &str,
    value: Option<f64>,
) {
    measure_against(out, metric, entity_id, value, None);
}

/// [`measure`], saying what the value was measured against (`basis`).
pub(crate) fn measure_against(
    out: &mut Vec<Measurement>,
    metric: &'static str,
    entity_id: &str,
    value: Option<f64>,
    basis: Option<String>,
) {
    let Some(value) = value.filter(|v| v.is_finite()) else {
        return;
    };
    let feature = features::find(metric).unwrap_or_else(|| panic!("unknown feature {metric}"));
    out.push(Measurement {
        feature,
        entity_id: entity_id.to_string(),
        value,
        basis,
    });
}

/// 90th percentile, the sustained high of a series.
pub(crate) fn p90(values: &[f64]) -> Option<f64> {
    percentile(values, 90.0)
}

/// 10th percentile, the sustained low of a series.
pub(crate) fn p10(values: &[f64]) -> Option<f64> {
    percentile(values, 10.0)
}

/// Which telemetry the gatherers found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Found {
    pub client: bool,
    pub wireless: bool,
    pub wired: bool,
    pub wan: bool,
}

/// Every measurement of the leg, scored; and which telemetry was found.
pub(crate) fn gather(
    leg: &CallLeg,
    view: &StateView,
    config: &RcaConfig,
    streams: &[(StreamDirection, StreamQuality)],
) -> (Vec<Evidence>, Found) {
    let ctx = Context::new(leg, view, config);
    let mut measurements = Vec::new();
    let mut found = Found::default();
    client::gather(&ctx, &mut measurements);
    if !ctx.off_site() {
        // A wired client's reported attachment is telemetry of it, however long ago it came.
        found.client = wireless::gather(&ctx, &mut measurements, &mut found)
            || view.path.attached_at.is_some();
        found.wired = wired::gather(&ctx, &mut measurements);
        if ctx.crosses_wan() {
            found.wan = wan::gather(&ctx, config, &mut measurements);
        }
    }
    remote::gather(&ctx, config, &mut measurements, streams);

    let mut evidence: Vec<Evidence> = measurements
        .into_iter()
        .filter_map(|m| {
            let threshold = config.threshold(m.feature.metric, m.feature.threshold);
            let baseline = view.baseline(m.feature.entity, &m.entity_id, m.feature.metric);
            let score = m.feature.score(m.value, threshold, baseline);
            (score > 0.0).then(|| Evidence {
                group: m.feature.group,
                cause: m.feature.cause,
                entity_kind: m.feature.entity,
                entity_id: m.entity_id,
                metric: m.feature.metric.to_string(),
                unit: m.feature.unit.to_string(),
                value: m.value,
                threshold: Some(threshold),
                baseline,
                window_start: leg.leg_start,
                window_end: leg.leg_end,
                score,
                basis: m.basis,
            })
        })
        .collect();
    sort_evidence(&mut evidence);
    (evidence, found)
}

/// Slices with data a baseline needs before it counts.
pub const BASELINE_MIN_SLICES: usize = 3;

/// The usual values of the leg's network entities: each series feature (a `_p90` or `_p10` of
/// samples: radio utilization, port errors, WAN latency, client signal...) measured on the
/// view's samples in each of `slices` (time ranges before the leg), and the median over the
/// slices that have data, when at least [`BASELINE_MIN_SLICES`] do; and two usual states: a
/// client's share of time on 2.4 GHz (for `band_2_4ghz`) and a port's negotiated speed (for
/// `speed_drop_ratio`). Features read from the call record itself and counts of events get no
/// baseline. The processor passes the history; the engine then judges a noisy entity against
/// itself.
pub fn baselines(
    leg: &CallLeg,
    view: &StateView,
    config: &RcaConfig,
    slices: &[(i64, i64)],
) -> Vec<Baseline> {
    let mut probe = leg.clone();
    let mut exact = config.clone();
    exact.evidence_margin_seconds = 0;
    let mut values: BTreeMap<(EntityKind, String, &'static str), Vec<f64>> = BTreeMap::new();
    for &(start, end) in slices {
        probe.leg_start = start;
        probe.leg_end = end;
        let ctx = Context::new(&probe, view, &exact);
        if ctx.off_site() {
            continue;
        }
        let mut measured = Vec::new();
        let mut found = Found::default();
        wireless::gather(&ctx, &mut measured, &mut found);
        wired::gather(&ctx, &mut measured);
        if ctx.crosses_wan() {
            wan::gather(&ctx, config, &mut measured);
        }
        for m in measured {
            let metric = m.feature.metric;
            if metric.ends_with("_p90") || metric.ends_with("_p10") {
                values
                    .entry((m.feature.entity, m.entity_id, metric))
                    .or_default()
                    .push(m.value);
            }
        }
        // A client's usual band: a laptop that is always on 2.4 GHz (an old adapter) has no
        // band change to blame.
        if let Some((client, share)) = wireless::band_2_4ghz_share(&ctx) {
            values
                .entry((EntityKind::Client, client, "band_2_4ghz"))
                .or_default()
                .push(share);
        }
        // A port's usual speed, against which a renegotiation to a lower one is judged.
        for (port, speed) in wired::speeds(&ctx) {
            values
                .entry((EntityKind::SwitchPort, port, wired::USUAL_SPEED))
                .or_default()
                .push(speed);
        }
    }
    values
        .into_iter()
        .filter(|(_, v)| v.len() >= BASELINE_MIN_SLICES)
        .filter_map(|((entity_kind, entity_id, metric), v)| {
            Some(Baseline {
                entity_kind,
                entity_id,
                metric: metric.to_string(),
                value: percentile(&v, 50.0)?,
            })
        })
        .collect()
}

/// Strongest first; ties broken by metric and entity so the order never depends on input order.
pub(crate) fn sort_evidence(evidence: &mut [Evidence]) {
    evidence.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| feature_rank(&a.metric).cmp(&feature_rank(&b.metric)))
            .then_with(|| a.entity_id.cmp(&b.entity_id))
            .then_with(|| a.value.total_cmp(&b.value))
    });
}

fn feature_rank(metric: &str) -> usize {
    features::FEATURES
        .iter()
        .position(|f| f.metric == metric)
        .unwrap_or(usize::MAX)
}

/// The entity id of the leg's AP radio: its base MAC, else `ap_mac/band`.
pub fn radio_entity_id(view: &StateView) -> Option<String> {
    match (&view.path.radio_mac, &view.path.ap_mac) {
        (Some(radio), _) => Some(radio.clone()),
        (None, Some(ap)) => Some(callsight_model::keys::radio_id(ap, view.path.band)),
        (None, None) => None,
    }
}

/// Kinds of entities a cause can be scoped to, smallest first: the domain's entities, and for
/// causes in one client's radio link the client before them.
pub fn scope_levels(cause: callsight_model::types::CauseCode) -> &'static [EntityKind] {
    use callsight_model::types::CauseCode as C;
    use callsight_model::types::EvidenceGroup as G;
    match (cause, cause.group()) {
        // Properties of one client's radio link: the client first, then where it was.
        (C::WirelessWeakSignal | C::WirelessRoaming | C::WirelessBand2_4Ghz, _) => &[
            EntityKind::Client,
            EntityKind::ApRadio,
            EntityKind::Ap,
            EntityKind::Site,
        ],
        (_, G::Wireless) => &[EntityKind::ApRadio, EntityKind::Ap, EntityKind::Site],
        (_, G::Wired) => &[EntityKind::SwitchPort, EntityKind::Switch, EntityKind::Site],
        (_, G::Wan) => &[EntityKind::WanLink, EntityKind::Site, EntityKind::Isp],
        (_, G::Client) => &[EntityKind::Client],
        (_, G::Remote | G::Service | G::Unknown) => &[],
    }
}
