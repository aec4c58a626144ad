//! `evaluate`: a call leg and its state view in, a root-cause verdict out.

use crate::attribution::{group_strengths, shares};
use crate::classify::{classify_streams, leg_quality};
use crate::config::{ClassificationConfig, RcaConfig};
use crate::evidence::{self, Found, radio_entity_id};
use crate::scope::{LegObservation, ScopeTracker};
use crate::summary;
use crate::view::{PortRole, StateView};
use callsight_model::keys;
use callsight_model::types::{
    AttributionShare, CallLeg, CauseCode, ConnectionType, DataCompleteness, EntityKind, Evidence,
    EvidenceGroup, FaultLocation, FeedbackRating, LegQuality, RootCauseVerdict, StreamDirection,
    StreamQuality,
};

/// Evidence kept in a verdict, strongest first.
pub const MAX_EVIDENCE: usize = 10;

/// The engine's settings.
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a> {
    /// Stream classification thresholds.
    pub classification: &'a ClassificationConfig,
    /// Evidence, scoring and scope settings.
    pub rca: &'a RcaConfig,
}

/// A verdict, and the leg as scope should count it from now on.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The verdict.
    pub verdict: RootCauseVerdict,
    /// Feed this to [`ScopeTracker::observe`] after publishing the verdict.
    pub observation: LegObservation,
}

/// Evaluates one leg. Pure: the same leg, view, scope state and settings always give the same
/// verdict, whatever the order of the view's samples.
pub fn evaluate(
    leg: &CallLeg,
    view: &StateView,
    scope: &ScopeTracker,
    settings: Settings<'_>,
) -> Evaluation {
    evaluate_at(leg, view, scope, settings, None)
}

/// [`evaluate`] for a leg at `sequence` in its input stream: scope counts only legs observed at
/// earlier positions (see [`LegObservation::sequence`]).
pub fn evaluate_at(
    leg: &CallLeg,
    view: &StateView,
    scope: &ScopeTracker,
    settings: Settings<'_>,
    sequence: Option<i64>,
) -> Evaluation {
    let streams = classify_streams(&leg.streams, settings.classification);
    let quality = leg_quality(&streams);
    let rating = leg
        .feedback
        .as_ref()
        .map(|f| f.rating)
        .unwrap_or(FeedbackRating::Unknown);
    let poor_feedback = rating.is_poor();
    let directions: Vec<(StreamDirection, StreamQuality)> =
        streams.iter().map(|s| (s.direction, s.quality)).collect();

    let (all_evidence, found) = evidence::gather(leg, view, settings.rca, &directions);
    let completeness = completeness(leg, view, found);
    let coverage = coverage(&completeness, leg, view);

    // A leg whose streams are fine never gets a network cause; with a poor rating its own
    // device may still be the reason.
    let candidates: Vec<Evidence> = match quality {
        LegQuality::Poor => all_evidence.clone(),
        LegQuality::Good | LegQuality::Unclassified if poor_feedback => all_evidence
            .iter()
            .filter(|e| {
                matches!(
                    e.cause,
                    CauseCode::ClientCpuInsufficient | CauseCode::ClientAudioDevice
                )
            })
            .cloned()
            .collect(),
        _ => Vec::new(),
    };
    let groups: Vec<_> = group_strengths(&crate::precedence::unexplained(
        &candidates,
        settings.rca.min_group_strength,
    ))
    .into_iter()
    .filter(|g| g.strength >= settings.rca.min_group_strength)
    .collect();

    let (primary_cause, attribution, explained, margin) = if groups.is_empty() {
        let unclassified = quality == LegQuality::Unclassified && !poor_feedback;
        let poor_unseen = quality == LegQuality::Poor && coverage < 1.0;
        // "No anomaly in the telemetry" is a claim about telemetry: with none of the client,
        // Wi-Fi, switch or WAN seen (e.g. a site whose telemetry never arrives, so its legs are
        // on no known site), a bad leg is unexplained for want of data.
        let nothing_seen = !(found.client || found.wireless || found.wired || found.wan);
        let bad_unseen = (quality == LegQuality::Poor || poor_feedback) && nothing_seen;
        let cause = if unclassified || poor_unseen || bad_unseen {
            CauseCode::UnknownInsufficientData
        } else {
            CauseCode::UnknownNoNetworkAnomaly
        };
        let share = AttributionShare {
            group: EvidenceGroup::Unknown,
            cause,
            share: 1.0,
        };
        (cause, vec![share], 0.0, 0.0)
    } else {
        let (group_shares, explained) = shares(&groups);
        let mut attribution: Vec<AttributionShare> = groups
            .iter()
            .zip(&group_shares)
            .map(|(g, share)| AttributionShare {
                group: g.group,
                cause: g.cause,
                share: *share,
            })
            .collect();
        attribution.sort_by(|a, b| b.share.total_cmp(&a.share).then(a.group.cmp(&b.group)));
        let margin = attribution[0].share - attribution.get(1).map_or(0.0, |a| a.share);
        (attribution[0].cause, attribution, explained, margin)
    };

    let relevant: Vec<&Evidence> = candidates
        .iter()
        .filter(|e| e.cause == primary_cause)
        .collect();
    let (fault_location, guilty) = fault(leg, quality, primary_cause, &directions, &relevant);

    let mut confidence = match primary_cause {
        CauseCode::UnknownInsufficientData => 0.1,
        CauseCode::UnknownNoNetworkAnomaly if quality == LegQuality::Good && !poor_feedback => {
            0.9 * (0.5 + 0.5 * coverage)
        }
        CauseCode::UnknownNoNetworkAnomaly => 0.8 * coverage,
        _ => explained * (0.5 + 0.5 * margin) * (0.5 + 0.5 * coverage),
    };
    if view.partial {
        confidence *= 0.8;
    }

    let bad = quality == LegQuality::Poor || poor_feedback;
    let observation = LegObservation {
        leg_id: leg.leg_id.clone(),
        org_id: leg.org_id.clone(),
        site_id: leg.site_id.clone(),
        end: leg.leg_end,
        bad: bad && !matches!(primary_cause.group(), EvidenceGroup::Unknown),
        cause: primary_cause,
        entities: entities(leg, view),
        sequence,
    };
    let scope_result = if observation.bad {
        scope.scope_for(&observation, settings.rca)
    } else {
        None
    };

    let mut evidence = if primary_cause.group() == EvidenceGroup::Unknown {
        all_evidence
    } else {
        candidates
    };
    evidence.truncate(MAX_EVIDENCE);

    let mut verdict = RootCauseVerdict {
        verdict_id: format!("{}@{}", leg.leg_id, leg.record_version),
        org_id: leg.org_id.clone(),
        site_id: leg.site_id.clone(),
        tenant_id: leg.tenant_id.clone(),
        call_id: leg.call_id.clone(),
        leg_id: leg.leg_id.clone(),
        record_version: leg.record_version,
        participant_id: leg.participant_id.clone(),
        leg_start: leg.leg_start,
        leg_end: leg.leg_end,
        quality,
        streams,
        rating,
        poor_feedback,
        primary_cause,
        fault_location,
        guilty_participant_id: guilty,
        confidence: round(confidence),
        attribution: attribution
            .into_iter()
            .map(|mut a| {
                a.share = round(a.share);
                a
            })
            .collect(),
        evidence,
        scope: scope_result,
        completeness,
        summary: String::new(),
    };
    verdict.summary = summary::sentence(&verdict, view);
    Evaluation {
        verdict,
        observation,
    }
}

