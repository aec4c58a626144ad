//! The evidence features: every metric the engine can hold against a leg, with the domain and
//! cause it points to, its unit, which direction is worse, its threshold, how far past its own
//! baseline an entity must be, and the distance at which its score saturates.
//!
//! A feature's score is 0 while its value is on the good side of the effective threshold
//! `max(threshold, baseline + margin)` (mirrored when lower is worse), then rises from
//! `0.5 × weight` at the threshold to `weight` at `span` beyond it. A noisy entity is thereby
//! judged against itself: what it always does is not an anomaly.

use callsight_model::types::{CauseCode, EntityKind, EvidenceGroup};

/// Which direction of a metric is bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Worse {
    /// Larger values are worse (utilisation, loss, errors).
    Higher,
    /// Smaller values are worse (signal, frame rate).
    Lower,
}

/// One evidence feature.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Feature {
    /// Metric name, as written in the evidence (and in `rca.thresholds`).
    pub metric: &'static str,
    /// Domain.
    pub group: EvidenceGroup,
    /// Cause the feature supports.
    pub cause: CauseCode,
    /// Kind of entity the value belongs to.
    pub entity: EntityKind,
    /// Unit of the value.
    pub unit: &'static str,
    /// Which direction is bad.
    pub worse: Worse,
    /// Default threshold (overridable in `rca.thresholds`).
    pub threshold: f64,
    /// How far past its own baseline a value must be to count.
    pub margin: f64,
    /// Distance past the effective threshold at which the score reaches `weight`.
    pub span: f64,
    /// Largest score the feature can give: how specific it is to its cause.
    pub weight: f64,
}

#[expect(
    clippy::too_many_arguments,
    reason = "one positional row per feature keeps the table readable"
)]
const fn feature(
    metric: &'static str,
    group: EvidenceGroup,
    cause: CauseCode,
    entity: EntityKind,
    unit: &'static str,
    worse: Worse,
    threshold: f64,
    margin: f64,
    span: f64,
    weight: f64,
) -> Feature {
    Feature {
        metric,
        group,
        cause,
        entity,
        unit,
        worse,
        threshold,
        margin,
        span,
        weight,
    }
}

use CauseCode as C;
use EntityKind as E;
use EvidenceGroup as G;
use Worse::{Higher, Lower};

