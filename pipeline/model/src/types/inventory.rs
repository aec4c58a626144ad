//! `callsight.InventoryRecord`: the latest description of one network entity.

use super::common::WifiBand;
use serde::{Deserialize, Serialize};

/// An LLDP neighbour as seen on a port (`callsight.LldpNeighbor`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct LldpNeighbor {
    /// Neighbour chassis MAC.
    pub chassis_mac: Option<String>,
    /// Neighbour system name.
    pub system_name: Option<String>,
    /// Neighbour port.
    pub port_id: Option<String>,
}

/// A site (`callsight.SiteInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SiteInfo {
    /// Site name.
    pub name: String,
    /// IANA time zone.
    pub timezone: Option<String>,
    /// ISO 3166 country code.
    pub country_code: Option<String>,
}

/// One radio of an AP and the BSSIDs it serves (`callsight.RadioInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RadioInfo {
    /// Band.
    #[serde(default)]
    pub band: WifiBand,
    /// Radio base MAC.
    pub radio_mac: String,
    /// BSSIDs served.
    #[serde(default)]
    pub bssids: Vec<String>,
}

/// An access point (`callsight.AccessPointInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct AccessPointInfo {
    /// AP MAC.
    pub ap_mac: String,
    /// Name.
    pub name: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Radios.
    #[serde(default)]
    pub radios: Vec<RadioInfo>,
    /// The switch port the AP is cabled to.
    pub uplink: Option<LldpNeighbor>,
}

/// One port of a switch (`callsight.PortInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PortInfo {
    /// Port, e.g. ge-0/0/1.
    pub port_id: String,
    /// Speed, Mbit/s.
    pub speed_mbps: Option<i32>,
    /// Leads towards the gateway or core.
    #[serde(default)]
    pub uplink: bool,
    /// LLDP neighbour.
    pub neighbor: Option<LldpNeighbor>,
}

/// A switch and its ports (`callsight.SwitchInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SwitchInfo {
    /// Switch MAC.
    pub switch_mac: String,
    /// Name.
    pub name: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Ports.
    #[serde(default)]
    pub ports: Vec<PortInfo>,
}

/// A WAN edge gateway (`callsight.GatewayInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct GatewayInfo {
    /// Gateway MAC.
    pub gateway_mac: String,
    /// Name.
    pub name: Option<String>,
    /// Model.
    pub model: Option<String>,
}

/// A subnet used at a site (`callsight.SubnetInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SubnetInfo {
    /// CIDR, e.g. 10.20.10.0/24.
    pub cidr: String,
    /// VLAN.
    pub vlan_id: Option<i32>,
    /// Network name.
    pub name: Option<String>,
}

/// A WAN link of a site's gateway (`callsight.WanLinkInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct WanLinkInfo {
    /// Gateway MAC.
    pub gateway_mac: String,
    /// WAN interface.
    pub port_id: String,
    /// WAN link name.
    pub wan_name: Option<String>,
    /// Internet service provider.
    pub isp: Option<String>,
    /// Public address.
    pub public_ip: Option<String>,
    /// Contracted downstream capacity, bit/s.
    pub capacity_down_bps: Option<i64>,
    /// Contracted upstream capacity, bit/s.
    pub capacity_up_bps: Option<i64>,
}

/// The entity an [`InventoryRecord`] describes (the Avro union, in schema order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
pub enum InventoryBody {
    /// A site.
    Site(SiteInfo),
    /// An access point.
    AccessPoint(AccessPointInfo),
    /// A switch.
    Switch(SwitchInfo),
    /// A gateway.
    Gateway(GatewayInfo),
    /// A subnet.
    Subnet(SubnetInfo),
    /// A WAN link.
    WanLink(WanLinkInfo),
}

/// The latest description of one network entity (topic `net.inventory`, compacted, key entity id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct InventoryRecord {
    /// Organization.
    pub org_id: String,
    /// Site.
    pub site_id: String,
    /// Entity id, also the record key.
    pub entity_id: String,
    /// When the source last described the entity, epoch ms.
    pub updated_at: i64,
    /// Producer.
    pub source: String,
    /// The entity.
    pub body: InventoryBody,
}