/// Six decimals: enough for any reader, and stable across platforms' last-bit differences.
fn round(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Where the degradation starts, and whose side it is.
fn fault(
    leg: &CallLeg,
    quality: LegQuality,
    cause: CauseCode,
    directions: &[(StreamDirection, StreamQuality)],
    evidence: &[&Evidence],
) -> (FaultLocation, Option<String>) {
    let me = Some(leg.participant_id.clone());
    let poor = |d: StreamDirection| {
        directions
            .iter()
            .any(|(dir, q)| *dir == d && *q == StreamQuality::Poor)
    };
    let local = || match (poor(StreamDirection::Sent), poor(StreamDirection::Received)) {
        (true, false) => FaultLocation::LocalUplink,
        (false, true) => FaultLocation::LocalDownlink,
        (true, true) => {
            let sent = leg.network.sent_quality_event_ratio.unwrap_or(0.0);
            let received = leg.network.received_quality_event_ratio.unwrap_or(0.0);
            if sent > received {
                FaultLocation::LocalUplink
            } else {
                FaultLocation::LocalDownlink
            }
        }
        (false, false) => FaultLocation::Unknown,
    };
    match cause.group() {
        EvidenceGroup::Unknown if quality == LegQuality::Poor => (FaultLocation::Unknown, None),
        EvidenceGroup::Unknown => (FaultLocation::None, None),
        EvidenceGroup::Client => match cause {
            CauseCode::ClientVpnTunnel | CauseCode::ClientTcpRelayFallback => {
                (FaultLocation::MediaPath, me)
            }
            _ => {
                let rendering = evidence.first().is_some_and(|e| {
                    e.metric.starts_with("render") || e.metric.starts_with("speaker")
                });
                let location = if rendering {
                    FaultLocation::LocalDownlink
                } else {
                    FaultLocation::LocalUplink
                };
                (location, me)
            }
        },
        EvidenceGroup::Wireless | EvidenceGroup::Wired | EvidenceGroup::Wan => (local(), me),
        EvidenceGroup::Remote => match cause {
            CauseCode::RemoteOtherParticipant => (
                FaultLocation::RemoteParticipant,
                evidence.first().map(|e| e.entity_id.clone()),
            ),
            _ => (local(), me),
        },
        EvidenceGroup::Service => (FaultLocation::MediaPath, None),
    }
}

/// What telemetry was found, and what was missing.
fn completeness(leg: &CallLeg, view: &StateView, found: Found) -> DataCompleteness {
    let mut missing: Vec<String> = Vec::new();
    if leg.site_id.is_none() {
        missing.push(
            "the leg is on no known site (its BSSID and IP match no AP or subnet of the \
             inventory), so no telemetry of its network"
                .to_string(),
        );
    } else {
        let wifi =
            leg.network.connection_type == ConnectionType::Wifi || view.path.ap_mac.is_some();
        if !found.client {
            missing.push(match view.path.client_mac {
                None => {
                    "the client was not found in the network telemetry (no MAC, IP or BSSID match)"
                        .to_string()
                }
                Some(_) => "no telemetry from the client during the call".to_string(),
            });
        }
        if wifi && !found.wireless {
            missing.push(match view.path.ap_mac {
                None => "the client's AP is unknown".to_string(),
                Some(_) => "no AP or radio statistics during the call".to_string(),
            });
        }
        if !view.path.ports.is_empty() && !found.wired {
            missing.push("no switch port statistics during the call".to_string());
        } else if view.path.ports.is_empty() && leg.network.connection_type == ConnectionType::Wired
        {
            missing.push("the client's switch port is unknown".to_string());
        }
        let ctx_crosses = evidence::crosses_wan(leg);
        if ctx_crosses && !found.wan {
            missing.push(if view.path.wan_links.is_empty() {
                "the site's WAN links are unknown".to_string()
            } else {
                "no WAN statistics during the call".to_string()
            });
        }
    }
    for extra in &view.missing {
        if !missing.contains(extra) {
            missing.push(extra.clone());
        }
    }
    DataCompleteness {
        partial: view.partial,
        client: found.client,
        wireless: found.wireless,
        wired: found.wired,
        wan: found.wan,
        missing,
    }
}

/// Share of the domains relevant to the leg for which telemetry was found (1 when none is
/// relevant, e.g. off site).
fn coverage(c: &DataCompleteness, leg: &CallLeg, view: &StateView) -> f64 {
    if leg.site_id.is_none() {
        return 1.0;
    }
    let wifi = leg.network.connection_type == ConnectionType::Wifi || view.path.ap_mac.is_some();
    let crosses = evidence::crosses_wan(leg);
    let relevant = [
        (true, c.client),
        (wifi, c.wireless),
        (
            !view.path.ports.is_empty() || leg.network.connection_type == ConnectionType::Wired,
            c.wired,
        ),
        (crosses, c.wan),
    ];
    let (total, have) = relevant
        .iter()
        .filter(|(r, _)| *r)
        .fold((0, 0), |(t, h), (_, f)| (t + 1, h + usize::from(*f)));
    if total == 0 {
        1.0
    } else {
        have as f64 / total as f64
    }
}

/// Every entity the leg's media crossed, for scope.
fn entities(leg: &CallLeg, view: &StateView) -> Vec<(EntityKind, String)> {
    let path = &view.path;
    let mut out = Vec::new();
    if let Some(mac) = &path.client_mac {
        out.push((EntityKind::Client, mac.clone()));
    }
    if let Some(radio) = radio_entity_id(view) {
        out.push((EntityKind::ApRadio, radio));
    }
    if let Some(ap) = &path.ap_mac {
        out.push((EntityKind::Ap, ap.clone()));
    }
    for port in &path.ports {
        out.push((
            EntityKind::SwitchPort,
            keys::port_id(&port.switch_mac, &port.port_id),
        ));
        if port.role == PortRole::Access {
            out.push((EntityKind::Switch, port.switch_mac.clone()));
        }
    }
    for link in &path.wan_links {
        out.push((
            EntityKind::WanLink,
            keys::wan_link_id(&link.gateway_mac, &link.wan_port_id),
        ));
        if let Some(isp) = &link.isp {
            out.push((EntityKind::Isp, isp.clone()));
        }
    }
    if let Some(site) = &leg.site_id {
        out.push((EntityKind::Site, site.clone()));
    }
    out.sort();
    out.dedup();
    out
}
