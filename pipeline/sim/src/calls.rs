//! Teams calls: who talks to whom, for how long, and the Graph callRecord each call produces,
//! with stream metrics that follow from the faults on each participant's path; and the ground
//! truth for every leg.

use crate::fault::{Fault, FaultKind};
use crate::telemetry::{current_ap, current_band};
use crate::truth::{Label, LegRef, ScopeRef};
use crate::world::{Attachment, World, guid};
use rand::RngExt;
use rand_pcg::Pcg64Mcg;
use serde_json::{Value, json};

/// Margin around a call within which a fault's start or end makes the call's truth unclear.
pub const EDGE_MS: i64 = 2 * 60_000;

/// Share of unimpaired participants who rate their call poor anyway.
pub const GRUMPY_SHARE: f64 = 0.02;

/// Peer-to-peer or meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// Two participants, media between them.
    PeerToPeer,
    /// Participants each connected to the conferencing server.
    Meeting,
}

/// A call being planned.
#[derive(Debug, Clone)]
pub struct Call {
    /// Record id.
    pub id: String,
    /// Kind.
    pub kind: CallKind,
    /// Start, epoch ms.
    pub start_ms: i64,
    /// End, epoch ms.
    pub end_ms: i64,
    /// Participants (client indexes; in a peer-to-peer call the caller first).
    pub parties: Vec<usize>,
    /// With video.
    pub video: bool,
}

/// How one participant's media is impaired (added to the clean values, per direction).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Effect {
    jitter_ms: f64,
    loss: f64,
    rtt_ms: f64,
}

/// A participant's situation in one call.
#[derive(Debug, Clone)]
struct Party {
    client: usize,
    /// The fault that impairs this participant for the whole call.
    fault: Option<Fault>,
    /// A fault touches the call only in part: the leg is not scored.
    ambiguous: bool,
    /// The media crosses the site's WAN.
    crosses_wan: bool,
    /// Rated the call poor although nothing impaired it (people do).
    rated_poor: bool,
}

fn effect(kind: FaultKind) -> (Effect, Effect) {
    let e = |jitter_ms, loss, rtt_ms| Effect {
        jitter_ms,
        loss,
        rtt_ms,
    };
    match kind {
        FaultKind::CpuStarvedLaptop => (e(42.0, 0.0, 0.0), e(36.0, 0.0, 0.0)),
        FaultKind::FailingHeadset => (e(0.0, 0.0, 0.0), e(0.0, 0.0, 0.0)),
        FaultKind::VpnHairpin => (e(4.0, 0.0, 480.0), e(4.0, 0.0, 480.0)),
        FaultKind::TcpRelay => (e(48.0, 0.0, 150.0), e(50.0, 0.0, 150.0)),
        FaultKind::WeakSignal => (e(6.0, 0.12, 0.0), e(6.0, 0.13, 0.0)),
        FaultKind::Interference => (e(40.0, 0.01, 0.0), e(44.0, 0.01, 0.0)),
        FaultKind::ChannelUtilization => (e(38.0, 0.01, 0.0), e(48.0, 0.01, 0.0)),
        FaultKind::ApOverload => (e(36.0, 0.01, 0.0), e(38.0, 0.01, 0.0)),
        FaultKind::Band24 => (e(34.0, 0.0, 0.0), e(34.0, 0.0, 0.0)),
        FaultKind::RoamingStorm => (e(8.0, 0.11, 0.0), e(8.0, 0.11, 0.0)),
        FaultKind::ApRestart => (e(8.0, 0.13, 0.0), e(8.0, 0.13, 0.0)),
        FaultKind::PortErrors => (e(2.0, 0.12, 0.0), e(2.0, 0.12, 0.0)),
        FaultKind::PortCongestion => (e(36.0, 0.11, 0.0), e(36.0, 0.11, 0.0)),
        FaultKind::LinkFlap => (e(4.0, 0.12, 0.0), e(4.0, 0.12, 0.0)),
        FaultKind::SpeedDuplexMismatch => (e(33.0, 0.11, 0.0), e(33.0, 0.11, 0.0)),
        FaultKind::UplinkCongestion => (e(10.0, 0.12, 0.0), e(10.0, 0.12, 0.0)),
        FaultKind::WanLatency => (e(2.0, 0.0, 500.0), e(2.0, 0.0, 500.0)),
        FaultKind::WanLoss => (e(3.0, 0.12, 0.0), e(3.0, 0.12, 0.0)),
        FaultKind::WanJitter => (e(55.0, 0.01, 0.0), e(55.0, 0.01, 0.0)),
        FaultKind::WanFailover => (e(6.0, 0.11, 30.0), e(6.0, 0.11, 30.0)),
        FaultKind::WanSaturation => (e(40.0, 0.12, 0.0), e(40.0, 0.12, 0.0)),
        FaultKind::RemoteBadNetwork => (e(45.0, 0.13, 0.0), e(45.0, 0.13, 0.0)),
        FaultKind::MediaRelay => (e(4.0, 0.0, 580.0), e(4.0, 0.0, 580.0)),
        FaultKind::TelemetryGap => (e(40.0, 0.01, 0.0), e(40.0, 0.01, 0.0)),
        FaultKind::HiddenProblem => (e(36.0, 0.01, 0.0), e(36.0, 0.01, 0.0)),
    }
}

