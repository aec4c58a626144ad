//! `callsight.CallLeg` and its parts: one participant endpoint of one Teams call.

use super::common::{
    CallType, ConnectionType, CounterpartKind, FeedbackRating, MediaKind, StreamDirection,
    TransportProtocol, WifiBand,
};
use serde::{Deserialize, Serialize};

/// A participant's clear-text identity sealed with the tenant's key (`callsight.SealedIdentity`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedIdentity {
    /// Identifier of the tenant key that sealed it.
    pub key_id: String,
    /// 96-bit AES-GCM nonce.
    #[serde(with = "apache_avro::serde::bytes")]
    pub nonce: Vec<u8>,
    /// Sealed JSON of the identity, with the GCM tag appended.
    #[serde(with = "apache_avro::serde::bytes")]
    pub ciphertext: Vec<u8>,
}

/// The participant's client endpoint, without personal data (`callsight.EndpointInfo`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointInfo {
    /// Client platform: windows, macOS, iOS, android, web, ...
    pub platform: Option<String>,
    /// Client product: teams, skypeForBusiness, ...
    pub product_family: Option<String>,
    /// Client application version.
    pub application_version: Option<String>,
    /// CPU model.
    pub cpu_name: Option<String>,
    /// Number of CPU cores.
    pub cpu_cores: Option<i32>,
    /// CPU speed in MHz.
    pub cpu_mhz: Option<i32>,
    /// Keyed pseudonym of the machine name.
    pub device_pseudonym: Option<String>,
}

/// One hop of a Teams trace route (`callsight.TraceRouteHop`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceRouteHop {
    /// Hop number.
    pub hop_count: i32,
    /// Hop address.
    pub ip_address: Option<String>,
    /// Round trip to the hop, ms.
    pub round_trip_ms: Option<f64>,
}

/// How the endpoint reached the network during the leg (`callsight.NetworkInfo`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkInfo {
    /// wired, wifi, mobile, tunnel (VPN) or unknown.
    #[serde(default)]
    pub connection_type: ConnectionType,
    /// udp, tcp or unknown.
    #[serde(default)]
    pub transport: TransportProtocol,
    /// Endpoint's local IP address.
    pub ip_address: Option<String>,
    /// Subnet used for media, as Graph reports it.
    pub subnet: Option<String>,
    /// Endpoint MAC, 12 lowercase hex digits; `None` when missing or the privacy placeholder.
    pub mac_address: Option<String>,
    /// IP address the media relay saw.
    pub reflexive_ip: Option<String>,
    /// Media relay (TURN) address.
    pub relay_ip: Option<String>,
    /// Port allocated on the relay.
    pub relay_port: Option<i32>,
    /// Local media port.
    pub port: Option<i32>,
    /// Adapter link speed, bits per second.
    pub link_speed_bps: Option<i64>,
    /// DNS suffix of the adapter.
    pub dns_suffix: Option<String>,
    /// Wi-Fi BSSID, 12 lowercase hex digits.
    pub bssid: Option<String>,
    /// Wi-Fi band.
    #[serde(default)]
    pub wifi_band: WifiBand,
    /// Wi-Fi channel.
    pub wifi_channel: Option<i32>,
    /// Wi-Fi PHY, e.g. wifi80211ac.
    pub wifi_radio_type: Option<String>,
    /// Wi-Fi signal strength as the client reports it, percent 0..100.
    pub wifi_signal_pct: Option<i32>,
    /// Remaining battery, percent 0..100.
    pub battery_pct: Option<i32>,
    /// Vendor Wi-Fi driver and version.
    pub wifi_driver: Option<String>,
    /// Share 0..1 of the call with harmful network delay.
    pub delay_event_ratio: Option<f64>,
    /// Share 0..1 of the call with too little bandwidth.
    pub bandwidth_low_event_ratio: Option<f64>,
    /// Share 0..1 of the call where the network degraded received audio.
    pub received_quality_event_ratio: Option<f64>,
    /// Share 0..1 of the call where the network degraded sent audio.
    pub sent_quality_event_ratio: Option<f64>,
    /// Trace route hops (usually empty).
    #[serde(default)]
    pub trace_route: Vec<TraceRouteHop>,
}

