//! One `CallLeg` per participant endpoint of a call record: both sides of a peer-to-peer
//! session, the caller side of each meeting session (the callee is a media server). Durations
//! become milliseconds, ratios stay 0..1, null stays missing (never 0), MACs and BSSIDs are
//! normalised (the OS privacy placeholder counts as absent), identity becomes a keyed pseudonym,
//! and the leg's site is resolved from the inventory: BSSID → AP → site, else IP → subnet → site,
//! else none (the leg is off every known site).

use crate::duration;
use crate::model::{self, CallRecord, Endpoint, Session};
use crate::privacy::{KeyError, TenantKey};
use callsight_inventory::Inventory;
use callsight_model::lenient::parse_timestamp_ms;
use callsight_model::mac;
use callsight_model::types::{
    CallFailure, CallLeg, CallType, ConnectionType, CounterpartKind, DeviceInfo, EndpointInfo,
    Feedback, FeedbackRating, MediaKind, MediaStream, NetworkInfo, OtherLegSummary,
    StreamDirection, StreamQuality, TraceRouteHop, TransportProtocol, WifiBand,
};
use callsight_rca::ClassificationConfig;
use callsight_rca::classify::classify_streams;

/// Whose record it is, and what may be kept of identities.
#[derive(Debug, Clone, Copy)]
pub struct Tenant<'a> {
    /// Organization the tenant is linked to.
    pub org_id: &'a str,
    /// Entra tenant GUID.
    pub tenant_id: &'a str,
    /// The tenant's current key.
    pub key: &'a TenantKey,
    /// Keep the clear identity, sealed (the tenant opted in and privacy is not strict).
    pub keep_identity: bool,
}

/// What normalisation looks things up in.
#[derive(Debug, Clone, Copy)]
pub struct Lookups<'a> {
    /// Sites, APs and subnets.
    pub inventory: &'a Inventory,
    /// Thresholds for the other-leg summaries' poor stream counts.
    pub classification: &'a ClassificationConfig,
}

/// A record that cannot be turned into legs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NormalizeError {
    /// The record has no id.
    #[error("the call record has no id")]
    NoId,
    /// A required time is missing or does not parse.
    #[error("the call record has no usable {0}")]
    NoTime(&'static str),
    /// Sealing an identity failed.
    #[error("sealing an identity")]
    Seal(#[from] KeyError),
}

fn time(text: &Option<String>) -> Option<i64> {
    text.as_deref().and_then(parse_timestamp_ms)
}

fn ms(text: &Option<String>) -> Option<f64> {
    text.as_deref().and_then(duration::to_ms)
}

/// Graph enum member names, compared without case.
fn is(value: &Option<String>, name: &str) -> bool {
    value
        .as_deref()
        .is_some_and(|v| v.eq_ignore_ascii_case(name))
}

fn call_type(value: &Option<String>) -> CallType {
    if is(value, "peerToPeer") {
        CallType::PeerToPeer
    } else if is(value, "groupCall") {
        CallType::GroupCall
    } else {
        CallType::Unknown
    }
}

fn connection_type(value: &Option<String>) -> ConnectionType {
    match value.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("wired") => ConnectionType::Wired,
        Some("wifi") => ConnectionType::Wifi,
        Some("mobile") => ConnectionType::Mobile,
        Some("tunnel") => ConnectionType::Tunnel,
        _ => ConnectionType::Unknown,
    }
}

fn transport(value: &Option<String>) -> TransportProtocol {
    if is(value, "udp") {
        TransportProtocol::Udp
    } else if is(value, "tcp") {
        TransportProtocol::Tcp
    } else {
        TransportProtocol::Unknown
    }
}

fn wifi_band(value: &Option<String>) -> WifiBand {
    match value.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("frequency24ghz") => WifiBand::Band2_4Ghz,
        Some("frequency50ghz") => WifiBand::Band5Ghz,
        Some("frequency60ghz") => WifiBand::Band60Ghz,
        _ => WifiBand::Unknown,
    }
}

fn rating(value: &Option<String>) -> FeedbackRating {
    match value.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("notrated") => FeedbackRating::NotRated,
        Some("bad") => FeedbackRating::Bad,
        Some("poor") => FeedbackRating::Poor,
        Some("fair") => FeedbackRating::Fair,
        Some("good") => FeedbackRating::Good,
        Some("excellent") => FeedbackRating::Excellent,
        _ => FeedbackRating::Unknown,
    }
}