/// Whether `fault` reaches `client` in a call of `kind` whose media does (not) cross the WAN.
fn reaches(world: &World, fault: &Fault, client: usize, kind: CallKind, crosses_wan: bool) -> bool {
    if !fault.affects(world, client) {
        return false;
    }
    if fault.kind.on_wan() && !crosses_wan {
        return false;
    }
    // A distant relay stands between a site's users and the conferencing server.
    !(fault.kind == FaultKind::MediaRelay && kind != CallKind::Meeting)
}

fn parties(world: &World, faults: &[Fault], call: &Call) -> Vec<Party> {
    call.parties
        .iter()
        .enumerate()
        .map(|(i, &client)| {
            let crosses_wan = match call.kind {
                CallKind::Meeting => true,
                CallKind::PeerToPeer => {
                    let other = call.parties[1 - i];
                    world.clients[client].site() != world.clients[other].site()
                        || world.clients[other].site().is_none()
                }
            };
            let mut fault = None;
            let mut ambiguous = false;
            // The network's view of a call spans a margin around it (callsight's evidence
            // window): a fault covers the call only when it covers that margin too.
            let (from, to) = (call.start_ms - EDGE_MS, call.end_ms + EDGE_MS);
            for f in faults.iter().filter(|f| f.overlaps(from, to)) {
                if !reaches(world, f, client, call.kind, crosses_wan) {
                    continue;
                }
                if f.start_ms <= from && to <= f.end_ms && fault.is_none() {
                    fault = Some(f.clone());
                } else {
                    ambiguous = true;
                }
            }
            Party {
                client,
                fault,
                ambiguous,
                crosses_wan,
                rated_poor: false,
            }
        })
        .collect()
}

/// Whether `client` would be impaired (or touched at all) by a fault during `[start, end)`.
pub fn touched(world: &World, faults: &[Fault], client: usize, start: i64, end: i64) -> bool {
    faults
        .iter()
        .any(|f| f.overlaps(start - EDGE_MS, end + EDGE_MS) && f.affects(world, client))
}

fn iso_ms(ms: f64) -> String {
    format!("PT{:.3}S", ms.max(0.0) / 1000.0)
}

fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

struct Sides {
    network: Value,
    device: Value,
}

