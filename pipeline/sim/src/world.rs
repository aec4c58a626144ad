//! The simulated organisation: sites with APs and their radios, access switches cabled to the
//! APs and desks with uplinks to a gateway, WAN links to two ISPs, subnets, and the people who
//! make calls (Wi-Fi laptops, some with randomized MACs, wired desks, VPN users and external
//! participants at home).

use rand::RngExt;
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};

/// How big the simulated organisation is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorldConfig {
    /// Sites (the first is headquarters, where the VPN concentrator is).
    pub sites: usize,
    /// Access points per site (each has a 2.4 GHz and a 5 GHz radio).
    pub aps_per_site: usize,
    /// Wi-Fi laptops per site.
    pub wifi_clients_per_site: usize,
    /// Wired desks per site.
    pub wired_clients_per_site: usize,
    /// Users working from home over the VPN (their address is in headquarters' VPN pool).
    pub vpn_users: usize,
    /// Participants outside the organisation's network (home, guests).
    pub external_users: usize,
    /// Share of Wi-Fi laptops that only do 2.4 GHz (old adapters): always on the 2.4 GHz radio.
    pub legacy_2_4ghz_share: f64,
    /// The last site is a dense office whose radios are always busy (utilisation 0.6–0.8):
    /// callsight must judge it against its own baseline.
    pub busy_last_site: bool,
}

impl Default for WorldConfig {
    fn default() -> Self {
        WorldConfig {
            sites: 3,
            aps_per_site: 6,
            wifi_clients_per_site: 24,
            wired_clients_per_site: 8,
            vpn_users: 4,
            external_users: 6,
            legacy_2_4ghz_share: 0.1,
            busy_last_site: true,
        }
    }
}

impl WorldConfig {
    /// A second world, of another shape than the default one, for checking accuracy on data
    /// the thresholds were not chosen on: six small branches (three APs each, more desks than
    /// the headquarters' floors, a fifth of the laptops on 2.4 GHz only), more people over the
    /// VPN and outside, and no dense office.
    pub fn branches() -> Self {
        WorldConfig {
            sites: 6,
            aps_per_site: 3,
            wifi_clients_per_site: 15,
            wired_clients_per_site: 12,
            vpn_users: 9,
            external_users: 12,
            legacy_2_4ghz_share: 0.2,
            busy_last_site: false,
        }
    }
}

/// Where a person connects from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attachment {
    /// A Wi-Fi client whose usual AP is `ap` (index in the site's APs).
    Wifi {
        /// Site index.
        site: usize,
        /// AP index in the site.
        ap: usize,
    },
    /// A wired desk on `port` of access switch `switch`.
    Wired {
        /// Site index.
        site: usize,
        /// Switch index in the site.
        switch: usize,
        /// Port id on that switch.
        port: String,
    },
    /// At home, tunnelled into headquarters (site 0).
    Vpn,
    /// Outside the organisation's network.
    External,
}

/// A person who makes calls, with their laptop or desk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Client {
    /// Index in `World::clients`.
    pub index: usize,
    /// Entra object id.
    pub user_id: String,
    /// User principal name.
    pub upn: String,
    /// Display name.
    pub display_name: String,
    /// Device name.
    pub device: String,
    /// MAC address (12 lowercase hex digits); `None` off the organisation's network.
    pub mac: Option<String>,
    /// Whether the MAC is randomized (locally administered).
    pub random_mac: bool,
    /// Whether Teams reports the MAC to Graph (some clients send none or a placeholder, and
    /// callsight must then join by IP).
    pub mac_in_graph: bool,
    /// IPv4 address.
    pub ip: String,
    /// Where it connects.
    pub attachment: Attachment,
    /// A Wi-Fi laptop that only does 2.4 GHz.
    pub legacy_2_4ghz: bool,
}

impl Client {
    /// The site the client is at, if on site.
    pub fn site(&self) -> Option<usize> {
        match &self.attachment {
            Attachment::Wifi { site, .. } | Attachment::Wired { site, .. } => Some(*site),
            Attachment::Vpn => Some(0),
            Attachment::External => None,
        }
    }
}

/// One radio of an AP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Radio {
    /// Radio MAC; its BSSIDs are this MAC plus 1..15.
    pub mac: String,
    /// `band_2_4ghz` or `band_5ghz`.
    pub band: String,
    /// Channel.
    pub channel: u32,
}

impl Radio {
    /// The BSSID of the corporate SSID on this radio.
    pub fn bssid(&self) -> String {
        mac_plus(&self.mac, 1)
    }
}