/// What a media line carries, from its label (Teams uses `main-audio`, `main-video`,
/// `applicationsharing-video`, `data`), else from the stream's codec.
fn media_kind(label: &Option<String>, stream: &model::MediaStream) -> MediaKind {
    let label = label.as_deref().unwrap_or("").to_ascii_lowercase();
    if label.contains("applicationsharing") || label.contains("screen") {
        MediaKind::VideoBasedScreenSharing
    } else if label.contains("audio") {
        MediaKind::Audio
    } else if label.contains("video") {
        MediaKind::Video
    } else if label == "data" {
        MediaKind::Data
    } else if is(&stream.video_codec, "h264s") {
        MediaKind::VideoBasedScreenSharing
    } else if stream.video_codec.is_some() {
        MediaKind::Video
    } else if stream.audio_codec.is_some() {
        MediaKind::Audio
    } else {
        MediaKind::Unknown
    }
}

/// Link speeds of 2^32 − 1 are a sentinel, not a speed.
fn link_speed(value: Option<i64>) -> Option<i64> {
    value.filter(|v| *v > 0 && *v < 4_294_967_295)
}

fn int32(value: Option<i64>) -> Option<i32> {
    value.and_then(|v| i32::try_from(v).ok())
}

fn network(n: &model::NetworkInfo) -> NetworkInfo {
    let driver = match (&n.wifi_vendor_driver, &n.wifi_vendor_driver_version) {
        (Some(d), Some(v)) => Some(format!("{d} {v}")),
        (Some(d), None) => Some(d.clone()),
        _ => None,
    };
    NetworkInfo {
        connection_type: connection_type(&n.connection_type),
        transport: transport(&n.network_transport_protocol),
        ip_address: n.ip_address.clone(),
        subnet: n.subnet.clone(),
        mac_address: n.mac_address.as_deref().and_then(mac::normalize),
        reflexive_ip: n.reflexive_ip_address.clone(),
        relay_ip: n.relay_ip_address.clone(),
        relay_port: int32(n.relay_port),
        port: int32(n.port),
        link_speed_bps: link_speed(n.link_speed),
        dns_suffix: n.dns_suffix.clone(),
        bssid: n
            .basic_service_set_identifier
            .as_deref()
            .and_then(mac::normalize),
        wifi_band: wifi_band(&n.wifi_band),
        wifi_channel: int32(n.wifi_channel),
        wifi_radio_type: n.wifi_radio_type.clone(),
        wifi_signal_pct: int32(n.wifi_signal_strength),
        battery_pct: int32(n.wifi_battery_charge),
        wifi_driver: driver,
        delay_event_ratio: n.delay_event_ratio,
        bandwidth_low_event_ratio: n.bandwidth_low_event_ratio,
        received_quality_event_ratio: n.received_quality_event_ratio,
        sent_quality_event_ratio: n.sent_quality_event_ratio,
        trace_route: n
            .trace_route_hops
            .iter()
            .map(|h| TraceRouteHop {
                hop_count: int32(h.hop_count).unwrap_or_default(),
                ip_address: h.ip_address.clone(),
                round_trip_ms: ms(&h.round_trip_time),
            })
            .collect(),
    }
}

fn device(d: &model::DeviceInfo) -> DeviceInfo {
    DeviceInfo {
        capture_device: crate::device::category(d.capture_device_name.as_deref()),
        render_device: crate::device::category(d.render_device_name.as_deref()),
        capture_not_functioning_ratio: d.capture_not_functioning_event_ratio,
        render_not_functioning_ratio: d.render_not_functioning_event_ratio,
        cpu_insufficient_ratio: d.cpu_insufficent_event_ratio,
        device_clipping_ratio: d.device_clipping_event_ratio,
        device_glitch_ratio: d.device_glitch_event_ratio,
        low_speech_level_ratio: d.low_speech_level_event_ratio,
        low_speech_to_noise_ratio: d.low_speech_to_noise_event_ratio,
        render_mute_ratio: d.render_mute_event_ratio,
        render_zero_volume_ratio: d.render_zero_volume_event_ratio,
        mic_glitch_rate: d.mic_glitch_rate,
        speaker_glitch_rate: d.speaker_glitch_rate,
        howling_event_count: int32(d.howling_event_count),
        received_signal_level: int32(d.received_signal_level),
        received_noise_level: int32(d.received_noise_level),
        sent_signal_level: int32(d.sent_signal_level),
        sent_noise_level: int32(d.sent_noise_level),
    }
}

