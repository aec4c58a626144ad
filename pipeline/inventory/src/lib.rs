//! The network inventory (`net.inventory`, compacted) as an in-memory lookup table.
//!
//! Apply every [`InventoryRecord`] (the latest per entity wins; a newer `updated_at` replaces an
//! older one) and ask: which site, AP and radio serve a BSSID; which site a client IP belongs to
//! (the longest matching subnet of the org); which switch port an AP is cabled to; which WAN
//! links a site has. A radio serves its base MAC and the 15 addresses above it (Mist's scheme),
//! besides any BSSID listed explicitly.
//!
//! Layout: one module, the [`Inventory`] and its indexes; records are keyed as
//! `callsight_model::keys::inventory` spells them.

use callsight_model::types::{InventoryBody, InventoryRecord, LldpNeighbor, WanLinkInfo, WifiBand};
use callsight_model::{keys, mac};
use ipnet::IpNet;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

/// Where a BSSID is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RadioLocation {
    /// Site.
    pub site_id: String,
    /// AP.
    pub ap_mac: String,
    /// AP name, when known.
    pub ap_name: Option<String>,
    /// The radio's base MAC.
    pub radio_mac: String,
    /// Band.
    pub band: WifiBand,
}

/// One subnet of a site.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Subnet {
    site_id: String,
    network: IpNet,
}

impl Subnet {
    fn parse(site_id: &str, cidr: &str) -> Option<Subnet> {
        let network: IpNet = cidr.split_whitespace().collect::<String>().parse().ok()?;
        Some(Subnet {
            site_id: site_id.to_string(),
            network,
        })
    }
}

/// The inventory of every org.
#[derive(Debug, Default, Clone)]
pub struct Inventory {
    /// Latest record per entity id.
    records: HashMap<String, InventoryRecord>,
    /// BSSID -> where, per org.
    bssids: HashMap<(String, String), RadioLocation>,
    /// Subnets per org.
    subnets: HashMap<String, Vec<Subnet>>,
}

impl Inventory {
    /// An empty inventory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Entities known.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Nothing known.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Applies a record; an older description of an entity than the one held is ignored.
    /// Returns whether it changed the table.
    pub fn apply(&mut self, record: InventoryRecord) -> bool {
        if let Some(held) = self.records.get(&record.entity_id)
            && held.updated_at > record.updated_at
        {
            return false;
        }
        if let Some(old) = self.records.remove(&record.entity_id) {
            self.unindex(&old);
        }
        self.index(&record);
        self.records.insert(record.entity_id.clone(), record);
        true
    }

    /// Applies one record of the compacted `net.inventory` topic, keyed by entity id: a record
    /// is applied, a tombstone (no record) forgets the entity. Returns whether it changed the
    /// table.
    pub fn apply_keyed(&mut self, key: &[u8], record: Option<InventoryRecord>) -> bool {
        match record {
            Some(r) => self.apply(r),
            None if key.is_empty() => false,
            None => self.remove(&String::from_utf8_lossy(key)),
        }
    }

    /// Forgets an entity (a tombstone on the compacted topic).
    pub fn remove(&mut self, entity_id: &str) -> bool {
        match self.records.remove(entity_id) {
            Some(old) => {
                self.unindex(&old);
                true
            }
            None => false,
        }
    }

    /// The BSSIDs a radio serves: its base MAC and the 15 above it, and any listed.
    fn radio_bssids(radio: &callsight_model::types::RadioInfo) -> Vec<String> {
        (0..16)
            .filter_map(|i| mac::offset(&radio.radio_mac, i))
            .chain(radio.bssids.iter().cloned())
            .collect()
    }

    fn index(&mut self, record: &InventoryRecord) {
        match &record.body {
            InventoryBody::AccessPoint(ap) => {
                for radio in &ap.radios {
                    let location = RadioLocation {
                        site_id: record.site_id.clone(),
                        ap_mac: ap.ap_mac.clone(),
                        ap_name: ap.name.clone(),
                        radio_mac: radio.radio_mac.clone(),
                        band: radio.band,
                    };
                    for bssid in Self::radio_bssids(radio) {
                        self.bssids
                            .insert((record.org_id.clone(), bssid), location.clone());
                    }
                }
            }
            InventoryBody::Subnet(subnet) => {
                if let Some(s) = Subnet::parse(&record.site_id, &subnet.cidr) {
                    self.subnets
                        .entry(record.org_id.clone())
                        .or_default()
                        .push(s);
                }
            }
            _ => {}
        }
    }

    fn unindex(&mut self, record: &InventoryRecord) {
        match &record.body {
            InventoryBody::AccessPoint(ap) => {
                for radio in &ap.radios {
                    for bssid in Self::radio_bssids(radio) {
                        let key = (record.org_id.clone(), bssid);
                        // Only if the BSSID still points at this AP (another may have taken it).
                        if self.bssids.get(&key).is_some_and(|l| l.ap_mac == ap.ap_mac) {
                            self.bssids.remove(&key);
                        }
                    }
                }
            }
            InventoryBody::Subnet(subnet) => {
                if let (Some(old), Some(list)) = (
                    Subnet::parse(&record.site_id, &subnet.cidr),
                    self.subnets.get_mut(&record.org_id),
                ) && let Some(position) = list.iter().position(|s| *s == old)
                {
                    list.remove(position);
                }
            }
            _ => {}
        }
    }

