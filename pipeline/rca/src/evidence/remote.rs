//! The other participants, the participant's own network when it is outside the organisation,
//! and Microsoft's media relay.

use super::{Context, Measurement, measure};
use crate::config::RcaConfig;
use crate::features;
use callsight_model::types::{
    ConnectionType, CounterpartKind, StreamDirection, StreamQuality, TransportProtocol,
};

/// The configured threshold of `metric`, a remote participant feature.
fn threshold(config: &RcaConfig, metric: &str) -> f64 {
    let default = features::find(metric).map_or(f64::INFINITY, |f| f.threshold);
    config.threshold(metric, default)
}

pub(super) fn gather(
    ctx: &Context<'_>,
    config: &RcaConfig,
    out: &mut Vec<Measurement>,
    poor: &[(StreamDirection, StreamQuality)],
) {
    let leg = ctx.leg;
    let received_poor = poor
        .iter()
        .any(|(d, q)| *d == StreamDirection::Received && *q == StreamQuality::Poor);

    // Peer to peer, what this participant received is what the other one sent: when that one's
    // own client saw its network degrade what it sent, the degradation starts there. In a
    // meeting the received stream comes from the media server, and its network figures describe
    // the hop from the server to this participant, not what the others sent.
    let sent_poor = poor
        .iter()
        .any(|(d, q)| *d == StreamDirection::Sent && *q == StreamQuality::Poor);
    let peer_to_peer = leg.counterpart != CounterpartKind::MediaServer;
    if received_poor && peer_to_peer {
        for other in &leg.other_legs {
            measure(
                out,
                "sender_sent_quality_event_ratio",
                &other.participant_id,
                other.sent_quality_event_ratio,
            );
        }
    }
    // Likewise what this participant sent is what the other one received: its own network
    // degrading what it received is where that degradation starts.
    if sent_poor && peer_to_peer {
        for other in &leg.other_legs {
            measure(
                out,
                "receiver_received_quality_event_ratio",
                &other.participant_id,
                other.received_quality_event_ratio,
            );
        }
    }
    // Peer to peer, the round trip crosses the other participant's network too: when that one's
    // own client saw its network degrade the media either way (past the thresholds of the two
    // features above), a long round trip is no evidence against the relay.
    let (sent_bar, received_bar) = (
        threshold(config, "sender_sent_quality_event_ratio"),
        threshold(config, "receiver_received_quality_event_ratio"),
    );
    let far_side_poor = peer_to_peer
        && leg.other_legs.iter().any(|o| {
            o.sent_quality_event_ratio.is_some_and(|r| r >= sent_bar)
                || o.received_quality_event_ratio
                    .is_some_and(|r| r >= received_bar)
        });

    // Off every known site: home Wi-Fi, an ISP, a hotel. Teams' own view of the network is
    // all there is.
    if ctx.off_site() {
        let own = [
            leg.network.received_quality_event_ratio,
            leg.network.sent_quality_event_ratio,
            leg.network.delay_event_ratio,
        ]
        .into_iter()
        .flatten()
        .reduce(f64::max);
        measure(
            out,
            "off_site_network_event_ratio",
            &leg.participant_id,
            own,
        );
    }

    if leg.network.relay_ip.is_some()
        && !far_side_poor
        && leg.network.transport != TransportProtocol::Tcp
        && leg.network.connection_type != ConnectionType::Tunnel
    {
        let round_trip = leg
            .streams
            .iter()
            .filter_map(|s| s.avg_round_trip_ms)
            .reduce(f64::max);
        measure(out, "relay_round_trip_ms", &leg.participant_id, round_trip);
    }
}
