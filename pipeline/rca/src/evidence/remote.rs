//! The other participants, the participant's own network when it is outside the organisation,
//! and Microsoft's media relay.

use super::{Context, Measurement, measure};
use callsight_model::types::{
    ConnectionType, CounterpartKind, StreamDirection, StreamQuality, TransportProtocol,
};

/// The share of a call over which a participant's own network degrading the media marks that
/// side as poor: the default threshold of the remote participant features.
const FAR_SIDE_POOR_RATIO: f64 = 0.1;

pub(super) fn gather(
    ctx: &Context<'_>,
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
    // own client saw its network degrade the media either way, a long round trip is no evidence
    // against the relay.
    let far_side_poor = peer_to_peer
        && leg.other_legs.iter().any(|o| {
            [o.sent_quality_event_ratio, o.received_quality_event_ratio]
                .into_iter()
                .flatten()
                .any(|r| r >= FAR_SIDE_POOR_RATIO)
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
