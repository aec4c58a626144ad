//! Microsoft's Call Quality Dashboard stream classification, applied to a leg's streams.
//!
//! - Audio (current rules): unclassified at or below `min_packets` packets, or without any of
//!   round trip, loss and jitter; otherwise poor when round trip > 500 ms, loss > 0.1 or
//!   jitter > 30 ms.
//! - Audio (legacy rules): poor when degradation > 1.0, round trip > 500 ms, loss > 0.1,
//!   jitter > 30 ms or concealed samples > 0.07; unclassified when none is reported.
//! - Video: unclassified at or below `min_packets`; then the *first available* of frame loss
//!   (> 50 %), frame rate (< 7 fps) and post-FEC loss (> 0.15) decides, and the later ones are
//!   not looked at; unclassified when none is reported.
//! - Screen sharing (VBSS): an inbound stream whose codec is not H.264S is poor when frame loss
//!   > 50 %; every other stream (outbound, or H.264S either way) is poor when frame rate < 1.
//! - Data and unknown media are unclassified.

use crate::config::{ClassificationConfig, RuleSet};
use callsight_model::types::{
    ClassificationReason, LegQuality, MediaKind, MediaStream, StreamDirection, StreamQuality,
    StreamVerdict,
};

fn reason(metric: &str, value: f64, threshold: f64, poor: bool) -> ClassificationReason {
    ClassificationReason {
        metric: metric.to_string(),
        value,
        threshold,
        poor,
    }
}

/// Classifies one stream.
pub fn classify_stream(stream: &MediaStream, config: &ClassificationConfig) -> StreamVerdict {
    let (quality, reasons) = match stream.media_kind {
        MediaKind::Audio => match config.rule_set {
            RuleSet::Current => audio_current(stream, config),
            RuleSet::Legacy => audio_legacy(stream, config),
        },
        MediaKind::Video => video(stream, config),
        MediaKind::VideoBasedScreenSharing => vbss(stream, config),
        MediaKind::Data | MediaKind::Unknown => (StreamQuality::Unclassified, Vec::new()),
    };
    let rule_set = match stream.media_kind {
        MediaKind::Audio => config.rule_set.label(),
        _ => RuleSet::Current.label(),
    };
    StreamVerdict {
        stream_id: stream.stream_id.clone(),
        media_kind: stream.media_kind,
        direction: stream.direction,
        quality,
        rule_set: rule_set.to_string(),
        reasons,
    }
}

fn packets_gate(
    stream: &MediaStream,
    config: &ClassificationConfig,
) -> Option<(StreamQuality, Vec<ClassificationReason>)> {
    let packets = stream.packet_utilization.unwrap_or(0);
    (packets <= config.min_packets).then(|| {
        (
            StreamQuality::Unclassified,
            vec![reason(
                "packet_utilization",
                packets as f64,
                config.min_packets as f64,
                false,
            )],
        )
    })
}

/// Compares each reported metric with its threshold; poor if any crosses.
fn any_above(checks: &[(&str, Option<f64>, f64)]) -> (StreamQuality, Vec<ClassificationReason>) {
    let reasons: Vec<ClassificationReason> = checks
        .iter()
        .filter_map(|(metric, value, threshold)| {
            value.map(|v| reason(metric, v, *threshold, v > *threshold))
        })
        .collect();
    let quality = if reasons.is_empty() {
        StreamQuality::Unclassified
    } else if reasons.iter().any(|r| r.poor) {
        StreamQuality::Poor
    } else {
        StreamQuality::Good
    };
    (quality, reasons)
}