/// An access point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ap {
    /// AP MAC.
    pub mac: String,
    /// Name.
    pub name: String,
    /// 2.4 GHz radio then 5 GHz radio.
    pub radios: [Radio; 2],
    /// Access switch it is cabled to (index in the site's switches).
    pub switch: usize,
    /// Port on that switch.
    pub port: String,
}

/// An access switch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Switch {
    /// Switch MAC.
    pub mac: String,
    /// Name.
    pub name: String,
    /// Access ports in use (AP and desk ports).
    pub access_ports: Vec<String>,
    /// Uplink port towards the gateway.
    pub uplink: String,
}

/// A WAN link of the site's gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WanLink {
    /// Gateway port.
    pub port: String,
    /// ISP.
    pub isp: String,
    /// Contracted capacity, bits per second (both ways).
    pub capacity_bps: u64,
    /// The backup link (standby unless the primary fails).
    pub backup: bool,
}

/// A site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Site {
    /// Site id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Second octet of the site's addresses.
    pub octet: usize,
    /// Access points.
    pub aps: Vec<Ap>,
    /// Access switches.
    pub switches: Vec<Switch>,
    /// Gateway MAC.
    pub gateway: String,
    /// WAN links (primary first).
    pub wan_links: Vec<WanLink>,
    /// Radios always busy (a dense office).
    pub busy: bool,
}

impl Site {
    /// The Wi-Fi subnet.
    pub fn wifi_subnet(&self) -> String {
        format!("10.{}.16.0/22", self.octet)
    }

    /// The wired subnet.
    pub fn wired_subnet(&self) -> String {
        format!("10.{}.32.0/24", self.octet)
    }
}

/// The simulated organisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct World {
    /// Mist-style org id, as linked to the tenant.
    pub org_id: String,
    /// The Microsoft 365 tenant.
    pub tenant_id: String,
    /// Sites.
    pub sites: Vec<Site>,
    /// People.
    pub clients: Vec<Client>,
}

/// Headquarters' VPN address pool.
pub const VPN_POOL: &str = "10.1.200.0/24";

const CITIES: [&str; 8] = [
    "Zurich", "Lisbon", "Oslo", "Austin", "Osaka", "Dublin", "Nairobi", "Lima",
];

/// `mac` (12 hex digits) plus `n` on its last octet.
pub fn mac_plus(mac: &str, n: u8) -> String {
    let last = u8::from_str_radix(&mac[10..12], 16).unwrap_or(0);
    format!("{}{:02x}", &mac[..10], last.wrapping_add(n))
}

