//! Where each asset and address sits: its zone (from the site file) and its
//! Purdue level, and how that was decided.

use otposture_inventory::{Asset, Inventory, Role};
use otposture_site::{Site, Zone};
use serde::Serialize;
use std::net::IpAddr;

type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// How a place was decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "by", content = "detail")]
pub enum Placement {
    /// The zone lists the asset by id.
    Listed,
    /// One of its addresses is in the zone's block.
    Cidr(String),
    /// It was seen on the zone's VLAN.
    Vlan(u16),
    /// No zone holds it; the level is its role's.
    Role(String),
    /// A globally routable address no zone holds: the internet.
    Internet,
    /// No zone holds it and nothing gives it a level.
    Unplaced,
}

/// A zone and a level.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Place {
    /// The zone's name, when a zone holds it.
    pub zone: Option<String>,
    /// Purdue level: the zone's, else the role's (5 for the internet).
    pub level: Option<u8>,
    /// In a DMZ zone.
    pub dmz: bool,
    /// Outside the plant: an external zone or the internet.
    pub external: bool,
    /// How it was decided.
    pub by: Placement,
}

impl Place {
    fn unplaced() -> Place {
        Place { zone: None, level: None, dmz: false, external: false, by: Placement::Unplaced }
    }
}

/// Places of every asset and of the addresses edges reach.
#[derive(Debug)]
pub struct Placing<'a> {
    site: Option<&'a Site>,
    assets: HashMap<&'a str, (Place, Role, Option<IpAddr>)>,
    /// (network, address) -> the asset holding it; `""` the unnamed network.
    by_ip: HashMap<(&'a str, IpAddr), &'a str>,
}

/// The address of an `ip-<address>[-vlan<N>][@<network>]` endpoint id (an
/// address no asset holds); `None` for an asset id.
pub fn ip_of_id(id: &str) -> Option<IpAddr> {
    otposture_inventory::parse_address_id(id).map(|(ip, _)| ip)
}

/// Whether an address is routed on the internet (not private, shared,
/// loopback, link-local, multicast, documentation or reserved).
pub fn is_global(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64.0.0/10, carrier-grade NAT
                || (o[0] == 192 && o[1] == 0 && o[2] == 0) // 192.0.0.0/24, protocol assignments
                || (o[0] == 198 && (o[1] & 0xfe) == 18) // 198.18.0.0/15, benchmarking
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] == 0x2001 && s[1] == 0x0db8)) // documentation
                && v6.to_ipv4_mapped().is_none_or(|v4| is_global(IpAddr::V4(v4)))
        }
    }
}

impl<'a> Placing<'a> {
    /// Places every asset of the inventory.
    pub fn new(site: Option<&'a Site>, inventory: &'a Inventory) -> Self {
        let mut assets = HashMap::default();
        let mut by_ip = HashMap::default();
        for asset in &inventory.assets {
            assets.insert(asset.id.as_str(), (place_asset(site, asset), asset.role.role, asset.ips.first().copied()));
            for network in &asset.networks {
                for ip in &asset.ips {
                    by_ip.entry((network.as_str(), *ip)).or_insert(asset.id.as_str());
                }
            }
        }
        Placing { site, assets, by_ip }
    }