fn stream(label: &Option<String>, s: &model::MediaStream, caller: bool) -> MediaStream {
    let from_caller = is(&s.stream_direction, "callerToCallee");
    MediaStream {
        stream_id: s.stream_id.clone(),
        media_label: label.clone().unwrap_or_default(),
        media_kind: media_kind(label, s),
        direction: if from_caller == caller {
            StreamDirection::Sent
        } else {
            StreamDirection::Received
        },
        start: time(&s.start_date_time),
        end: time(&s.end_date_time),
        audio_codec: s.audio_codec.clone(),
        video_codec: s.video_codec.clone(),
        avg_jitter_ms: ms(&s.average_jitter),
        max_jitter_ms: ms(&s.max_jitter),
        avg_audio_network_jitter_ms: ms(&s.average_audio_network_jitter),
        max_audio_network_jitter_ms: ms(&s.max_audio_network_jitter),
        avg_round_trip_ms: ms(&s.average_round_trip_time),
        max_round_trip_ms: ms(&s.max_round_trip_time),
        avg_packet_loss_rate: s.average_packet_loss_rate,
        max_packet_loss_rate: s.max_packet_loss_rate,
        avg_concealed_ratio: s.average_ratio_of_concealed_samples,
        max_concealed_ratio: s.max_ratio_of_concealed_samples,
        avg_audio_degradation: s.average_audio_degradation,
        avg_bandwidth_estimate_bps: s.average_bandwidth_estimate,
        packet_utilization: s.packet_utilization,
        fec_used: s.is_audio_forward_error_correction_used,
        media_bypassed: s.was_media_bypassed,
        avg_video_frame_rate: s.average_video_frame_rate,
        avg_received_frame_rate: s.average_received_frame_rate,
        avg_video_frame_loss_pct: s.average_video_frame_loss_percentage,
        avg_video_packet_loss_rate: s.average_video_packet_loss_rate,
        post_fec_packet_loss_rate: s.post_forward_error_correction_packet_loss_rate,
        low_frame_rate_ratio: s.low_frame_rate_ratio,
        low_video_processing_ratio: s.low_video_processing_capability_ratio,
        avg_freeze_ms: ms(&s.average_freeze_duration),
        rms_freeze_ms: ms(&s.rms_freeze_duration),
    }
}

/// The identity of an endpoint: the strongest identifier Graph gives, and the clear fields.
struct Who {
    key_material: Option<String>,
    user_id: Option<String>,
    upn: Option<String>,
    display_name: Option<String>,
}

/// The Entra object id of each user principal name that some endpoint of the record names
/// together with its id: an endpoint that carries only the UPN is keyed on that id too.
fn ids_by_upn(record: &CallRecord) -> std::collections::HashMap<String, String> {
    let mut ids = std::collections::HashMap::new();
    for endpoint in record
        .sessions
        .iter()
        .flat_map(|s| [s.caller.as_ref(), s.callee.as_ref()])
        .flatten()
    {
        let who = who(endpoint, &std::collections::HashMap::new());
        if let (Some(upn), Some(id)) = (who.upn, who.user_id) {
            ids.entry(upn.to_lowercase()).or_insert(id);
        }
    }
    ids
}

/// The pseudonym's key material is the immutable Entra object id (`id:`), the same whether Graph
/// also filled the UPN or not and across a UPN rename; the UPN (`upn:`) only where no id is known
/// for it anywhere in the record.
fn who(endpoint: &Endpoint, ids_by_upn: &std::collections::HashMap<String, String>) -> Who {
    let associated = endpoint.associated_identity.as_ref();
    let legacy = endpoint
        .identity
        .as_ref()
        .and_then(|i| i.user.as_ref().or(i.guest.as_ref()).or(i.phone.as_ref()));
    let pick = |f: fn(&model::Identity) -> Option<&String>| {
        associated
            .and_then(f)
            .or_else(|| legacy.and_then(f))
            .filter(|s| !s.is_empty())
            .cloned()
    };
    let upn = pick(|i| i.user_principal_name.as_ref());
    let user_id = pick(|i| i.id.as_ref());
    let id = user_id.clone().or_else(|| {
        upn.as_ref()
            .and_then(|u| ids_by_upn.get(&u.to_lowercase()).cloned())
    });
    Who {
        key_material: id
            .map(|i| format!("id:{i}"))
            .or_else(|| upn.as_ref().map(|u| format!("upn:{u}"))),
        user_id,
        upn,
        display_name: pick(|i| i.display_name.as_ref()),
    }
}

/// One participant endpoint of a session.
struct Side<'r> {
    session: &'r Session,
    caller: bool,
    endpoint: &'r Endpoint,
    other: Option<&'r Endpoint>,
}

