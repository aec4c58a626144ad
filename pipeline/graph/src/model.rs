//! The callRecords JSON of Microsoft Graph v1.0 (namespace `microsoft.graph.callRecords`), read
//! defensively: every property may be absent or `null`, numbers may come as strings (`"NaN"`),
//! unknown properties are ignored (the identity types are open), and polymorphic endpoints and
//! user agents are told apart by `@odata.type`.

use callsight_model::lenient;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

fn nullable_vec<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// A call record (`callRecord`), with its sessions when expanded.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CallRecord {
    /// Call id.
    pub id: String,
    /// Version; a higher one carries more data.
    #[serde(deserialize_with = "lenient::opt_int")]
    pub version: Option<i64>,
    /// `peerToPeer`, `groupCall` or `unknown`.
    #[serde(rename = "type")]
    pub call_type: Option<String>,
    /// First participant joined.
    pub start_date_time: Option<String>,
    /// Last participant left.
    pub end_date_time: Option<String>,
    /// Last change of the record.
    pub last_modified_date_time: Option<String>,
    /// Meeting URL.
    pub join_web_url: Option<String>,
    /// Sessions (`$expand=sessions($expand=segments)`).
    #[serde(deserialize_with = "nullable_vec")]
    pub sessions: Vec<Session>,
    /// The next page of sessions, an opaque absolute URL.
    #[serde(rename = "sessions@odata.nextLink")]
    pub sessions_next_link: Option<String>,
}

/// A page of sessions, from a `sessions@odata.nextLink`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SessionPage {
    /// The sessions.
    #[serde(deserialize_with = "nullable_vec")]
    pub value: Vec<Session>,
    /// The next page.
    #[serde(rename = "@odata.nextLink")]
    pub next_link: Option<String>,
}

/// A session: one participant endpoint with another, or with a service endpoint.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Session {
    /// Id (not unique within a record).
    pub id: String,
    /// Calling side.
    pub caller: Option<Endpoint>,
    /// Called side.
    pub callee: Option<Endpoint>,
    /// Start.
    pub start_date_time: Option<String>,
    /// End.
    pub end_date_time: Option<String>,
    /// Why it failed, when it did.
    pub failure_info: Option<FailureInfo>,
    /// A test call.
    pub is_test: Option<bool>,
    /// Segments.
    #[serde(deserialize_with = "nullable_vec")]
    pub segments: Vec<Segment>,
}

/// A segment of a session.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Segment {
    /// Id.
    pub id: String,
    /// Start.
    pub start_date_time: Option<String>,
    /// End.
    pub end_date_time: Option<String>,
    /// Why it failed, when it did.
    pub failure_info: Option<FailureInfo>,
    /// Media lines.
    #[serde(deserialize_with = "nullable_vec")]
    pub media: Vec<Media>,
}

/// One media line of a segment.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Media {
    /// Label, e.g. `main-audio`.
    pub label: Option<String>,
    /// Caller's network.
    pub caller_network: Option<NetworkInfo>,
    /// Callee's network.
    pub callee_network: Option<NetworkInfo>,
    /// Caller's device.
    pub caller_device: Option<DeviceInfo>,
    /// Callee's device.
    pub callee_device: Option<DeviceInfo>,
    /// Streams, per direction.
    #[serde(deserialize_with = "nullable_vec")]
    pub streams: Vec<MediaStream>,
}

/// `participantEndpoint` or `serviceEndpoint`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Endpoint {
    /// `#microsoft.graph.callRecords.participantEndpoint` or `...serviceEndpoint`.
    #[serde(rename = "@odata.type")]
    pub odata_type: Option<String>,
    /// Device or machine name (personal data).
    pub name: Option<String>,
    /// CPU model.
    pub cpu_name: Option<String>,
    /// CPU cores.
    #[serde(deserialize_with = "lenient::opt_int")]
    pub cpu_cores_count: Option<i64>,
    /// CPU speed, MHz.
    #[serde(deserialize_with = "lenient::opt_int")]
    pub cpu_processor_speed_in_mhz: Option<i64>,
    /// User agent.
    pub user_agent: Option<UserAgent>,
    /// Deprecated identity set.
    pub identity: Option<IdentitySet>,
    /// The participant's identity.
    pub associated_identity: Option<Identity>,
    /// The participant's rating.
    pub feedback: Option<UserFeedback>,
}

