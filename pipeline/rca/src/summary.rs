//! The one sentence a network engineer reads first, built from the verdict itself.

use crate::view::StateView;
use callsight_model::types::{
    CauseCode, EntityKind, Evidence, LegQuality, MediaKind, RootCauseVerdict, StreamDirection,
    StreamQuality, WifiBand,
};

/// E.g. "Poor inbound audio for participant p-3f2a: jitter 48 ms; AP AP-1F-West 5 GHz channel
/// utilization 91 % (usual 35 %) during the call; 6 other calls on this AP radio in the last
/// 60 min."
pub fn sentence(v: &RootCauseVerdict, view: &StateView) -> String {
    let mut parts = vec![head(v)];
    parts.push(cause(v, view));
    if let Some(scope) = &v.scope
        && scope.calls_affected > 1
        && !matches!(
            v.primary_cause.group(),
            callsight_model::types::EvidenceGroup::Unknown
        )
    {
        let others = scope.calls_affected - 1;
        let minutes = (scope.window_end - scope.window_start) / 60_000;
        parts.push(format!(
            "{others} other call{} on this {} in the last {minutes} min",
            if others == 1 { "" } else { "s" },
            kind_words(scope.kind)
        ));
    }
    format!("{}.", parts.join("; "))
}

fn head(v: &RootCauseVerdict) -> String {
    let who = &v.participant_id;
    match v.quality {
        LegQuality::Poor => {
            let poor: Vec<_> = v
                .streams
                .iter()
                .filter(|s| s.quality == StreamQuality::Poor)
                .collect();
            let mut directions: Vec<&str> = poor
                .iter()
                .map(|s| match s.direction {
                    StreamDirection::Received => "inbound",
                    StreamDirection::Sent => "outbound",
                })
                .collect();
            directions.sort();
            directions.dedup();
            let mut media: Vec<&str> = poor.iter().map(|s| media_words(s.media_kind)).collect();
            media.sort();
            media.dedup();
            let reason = poor
                .iter()
                .flat_map(|s| s.reasons.iter())
                .find(|r| r.poor)
                .map(|r| format!(": {}", metric_value(&r.metric, r.value)))
                .unwrap_or_default();
            format!(
                "Poor {} {} for participant {who}{reason}",
                directions.join(" and "),
                media.join(" and ")
            )
        }
        LegQuality::Good if v.poor_feedback => format!(
            "Participant {who} rated the call {} although every classified stream was good",
            rating_words(v)
        ),
        LegQuality::Good => format!("Good call for participant {who}"),
        LegQuality::Unclassified => format!("No stream of participant {who} could be classified"),
    }
}

fn cause(v: &RootCauseVerdict, view: &StateView) -> String {
    match v.primary_cause {
        CauseCode::UnknownNoNetworkAnomaly if v.quality == LegQuality::Good && !v.poor_feedback => {
            "nothing to explain".to_string()
        }
        CauseCode::UnknownNoNetworkAnomaly => {
            "no anomaly in the client, Wi-Fi, switch or WAN telemetry during the call".to_string()
        }
        CauseCode::UnknownInsufficientData => match v.completeness.missing.first() {
            Some(missing) => format!("not enough data to tell: {missing}"),
            None => "not enough data to tell".to_string(),
        },
        cause => {
            let top = v.evidence.iter().find(|e| e.cause == cause);
            match top {
                Some(e) => format!("{} ({})", evidence_words(e, view), cause.code()),
                None => cause.code().to_string(),
            }
        }
    }
}

fn evidence_words(e: &Evidence, view: &StateView) -> String {
    let entity = match e.entity_kind {
        EntityKind::ApRadio => format!(
            "AP {}{}",
            view.path
                .ap_name
                .clone()
                .or_else(|| view.path.ap_mac.clone())
                .unwrap_or_else(|| e.entity_id.clone()),
            band_words(view.path.band)
        ),
        EntityKind::Ap => format!(
            "AP {}",
            view.path
                .ap_name
                .clone()
                .unwrap_or_else(|| e.entity_id.clone())
        ),
        EntityKind::SwitchPort => format!("switch port {}", e.entity_id),
        EntityKind::WanLink => format!("WAN link {}", e.entity_id),
        EntityKind::Client => format!("client {}", e.entity_id),
        EntityKind::Participant => format!("participant {}", e.entity_id),
        other => format!("{} {}", kind_words(other), e.entity_id),
    };
    let usual = e
        .baseline
        .map(|b| format!(" (usual {})", value_words(b, &e.unit)))
        .unwrap_or_default();
    let value = if e.unit == "flag" {
        String::new()
    } else {
        format!(" {}", value_words(e.value, &e.unit))
    };
    let basis = e
        .basis
        .as_ref()
        .map(|b| format!(" of {b}"))
        .unwrap_or_default();
    format!(
        "{entity} {}{value}{basis}{usual} during the call",
        metric_words(&e.metric)
    )
}

