//! Address filters (`10.0.0.0/8`, `fe80::/64`, a single address) and the sortable
//! BLOB form addresses take in the database.
//!
//! Stored keys are a family byte (4 or 6) followed by the address octets, so a
//! CIDR block is one contiguous range of keys (an index range scan) and keys sort
//! numerically with every IPv4 address before every IPv6 address. IPv4-mapped IPv6
//! addresses (`::ffff:a.b.c.d`) are IPv6 here, as in the packet.

use rusqlite::types::{ToSql, ToSqlOutput, ValueRef};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An address block: an address and a prefix length. A plain address is a block
/// of one (`/32` or `/128`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

/// Why a text is not an address block.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IpNetParseError {
    /// The part before the `/` is not an IPv4 or IPv6 address.
    #[error("{text:?} is not an IP address or CIDR block (like 10.0.0.0/8 or fe80::/64)")]
    BadAddress {
        /// The text given.
        text: String,
    },
    /// The prefix length is not a number within the family's width.
    #[error("prefix length in {text:?} must be a number from 0 to {max}")]
    BadPrefix {
        /// The text given.
        text: String,
        /// 32 for IPv4, 128 for IPv6.
        max: u8,
    },
}

impl IpNet {
    /// The block of `prefix` leading bits of `addr`; host bits are cleared, so
    /// `10.1.2.3/8` is `10.0.0.0/8`. Returns `None` when the prefix is longer
    /// than the address.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Self> {
        let addr = match addr {
            IpAddr::V4(v4) if prefix <= 32 => IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask32(prefix))),
            IpAddr::V6(v6) if prefix <= 128 => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask128(prefix))),
            _ => return None,
        };
        Some(IpNet { addr, prefix })
    }

    /// The first address of the block.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length in bits.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// True when `ip` is in the block (never across address families).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => u32::from(ip) & mask32(self.prefix) == u32::from(net),
            (IpAddr::V6(net), IpAddr::V6(ip)) => u128::from(ip) & mask128(self.prefix) == u128::from(net),
            _ => false,
        }
    }

    /// The lowest and highest stored keys in the block, for `key BETWEEN lo AND hi`.
    pub(crate) fn key_range(&self) -> (IpKey, IpKey) {
        let last = match self.addr {
            IpAddr::V4(net) => IpAddr::V4(Ipv4Addr::from(u32::from(net) | !mask32(self.prefix))),
            IpAddr::V6(net) => IpAddr::V6(Ipv6Addr::from(u128::from(net) | !mask128(self.prefix))),
        };
        (IpKey::new(self.addr), IpKey::new(last))
    }
}

fn mask32(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix.min(32))).unwrap_or(0)
}

fn mask128(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix.min(128))).unwrap_or(0)
}

impl From<IpAddr> for IpNet {
    fn from(addr: IpAddr) -> Self {
        let prefix = if addr.is_ipv4() { 32 } else { 128 };
        IpNet { addr, prefix }
    }
}

impl FromStr for IpNet {
    type Err = IpNetParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (addr_text, prefix_text) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr =
            addr_text.trim().parse().map_err(|_| IpNetParseError::BadAddress { text: text.to_owned() })?;
        let Some(prefix_text) = prefix_text else {
            return Ok(IpNet::from(addr));
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let bad_prefix = || IpNetParseError::BadPrefix { text: text.to_owned(), max };
        let prefix: u8 = prefix_text.trim().parse().map_err(|_| bad_prefix())?;
        IpNet::new(addr, prefix).ok_or_else(bad_prefix)
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Serialize for IpNet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IpNet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// An address as stored in `*_ip_key` columns: family byte, then octets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IpKey {
    V4([u8; 5]),
    V6([u8; 17]),
}

impl IpKey {
    pub(crate) fn new(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => {
                let [a, b, c, d] = v4.octets();
                IpKey::V4([4, a, b, c, d])
            }
            IpAddr::V6(v6) => {
                let mut key = [6u8; 17];
                for (slot, octet) in key.iter_mut().skip(1).zip(v6.octets()) {
                    *slot = octet;
                }
                IpKey::V6(key)
            }
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            IpKey::V4(k) => k,
            IpKey::V6(k) => k,
        }
    }
}

impl ToSql for IpKey {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(ValueRef::Blob(self.as_bytes())))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_blocks_and_clears_host_bits() {
        let net: IpNet = "10.1.2.3/8".parse().unwrap();
        assert_eq!(net.addr(), ip("10.0.0.0"));
        assert_eq!(net.prefix(), 8);
        assert_eq!(net.to_string(), "10.0.0.0/8");
        assert_eq!("fe80::1:2/64".parse::<IpNet>().unwrap().to_string(), "fe80::/64");
        assert_eq!("0.0.0.0/0".parse::<IpNet>().unwrap().prefix(), 0);
    }

    #[test]
    fn a_plain_address_is_a_block_of_one() {
        let net: IpNet = "192.168.1.7".parse().unwrap();
        assert_eq!(net.prefix(), 32);
        assert!(net.contains(ip("192.168.1.7")));
        assert!(!net.contains(ip("192.168.1.8")));
        assert_eq!("::1".parse::<IpNet>().unwrap().prefix(), 128);
    }

    #[test]
    fn rejects_bad_addresses_and_prefixes() {
        assert!(matches!("10.0.0/8".parse::<IpNet>(), Err(IpNetParseError::BadAddress { .. })));
        assert!(matches!("10.0.0.0/33".parse::<IpNet>(), Err(IpNetParseError::BadPrefix { max: 32, .. })));
        assert!(matches!("::/129".parse::<IpNet>(), Err(IpNetParseError::BadPrefix { max: 128, .. })));
        assert!(matches!("10.0.0.0/x".parse::<IpNet>(), Err(IpNetParseError::BadPrefix { .. })));
    }

    #[test]
    fn containment_never_crosses_families() {
        let all_v4: IpNet = "0.0.0.0/0".parse().unwrap();
        assert!(all_v4.contains(ip("255.255.255.255")));
        assert!(!all_v4.contains(ip("::ffff:10.0.0.1")));
        let v6: IpNet = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")));
        assert!(!v6.contains(ip("2001:db9::1")));
    }

    #[test]
    fn key_ranges_cover_exactly_the_block() {
        let net: IpNet = "10.0.0.0/8".parse().unwrap();
        let (lo, hi) = net.key_range();
        assert_eq!(lo.as_bytes(), [4, 10, 0, 0, 0]);
        assert_eq!(hi.as_bytes(), [4, 10, 255, 255, 255]);
        let inside = IpKey::new(ip("10.200.0.1"));
        let outside = IpKey::new(ip("11.0.0.0"));
        let v6 = IpKey::new(ip("a00::1"));
        assert!(lo.as_bytes() <= inside.as_bytes() && inside.as_bytes() <= hi.as_bytes());
        assert!(outside.as_bytes() > hi.as_bytes());
        assert!(v6.as_bytes() > hi.as_bytes(), "IPv6 keys sort after every IPv4 key");
    }
}
