//! The participant's own device, from the call record: CPU, audio devices, VPN and TCP.

use super::{Context, Measurement, measure};
use callsight_model::types::{ConnectionType, TransportProtocol};

/// Worst average of a stream metric over the leg's streams.
fn worst(
    ctx: &Context<'_>,
    metric: impl Fn(&callsight_model::types::MediaStream) -> Option<f64>,
) -> Option<f64> {
    ctx.leg
        .streams
        .iter()
        .filter_map(metric)
        .filter(|v| v.is_finite())
        .reduce(f64::max)
}

pub(super) fn gather(ctx: &Context<'_>, out: &mut Vec<Measurement>) {
    let me = ctx.leg.participant_id.as_str();
    let device = &ctx.leg.device;
    measure(
        out,
        "cpu_insufficient_ratio",
        me,
        device.cpu_insufficient_ratio,
    );
    measure(
        out,
        "capture_not_functioning_ratio",
        me,
        device.capture_not_functioning_ratio,
    );
    measure(
        out,
        "render_not_functioning_ratio",
        me,
        device.render_not_functioning_ratio,
    );
    measure(out, "device_glitch_ratio", me, device.device_glitch_ratio);
    measure(out, "mic_glitch_rate", me, device.mic_glitch_rate);
    measure(out, "speaker_glitch_rate", me, device.speaker_glitch_rate);

    let network = &ctx.leg.network;
    let round_trip = worst(ctx, |s| s.avg_round_trip_ms);
    if network.connection_type == ConnectionType::Tunnel {
        // A full tunnel explains a TCP fallback too: VPN concentrators rarely pass UDP.
        measure(out, "vpn_round_trip_ms", me, round_trip);
    } else if network.transport == TransportProtocol::Tcp {
        measure(out, "tcp_round_trip_ms", me, round_trip);
        measure(out, "tcp_jitter_ms", me, worst(ctx, |s| s.avg_jitter_ms));
    }
}