    /// The radio serving `bssid` in `org`.
    pub fn radio_of_bssid(&self, org: &str, bssid: &str) -> Option<&RadioLocation> {
        let bssid = mac::normalize(bssid)?;
        self.bssids.get(&(org.to_string(), bssid))
    }

    /// The site whose subnet contains `ip` (the longest prefix wins; of two sites with the same
    /// subnet, the first by id). An org has tens of subnets, so a scan is as fast as a prefix
    /// trie would be and keeps the tie-break plain.
    pub fn site_of_ip(&self, org: &str, ip: &str) -> Option<&str> {
        let ip: IpAddr = ip.trim().parse().ok()?;
        self.subnets
            .get(org)?
            .iter()
            .filter(|s| s.network.contains(&ip))
            .max_by(|a, b| {
                (a.network.prefix_len().cmp(&b.network.prefix_len()))
                    .then(b.site_id.cmp(&a.site_id))
            })
            .map(|s| s.site_id.as_str())
    }

    /// The switch port an AP is cabled to (from its LLDP neighbour).
    pub fn ap_uplink(&self, ap_mac: &str) -> Option<&LldpNeighbor> {
        match &self.records.get(&keys::inventory::ap(ap_mac))?.body {
            InventoryBody::AccessPoint(ap) => ap.uplink.as_ref(),
            _ => None,
        }
    }

    /// The uplink ports (towards the gateway) of a switch.
    pub fn switch_uplinks(&self, switch_mac: &str) -> Vec<String> {
        match self
            .records
            .get(&keys::inventory::switch(switch_mac))
            .map(|r| &r.body)
        {
            Some(InventoryBody::Switch(s)) => s
                .ports
                .iter()
                .filter(|p| p.uplink)
                .map(|p| p.port_id.clone())
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The WAN links of a site, by gateway and port.
    pub fn wan_links(&self, org: &str, site: &str) -> Vec<&WanLinkInfo> {
        let mut links: BTreeMap<(String, String), &WanLinkInfo> = BTreeMap::new();
        for record in self.records.values() {
            if record.org_id == org
                && record.site_id == site
                && let InventoryBody::WanLink(w) = &record.body
            {
                links.insert((w.gateway_mac.clone(), w.port_id.clone()), w);
            }
        }
        links.into_values().collect()
    }

    /// A record by entity id.
    pub fn get(&self, entity_id: &str) -> Option<&InventoryRecord> {
        self.records.get(entity_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use callsight_testkit::samples;

    fn inventory() -> Inventory {
        let mut inventory = Inventory::new();
        for record in samples::inventory_records() {
            inventory.apply(record);
        }
        inventory
    }

    #[test]
    fn bssids_resolve_to_their_radio_and_site() {
        let inventory = inventory();
        let org = &samples::tenant_link().org_id;
        let radio = inventory
            .radio_of_bssid(org, "5C-5B-35-F2-D2-21")
            .expect("a radio");
        assert_eq!(radio.ap_mac, "5c5b35a1c020");
        assert_eq!(radio.band, WifiBand::Band5Ghz);
        // Not listed, but within the radio's 16 addresses.
        assert!(inventory.radio_of_bssid(org, "5c5b35f2d22f").is_some());
        assert!(inventory.radio_of_bssid(org, "5c5b35f2d230").is_none());
        assert!(
            inventory
                .radio_of_bssid("another-org", "5c5b35f2d221")
                .is_none()
        );
    }

    #[test]
    fn ips_resolve_to_the_longest_matching_subnet() {
        let mut inventory = inventory();
        let org = samples::tenant_link().org_id;
        let site = samples::call_leg().site_id.expect("site");
        assert_eq!(
            inventory.site_of_ip(&org, "10.20.10.21"),
            Some(site.as_str())
        );
        assert_eq!(inventory.site_of_ip(&org, "10.99.0.1"), None);
        let mut wide = samples::inventory_records()
            .into_iter()
            .find(|r| r.entity_id.starts_with("subnet:"))
            .expect("subnet");
        wide.entity_id = "subnet:wide".into();
        wide.site_id = "campus".into();
        wide.body = InventoryBody::Subnet(callsight_model::types::SubnetInfo {
            cidr: "10.20.0.0/16".into(),
            vlan_id: None,
            name: None,
        });
        inventory.apply(wide);
        assert_eq!(
            inventory.site_of_ip(&org, "10.20.10.21"),
            Some(site.as_str())
        );
        assert_eq!(inventory.site_of_ip(&org, "10.20.99.1"), Some("campus"));
    }

    #[test]
    fn older_records_do_not_replace_newer_ones() {
        let mut inventory = inventory();
        let mut old = samples::inventory_records().remove(1);
        old.updated_at -= 1;
        old.site_id = "elsewhere".into();
        assert!(!inventory.apply(old));
        assert_eq!(
            inventory.get("ap:5c5b35a1c020").expect("ap").site_id,
            samples::call_leg().site_id.expect("site")
        );
        assert_eq!(
            inventory
                .ap_uplink("5c5b35a1c020")
                .and_then(|n| n.port_id.as_deref()),
            Some("ge-0/0/1")
        );
        assert_eq!(
            inventory.switch_uplinks("0c8126c7a100"),
            vec!["ge-0/0/11".to_string()]
        );
    }
}