/// A version-4-shaped GUID from the generator.
pub fn guid(rng: &mut Pcg64Mcg) -> String {
    let a: u128 = rng.random();
    let hex = format!("{a:032x}");
    format!(
        "{}-{}-4{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

impl World {
    /// Builds the organisation for `config` from the generator.
    pub fn build(config: &WorldConfig, rng: &mut Pcg64Mcg) -> World {
        let org_id = guid(rng);
        let tenant_id = guid(rng);
        let mut sites = Vec::new();
        let mut clients = Vec::new();
        for s in 0..config.sites.max(1) {
            let octet = s + 1;
            let switches_n = 2;
            let mut switches: Vec<Switch> = (0..switches_n)
                .map(|w| Switch {
                    mac: format!("0c8126{octet:02x}{w:02x}00"),
                    name: format!("{}-ACC-{}", code(s), w + 1),
                    access_ports: Vec::new(),
                    uplink: "ge-0/0/47".into(),
                })
                .collect();
            let mut aps = Vec::new();
            for a in 0..config.aps_per_site.max(1) {
                let base = format!("5c5b35{octet:02x}{a:02x}");
                let switch = a % switches_n;
                let port = format!("ge-0/0/{}", switches[switch].access_ports.len());
                switches[switch].access_ports.push(port.clone());
                aps.push(Ap {
                    mac: format!("{base}00"),
                    name: format!("{}-AP-{}", code(s), a + 1),
                    radios: [
                        Radio {
                            mac: format!("{base}10"),
                            band: "band_2_4ghz".into(),
                            channel: [1, 6, 11][a % 3],
                        },
                        Radio {
                            mac: format!("{base}20"),
                            band: "band_5ghz".into(),
                            channel: [36, 52, 100, 116, 132, 149][a % 6],
                        },
                    ],
                    switch,
                    port,
                });
            }
            let site = Site {
                id: format!("site-{}", CITIES[s % CITIES.len()].to_lowercase()),
                name: CITIES[s % CITIES.len()].to_string(),
                octet,
                aps,
                switches,
                gateway: format!("4c9614{octet:02x}0000"),
                wan_links: vec![
                    WanLink {
                        port: "ge-0/0/0".into(),
                        isp: "Example Fiber".into(),
                        capacity_bps: 200_000_000,
                        backup: false,
                    },
                    WanLink {
                        port: "ge-0/0/1".into(),
                        isp: "Example Cable".into(),
                        capacity_bps: 100_000_000,
                        backup: true,
                    },
                ],
                busy: config.busy_last_site && config.sites > 1 && s + 1 == config.sites.max(1),
            };
            sites.push(site);
            for c in 0..config.wifi_clients_per_site {
                let random_mac = rng.random_bool(0.2);
                let mac = if random_mac {
                    // Locally administered: the second hex digit is 2, 6, a or e.
                    format!(
                        "da{:02x}{:02x}{:06x}",
                        octet,
                        c,
                        rng.random::<u32>() & 0xff_ffff
                    )
                } else {
                    format!("a4c3f0{octet:02x}{c:02x}{:02x}", rng.random::<u8>())
                };
                let ap = c % config.aps_per_site.max(1);
                let index = clients.len();
                let mut client = person(
                    rng,
                    index,
                    Some(mac),
                    random_mac,
                    format!("10.{octet}.{}.{}", 16 + c / 200, 10 + c % 200),
                    Attachment::Wifi { site: s, ap },
                );
                client.legacy_2_4ghz = rng.random_bool(config.legacy_2_4ghz_share.clamp(0.0, 1.0));
                clients.push(client);
            }
            for c in 0..config.wired_clients_per_site {
                let switch = c % switches_n;
                let sw = &mut sites[s].switches[switch];
                let port = format!("ge-0/0/{}", sw.access_ports.len());
                sw.access_ports.push(port.clone());
                let index = clients.len();
                clients.push(person(
                    rng,
                    index,
                    Some(format!("0050b6{octet:02x}{c:02x}01")),
                    false,
                    format!("10.{octet}.32.{}", 10 + c),
                    Attachment::Wired {
                        site: s,
                        switch,
                        port,
                    },
                ));
            }
        }
        // People off every site: at home over the VPN (an address in headquarters' pool), or
        // outside the organisation's network.
        let remote = [
            (config.vpn_users, "10.1.200", Attachment::Vpn),
            (config.external_users, "198.51.100", Attachment::External),
        ];
        for (count, prefix, attachment) in remote {
            for n in 0..count {
                let index = clients.len();
                let ip = format!("{prefix}.{}", 10 + n);
                clients.push(person(rng, index, None, false, ip, attachment.clone()));
            }
        }
        World {
            org_id,
            tenant_id,
            sites,
            clients,
        }
    }

    /// The clients at `site` attached to AP `ap` (their usual AP).
    pub fn clients_of_ap(&self, site: usize, ap: usize) -> Vec<usize> {
        self.clients
            .iter()
            .filter(|c| c.attachment == Attachment::Wifi { site, ap })
            .map(|c| c.index)
            .collect()
    }
}

fn code(site: usize) -> String {
    CITIES[site % CITIES.len()][..3].to_uppercase()
}

fn person(
    rng: &mut Pcg64Mcg,
    index: usize,
    mac: Option<String>,
    random_mac: bool,
    ip: String,
    attachment: Attachment,
) -> Client {
    let n = index + 1;
    Client {
        index,
        user_id: guid(rng),
        upn: format!("user{n:03}@contoso.example"),
        display_name: format!("User {n:03}"),
        device: match attachment {
            Attachment::Wired { .. } => format!("DT-{n:03}"),
            _ => format!("LT-{n:03}"),
        },
        mac_in_graph: mac.is_some() && !rng.random_bool(0.15),
        mac,
        random_mac,
        ip,
        attachment,
        legacy_2_4ghz: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn a_seed_gives_one_world() {
        let config = WorldConfig::default();
        let a = World::build(&config, &mut Pcg64Mcg::seed_from_u64(7));
        let b = World::build(&config, &mut Pcg64Mcg::seed_from_u64(7));
        let c = World::build(&config, &mut Pcg64Mcg::seed_from_u64(8));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.sites.len(), 3);
        let per_site = config.wifi_clients_per_site + config.wired_clients_per_site;
        assert_eq!(
            a.clients.len(),
            3 * per_site + config.vpn_users + config.external_users
        );
        // Every MAC and IP is distinct.
        let macs: std::collections::BTreeSet<_> =
            a.clients.iter().filter_map(|c| c.mac.clone()).collect();
        let ips: std::collections::BTreeSet<_> = a.clients.iter().map(|c| &c.ip).collect();
        assert_eq!(macs.len(), 3 * per_site);
        assert_eq!(ips.len(), a.clients.len());
        assert!(a.clients.iter().any(|c| c.random_mac));
        assert!(a.clients.iter().any(|c| c.mac.is_some() && !c.mac_in_graph));
    }
}
