//! Mist device event types to callsight's event kinds.

use callsight_model::types::{EntityKind, NetworkEventKind};

/// The normalised kind of a Mist device event, and the kind of entity it is about.
pub fn event_kind(vendor_type: &str, device_type: &str) -> (NetworkEventKind, EntityKind) {
    use EntityKind as E;
    use NetworkEventKind as K;
    let upper = vendor_type.to_ascii_uppercase();
    match upper.as_str() {
        "AP_RESTARTED" | "AP_RESTART_BY_USER" => (K::ApRestart, E::Ap),
        "AP_DISCONNECTED" => (K::ApDisconnected, E::Ap),
        "AP_CONNECTED" | "AP_RECONNECTED" => (K::ApConnected, E::Ap),
        "AP_RRM_ACTION" | "AP_CONFIG_CHANGED_BY_RRM" => (K::RadioChannelChange, E::Ap),
        "AP_RADAR_DETECTED" => (K::RadarDetected, E::Ap),
        "SW_PORT_DOWN" | "AP_PORT_DOWN" => (K::PortDown, E::SwitchPort),
        "SW_PORT_UP" => (K::PortUp, E::SwitchPort),
        "SW_PORT_STORM_CONTROL" => (K::PortStorm, E::SwitchPort),
        "SW_RESTARTED" | "SW_RESTART_BY_USER" => (K::SwitchRestart, E::Switch),
        "GW_RESTARTED" | "GW_RESTART_BY_USER" => (K::GatewayRestart, E::Gateway),
        "GW_PORT_DOWN" => (K::WanLinkDown, E::WanLink),
        "GW_PORT_UP" => (K::WanLinkUp, E::WanLink),
        "GW_VPN_PATH_DOWN" | "GW_VPN_PEER_DOWN" | "GW_TUNNEL_DOWN" => (K::WanPathDown, E::Gateway),
        "GW_VPN_PATH_UP" | "GW_VPN_PEER_UP" | "GW_TUNNEL_UP" => (K::WanPathUp, E::Gateway),
        "GW_RG_STATE_CHANGED" | "GW_PORT_RG_ST_CHANGED" => (K::WanFailover, E::Gateway),
        _ => {
            let entity = match device_type {
                "ap" => E::Ap,
                "switch" => E::Switch,
                "gateway" => E::Gateway,
                _ => E::Unknown,
            };
            (K::Other, entity)
        }
    }
}