impl Endpoint {
    /// A service endpoint (a media server): by `@odata.type`, or by a user agent with a `role`.
    pub fn is_service(&self) -> bool {
        match self.odata_type.as_deref() {
            Some(t) => t.to_ascii_lowercase().ends_with("serviceendpoint"),
            None => self
                .user_agent
                .as_ref()
                .is_some_and(|ua| ua.role.is_some() && ua.platform.is_none()),
        }
    }
}

/// `clientUserAgent` or `serviceUserAgent`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserAgent {
    /// `@odata.type`.
    #[serde(rename = "@odata.type")]
    pub odata_type: Option<String>,
    /// User-Agent header.
    pub header_value: Option<String>,
    /// Application version.
    pub application_version: Option<String>,
    /// Client platform.
    pub platform: Option<String>,
    /// Client product.
    pub product_family: Option<String>,
    /// Service role.
    pub role: Option<String>,
}

/// The deprecated `identitySet`; open, only `user` and `phone` are read.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct IdentitySet {
    /// A user.
    pub user: Option<Identity>,
    /// A phone number (PSTN).
    pub phone: Option<Identity>,
    /// A guest.
    pub guest: Option<Identity>,
}

/// An identity (`identity`, `userIdentity`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Identity {
    /// Id.
    pub id: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// Tenant.
    pub tenant_id: Option<String>,
    /// User principal name.
    pub user_principal_name: Option<String>,
}

/// A participant's rating.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct UserFeedback {
    /// `notRated`, `bad`, `poor`, `fair`, `good`, `excellent`.
    pub rating: Option<String>,
    /// Free text (personal; not carried).
    pub text: Option<String>,
    /// Tokens, name to ticked.
    pub tokens: Option<Map<String, Value>>,
}

/// Why a session failed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FailureInfo {
    /// Classification.
    pub reason: Option<String>,
    /// `unknown`, `callSetup`, `midcall`.
    pub stage: Option<String>,
}

/// `networkInfo`; every field is the Graph property of the same name in snake case.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[allow(missing_docs)]
pub struct NetworkInfo {
    pub ip_address: Option<String>,
    pub subnet: Option<String>,
    pub mac_address: Option<String>,
    #[serde(rename = "reflexiveIPAddress")]
    pub reflexive_ip_address: Option<String>,
    #[serde(rename = "relayIPAddress")]
    pub relay_ip_address: Option<String>,
    #[serde(deserialize_with = "lenient::opt_int")]
    pub relay_port: Option<i64>,
    #[serde(deserialize_with = "lenient::opt_int")]
    pub port: Option<i64>,
    pub network_transport_protocol: Option<String>,
    pub connection_type: Option<String>,
    #[serde(deserialize_with = "lenient::opt_int")]
    pub link_speed: Option<i64>,
    pub dns_suffix: Option<String>,
    pub basic_service_set_identifier: Option<String>,
    pub wifi_band: Option<String>,
    #[serde(deserialize_with = "lenient::opt_int")]
    pub wifi_channel: Option<i64>,
    pub wifi_radio_type: Option<String>,
    #[serde(deserialize_with = "lenient::opt_int")]
    pub wifi_signal_strength: Option<i64>,
    #[serde(deserialize_with = "lenient::opt_int")]
    pub wifi_battery_charge: Option<i64>,
    pub wifi_vendor_driver: Option<String>,
    pub wifi_vendor_driver_version: Option<String>,
    #[serde(deserialize_with = "lenient::opt_number")]
    pub delay_event_ratio: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_number")]
    pub bandwidth_low_event_ratio: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_number")]
    pub received_quality_event_ratio: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_number")]
    pub sent_quality_event_ratio: Option<f64>,
    #[serde(deserialize_with = "nullable_vec")]
    pub trace_route_hops: Vec<TraceRouteHop>,
}