/// One participant's network and device information as Graph reports them.
fn endpoint_info(
    world: &World,
    faults: &[Fault],
    p: &Party,
    call: &Call,
    rng: &mut Pcg64Mcg,
) -> Sides {
    let c = &world.clients[p.client];
    let kind = p.fault.as_ref().map(|f| f.kind);
    let impaired = kind.is_some_and(|k| k != FaultKind::FailingHeadset);
    let ratio = |rng: &mut Pcg64Mcg| {
        if impaired {
            crate::telemetry::round(rng.random_range(0.3..0.5), 3)
        } else {
            crate::telemetry::round(rng.random_range(0.0..0.05), 3)
        }
    };
    let mut network = json!({
        "networkTransportProtocol": if kind == Some(FaultKind::TcpRelay) { "tcp" } else { "udp" },
        "ipAddress": c.ip,
        "wifiBand": "unknown",
        "wifiRadioType": "unknown",
        "traceRouteHops": [],
        "sentQualityEventRatio": ratio(rng),
        "receivedQualityEventRatio": ratio(rng),
        "delayEventRatio": crate::telemetry::round(rng.random_range(0.0..0.03), 3),
        "bandwidthLowEventRatio": 0.0,
    });
    match &c.attachment {
        Attachment::Wifi { .. } => {
            network["connectionType"] = "wifi".into();
            if let Some((site, ap)) = current_ap(world, faults, p.client, call.start_ms) {
                let band = current_band(world, faults, p.client, call.start_ms);
                let radio =
                    &world.sites[site].aps[ap].radios[if band == "band_2_4ghz" { 0 } else { 1 }];
                network["basicServiceSetIdentifier"] = colon(&radio.bssid()).into();
                network["wifiBand"] = if band == "band_2_4ghz" {
                    "frequency24GHz"
                } else {
                    "frequency50GHz"
                }
                .into();
                network["wifiChannel"] = radio.channel.into();
                network["wifiRadioType"] = "wifi80211ax".into();
            }
            network["wifiSignalStrength"] = if kind == Some(FaultKind::WeakSignal) {
                rng.random_range(25..35)
            } else {
                rng.random_range(70..96)
            }
            .into();
            network["linkSpeed"] = 400_000_000u64.into();
        }
        Attachment::Wired { .. } => {
            network["connectionType"] = "wired".into();
            network["linkSpeed"] = if kind == Some(FaultKind::SpeedDuplexMismatch) {
                100_000_000u64
            } else {
                1_000_000_000
            }
            .into();
        }
        Attachment::Vpn => {
            network["connectionType"] = "tunnel".into();
        }
        Attachment::External => {
            network["connectionType"] = "wifi".into();
            network["wifiSignalStrength"] = rng.random_range(60..90).into();
        }
    }
    match (&c.mac, c.mac_in_graph) {
        (Some(mac), true) => network["macAddress"] = dashed(mac).into(),
        // Teams sometimes reports the privacy placeholder instead of the MAC.
        (Some(_), false) if p.client.is_multiple_of(2) => {
            network["macAddress"] = "02-00-00-00-00-00".into()
        }
        _ => {}
    }
    if matches!(
        kind,
        Some(FaultKind::TcpRelay) | Some(FaultKind::MediaRelay)
    ) {
        network["relayIPAddress"] = "52.115.62.118".into();
        network["relayPort"] = 3478.into();
    }
    let mut device = json!({
        "captureDeviceName": "Headset Microphone",
        "renderDeviceName": "Headset Earphone",
        "cpuInsufficentEventRatio": if kind == Some(FaultKind::CpuStarvedLaptop) {
            crate::telemetry::round(rng.random_range(0.35..0.5), 3)
        } else {
            crate::telemetry::round(rng.random_range(0.0..0.01), 3)
        },
        "deviceGlitchEventRatio": crate::telemetry::round(rng.random_range(0.0..0.01), 3),
        "micGlitchRate": rng.random_range(0..20),
        "speakerGlitchRate": rng.random_range(0..20),
    });
    if kind == Some(FaultKind::FailingHeadset) {
        device["captureNotFunctioningEventRatio"] = 0.3.into();
        device["deviceGlitchEventRatio"] = 0.08.into();
        device["micGlitchRate"] = 420.into();
    }
    Sides { network, device }
}

fn dashed(mac: &str) -> String {
    sep(mac, '-').to_uppercase()
}

fn colon(mac: &str) -> String {
    sep(mac, ':')
}

fn sep(mac: &str, c: char) -> String {
    mac.as_bytes()
        .chunks(2)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect::<Vec<_>>()
        .join(&c.to_string())
}

/// One direction's audio stream metrics.
struct Metrics {
    jitter_ms: f64,
    loss: f64,
    rtt_ms: f64,
}

fn clean(rng: &mut Pcg64Mcg, wan: f64) -> Metrics {
    Metrics {
        jitter_ms: rng.random_range(3.0..10.0),
        loss: rng.random_range(0.0005..0.01),
        rtt_ms: rng.random_range(10.0..40.0) + wan,
    }
}

fn impaired(m: Metrics, effects: &[Effect]) -> Metrics {
    Metrics {
        jitter_ms: m.jitter_ms + effects.iter().map(|e| e.jitter_ms).sum::<f64>(),
        loss: (m.loss + effects.iter().map(|e| e.loss).sum::<f64>()).min(0.9),
        rtt_ms: m.rtt_ms + effects.iter().map(|e| e.rtt_ms).sum::<f64>(),
    }
}

/// Both directions of a session measure one round trip.
fn round_trip(mut a: Metrics, mut b: Metrics) -> (Metrics, Metrics) {
    let rtt = a.rtt_ms.max(b.rtt_ms);
    a.rtt_ms = rtt;
    b.rtt_ms = rtt;
    (a, b)
}

