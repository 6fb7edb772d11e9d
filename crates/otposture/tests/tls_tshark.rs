//! Cross-check of TLS naming against tshark on every shared capture whose
//! INDEX `protocols` column lists `tls`: the TCP connections in which tshark
//! finds a TLS record header ([`RECORD`]) against the flows we name `tls`,
//! handshakes and connections taken up mid-stream alike.
//!
//! tshark also calls traffic on port 443 `tls` by its port alone: the port-443
//! streams of EIP-LockPLCAttempt and EIP-ChangePortConfigurationAttempt are
//! "Continuation Data" to it, and neither holds a record header anywhere, so
//! neither side counts them as TLS here.
//!
//! Last run: 2 of 2 connections agree over 4 captures (a TLS 1.0 encrypted
//! alert on a connection picked up mid-stream, a scanner's ClientHello to
//! Modbus port 502).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::support;

use otposture_dissect::Registry;
use otposture_model::Observation;
use std::collections::{BTreeMap, BTreeSet};

/// A record header tshark read (TLS 1.3 records' outer type is `opaque_type`
/// to it); "Continuation Data" has neither field.
const RECORD: &str = "tls.record.content_type || tls.record.opaque_type";

/// A connection by its two endpoints, in either order.
fn connection(a: (String, String), b: (String, String)) -> (String, String, String, String) {
    let (x, y) = if a <= b { (a, b) } else { (b, a) };
    (x.0, x.1, y.0, y.1)
}

#[test]
fn tls_is_named_where_tshark_finds_records_on_every_shared_capture() {
    let Some(pcaps) = support::shared_pcaps() else { return };
    if !support::tshark_available() {
        return;
    }
    let mut total = support::Agreement::default();
    let captures = support::captures_with(&pcaps, "tls");
    assert!(!captures.is_empty(), "the shared captures hold TLS");
    for c in captures {
        let ours: BTreeSet<_> = support::run_engine(&c.path, Registry::with_defaults())
            .iter()
            .filter_map(|o| match o {
                Observation::Flow(f) if f.app_protocol.as_deref() == Some("tls") => Some(connection(
                    (f.key.client_ip.to_string(), f.key.client_port.to_string()),
                    (f.key.server_ip.to_string(), f.key.server_port.to_string()),
                )),
                _ => None,
            })
            .collect();
        let theirs: BTreeSet<_> =
            support::tshark_fields(&c.path, &[], RECORD, &["ip.src", "tcp.srcport", "ip.dst", "tcp.dstport"])
                .into_iter()
                .map(|(_, f)| connection((f[0].clone(), f[1].clone()), (f[2].clone(), f[3].clone())))
                .collect();
        // One key per connection, on the packet-less axis `compare` wants.
        let as_map = |s: &BTreeSet<_>| BTreeMap::from([(0u64, s.iter().cloned().collect::<Vec<_>>())]);
        total.add(support::compare(&c.dest, &as_map(&ours), &as_map(&theirs)));
    }
    total.check("TLS connections", "connections");
}
