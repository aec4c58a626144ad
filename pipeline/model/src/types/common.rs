//! Enumerations shared by several records.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What a media stream carries, from the Graph media label (`callsight.MediaKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    /// Not recognised.
    #[default]
    Unknown,
    /// Audio (`main-audio`).
    Audio,
    /// Camera video (`main-video`).
    Video,
    /// Video-based screen sharing (`applicationsharing-video`).
    VideoBasedScreenSharing,
    /// Data channel.
    Data,
}

/// Direction of a stream relative to the leg that reports it (`callsight.StreamDirection`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamDirection {
    /// Sent by this participant's endpoint.
    #[default]
    Sent,
    /// Received by this participant's endpoint.
    Received,
}

/// How an endpoint reached the network (`callsight.ConnectionType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionType {
    /// Not reported.
    #[default]
    Unknown,
    /// Ethernet.
    Wired,
    /// Wi-Fi.
    Wifi,
    /// Mobile data.
    Mobile,
    /// A VPN tunnel.
    Tunnel,
}

/// Media transport protocol (`callsight.TransportProtocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransportProtocol {
    /// Not reported.
    #[default]
    Unknown,
    /// UDP, the normal case.
    Udp,
    /// TCP: the media fell back from UDP.
    Tcp,
}

/// Wi-Fi band (`callsight.WifiBand`).
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum WifiBand {
    /// Not reported.
    #[default]
    #[serde(rename = "unknown")]
    Unknown,
    /// 2.4 GHz.
    #[serde(rename = "band_2_4ghz")]
    Band2_4Ghz,
    /// 5 GHz.
    #[serde(rename = "band_5ghz")]
    Band5Ghz,
    /// 6 GHz.
    #[serde(rename = "band_6ghz")]
    Band6Ghz,
    /// 60 GHz.
    #[serde(rename = "band_60ghz")]
    Band60Ghz,
}

/// The participant's rating of the call (`callsight.FeedbackRating`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackRating {
    /// Asked but not rated.
    NotRated,
    /// 1 of 5.
    Bad,
    /// 2 of 5.
    Poor,
    /// 3 of 5.
    Fair,
    /// 4 of 5.
    Good,
    /// 5 of 5.
    Excellent,
    /// No rating known.
    #[default]
    Unknown,
}

impl FeedbackRating {
    /// A rating of 1 or 2 (bad, poor), which Microsoft's Call Quality Dashboard counts as poor.
    pub fn is_poor(self) -> bool {
        matches!(self, FeedbackRating::Bad | FeedbackRating::Poor)
    }
}

/// Kind of Teams call (`callsight.CallType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallType {
    /// Not reported.
    #[default]
    Unknown,
    /// A meeting or group call through a media server.
    GroupCall,
    /// A direct call between two participants.
    PeerToPeer,
}

/// What sits at the other end of a leg's session (`callsight.CounterpartKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CounterpartKind {
    /// Not known.
    #[default]
    Unknown,
    /// Another participant (peer-to-peer).
    Participant,
    /// A Microsoft media server (meetings).
    MediaServer,
}

/// Domain of an evidence item or attribution share (`callsight.EvidenceGroup`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceGroup {
    /// Not known.
    #[default]
    Unknown,
    /// The participant's own device.
    Client,
    /// Wi-Fi.
    Wireless,
    /// Switches and cables.
    Wired,
    /// The site's WAN.
    Wan,
    /// The other participant or an external network.
    Remote,
    /// Microsoft's media service.
    Service,
}

/// Kind of network entity (`callsight.EntityKind`).
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// Not known.
    #[default]
    Unknown,
    /// A client device.
    Client,
    /// One radio of an AP.
    ApRadio,
    /// An access point.
    Ap,
    /// A switch port.
    SwitchPort,
    /// A switch.
    Switch,
    /// A WAN edge gateway.
    Gateway,
    /// A WAN link of a gateway.
    WanLink,
    /// A WAN path (link to a peer).
    WanPath,
    /// A site.
    Site,
    /// An internet service provider.
    Isp,
    /// A call participant.
    Participant,
}

/// Call Quality Dashboard classification of one stream (`callsight.StreamQuality`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamQuality {
    /// Not classifiable (too few packets, metrics missing).
    #[default]
    Unclassified,
    /// Good.
    Good,
    /// Poor.
    Poor,
}