fn sides(record: &CallRecord) -> Vec<Side<'_>> {
    let mut sessions: Vec<&Session> = record.sessions.iter().collect();
    sessions.sort_by(|a, b| {
        time(&a.start_date_time)
            .cmp(&time(&b.start_date_time))
            .then(a.id.cmp(&b.id))
    });
    let mut out = Vec::new();
    for session in sessions {
        for caller in [true, false] {
            let (endpoint, other) = if caller {
                (session.caller.as_ref(), session.callee.as_ref())
            } else {
                (session.callee.as_ref(), session.caller.as_ref())
            };
            if let Some(endpoint) = endpoint.filter(|e| !e.is_service()) {
                out.push(Side {
                    session,
                    caller,
                    endpoint,
                    other,
                });
            }
        }
    }
    out
}

/// The call record's legs, one per participant endpoint.
pub fn legs(
    record: &CallRecord,
    tenant: Tenant<'_>,
    lookups: Lookups<'_>,
    fetched_at: i64,
) -> Result<Vec<CallLeg>, NormalizeError> {
    if record.id.is_empty() {
        return Err(NormalizeError::NoId);
    }
    let call_start =
        time(&record.start_date_time).ok_or(NormalizeError::NoTime("startDateTime"))?;
    let call_end = time(&record.end_date_time).ok_or(NormalizeError::NoTime("endDateTime"))?;
    let mut legs = Vec::new();
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let ids_by_upn = ids_by_upn(record);
    for side in sides(record) {
        let who = who(side.endpoint, &ids_by_upn);
        let side_name = if side.caller { "caller" } else { "callee" };
        let material = who
            .key_material
            .clone()
            .unwrap_or_else(|| format!("anonymous:{}/{}/{side_name}", record.id, side.session.id));
        let participant_id = tenant.key.pseudonym("p", &material);
        // Sessions can repeat within a record: the occurrence keeps leg ids apart and stable.
        let base = format!(
            "{}/{participant_id}/{}/{side_name}",
            record.id, side.session.id
        );
        let occurrence = seen.entry(base.clone()).or_default();
        let leg_id = if *occurrence == 0 {
            base.clone()
        } else {
            format!("{base}#{occurrence}")
        };
        *seen.get_mut(&base).expect("just inserted") += 1;

        let media: Vec<&model::Media> = side
            .session
            .segments
            .iter()
            .flat_map(|s| s.media.iter())
            .collect();
        let mine = |m: &&&model::Media| {
            if side.caller {
                m.caller_network.is_some()
            } else {
                m.callee_network.is_some()
            }
        };
        let main = media
            .iter()
            .find(|m| m.label.as_deref().is_some_and(|l| l.contains("audio")) && mine(m))
            .or_else(|| media.iter().find(mine))
            .copied();
        let (graph_network, graph_device) = match main {
            Some(m) if side.caller => (m.caller_network.as_ref(), m.caller_device.as_ref()),
            Some(m) => (m.callee_network.as_ref(), m.callee_device.as_ref()),
            None => (None, None),
        };
        let network = graph_network.map(network).unwrap_or_default();
        let device = graph_device.map(device).unwrap_or_default();
        let streams: Vec<MediaStream> = media
            .iter()
            .flat_map(|m| m.streams.iter().map(|s| stream(&m.label, s, side.caller)))
            .collect();

        let site_id = network
            .bssid
            .as_deref()
            .and_then(|b| lookups.inventory.radio_of_bssid(tenant.org_id, b))
            .map(|r| r.site_id.clone())
            .or_else(|| {
                network
                    .ip_address
                    .as_deref()
                    .and_then(|ip| lookups.inventory.site_of_ip(tenant.org_id, ip))
                    .map(str::to_string)
            });

        let user_agent = side.endpoint.user_agent.as_ref();
        let endpoint = EndpointInfo {
            platform: user_agent.and_then(|u| u.platform.clone()),
            product_family: user_agent.and_then(|u| u.product_family.clone()),
            application_version: user_agent.and_then(|u| u.application_version.clone()),
            cpu_name: side.endpoint.cpu_name.clone(),
            cpu_cores: int32(side.endpoint.cpu_cores_count),
            cpu_mhz: int32(side.endpoint.cpu_processor_speed_in_mhz),
            device_pseudonym: side
                .endpoint
                .name
                .as_deref()
                .filter(|n| !n.is_empty())
                .map(|n| tenant.key.pseudonym("d", n)),
        };
        let sealed_identity = if tenant.keep_identity {
            let clear = serde_json::json!({
                "user_id": who.user_id,
                "user_principal_name": who.upn,
                "display_name": who.display_name,
                "device_name": side.endpoint.name,
                "capture_device": graph_device.and_then(|d| d.capture_device_name.as_ref()),
                "render_device": graph_device.and_then(|d| d.render_device_name.as_ref()),
            });
            Some(tenant.key.seal(clear.to_string().as_bytes())?)
        } else {
            None
        };
        let feedback = side.endpoint.feedback.as_ref().map(|f| {
            let mut tokens: Vec<String> = f
                .tokens
                .iter()
                .flatten()
                .filter(|(_, v)| v.as_bool() == Some(true))
                .map(|(k, _)| k.clone())
                .collect();
            tokens.sort();
            Feedback {
                rating: rating(&f.rating),
                tokens,
            }
        });
        let failure = side
            .session
            .failure_info
            .as_ref()
            .or_else(|| {
                side.session
                    .segments
                    .iter()
                    .find_map(|s| s.failure_info.as_ref())
            })
            .map(|f| CallFailure {
                stage: f.stage.clone().unwrap_or_else(|| "unknown".into()),
                reason: f.reason.clone(),
            });
        let counterpart = match side.other {
            Some(other) if other.is_service() => CounterpartKind::MediaServer,
            Some(_) => CounterpartKind::Participant,
            None => CounterpartKind::Unknown,
        };
        legs.push(CallLeg {
            leg_id,
            org_id: tenant.org_id.to_string(),
            site_id,
            tenant_id: tenant.tenant_id.to_string(),
            call_id: record.id.clone(),
            record_version: record.version.unwrap_or(0),
            call_type: call_type(&record.call_type),
            call_start,
            call_end,
            leg_start: time(&side.session.start_date_time).unwrap_or(call_start),
            leg_end: time(&side.session.end_date_time).unwrap_or(call_end),
            participant_id,
            sealed_identity,
            counterpart,
            endpoint,
            network,
            device,
            streams,
            feedback,
            failure,
            is_test: side.session.is_test.unwrap_or(false),
            other_legs: Vec::new(),
            fetched_at,
        });
    }
    let summaries: Vec<OtherLegSummary> = legs
        .iter()
        .map(|l| summary(l, lookups.classification))
        .collect();
    for (i, leg) in legs.iter_mut().enumerate() {
        leg.other_legs = summaries
            .iter()
            .enumerate()
            .filter(|(j, s)| *j != i && s.participant_id != leg.participant_id)
            .map(|(_, s)| s.clone())
            .take(MAX_OTHER_LEGS)
            .collect();
    }
    Ok(legs)
}