fn metric_value(metric: &str, value: f64) -> String {
    match metric {
        "avg_jitter_ms" => format!("jitter {value:.0} ms"),
        "avg_round_trip_ms" => format!("round trip {value:.0} ms"),
        "avg_packet_loss_rate" => format!("packet loss {:.1} %", value * 100.0),
        "avg_audio_degradation" => format!("audio degradation {value:.2}"),
        "avg_concealed_ratio" => format!("concealed audio {:.1} %", value * 100.0),
        "avg_video_frame_loss_pct" => format!("frame loss {value:.0} %"),
        "avg_video_frame_rate" => format!("{value:.1} frames per second"),
        "post_fec_packet_loss_rate" => format!("loss after FEC {:.1} %", value * 100.0),
        other => format!("{other} {value}"),
    }
}

fn value_words(value: f64, unit: &str) -> String {
    match unit {
        "ratio" => format!("{:.0} %", value * 100.0),
        "ms" => format!("{value:.0} ms"),
        "dBm" => format!("{value:.0} dBm"),
        "dB" => format!("{value:.0} dB"),
        "percent" => format!("{value:.0} %"),
        "per_s" => format!("{value:.1}/s"),
        "per_5min" => format!("{value:.0} per 5 min"),
        "count" => format!("{value:.0}"),
        _ => format!("{value}"),
    }
}

fn metric_words(metric: &str) -> &str {
    match metric {
        "cpu_insufficient_ratio" => "CPU too slow for the audio",
        "capture_not_functioning_ratio" => "microphone not working",
        "render_not_functioning_ratio" => "speaker not working",
        "device_glitch_ratio" => "audio device glitches",
        "mic_glitch_rate" => "microphone glitches",
        "speaker_glitch_rate" => "speaker glitches",
        "vpn_round_trip_ms" => "round trip through the VPN tunnel",
        "tcp_round_trip_ms" => "round trip with media over TCP",
        "tcp_jitter_ms" => "jitter with media over TCP",
        "rssi_dbm_p10" => "signal (10th percentile)",
        "snr_db_p10" => "signal-to-noise (10th percentile)",
        "wifi_signal_pct" => "Wi-Fi signal reported by Teams",
        "roams" => "roams",
        "band_2_4ghz" => "on the 2.4 GHz band",
        "util_all_ratio_p90" => "channel utilization",
        "util_non_wifi_ratio_p90" => "non-Wi-Fi interference",
        "util_rx_other_bss_ratio_p90" => "co-channel Wi-Fi interference",
        "noise_floor_dbm_p90" => "noise floor",
        "channel_changes" => "channel changes",
        "radio_clients_p90" => "clients on the radio",
        "ap_clients_p90" => "clients on the AP",
        "ap_cpu_ratio_p90" => "AP CPU",
        "ap_restarts" => "restarts",
        "port_errors_per_s_p90" => "errors",
        "port_drops_per_s_p90" => "drops",
        "port_utilization_p90" => "utilization",
        "link_flaps" => "link flaps",
        "half_duplex" => "running half duplex",
        "speed_drop_ratio" => "speed below its usual",
        "uplink_utilization_p90" => "uplink utilization",
        "uplink_drops_per_s_p90" => "uplink drops",
        "wan_latency_ms_p90" => "latency",
        "wan_jitter_ms_p90" => "jitter",
        "wan_loss_ratio_p90" => "loss",
        "wan_down" => "down or failed over",
        "wan_utilization_p90" => "utilization",
        "sender_sent_quality_event_ratio" => "network degraded what it sent for",
        "receiver_received_quality_event_ratio" => "network degraded what it received for",
        "off_site_network_event_ratio" => "own network (off site) degraded the media for",
        "relay_round_trip_ms" => "round trip through Microsoft's media relay",
        other => other,
    }
}

fn kind_words(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::ApRadio => "AP radio",
        EntityKind::Ap => "AP",
        EntityKind::SwitchPort => "switch port",
        EntityKind::Switch => "switch",
        EntityKind::WanLink => "WAN link",
        EntityKind::WanPath => "WAN path",
        EntityKind::Site => "site",
        EntityKind::Isp => "ISP",
        EntityKind::Client => "client",
        EntityKind::Gateway => "gateway",
        EntityKind::Participant => "participant",
        EntityKind::Unknown => "entity",
    }
}

fn media_words(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Audio => "audio",
        MediaKind::Video => "video",
        MediaKind::VideoBasedScreenSharing => "screen sharing",
        MediaKind::Data => "data",
        MediaKind::Unknown => "media",
    }
}

fn band_words(band: WifiBand) -> &'static str {
    match band {
        WifiBand::Band2_4Ghz => " 2.4 GHz",
        WifiBand::Band5Ghz => " 5 GHz",
        WifiBand::Band6Ghz => " 6 GHz",
        WifiBand::Band60Ghz => " 60 GHz",
        WifiBand::Unknown => "",
    }
}

fn rating_words(v: &RootCauseVerdict) -> &'static str {
    use callsight_model::types::FeedbackRating as R;
    match v.rating {
        R::Bad => "bad (1 of 5)",
        R::Poor => "poor (2 of 5)",
        _ => "poorly",
    }
}