/// Root-cause taxonomy (`callsight.CauseCode`). The Avro symbol is `<domain>_<cause>`;
/// [`CauseCode::code`] gives the dotted form used in text, e.g. `wireless.weak_signal`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum CauseCode {
    /// A cause this reader does not know (written by a newer version).
    #[default]
    UnknownOther,
    /// The device's CPU could not keep up with the media.
    ClientCpuInsufficient,
    /// The microphone or speaker failed or glitched.
    ClientAudioDevice,
    /// Media went through a VPN tunnel.
    ClientVpnTunnel,
    /// Media fell back to TCP through a relay.
    ClientTcpRelayFallback,
    /// The client's Wi-Fi signal was weak.
    WirelessWeakSignal,
    /// Wi-Fi or non-Wi-Fi interference on the channel.
    WirelessInterference,
    /// The channel was busy.
    WirelessChannelUtilization,
    /// The AP carried too many clients.
    WirelessApOverload,
    /// The client roamed during the call.
    WirelessRoaming,
    /// The client was on 2.4 GHz.
    #[serde(rename = "wireless_band_2_4ghz")]
    WirelessBand2_4Ghz,
    /// The AP restarted during the call.
    WirelessApRestart,
    /// Errors on a switch port.
    WiredPortErrors,
    /// Congestion (drops, saturation) on a switch port.
    WiredPortCongestion,
    /// A link went down and up.
    WiredLinkFlap,
    /// Speed or duplex mismatch.
    WiredSpeedDuplex,
    /// Congestion on the AP's or switch's uplink.
    WiredUplinkCongestion,
    /// WAN latency.
    WanLatency,
    /// WAN packet loss.
    WanLoss,
    /// WAN jitter.
    WanJitter,
    /// A WAN link went down or failed over.
    WanLinkDownFailover,
    /// The WAN link was saturated.
    WanBandwidthSaturation,
    /// The other participant's side.
    RemoteOtherParticipant,
    /// A network outside the organisation (home, ISP, internet).
    RemoteExternalNetwork,
    /// Microsoft's media relay.
    ServiceMediaRelay,
    /// Not enough data to decide.
    UnknownInsufficientData,
    /// The network was clean.
    UnknownNoNetworkAnomaly,
}

impl CauseCode {
    /// Every cause, in schema order.
    pub const ALL: [CauseCode; 27] = [
        CauseCode::UnknownOther,
        CauseCode::ClientCpuInsufficient,
        CauseCode::ClientAudioDevice,
        CauseCode::ClientVpnTunnel,
        CauseCode::ClientTcpRelayFallback,
        CauseCode::WirelessWeakSignal,
        CauseCode::WirelessInterference,
        CauseCode::WirelessChannelUtilization,
        CauseCode::WirelessApOverload,
        CauseCode::WirelessRoaming,
        CauseCode::WirelessBand2_4Ghz,
        CauseCode::WirelessApRestart,
        CauseCode::WiredPortErrors,
        CauseCode::WiredPortCongestion,
        CauseCode::WiredLinkFlap,
        CauseCode::WiredSpeedDuplex,
        CauseCode::WiredUplinkCongestion,
        CauseCode::WanLatency,
        CauseCode::WanLoss,
        CauseCode::WanJitter,
        CauseCode::WanLinkDownFailover,
        CauseCode::WanBandwidthSaturation,
        CauseCode::RemoteOtherParticipant,
        CauseCode::RemoteExternalNetwork,
        CauseCode::ServiceMediaRelay,
        CauseCode::UnknownInsufficientData,
        CauseCode::UnknownNoNetworkAnomaly,
    ];

    /// The dotted code, e.g. `wireless.weak_signal`; a closed set, safe as a metric label.
    pub fn code(self) -> &'static str {
        match self {
            CauseCode::UnknownOther => "unknown.other",
            CauseCode::ClientCpuInsufficient => "client.cpu_insufficient",
            CauseCode::ClientAudioDevice => "client.audio_device",
            CauseCode::ClientVpnTunnel => "client.vpn_tunnel",
            CauseCode::ClientTcpRelayFallback => "client.tcp_relay_fallback",
            CauseCode::WirelessWeakSignal => "wireless.weak_signal",
            CauseCode::WirelessInterference => "wireless.interference",
            CauseCode::WirelessChannelUtilization => "wireless.channel_utilization",
            CauseCode::WirelessApOverload => "wireless.ap_overload",
            CauseCode::WirelessRoaming => "wireless.roaming",
            CauseCode::WirelessBand2_4Ghz => "wireless.band_2_4ghz",
            CauseCode::WirelessApRestart => "wireless.ap_restart",
            CauseCode::WiredPortErrors => "wired.port_errors",
            CauseCode::WiredPortCongestion => "wired.port_congestion",
            CauseCode::WiredLinkFlap => "wired.link_flap",
            CauseCode::WiredSpeedDuplex => "wired.speed_duplex",
            CauseCode::WiredUplinkCongestion => "wired.uplink_congestion",
            CauseCode::WanLatency => "wan.latency",
            CauseCode::WanLoss => "wan.loss",
            CauseCode::WanJitter => "wan.jitter",
            CauseCode::WanLinkDownFailover => "wan.link_down_failover",
            CauseCode::WanBandwidthSaturation => "wan.bandwidth_saturation",
            CauseCode::RemoteOtherParticipant => "remote.other_participant",
            CauseCode::RemoteExternalNetwork => "remote.external_network",
            CauseCode::ServiceMediaRelay => "service.media_relay",
            CauseCode::UnknownInsufficientData => "unknown.insufficient_data",
            CauseCode::UnknownNoNetworkAnomaly => "unknown.no_network_anomaly",
        }
    }

    /// The evidence group (domain) the cause belongs to.
    pub fn group(self) -> EvidenceGroup {
        match self.code().split_once('.').map(|(domain, _)| domain) {
            Some("client") => EvidenceGroup::Client,
            Some("wireless") => EvidenceGroup::Wireless,
            Some("wired") => EvidenceGroup::Wired,
            Some("wan") => EvidenceGroup::Wan,
            Some("remote") => EvidenceGroup::Remote,
            Some("service") => EvidenceGroup::Service,
            _ => EvidenceGroup::Unknown,
        }
    }
}

impl fmt::Display for CauseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}
