//! The state view: what the network was doing around one call leg, as the processor found it.
//! The engine reads nothing else about the network.

use callsight_model::types::{EntityKind, NetworkSample, WifiBand};
use serde::{Deserialize, Serialize};

/// How the leg's client was found in the network telemetry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchMethod {
    /// Not found (unknown MAC and IP, off-site, or no telemetry).
    #[default]
    None,
    /// By the MAC address Teams reported.
    Mac,
    /// By the IP address Teams reported, bound to a MAC at that time (DHCP, client info).
    Ip,
    /// By the BSSID Teams reported, and the time.
    Bssid,
}

/// Which part of the path a switch port is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PortRole {
    /// The port the client (wired) or its AP is cabled to.
    #[default]
    Access,
    /// A port towards the gateway (found through LLDP).
    Uplink,
}

/// A switch port on the leg's path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRef {
    /// Switch MAC.
    pub switch_mac: String,
    /// Port, e.g. `ge-0/0/1`.
    pub port_id: String,
    /// Its part in the path.
    #[serde(default)]
    pub role: PortRole,
}

/// A WAN link of the leg's site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WanRef {
    /// Gateway MAC.
    pub gateway_mac: String,
    /// WAN interface.
    pub wan_port_id: String,
    /// Internet service provider, when the inventory knows it.
    #[serde(default)]
    pub isp: Option<String>,
    /// Contracted downstream capacity from the inventory, bit/s.
    #[serde(default)]
    pub capacity_down_bps: Option<i64>,
    /// Contracted upstream capacity from the inventory, bit/s.
    #[serde(default)]
    pub capacity_up_bps: Option<i64>,
}

/// The entities the leg's media crossed inside the organisation.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Path {
    /// The client's MAC, as matched.
    #[serde(default)]
    pub client_mac: Option<String>,
    /// The AP the client was on (wireless).
    #[serde(default)]
    pub ap_mac: Option<String>,
    /// That AP's name, for people.
    #[serde(default)]
    pub ap_name: Option<String>,
    /// The AP radio's base MAC, when known.
    #[serde(default)]
    pub radio_mac: Option<String>,
    /// The radio's band.
    #[serde(default)]
    pub band: WifiBand,
    /// Switch ports: the access port first, then uplinks.
    #[serde(default)]
    pub ports: Vec<PortRef>,
    /// The site's WAN links.
    #[serde(default)]
    pub wan_links: Vec<WanRef>,
    /// When the client's wired attachment (its access port) was last reported, epoch ms; it can
    /// be older than the leg's window (an attachment holds until the client leaves).
    #[serde(default)]
    pub attached_at: Option<i64>,
}

/// The usual value of a metric for an entity, from the processor's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// Kind of entity.
    pub entity_kind: EntityKind,
    /// Entity id (as in [`callsight_model::types::Evidence::entity_id`]).
    pub entity_id: String,
    /// Metric (a feature name).
    pub metric: String,
    /// Usual value.
    pub value: f64,
}

/// What the network was doing around one leg.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StateView {
    /// How the client was matched.
    #[serde(default)]
    pub client_match: MatchMethod,
    /// The entities on the leg's path.
    #[serde(default)]
    pub path: Path,
    /// Every observation of those entities around the leg, in any order.
    #[serde(default)]
    pub samples: Vec<NetworkSample>,
    /// Usual values of metrics for those entities.
    #[serde(default)]
    pub baselines: Vec<Baseline>,
    /// The windows were not complete when the leg was evaluated.
    #[serde(default)]
    pub partial: bool,
    /// What the processor looked for and could not find, in words.
    #[serde(default)]
    pub missing: Vec<String>,
}

impl StateView {
    /// The baseline of `metric` for an entity, if any.
    pub fn baseline(&self, kind: EntityKind, entity_id: &str, metric: &str) -> Option<f64> {
        self.baselines
            .iter()
            .find(|b| b.entity_kind == kind && b.entity_id == entity_id && b.metric == metric)
            .map(|b| b.value)
    }
}
