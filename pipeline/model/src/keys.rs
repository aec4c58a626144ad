//! The shared vocabulary of keys and entity ids: one function per spelling, so that every stage
//! that builds or reads one agrees. The join of call legs with network telemetry is only correct
//! while the producers of `calls.legs` and `net.telemetry` write byte-identical keys, and the
//! windows, evidence, scope and inventory look entities up by the ids written here.
//!
//! | what | spelling | written by |
//! |---|---|---|
//! | co-partitioning key (`calls.legs`, `net.telemetry`) | `org|site` ([`site_key`]) | ingest, fetch, processor |
//! | a leg off every known site | `org|external` ([`leg_key`]) | fetch |
//! | `teams.notifications` key | `tenant|call` ([`notification_key`]) | ingest |
//! | `rca.verdicts` key | `org|call|leg` ([`verdict_key`]) | processor |
//! | `rca.alerts` key | `org|kind:entity` ([`alert_key`]) | processor |
//! | switch port | `switch_mac/port_id` ([`port_id`]) | telemetry, processor, engine |
//! | gateway WAN link | `gateway_mac/wan_port_id` ([`wan_link_id`]) | telemetry, processor, engine |
//! | AP radio window | `ap_mac/band_5ghz` ([`radio_id`]) | processor, engine |
//! | a site's events window | `org|site` ([`site_key`]) | processor |
//! | `net.inventory` keys | `site:…`, `ap:…`, `switch:…`, `gateway:…`, `subnet:org/site/cidr`, `wan:gw/port` ([`inventory`]) | telemetry, inventory |
//!
//! The symbols of bands and entity kinds are the schema's ([`WifiBand::symbol`],
//! [`EntityKind::symbol`]); events name a band as Mist does ([`WifiBand::event_label`]). A test
//! pins every spelling here.

use crate::types::{EntityKind, WifiBand};

/// The site part of the key of a leg that is off every known site.
pub const EXTERNAL_SITE: &str = "external";

/// The co-partitioning key of `calls.legs` and `net.telemetry`, and the entity of a site's event
/// window: `org|site`.
pub fn site_key(org: &str, site: &str) -> String {
    format!("{org}|{site}")
}

/// The entity of a window of `org`: the org's length in bytes, the org, then the id, so that no
/// two (org, id) pairs share a key. Windows of two orgs never mix, even where they reuse the same
/// private IPs or client MACs on one partition.
pub fn org_entity(org: &str, id: &str) -> String {
    format!("{}:{org}/{id}", org.len())
}

/// A leg's key on `calls.legs`: `org|site`, or `org|external` off every known site.
pub fn leg_key(org: &str, site: Option<&str>) -> String {
    site_key(org, site.unwrap_or(EXTERNAL_SITE))
}

/// A notification's key on `teams.notifications`: `tenant|call` (`tenant|` for lifecycle
/// notifications, which name no call).
pub fn notification_key(tenant: &str, call: Option<&str>) -> String {
    format!("{tenant}|{}", call.unwrap_or_default())
}

/// A verdict's key on `rca.verdicts` (compacted: the latest verdict per leg): `org|call|leg`.
pub fn verdict_key(org: &str, call: &str, leg: &str) -> String {
    format!("{org}|{call}|{leg}")
}

/// A scope alert's key on `rca.alerts`: `org|kind:entity`.
pub fn alert_key(org: &str, kind: EntityKind, entity: &str) -> String {
    format!("{org}|{}:{entity}", kind.symbol())
}

/// A switch port's entity id in windows, evidence, events and scope: `switch_mac/port_id`.
pub fn port_id(switch_mac: &str, port: &str) -> String {
    format!("{switch_mac}/{port}")
}

/// A gateway WAN link's entity id: `gateway_mac/wan_port_id`.
pub fn wan_link_id(gateway_mac: &str, port: &str) -> String {
    format!("{gateway_mac}/{port}")
}

/// An AP radio's entity id when only the AP and the band are known: `ap_mac/band_5ghz` (the
/// radio window's entity; evidence uses the radio's own MAC where the inventory knows it).
pub fn radio_id(ap_mac: &str, band: WifiBand) -> String {
    format!("{ap_mac}/{}", band.symbol())
}

/// Keys of `net.inventory` (compacted, one record per entity).
pub mod inventory {
    /// A site: `site:{site}`.
    pub fn site(site: &str) -> String {
        format!("site:{site}")
    }

    /// An access point: `ap:{mac}`.
    pub fn ap(ap_mac: &str) -> String {
        format!("ap:{ap_mac}")
    }

    /// A switch: `switch:{mac}`.
    pub fn switch(switch_mac: &str) -> String {
        format!("switch:{switch_mac}")
    }

    /// A WAN edge gateway: `gateway:{mac}`.
    pub fn gateway(gateway_mac: &str) -> String {
        format!("gateway:{gateway_mac}")
    }

    /// A subnet of a site: `subnet:{org}/{site}/{cidr}`.
    pub fn subnet(org: &str, site: &str, cidr: &str) -> String {
        format!("subnet:{org}/{site}/{cidr}")
    }