fn stream(direction: &str, id: u32, m: &Metrics, video: bool, rng: &mut Pcg64Mcg) -> Value {
    let mut s = json!({
        "streamId": id.to_string(),
        "streamDirection": direction,
        "averageJitter": iso_ms(m.jitter_ms),
        "maxJitter": iso_ms(m.jitter_ms * 2.5),
        "averagePacketLossRate": crate::telemetry::round(m.loss, 4),
        "maxPacketLossRate": crate::telemetry::round((m.loss * 3.0).min(1.0), 4),
        "averageRoundTripTime": iso_ms(m.rtt_ms),
        "maxRoundTripTime": iso_ms(m.rtt_ms * 1.8),
        "packetUtilization": rng.random_range(20_000..45_000),
    });
    if video {
        s["videoCodec"] = "h264".into();
        s["averageVideoFrameRate"] =
            crate::telemetry::round(rng.random_range(24.0..30.0), 1).into();
        s["averageVideoFrameLossPercentage"] =
            crate::telemetry::round((m.loss * 200.0).min(30.0), 2).into();
    } else {
        s["audioCodec"] = "satin".into();
    }
    s
}

fn user_agent() -> Value {
    json!({"@odata.type": "#microsoft.graph.callRecords.clientUserAgent", "platform": "windows",
        "productFamily": "teams", "applicationVersion": "25010112800"})
}

fn participant(world: &World, p: &Party, rng: &mut Pcg64Mcg) -> Value {
    let c = &world.clients[p.client];
    let bad = p
        .fault
        .as_ref()
        .is_some_and(|f| f.kind == FaultKind::FailingHeadset);
    let rating = if bad {
        "bad"
    } else if p.rated_poor || (p.fault.is_some() && rng.random_bool(0.25)) {
        "poor"
    } else {
        "notRated"
    };
    json!({
        "@odata.type": "#microsoft.graph.callRecords.participantEndpoint",
        "name": c.device,
        "userAgent": user_agent(),
        "associatedIdentity": {"id": c.user_id, "displayName": c.display_name, "userPrincipalName": c.upn},
        "feedback": {"rating": rating, "tokens": {"DistortedSpeech": bad}},
    })
}