/// The other legs a leg carries, at most (a large meeting would otherwise repeat itself).
pub const MAX_OTHER_LEGS: usize = 50;

fn worst(
    leg: &CallLeg,
    direction: Option<StreamDirection>,
    metric: fn(&MediaStream) -> Option<f64>,
) -> Option<f64> {
    leg.streams
        .iter()
        .filter(|s| direction.is_none_or(|d| s.direction == d))
        .filter_map(metric)
        .reduce(f64::max)
}

fn summary(leg: &CallLeg, classification: &ClassificationConfig) -> OtherLegSummary {
    let poor = classify_streams(&leg.streams, classification)
        .iter()
        .filter(|v| v.quality == StreamQuality::Poor)
        .count();
    OtherLegSummary {
        leg_id: leg.leg_id.clone(),
        participant_id: leg.participant_id.clone(),
        site_id: leg.site_id.clone(),
        connection_type: leg.network.connection_type,
        transport: leg.network.transport,
        relayed: leg.network.relay_ip.is_some(),
        worst_sent_loss_rate: worst(leg, Some(StreamDirection::Sent), |s| s.avg_packet_loss_rate),
        worst_sent_jitter_ms: worst(leg, Some(StreamDirection::Sent), |s| s.avg_jitter_ms),
        worst_received_loss_rate: worst(leg, Some(StreamDirection::Received), |s| {
            s.avg_packet_loss_rate
        }),
        worst_received_jitter_ms: worst(leg, Some(StreamDirection::Received), |s| s.avg_jitter_ms),
        worst_round_trip_ms: worst(leg, None, |s| s.avg_round_trip_ms),
        sent_quality_event_ratio: leg.network.sent_quality_event_ratio,
        received_quality_event_ratio: leg.network.received_quality_event_ratio,
        poor_streams: poor as i32,
    }
}