    /// A gateway's WAN link: `wan:{gateway}/{port}`.
    pub fn wan_link(gateway_mac: &str, port: &str) -> String {
        format!("wan:{}", super::wan_link_id(gateway_mac, port))
    }
}

impl WifiBand {
    /// The schema symbol (`band_5ghz`), as entity ids and labels write it.
    pub const fn symbol(self) -> &'static str {
        match self {
            WifiBand::Unknown => "unknown",
            WifiBand::Band2_4Ghz => "band_2_4ghz",
            WifiBand::Band5Ghz => "band_5ghz",
            WifiBand::Band6Ghz => "band_6ghz",
            WifiBand::Band60Ghz => "band_60ghz",
        }
    }

    /// The band as network events carry it in their `band` attribute (Mist's spelling: `24`,
    /// `5`, `6`); `None` for a band no event names.
    pub const fn event_label(self) -> Option<&'static str> {
        match self {
            WifiBand::Band2_4Ghz => Some("24"),
            WifiBand::Band5Ghz => Some("5"),
            WifiBand::Band6Ghz => Some("6"),
            WifiBand::Band60Ghz | WifiBand::Unknown => None,
        }
    }
}

impl EntityKind {
    /// The schema symbol (`ap_radio`), as keys, alert ids and metric labels write it.
    pub const fn symbol(self) -> &'static str {
        match self {
            EntityKind::Unknown => "unknown",
            EntityKind::Client => "client",
            EntityKind::ApRadio => "ap_radio",
            EntityKind::Ap => "ap",
            EntityKind::SwitchPort => "switch_port",
            EntityKind::Switch => "switch",
            EntityKind::Gateway => "gateway",
            EntityKind::WanLink => "wan_link",
            EntityKind::WanPath => "wan_path",
            EntityKind::Site => "site",
            EntityKind::Isp => "isp",
            EntityKind::Participant => "participant",
        }
    }

    /// Every kind, in schema order.
    pub const ALL: [EntityKind; 12] = [
        EntityKind::Unknown,
        EntityKind::Client,
        EntityKind::ApRadio,
        EntityKind::Ap,
        EntityKind::SwitchPort,
        EntityKind::Switch,
        EntityKind::Gateway,
        EntityKind::WanLink,
        EntityKind::WanPath,
        EntityKind::Site,
        EntityKind::Isp,
        EntityKind::Participant,
    ];
}

impl WifiBand {
    /// Every band, in schema order.
    pub const ALL: [WifiBand; 5] = [
        WifiBand::Unknown,
        WifiBand::Band2_4Ghz,
        WifiBand::Band5Ghz,
        WifiBand::Band6Ghz,
        WifiBand::Band60Ghz,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spellings are part of the wire format (Kafka keys, stored window keys, inventory
    /// keys): changing one splits the join or the compacted tables.
    #[test]
    fn the_spellings_are_pinned() {
        assert_eq!(site_key("org-1", "site-a"), "org-1|site-a");
        assert_eq!(org_entity("org-1", "10.0.0.9"), "5:org-1/10.0.0.9");
        assert_ne!(org_entity("a/1", "2"), org_entity("a", "1/2"));
        assert_eq!(leg_key("org-1", Some("site-a")), "org-1|site-a");
        assert_eq!(leg_key("org-1", None), "org-1|external");
        assert_eq!(notification_key("t", Some("c")), "t|c");
        assert_eq!(notification_key("t", None), "t|");
        assert_eq!(verdict_key("o", "c", "c/p/s/caller"), "o|c|c/p/s/caller");
        assert_eq!(
            alert_key("o", EntityKind::SwitchPort, "0c8126c7a100/ge-0/0/1"),
            "o|switch_port:0c8126c7a100/ge-0/0/1"
        );
        assert_eq!(port_id("0c8126c7a100", "ge-0/0/1"), "0c8126c7a100/ge-0/0/1");
        assert_eq!(
            wan_link_id("4c96147e2b00", "ge-0/0/7"),
            "4c96147e2b00/ge-0/0/7"
        );
        assert_eq!(
            radio_id("5c5b35a1c020", WifiBand::Band5Ghz),
            "5c5b35a1c020/band_5ghz"
        );
        assert_eq!(inventory::site("s"), "site:s");
        assert_eq!(inventory::ap("a"), "ap:a");
        assert_eq!(inventory::switch("w"), "switch:w");
        assert_eq!(inventory::gateway("g"), "gateway:g");
        assert_eq!(
            inventory::subnet("o", "s", "10.0.0.0/8"),
            "subnet:o/s/10.0.0.0/8"
        );
        assert_eq!(inventory::wan_link("g", "ge-0/0/7"), "wan:g/ge-0/0/7");
        assert_eq!(WifiBand::Band2_4Ghz.event_label(), Some("24"));
        assert_eq!(WifiBand::Band5Ghz.event_label(), Some("5"));
        assert_eq!(WifiBand::Band6Ghz.event_label(), Some("6"));
    }

    #[test]
    fn symbols_are_the_schema_symbols() {
        for kind in EntityKind::ALL {
            assert_eq!(serde_json::to_value(kind).ok(), Some(kind.symbol().into()));
        }
        for band in WifiBand::ALL {
            assert_eq!(serde_json::to_value(band).ok(), Some(band.symbol().into()));
        }
    }
}
