//! The other participants, the participant's own network when it is outside the organisation,
//! and Microsoft's media relay.

use super::{Context, Measurement, measure};
use callsight_model::types::{
    ConnectionType, CounterpartKind, StreamDirection, StreamQuality, TransportProtocol,
};

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
    if received_poor && leg.counterpart != CounterpartKind::MediaServer {
        for other in &leg.other_legs {
            measure(
                out,
                "sender_sent_quality_event_ratio",
                &other.participant_id,
                other.sent_quality_event_ratio,
            );
        }
    }

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
