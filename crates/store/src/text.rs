//! Address text for the columns that store it, written without `core::fmt`:
//! the writer formats a few hundred thousand addresses per gigabyte of
//! capture, and `Display` for an IPv4 address cost some 1,000 instructions.

use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr};

/// Appends `ip` in dotted-decimal, as `Ipv4Addr`'s `Display` writes it.
fn push_ipv4(buf: &mut String, ip: Ipv4Addr) {
    for (i, o) in ip.octets().into_iter().enumerate() {
        if i > 0 {
            buf.push('.');
        }
        if o >= 100 {
            buf.push(char::from(b'0' + o / 100));
        }
        if o >= 10 {
            buf.push(char::from(b'0' + o / 10 % 10));
        }
        buf.push(char::from(b'0' + o % 10));
    }
}

/// Writes `ip`'s canonical text into `buf` (cleared first) and returns it, or
/// `None` for no address. IPv6 keeps `Display` (its zero compression and
/// embedded IPv4 forms are not worth redoing for the few IPv6 rows).
pub(crate) fn ip_text(buf: &mut String, ip: Option<IpAddr>) -> Option<&str> {
    buf.clear();
    match ip? {
        IpAddr::V4(v4) => push_ipv4(buf, v4),
        IpAddr::V6(v6) => write!(buf, "{v6}").ok()?,
    }
    Some(buf.as_str())
}

/// `ip`'s canonical text, owned.
pub(crate) fn ip_string(ip: IpAddr) -> String {
    let mut s = String::with_capacity(15);
    ip_text(&mut s, Some(ip));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn ipv4_text_is_what_display_writes(bits: u32) {
            let ip = IpAddr::V4(Ipv4Addr::from(bits));
            prop_assert_eq!(ip_string(ip), ip.to_string());
        }

        #[test]
        fn ipv6_text_is_what_display_writes(bits: u128) {
            let ip = IpAddr::V6(bits.into());
            prop_assert_eq!(ip_string(ip), ip.to_string());
        }
    }

    #[test]
    fn every_octet_value_reads_as_display_writes_it() {
        for o in 0..=255u8 {
            let ip = IpAddr::V4(Ipv4Addr::new(o, 0, o, 255));
            assert_eq!(ip_string(ip), ip.to_string());
        }
        let mut buf = String::from("left over");
        assert_eq!(ip_text(&mut buf, None), None);
        assert!(buf.is_empty());
    }
}