/// Audio device and CPU health of the endpoint (`callsight.DeviceInfo`); ratios are shares 0..1.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceInfo {
    /// Microphone category (`bluetooth`, `headset`, `speakerphone`, `built_in`, `virtual`,
    /// `system_default`, `other`); never the device's name, which is sealed with the identity.
    pub capture_device: Option<String>,
    /// Speaker category, as `capture_device`.
    pub render_device: Option<String>,
    /// Capture device not working.
    pub capture_not_functioning_ratio: Option<f64>,
    /// Render device not working.
    pub render_not_functioning_ratio: Option<f64>,
    /// CPU too weak for the audio.
    pub cpu_insufficient_ratio: Option<f64>,
    /// Clipping in captured audio.
    pub device_clipping_ratio: Option<f64>,
    /// Glitches or gaps in audio.
    pub device_glitch_ratio: Option<f64>,
    /// Speech level too low.
    pub low_speech_level_ratio: Option<f64>,
    /// Speech-to-noise ratio too low.
    pub low_speech_to_noise_ratio: Option<f64>,
    /// Render muted.
    pub render_mute_ratio: Option<f64>,
    /// Render volume at zero.
    pub render_zero_volume_ratio: Option<f64>,
    /// Microphone glitches per 5 minutes.
    pub mic_glitch_rate: Option<f64>,
    /// Speaker glitches per 5 minutes.
    pub speaker_glitch_rate: Option<f64>,
    /// Howling detections.
    pub howling_event_count: Option<i32>,
    /// Average energy of received speech.
    pub received_signal_level: Option<i32>,
    /// Average energy of received noise.
    pub received_noise_level: Option<i32>,
    /// Average energy of sent speech.
    pub sent_signal_level: Option<i32>,
    /// Average energy of sent noise.
    pub sent_noise_level: Option<i32>,
}

/// One media stream of the leg (`callsight.MediaStream`). `None` means not reported.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaStream {
    /// Graph stream id.
    pub stream_id: Option<String>,
    /// Media line label, e.g. main-audio.
    pub media_label: String,
    /// What the stream carries.
    #[serde(default)]
    pub media_kind: MediaKind,
    /// Sent or received by this leg's endpoint.
    pub direction: StreamDirection,
    /// Stream start, epoch ms.
    pub start: Option<i64>,
    /// Stream end, epoch ms.
    pub end: Option<i64>,
    /// Audio codec.
    pub audio_codec: Option<String>,
    /// Video codec.
    pub video_codec: Option<String>,
    /// Average jitter, ms.
    pub avg_jitter_ms: Option<f64>,
    /// Maximum jitter, ms.
    pub max_jitter_ms: Option<f64>,
    /// Average audio network jitter, ms.
    pub avg_audio_network_jitter_ms: Option<f64>,
    /// Maximum audio network jitter over 20-second windows, ms.
    pub max_audio_network_jitter_ms: Option<f64>,
    /// Average round trip, ms.
    pub avg_round_trip_ms: Option<f64>,
    /// Maximum round trip, ms.
    pub max_round_trip_ms: Option<f64>,
    /// Average packet loss, 0..1.
    pub avg_packet_loss_rate: Option<f64>,
    /// Maximum packet loss, 0..1.
    pub max_packet_loss_rate: Option<f64>,
    /// Average share of audio frames concealed, 0..1.
    pub avg_concealed_ratio: Option<f64>,
    /// Maximum share of audio frames concealed, 0..1.
    pub max_concealed_ratio: Option<f64>,
    /// Average network MOS degradation.
    pub avg_audio_degradation: Option<f64>,
    /// Average estimated bandwidth, bits per second.
    pub avg_bandwidth_estimate_bps: Option<i64>,
    /// Packets in the stream.
    pub packet_utilization: Option<i64>,
    /// Audio FEC used.
    pub fec_used: Option<bool>,
    /// Media bypass used.
    pub media_bypassed: Option<bool>,
    /// Average fps of this video stream.
    pub avg_video_frame_rate: Option<f64>,
    /// Average received fps across video streams.
    pub avg_received_frame_rate: Option<f64>,
    /// Average video frame loss, percent 0..100.
    pub avg_video_frame_loss_pct: Option<f64>,
    /// Video packet loss, 0..1.
    pub avg_video_packet_loss_rate: Option<f64>,
    /// Video loss after FEC, 0..1.
    pub post_fec_packet_loss_rate: Option<f64>,
    /// Share of the call below 7.5 fps.
    pub low_frame_rate_ratio: Option<f64>,
    /// Share of the call below 70% of expected video processing capability.
    pub low_video_processing_ratio: Option<f64>,
    /// Average video freeze, ms.
    pub avg_freeze_ms: Option<f64>,
    /// RMS of video freeze duration, ms.
    pub rms_freeze_ms: Option<f64>,
}