/// Every feature, in a fixed order (ties between equal scores go to the earlier one): one row per
/// feature, its columns those of [`Feature`] (`threshold` overridable in `rca.thresholds`).
#[rustfmt::skip]
pub const FEATURES: &[Feature] = &[
    //      metric                             group        cause                          entity          unit        worse   threshold margin span   weight
    // Client: the participant's own device, from the call record.
    feature("cpu_insufficient_ratio",          G::Client,   C::ClientCpuInsufficient,      E::Participant, "ratio",    Higher, 0.05,     0.0,   0.25,  1.0),
    feature("capture_not_functioning_ratio",   G::Client,   C::ClientAudioDevice,          E::Participant, "ratio",    Higher, 0.05,     0.0,   0.25,  1.0),
    feature("render_not_functioning_ratio",    G::Client,   C::ClientAudioDevice,          E::Participant, "ratio",    Higher, 0.05,     0.0,   0.25,  1.0),
    feature("device_glitch_ratio",             G::Client,   C::ClientAudioDevice,          E::Participant, "ratio",    Higher, 0.05,     0.0,   0.2,   0.9),
    feature("mic_glitch_rate",                 G::Client,   C::ClientAudioDevice,          E::Participant, "per_5min", Higher, 60.0,     0.0,   300.0, 0.8),
    feature("speaker_glitch_rate",             G::Client,   C::ClientAudioDevice,          E::Participant, "per_5min", Higher, 60.0,     0.0,   300.0, 0.8),
    feature("vpn_round_trip_ms",               G::Client,   C::ClientVpnTunnel,            E::Participant, "ms",       Higher, 150.0,    0.0,   350.0, 1.0),
    feature("tcp_round_trip_ms",               G::Client,   C::ClientTcpRelayFallback,     E::Participant, "ms",       Higher, 150.0,    0.0,   350.0, 0.95),
    feature("tcp_jitter_ms",                   G::Client,   C::ClientTcpRelayFallback,     E::Participant, "ms",       Higher, 30.0,     0.0,   50.0,  0.95),
    // Wireless: the client's radio link, its AP radio and its AP.
    feature("rssi_dbm_p10",                    G::Wireless, C::WirelessWeakSignal,         E::Client,      "dBm",      Lower,  -72.0,    6.0,   12.0,  1.0),
    feature("snr_db_p10",                      G::Wireless, C::WirelessWeakSignal,         E::Client,      "dB",       Lower,  18.0,     5.0,   12.0,  0.9),
    feature("wifi_signal_pct",                 G::Wireless, C::WirelessWeakSignal,         E::Participant, "percent",  Lower,  40.0,     0.0,   30.0,  0.8),
    feature("roams",                           G::Wireless, C::WirelessRoaming,            E::Client,      "count",    Higher, 1.5,      1.0,   3.0,   0.95),
    feature("band_2_4ghz",                     G::Wireless, C::WirelessBand2_4Ghz,         E::Client,      "flag",     Higher, 0.5,      0.0,   0.5,   0.55),
    feature("util_all_ratio_p90",              G::Wireless, C::WirelessChannelUtilization, E::ApRadio,     "ratio",    Higher, 0.7,      0.15,  0.25,  1.0),
    feature("util_non_wifi_ratio_p90",         G::Wireless, C::WirelessInterference,       E::ApRadio,     "ratio",    Higher, 0.2,      0.1,   0.3,   1.0),
    feature("util_rx_other_bss_ratio_p90",     G::Wireless, C::WirelessInterference,       E::ApRadio,     "ratio",    Higher, 0.3,      0.1,   0.3,   0.9),
    feature("noise_floor_dbm_p90",             G::Wireless, C::WirelessInterference,       E::ApRadio,     "dBm",      Higher, -80.0,    5.0,   12.0,  0.85),
    feature("channel_changes",                 G::Wireless, C::WirelessInterference,       E::ApRadio,     "count",    Higher, 0.5,      0.0,   2.0,   0.7),
    feature("radio_clients_p90",               G::Wireless, C::WirelessApOverload,         E::ApRadio,     "count",    Higher, 35.0,     10.0,  30.0,  0.95),
    feature("ap_clients_p90",                  G::Wireless, C::WirelessApOverload,         E::Ap,          "count",    Higher, 60.0,     15.0,  40.0,  0.9),
    feature("ap_cpu_ratio_p90",                G::Wireless, C::WirelessApOverload,         E::Ap,          "ratio",    Higher, 0.9,      0.05,  0.1,   0.85),
    feature("ap_restarts",                     G::Wireless, C::WirelessApRestart,          E::Ap,          "count",    Higher, 0.5,      0.0,   1.0,   1.0),
    // Wired: the client's or AP's access port, and the uplinks towards the gateway.
    feature("port_errors_per_s_p90",           G::Wired,    C::WiredPortErrors,            E::SwitchPort,  "per_s",    Higher, 0.5,      0.5,   10.0,  1.0),
    feature("port_drops_per_s_p90",            G::Wired,    C::WiredPortCongestion,        E::SwitchPort,  "per_s",    Higher, 5.0,      5.0,   100.0, 0.9),
    feature("port_utilization_p90",            G::Wired,    C::WiredPortCongestion,        E::SwitchPort,  "ratio",    Higher, 0.85,     0.1,   0.15,  1.0),
    feature("link_flaps",                      G::Wired,    C::WiredLinkFlap,              E::SwitchPort,  "count",    Higher, 0.5,      0.0,   2.0,   1.0),
    feature("half_duplex",                     G::Wired,    C::WiredSpeedDuplex,           E::SwitchPort,  "flag",     Higher, 0.5,      0.0,   0.5,   1.0),
    feature("speed_drop_ratio",                G::Wired,    C::WiredSpeedDuplex,           E::SwitchPort,  "ratio",    Higher, 0.5,      0.0,   0.4,   0.9),
    feature("uplink_utilization_p90",          G::Wired,    C::WiredUplinkCongestion,      E::SwitchPort,  "ratio",    Higher, 0.85,     0.1,   0.15,  1.0),
    feature("uplink_drops_per_s_p90",          G::Wired,    C::WiredUplinkCongestion,      E::SwitchPort,  "per_s",    Higher, 5.0,      5.0,   100.0, 0.9),
    // WAN: the site's links and paths, when the media leaves the site.
    feature("wan_latency_ms_p90",              G::Wan,      C::WanLatency,                 E::WanLink,     "ms",       Higher, 100.0,    30.0,  150.0, 1.0),
    feature("wan_jitter_ms_p90",               G::Wan,      C::WanJitter,                  E::WanLink,     "ms",       Higher, 30.0,     10.0,  50.0,  1.0),
    feature("wan_loss_ratio_p90",              G::Wan,      C::WanLoss,                    E::WanLink,     "ratio",    Higher, 0.02,     0.01,  0.08,  1.0),
    feature("wan_down",                        G::Wan,      C::WanLinkDownFailover,        E::WanLink,     "count",    Higher, 0.5,      0.0,   1.0,   1.0),
    feature("wan_utilization_p90",             G::Wan,      C::WanBandwidthSaturation,     E::WanLink,     "ratio",    Higher, 0.9,      0.05,  0.1,   1.0),
    // Remote: the other participants, or the participant's own network outside the organisation.
    feature("sender_sent_quality_event_ratio", G::Remote,   C::RemoteOtherParticipant,     E::Participant, "ratio",    Higher, 0.1,      0.0,   0.4,   1.0),
    feature("receiver_received_quality_event_ratio", G::Remote, C::RemoteOtherParticipant, E::Participant, "ratio",    Higher, 0.1,      0.0,   0.4,   1.0),
    feature("off_site_network_event_ratio",    G::Remote,   C::RemoteExternalNetwork,      E::Participant, "ratio",    Higher, 0.1,      0.0,   0.4,   0.9),
    // Service: Microsoft's media relay.
    feature("relay_round_trip_ms",             G::Service,  C::ServiceMediaRelay,          E::Participant, "ms",       Higher, 300.0,    0.0,   300.0, 0.6),
];

/// The feature named `metric`.
pub fn find(metric: &str) -> Option<&'static Feature> {
    FEATURES.iter().find(|f| f.metric == metric)
}

impl Feature {
    /// The score of `value` against `threshold` (already overridden by configuration) and the
    /// entity's own `baseline`, in `0..=weight`.
    pub fn score(&self, value: f64, threshold: f64, baseline: Option<f64>) -> f64 {
        if !value.is_finite() {
            return 0.0;
        }
        let excess = match self.worse {
            Higher => {
                let effective = baseline.map_or(threshold, |b| threshold.max(b + self.margin));
                value - effective
            }
            Lower => {
                let effective = baseline.map_or(threshold, |b| threshold.min(b - self.margin));
                effective - value
            }
        };
        if excess <= 0.0 {
            return 0.0;
        }
        self.weight * (0.5 + 0.5 * (excess / self.span).min(1.0))
    }
}