    /// The site file in force.
    pub fn site(&self) -> Option<&'a Site> {
        self.site
    }

    /// The place of an edge endpoint: an asset id or `ip-<address>`.
    pub fn of(&self, id: &str) -> Place {
        if let Some((place, _, _)) = self.assets.get(id) {
            return place.clone();
        }
        match otposture_inventory::parse_address_id(id) {
            Some((ip, network)) => place_ip(self.site, ip, network),
            None => Place::unplaced(),
        }
    }

    /// The role of an asset (`Unknown` for addresses no asset holds).
    pub fn role(&self, id: &str) -> Role {
        self.assets.get(id).map_or(Role::Unknown, |(_, r, _)| *r)
    }

    /// How people name an endpoint: an asset's first address, else its id
    /// (`ip-10.0.0.1` reads `10.0.0.1`, `ip-10.0.0.1@plant-a` `10.0.0.1@plant-a`).
    pub fn label(&self, id: &str) -> String {
        match self.assets.get(id) {
            Some((_, _, Some(ip))) => ip.to_string(),
            _ => id.strip_prefix("ip-").unwrap_or(id).to_string(),
        }
    }

    /// The asset holding an address in a network (`None`: the unnamed one),
    /// else the address's id (`ip-<address>[@<network>]`).
    pub fn id_of_ip(&self, network: Option<&str>, ip: IpAddr) -> String {
        self.by_ip
            .get(&(network.unwrap_or_default(), ip))
            .map_or_else(|| otposture_inventory::address_id(ip, None, network), |id| (*id).to_string())
    }
}

/// The zone that holds an address no asset holds, in its network (`None`:
/// the unnamed one): the most specific block holding it.
pub fn zone_of_address<'s>(site: &'s Site, ip: IpAddr, network: Option<&str>) -> Option<(&'s Zone, Placement)> {
    site.zone_of_ip_in(ip, network.as_slice()).map(|(zone, net)| (zone, Placement::Cidr(net.to_string())))
}

fn place_ip(site: Option<&Site>, ip: IpAddr, network: Option<&str>) -> Place {
    if let Some((zone, by)) = site.and_then(|s| zone_of_address(s, ip, network)) {
        return Place {
            zone: Some(zone.name.clone()),
            level: Some(zone.level),
            dmz: zone.dmz,
            external: zone.external,
            by,
        };
    }
    if is_global(ip) {
        return Place { zone: None, level: Some(5), dmz: false, external: true, by: Placement::Internet };
    }
    Place::unplaced()
}

/// The zone that holds an asset seen in `networks` (by name, `""` the
/// unnamed one), and how: listed by id, else the most specific block holding
/// one of its addresses, else one of its VLANs; blocks and VLANs of a zone with
/// a `network` count only for an asset seen in that network.
pub fn zone_for<'s>(
    site: &'s Site,
    id: &str,
    networks: &[String],
    ips: &[IpAddr],
    vlans: &[u16],
) -> Option<(&'s Zone, Placement)> {
    if let Some(zone) = site.zone_listing(id) {
        return Some((zone, Placement::Listed));
    }
    let best = ips
        .iter()
        .filter_map(|ip| site.zone_of_ip_in(*ip, networks))
        .max_by_key(|(z, n)| (n.prefix_len(), z.network.is_some()));
    if let Some((zone, net)) = best {
        return Some((zone, Placement::Cidr(net.to_string())));
    }
    vlans.iter().find_map(|v| site.zone_of_vlan_in(*v, networks).map(|z| (z, Placement::Vlan(*v))))
}

fn place_asset(site: Option<&Site>, asset: &Asset) -> Place {
    let zone = site.and_then(|s| zone_for(s, &asset.id, &asset.networks, &asset.ips, &asset.vlans));
    if let Some((zone, by)) = zone {
        return Place {
            zone: Some(zone.name.clone()),
            level: Some(zone.level),
            dmz: zone.dmz,
            external: zone.external,
            by,
        };
    }
    // Not in a zone: an asset whose every address is global is on the internet
    // side (a capture of a public address space); otherwise its role's level.
    if !asset.ips.is_empty() && asset.ips.iter().all(|ip| is_global(*ip)) && asset.role.level.is_none_or(|l| l >= 4) {
        return Place { zone: None, level: Some(5), dmz: false, external: true, by: Placement::Internet };
    }
    match asset.role.level {
        Some(level) => Place {
            zone: None,
            level: Some(level),
            dmz: false,
            external: false,
            by: Placement::Role(asset.role.role.name().to_string()),
        },
        None => Place::unplaced(),
    }
}