/// The participant's rating of the call (`callsight.Feedback`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Feedback {
    /// Rating.
    #[serde(default)]
    pub rating: FeedbackRating,
    /// Feedback tokens ticked.
    #[serde(default)]
    pub tokens: Vec<String>,
}

/// Why a session failed (`callsight.CallFailure`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallFailure {
    /// unknown, callSetup or midcall.
    pub stage: String,
    /// Failure classification.
    pub reason: Option<String>,
}

/// What another leg of the same call looked like (`callsight.OtherLegSummary`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtherLegSummary {
    /// That leg's id.
    pub leg_id: String,
    /// That participant's pseudonym.
    pub participant_id: String,
    /// That leg's site.
    pub site_id: Option<String>,
    /// How that endpoint was connected.
    #[serde(default)]
    pub connection_type: ConnectionType,
    /// That endpoint's transport.
    #[serde(default)]
    pub transport: TransportProtocol,
    /// Media went through a relay.
    #[serde(default)]
    pub relayed: bool,
    /// Worst average loss among the streams it sent.
    pub worst_sent_loss_rate: Option<f64>,
    /// Worst average jitter among the streams it sent, ms.
    pub worst_sent_jitter_ms: Option<f64>,
    /// Worst average loss among the streams it received.
    pub worst_received_loss_rate: Option<f64>,
    /// Worst average jitter among the streams it received, ms.
    pub worst_received_jitter_ms: Option<f64>,
    /// Worst average round trip, ms.
    pub worst_round_trip_ms: Option<f64>,
    /// Share of the call its network degraded its sent audio.
    pub sent_quality_event_ratio: Option<f64>,
    /// Share of the call its network degraded its received audio.
    pub received_quality_event_ratio: Option<f64>,
    /// How many of its streams are poor by Microsoft's rules.
    #[serde(default)]
    pub poor_streams: i32,
}

/// One participant endpoint of one Teams call (topic `calls.legs`, key `org|site`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallLeg {
    /// Deterministic leg id.
    pub leg_id: String,
    /// Organization.
    pub org_id: String,
    /// Site resolved from the inventory; `None` when off every known site.
    pub site_id: Option<String>,
    /// Entra tenant GUID.
    pub tenant_id: String,
    /// Graph callRecord id.
    pub call_id: String,
    /// Graph callRecord version.
    pub record_version: i64,
    /// peer_to_peer or group_call.
    #[serde(default)]
    pub call_type: CallType,
    /// First participant joined, epoch ms.
    pub call_start: i64,
    /// Last participant left, epoch ms.
    pub call_end: i64,
    /// This endpoint's media started, epoch ms.
    pub leg_start: i64,
    /// This endpoint's media ended, epoch ms.
    pub leg_end: i64,
    /// Keyed pseudonym of the participant.
    pub participant_id: String,
    /// The clear identity sealed with the tenant key, when the tenant opted in.
    pub sealed_identity: Option<SealedIdentity>,
    /// What the other end of the session is.
    #[serde(default)]
    pub counterpart: CounterpartKind,
    /// Client software and hardware.
    pub endpoint: EndpointInfo,
    /// How the endpoint was connected.
    pub network: NetworkInfo,
    /// Audio device and CPU health.
    pub device: DeviceInfo,
    /// The leg's media streams.
    pub streams: Vec<MediaStream>,
    /// Participant's rating.
    pub feedback: Option<Feedback>,
    /// Failure information.
    pub failure: Option<CallFailure>,
    /// A Teams test call.
    #[serde(default)]
    pub is_test: bool,
    /// The other legs of the same call.
    #[serde(default)]
    pub other_legs: Vec<OtherLegSummary>,
    /// When the fetcher built the leg, epoch ms.
    pub fetched_at: i64,
}

pub use crate::keys::EXTERNAL_SITE;

impl CallLeg {
    /// The leg's key on `calls.legs`: `org|site`, or `org|external` off every known site
    /// (co-partitioned with `net.telemetry`, keyed `org|site`; [`crate::keys::leg_key`]).
    pub fn key(&self) -> String {
        crate::keys::leg_key(&self.org_id, self.site_id.as_deref())
    }
}