/// The Graph callRecord of `call` and the ground truth of its legs.
pub fn record(
    world: &World,
    faults: &[Fault],
    call: &Call,
    rng: &mut Pcg64Mcg,
) -> (Value, Vec<Label>) {
    let mut parties = parties(world, faults, call);
    for p in parties.iter_mut().filter(|p| p.fault.is_none()) {
        p.rated_poor = rng.random_bool(GRUMPY_SHARE);
    }
    let start = rfc3339(call.start_ms);
    let end = rfc3339(call.end_ms);
    let wan_ms = |p: &Party, rng: &mut Pcg64Mcg| {
        if p.crosses_wan {
            2.0 * rng.random_range(12.0..25.0)
        } else {
            0.0
        }
    };
    let ef = |p: &Party| p.fault.as_ref().map(|f| effect(f.kind)).unwrap_or_default();
    let modalities = if call.video {
        json!(["audio", "video"])
    } else {
        json!(["audio"])
    };
    let mut sessions = Vec::new();
    let mut labels = Vec::new();
    match call.kind {
        CallKind::PeerToPeer => {
            let (a, b) = (&parties[0], &parties[1]);
            let session_id = guid(rng);
            let (a_up, a_down) = ef(a);
            let (b_up, b_down) = ef(b);
            let base = wan_ms(a, rng);
            let (ab, ba) = round_trip(
                impaired(clean(rng, base), &[a_up, b_down]),
                impaired(clean(rng, base), &[b_up, a_down]),
            );
            let sa = endpoint_info(world, faults, a, call, rng);
            let sb = endpoint_info(world, faults, b, call, rng);
            let mut streams = vec![
                stream("callerToCallee", 1, &ab, false, rng),
                stream("calleeToCaller", 2, &ba, false, rng),
            ];
            let mut media = vec![
                json!({"label": "main-audio", "callerNetwork": sa.network, "calleeNetwork": sb.network,
                "callerDevice": sa.device, "calleeDevice": sb.device, "streams": std::mem::take(&mut streams)}),
            ];
            if call.video {
                media.push(json!({"label": "main-video", "streams": [
                    stream("callerToCallee", 3, &ab, true, rng), stream("calleeToCaller", 4, &ba, true, rng)]}));
            }
            sessions.push(json!({
                "id": session_id, "modalities": modalities, "startDateTime": start, "endDateTime": end, "isTest": false,
                "caller": participant(world, a, rng), "callee": participant(world, b, rng),
                "segments": [{"id": guid(rng), "startDateTime": start, "endDateTime": end, "media": media}],
            }));
            for (i, (me, other)) in [(a, b), (b, a)].into_iter().enumerate() {
                let side = if i == 0 { "caller" } else { "callee" };
                let other_side = if i == 0 { "callee" } else { "caller" };
                let mut label = own_label(world, call, &session_id, side, me);
                if me.fault.is_none() {
                    label.ambiguous |= other.ambiguous;
                    if let Some(f) = other
                        .fault
                        .as_ref()
                        .filter(|f| f.kind != FaultKind::FailingHeadset)
                    {
                        label.cause = "remote_other_participant".into();
                        label.fault = Some(f.id);
                        label.guilty = Some(LegRef {
                            session_id: session_id.clone(),
                            side: other_side.into(),
                        });
                    }
                }
                labels.push(label);
            }
        }
        CallKind::Meeting => {
            for p in &parties {
                let session_id = guid(rng);
                let (up, down) = ef(p);
                let base = wan_ms(p, rng);
                let (sent, received) = round_trip(
                    impaired(clean(rng, base), &[up]),
                    impaired(clean(rng, base), &[down]),
                );
                let sp = endpoint_info(world, faults, p, call, rng);
                let mcu_network = json!({"connectionType": "wired", "networkTransportProtocol": "udp",
                    "ipAddress": "52.114.132.10", "wifiBand": "unknown", "wifiRadioType": "unknown", "traceRouteHops": []});
                let mut media = vec![
                    json!({"label": "main-audio", "callerNetwork": sp.network, "calleeNetwork": mcu_network,
                    "callerDevice": sp.device, "streams": [
                        stream("callerToCallee", 1, &sent, false, rng), stream("calleeToCaller", 2, &received, false, rng)]}),
                ];
                if call.video {
                    media.push(json!({"label": "main-video", "streams": [
                        stream("callerToCallee", 3, &sent, true, rng), stream("calleeToCaller", 4, &received, true, rng)]}));
                }
                sessions.push(json!({
                    "id": session_id, "modalities": modalities, "startDateTime": start, "endDateTime": end, "isTest": false,
                    "caller": participant(world, p, rng),
                    "callee": {"@odata.type": "#microsoft.graph.callRecords.serviceEndpoint",
                        "userAgent": {"@odata.type": "#microsoft.graph.callRecords.serviceUserAgent",
                            "role": "skypeForBusinessAudioVideoMcu"}},
                    "segments": [{"id": guid(rng), "startDateTime": start, "endDateTime": end, "media": media}],
                }));
                labels.push(own_label(world, call, &session_id, "caller", p));
            }
        }
    }
    let record = json!({
        "id": call.id,
        "version": 1,
        "type": if call.kind == CallKind::Meeting { "groupCall" } else { "peerToPeer" },
        "modalities": modalities,
        "lastModifiedDateTime": end,
        "startDateTime": start,
        "endDateTime": end,
        "sessions": sessions,
    });
    (record, labels)
}

/// The label of a participant's own leg: the fault on its path, or good.
fn own_label(world: &World, call: &Call, session_id: &str, side: &str, p: &Party) -> Label {
    let c = &world.clients[p.client];
    let site_id = c.site().map(|s| world.sites[s].id.clone());
    let (cause, scope, guilty) = match &p.fault {
        // A complaint about a call nothing impaired: the right answer is that the network is
        // clean, where callsight sees it; off every site it sees none of it.
        None if p.rated_poor && site_id.is_none() => {
            ("unknown_insufficient_data".to_string(), Vec::new(), None)
        }
        None if p.rated_poor => ("unknown_no_network_anomaly".to_string(), Vec::new(), None),
        None => ("good".to_string(), Vec::new(), None),
        Some(f) => {
            let me = Some(LegRef {
                session_id: session_id.into(),
                side: side.into(),
            });
            let guilty = match f.kind {
                FaultKind::MediaRelay | FaultKind::TelemetryGap | FaultKind::HiddenProblem => None,
                _ => me,
            };
            (
                f.kind.cause().to_string(),
                crate::truth::scope_of(world, f, p.client),
                guilty,
            )
        }
    };
    Label {
        call_id: call.id.clone(),
        session_id: session_id.into(),
        side: side.into(),
        participant: p.client,
        site_id,
        cause,
        fault: p.fault.as_ref().map(|f| f.id),
        scope: scope.into_iter().collect::<Vec<ScopeRef>>(),
        guilty,
        ambiguous: p.ambiguous,
    }
}
