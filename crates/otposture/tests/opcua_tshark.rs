//! Cross-check of the OPC UA dissector against tshark on every shared
//! capture with OPC UA traffic: those INDEX.tsv files under `opcua/` or whose
//! `protocols` column lists `opcua`. Per packet and per field (message type,
//! service encoding id, OPN security policy URI, GetEndpoints endpoint URLs
//! and application URIs; see `opcua_cross/mod.rs`), every field must agree
//! at 99% or more, and every disagreement is printed.
//!
//! `opcua/opc-ua-ap-method-wireshark-freeze.pcap` runs OPC UA on port 12001,
//! which tshark does not decode by default (its INDEX row lists no
//! protocol): the port our probe recognised is passed with `-d`. Last run:
//! type 24/24, service 18/18, policy 4/4, endpoint_url 2/2, application_uri
//! 2/2 agree (100%). Its Call requests (frames 42 and 84) are deliberately
//! broken (the capture froze Wireshark once); both sides still name the
//! service, and we count each as malformed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::opcua_cross;
use crate::support;

#[test]
fn opcua_messages_match_tshark_per_packet_on_every_shared_capture() {
    let Some(dir) = support::shared_pcaps() else { return };
    if !support::tshark_available() {
        return;
    }
    let index = std::fs::read_to_string(dir.join("INDEX.tsv")).unwrap();
    let header: Vec<&str> = index.lines().next().unwrap().split('\t').collect();
    let protocols = header.iter().position(|h| *h == "protocols").unwrap();
    let captures: Vec<&str> = index
        .lines()
        .skip(1)
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|f| f[0].starts_with("opcua/") || f.get(protocols).is_some_and(|p| p.contains("opcua")))
        .map(|f| f[0])
        .collect();
    assert!(!captures.is_empty(), "INDEX.tsv lists no OPC UA capture");
    let mut tally = opcua_cross::tally();
    for dest in captures {
        let path = dir.join(dest);
        let (ours, ports) = opcua_cross::ours(&path);
        assert!(!ports.is_empty(), "{dest}: no flow recognised as OPC UA");
        tally.add(dest, &ours, &opcua_cross::theirs(&path, &ports));
    }
    tally.check("opcua", true);
}