/// The audio checks both rule sets make: round trip, loss and jitter.
fn audio_network_checks(
    stream: &MediaStream,
    config: &ClassificationConfig,
) -> [(&'static str, Option<f64>, f64); 3] {
    [
        (
            "avg_round_trip_ms",
            stream.avg_round_trip_ms,
            config.audio_round_trip_ms,
        ),
        (
            "avg_packet_loss_rate",
            stream.avg_packet_loss_rate,
            config.audio_packet_loss_rate,
        ),
        (
            "avg_jitter_ms",
            stream.avg_jitter_ms,
            config.audio_jitter_ms,
        ),
    ]
}

fn audio_current(
    stream: &MediaStream,
    config: &ClassificationConfig,
) -> (StreamQuality, Vec<ClassificationReason>) {
    if let Some(gated) = packets_gate(stream, config) {
        return gated;
    }
    any_above(&audio_network_checks(stream, config))
}

fn audio_legacy(
    stream: &MediaStream,
    config: &ClassificationConfig,
) -> (StreamQuality, Vec<ClassificationReason>) {
    let mut checks = vec![(
        "avg_audio_degradation",
        stream.avg_audio_degradation,
        config.legacy_audio_degradation,
    )];
    checks.extend(audio_network_checks(stream, config));
    checks.push((
        "avg_concealed_ratio",
        stream.avg_concealed_ratio,
        config.legacy_concealed_ratio,
    ));
    any_above(&checks)
}

fn video(
    stream: &MediaStream,
    config: &ClassificationConfig,
) -> (StreamQuality, Vec<ClassificationReason>) {
    if let Some(gated) = packets_gate(stream, config) {
        return gated;
    }
    // The first available metric decides; the later ones are not looked at.
    let decide = |metric: &str, value: f64, threshold: f64, poor: bool| {
        let quality = if poor {
            StreamQuality::Poor
        } else {
            StreamQuality::Good
        };
        (quality, vec![reason(metric, value, threshold, poor)])
    };
    if let Some(loss) = stream.avg_video_frame_loss_pct {
        let t = config.video_frame_loss_pct;
        return decide("avg_video_frame_loss_pct", loss, t, loss > t);
    }
    if let Some(rate) = stream.avg_video_frame_rate {
        let t = config.video_frame_rate;
        return decide("avg_video_frame_rate", rate, t, rate < t);
    }
    if let Some(loss) = stream.post_fec_packet_loss_rate {
        let t = config.video_post_fec_loss_rate;
        return decide("post_fec_packet_loss_rate", loss, t, loss > t);
    }
    (StreamQuality::Unclassified, Vec::new())
}

fn vbss(
    stream: &MediaStream,
    config: &ClassificationConfig,
) -> (StreamQuality, Vec<ClassificationReason>) {
    let h264s = stream
        .video_codec
        .as_deref()
        .is_some_and(|c| c.eq_ignore_ascii_case("h264s"));
    let inbound = stream.direction == StreamDirection::Received;
    let (metric, value, threshold, poor) = if inbound && !h264s {
        let Some(loss) = stream.avg_video_frame_loss_pct else {
            return (StreamQuality::Unclassified, Vec::new());
        };
        let t = config.vbss_frame_loss_pct;
        ("avg_video_frame_loss_pct", loss, t, loss > t)
    } else {
        let Some(rate) = stream.avg_video_frame_rate else {
            return (StreamQuality::Unclassified, Vec::new());
        };
        let t = config.vbss_frame_rate;
        ("avg_video_frame_rate", rate, t, rate < t)
    };
    let quality = if poor {
        StreamQuality::Poor
    } else {
        StreamQuality::Good
    };
    (quality, vec![reason(metric, value, threshold, poor)])
}

/// Classifies every stream of a leg.
pub fn classify_streams(
    streams: &[MediaStream],
    config: &ClassificationConfig,
) -> Vec<StreamVerdict> {
    streams.iter().map(|s| classify_stream(s, config)).collect()
}

/// A leg is poor when any classified stream is poor, good when every classified stream is good,
/// and unclassified when none could be classified.
pub fn leg_quality(verdicts: &[StreamVerdict]) -> LegQuality {
    if verdicts.iter().any(|v| v.quality == StreamQuality::Poor) {
        LegQuality::Poor
    } else if verdicts.iter().any(|v| v.quality == StreamQuality::Good) {
        LegQuality::Good
    } else {
        LegQuality::Unclassified
    }
}