/// One trace route hop; fields as in Graph, in snake case.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[allow(missing_docs)]
pub struct TraceRouteHop {
    #[serde(deserialize_with = "lenient::opt_int")]
    pub hop_count: Option<i64>,
    pub ip_address: Option<String>,
    pub round_trip_time: Option<String>,
}

/// `deviceInfo`; every field is the Graph property of the same name in snake case.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[allow(missing_docs)]
pub struct DeviceInfo {
    pub capture_device_name: Option<String>,
    pub render_device_name: Option<String>,
    #[serde(deserialize_with = "lenient::opt_number")]
    pub capture_not_functioning_event_ratio: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_number")]
    pub render_not_functioning_event_ratio: Option<f64>,
    /// Spelled exactly so by Graph.
    #[serde(deserialize_with = "lenient::opt_number")]
    pub cpu_insufficent_event_ratio: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_number")]
    pub device_clipping_event_ratio: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_number")]
    pub device_glitch_event_ratio: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_number")]
    pub low_speech_level_event_ratio: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_number")]
    pub low_speech_to_noise_event_ratio: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_number")]
    pub render_mute_event_ratio: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_number")]
    pub render_zero_volume_event_ratio: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_number")]
    pub mic_glitch_rate: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_number")]
    pub speaker_glitch_rate: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_int")]
    pub howling_event_count: Option<i64>,
    #[serde(deserialize_with = "lenient::opt_int")]
    pub received_signal_level: Option<i64>,
    #[serde(deserialize_with = "lenient::opt_int")]
    pub received_noise_level: Option<i64>,
    #[serde(deserialize_with = "lenient::opt_int")]
    pub sent_signal_level: Option<i64>,
    #[serde(deserialize_with = "lenient::opt_int")]
    pub sent_noise_level: Option<i64>,
}

/// `mediaStream`; every field is the Graph property of the same name in snake case (durations
/// are ISO 8601 strings here, milliseconds once normalised).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[allow(missing_docs)]
pub struct MediaStream {
    pub stream_id: Option<String>,
    pub stream_direction: Option<String>,
    pub start_date_time: Option<String>,
    pub end_date_time: Option<String>,
    pub audio_codec: Option<String>,
    pub video_codec: Option<String>,
    pub average_jitter: Option<String>,
    pub max_jitter: Option<String>,
    pub average_audio_network_jitter: Option<String>,
    pub max_audio_network_jitter: Option<String>,
    pub average_round_trip_time: Option<String>,
    pub max_round_trip_time: Option<String>,
    #[serde(deserialize_with = "lenient::opt_number")]
    pub average_packet_loss_rate: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_number")]
    pub max_packet_loss_rate: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_number")]
    pub average_ratio_of_concealed_samples: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_number")]
    pub max_ratio_of_concealed_samples: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_number")]
    pub average_audio_degradation: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_int")]
    pub average_bandwidth_estimate: Option<i64>,
    #[serde(deserialize_with = "lenient::opt_int")]
    pub packet_utilization: Option<i64>,
    pub is_audio_forward_error_correction_used: Option<bool>,
    pub was_media_bypassed: Option<bool>,
    #[serde(deserialize_with = "lenient::opt_number")]
    pub average_video_frame_rate: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_number")]
    pub average_received_frame_rate: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_number")]
    pub average_video_frame_loss_percentage: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_number")]
    pub average_video_packet_loss_rate: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_number")]
    pub post_forward_error_correction_packet_loss_rate: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_number")]
    pub low_frame_rate_ratio: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_number")]
    pub low_video_processing_capability_ratio: Option<f64>,
    pub average_freeze_duration: Option<String>,
    pub rms_freeze_duration: Option<String>,
}
