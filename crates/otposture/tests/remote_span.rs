//! Remote SPAN: the bundled sample capture as a sensor away from the switch
//! receives it, every frame wrapped by scapy (tests/peers/mirror_encapsulate.py)
//! in ERSPAN type I, II (tags moved into the header) and III (with its
//! platform subheader, every packet cut into IP fragments), Ethernet over GRE
//! and VXLAN. Each must give what the sample gives analysed as captured: the
//! same flows (VLAN, ends, ports, protocol, packets and payload each way),
//! hosts, message counts per protocol and class, and events; none from the
//! switch-to-sensor packets that carried them. tshark, an independent
//! decoder, must find a mirrored frame in as many packets as we took one from.
//!
//! Needs python3 with scapy (scripts/setup.sh installs it) and tshark;
//! without them the test skips with one line, unless CI=true.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::loopback;
use crate::support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/plant-cell.pcap")
}

/// The sample as tests/peers/mirror_encapsulate.py wraps it in `kind`, in `dir`.
fn encapsulated(dir: &Path, kind: &str) -> PathBuf {
    let pcap = dir.join(format!("{kind}.pcap"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers/mirror_encapsulate.py");
    let out = Command::new("python3").arg(&script).arg(sample()).arg(&pcap).arg(kind).output().unwrap();
    assert!(out.status.success(), "{kind}: {}", String::from_utf8_lossy(&out.stderr));
    pcap
}

/// What one analysed database holds, without ids that differ between runs.
#[derive(Debug, PartialEq)]
struct Seen {
    flows: Vec<String>,
    bytes: Vec<(u64, u64)>,
    hosts: Vec<String>,
    protocols: Vec<String>,
    events: Vec<String>,
    /// Each event's record number, in the order of `events`.
    packets: Vec<u64>,
}

fn seen(db: &Path, summary: &Value) -> Seen {
    let json = |args: &[&str]| loopback::json(db, args);
    let field = |v: &Value, keys: &[&str]| keys.iter().map(|k| v[*k].to_string()).collect::<Vec<_>>().join(" ");
    let flows = json(&["flows"]);
    let flows = flows["flows"].as_array().unwrap();
    let mut keyed: Vec<(String, (u64, u64))> = flows
        .iter()
        .map(|f| {
            let key = field(
                f,
                &[
                    "vlan",
                    "transport",
                    "client_ip",
                    "client_port",
                    "server_ip",
                    "server_port",
                    "app_protocol",
                    "packets_to_server",
                    "packets_to_client",
                    "payload_to_server",
                    "payload_to_client",
                    "tcp_state",
                    "end_reason",
                ],
            );
            (key, (f["bytes_to_server"].as_u64().unwrap(), f["bytes_to_client"].as_u64().unwrap()))
        })
        .collect();
    keyed.sort();
    let hosts = json(&["hosts"]);
    let mut hosts: Vec<String> =
        hosts["hosts"].as_array().unwrap().iter().map(|h| field(h, &["mac", "ip", "vlan", "host_name"])).collect();
    hosts.sort();
    let mut protocols: Vec<String> =
        summary["protocols"].as_array().unwrap().iter().map(|p| field(p, &["protocol", "class", "messages"])).collect();
    protocols.sort();
    let events = json(&["events"]);
    let mut events: Vec<(String, u64)> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let key = field(e, &["ts", "protocol", "kind", "name", "class", "src_ip", "dst_ip", "attributes"]);
            (key, e["packet"].as_u64().unwrap())
        })
        .collect();
    events.sort();
    Seen {
        flows: keyed.iter().map(|k| k.0.clone()).collect(),
        bytes: keyed.iter().map(|k| k.1).collect(),
        hosts,
        protocols,
        packets: events.iter().map(|e| e.1).collect(),
        events: events.into_iter().map(|e| e.0).collect(),
    }
}

/// Whether python3 can import scapy's `module` (and tshark runs, when
/// `tshark`); otherwise the test skips with one line, unless CI=true.
fn ready(module: &str, tshark: bool) -> bool {
    loopback::require(
        Command::new("python3").args(["-c", &format!("import {module}")]).output().is_ok_and(|o| o.status.success()),
        "python3 with scapy",
    ) && (!tshark || support::tshark_available())
}

/// The sample analysed as captured, in `dir`.
struct Plain {
    seen: Seen,
    summary: Value,
    /// Its IP packets (a tunnel or label stack carries these alone).
    ip_packets: u64,
}

fn plain(dir: &Path) -> Plain {
    let db = dir.join("plain.db");
    let summary = loopback::analyze(&db, &sample());
    let t = &summary["transport"];
    let ip_packets = ["tcp", "udp", "icmp", "other_ip"].iter().map(|k| t[*k].as_u64().unwrap()).sum::<u64>();
    Plain { seen: seen(&db, &summary), summary, ip_packets }
}

/// Flow keys without their leading VLAN, sorted.
fn without_vlan(flows: &[String]) -> Vec<String> {
    let mut v: Vec<String> = flows.iter().map(|f| f.split_once(' ').unwrap().1.to_string()).collect();
    v.sort();
    v
}

/// Lines that are not ARP's (a tunnel or label stack carries IP alone).
fn not_arp(v: &[String]) -> Vec<String> {
    v.iter().filter(|s| !s.contains("\"arp\"")).cloned().collect()
}

#[test]
fn mirrored_frames_are_analysed_as_if_captured_at_the_switch() {
    if !ready("scapy.contrib.erspan", true) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let plain = plain(dir.path()).seen;
    assert!(plain.flows.len() >= 8 && plain.events.len() > 10, "{plain:?}");
    let frames = 332;

    for kind in ["erspan1", "erspan2", "erspan3", "gre_ethernet", "vxlan"] {
        let pcap = encapsulated(dir.path(), kind);

        let db = dir.path().join(format!("{kind}.db"));
        let summary = loopback::analyze(&db, &pcap);
        assert_eq!(summary["decapsulated"][kind], frames, "{kind}: {summary}");
        let got = seen(&db, &summary);
        assert_eq!(got.flows, plain.flows, "{kind}: flows");
        assert_eq!(got.hosts, plain.hosts, "{kind}: hosts (none for the switch or the sensor)");
        assert_eq!(got.protocols, plain.protocols, "{kind}: messages");
        assert_eq!(got.events, plain.events, "{kind}: events");
        if kind == "erspan3" {
            // A fragmented packet's events point at its last fragment's record.
            assert!(got.packets.iter().zip(&plain.packets).all(|(g, p)| g > p), "{kind}: {:?}", got.packets);
        } else {
            assert_eq!(got.packets, plain.packets, "{kind}: events' packets");
        }
        if kind == "erspan2" {
            // Tags moved into the ERSPAN header: 4 bytes fewer a tagged frame.
            assert_ne!(got.bytes, plain.bytes, "the sample has tagged frames");
        } else {
            assert_eq!(got.bytes, plain.bytes, "{kind}: bytes");
        }

        // tshark finds a mirrored Ethernet frame in as many (reassembled) packets.
        let theirs = support::tshark_fields(&pcap, &["-d", "udp.port==4789,vxlan"], "gre || vxlan", &["eth.type"]);
        assert_eq!(theirs.len(), frames as usize, "{kind}: tshark");
    }
}

/// GRE that carries IP is a routed tunnel, not a mirror: the sample's IP
/// packets (its ARP left out) routed through one. The tunnel is a flow of its
/// own between its two ends, and the packets inside give the sample's flows
/// (no VLAN: the tunnel's packets carry none), messages and events.
#[test]
fn a_routed_gre_tunnel_is_a_flow_and_so_is_what_it_carries() {
    if !ready("scapy.all", false) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Plain { seen: plain, ip_packets, .. } = plain(dir.path());

    let pcap = encapsulated(dir.path(), "gre_ip");
    let db = dir.path().join("gre_ip.db");
    let summary = loopback::analyze(&db, &pcap);
    assert_eq!(summary["decapsulated"]["gre_ip"], ip_packets, "{summary}");
    assert_eq!(summary["transport"]["other_ip"], ip_packets, "the tunnel's own packets: {summary}");
    let got = seen(&db, &summary);

    let (tunnel, carried): (Vec<String>, Vec<String>) =
        without_vlan(&got.flows).into_iter().partition(|f| f.starts_with("\"ip-47\""));
    assert_eq!(carried, without_vlan(&plain.flows), "the flows inside the tunnel");
    assert_eq!(tunnel.len(), 1, "{tunnel:?}");
    assert!(
        tunnel[0].starts_with(&format!("\"ip-47\" \"10.99.0.1\" 0 \"10.99.0.2\" 0 null {ip_packets} 0")),
        "{tunnel:?}"
    );

    assert_eq!(got.protocols, not_arp(&plain.protocols));
    assert_eq!(got.events, not_arp(&plain.events));
}

/// MPLS on a provider or core link, as utilities carry substation traffic
/// between sites: the sample's IP packets behind a two-label stack (a layer-3
/// VPN), and its whole frames behind two labels and a control word (an
/// Ethernet pseudowire). What the labels carry gives the sample's flows,
/// messages and events; the router that sent the frames is a host on the
/// link; the labels make no flow. tshark finds the same packets inside.
#[test]
fn mpls_label_stacks_carry_the_plants_traffic() {
    if !ready("scapy.contrib.mpls", true) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Plain { seen: plain, summary: plain_summary, ip_packets } = plain(dir.path());
    let router = "\"00:1e:f6:00:00:01\" null null null".to_string();

    // The pseudowire, with and without its control word: every frame, tags
    // and all, as captured at the site. Told to read the label as the
    // pseudowire it is, tshark finds every frame inside (left to guess, it
    // read the word as a MAC address in one frame with it).
    for (kind, decode_as) in
        [("mpls_pw", "mpls.label==299776,pwethcw"), ("mpls_pw_nocw", "mpls.label==299777,pwethnocw")]
    {
        let pcap = encapsulated(dir.path(), kind);
        let db = dir.path().join(format!("{kind}.db"));
        let summary = loopback::analyze(&db, &pcap);
        assert_eq!(summary["decapsulated"]["mpls"], 332, "{kind}: {summary}");
        assert_eq!(summary["transport"], plain_summary["transport"], "{kind}: {summary}");
        let got = seen(&db, &summary);
        assert_eq!(got.flows, plain.flows, "{kind}: flows");
        assert_eq!(got.bytes, plain.bytes, "{kind}: bytes");
        let mut hosts = plain.hosts.clone();
        hosts.push(router.clone());
        hosts.sort();
        assert_eq!(got.hosts, hosts, "{kind}: the sample's hosts and the router");
        assert_eq!(got.protocols, plain.protocols, "{kind}: messages");
        assert_eq!(got.events, plain.events, "{kind}: events");
        assert_eq!(got.packets, plain.packets, "{kind}: events' packets");
        let theirs = support::tshark_fields(&pcap, &["-d", decode_as], "mpls && eth.type", &["eth.type"]);
        assert_eq!(theirs.len(), 332, "{kind}: tshark");
    }

    // The layer-3 VPN: IP packets only, so flows without the site's VLAN.
    let pcap = encapsulated(dir.path(), "mpls_ip");
    let db = dir.path().join("mpls_ip.db");
    let summary = loopback::analyze(&db, &pcap);
    assert_eq!(summary["decapsulated"]["mpls"], ip_packets, "{summary}");
    assert_eq!(summary["transport"]["non_ip"], 0, "{summary}");
    let got = seen(&db, &summary);
    assert_eq!(without_vlan(&got.flows), without_vlan(&plain.flows), "layer-3 VPN: flows");
    assert_eq!(got.protocols, not_arp(&plain.protocols), "layer-3 VPN: messages");
    assert_eq!(got.events, not_arp(&plain.events), "layer-3 VPN: events");
    assert!(got.hosts.contains(&router), "{:?}", got.hosts);
    assert_eq!(
        support::tshark_fields(&pcap, &[], "mpls && (ip || ipv6)", &["mpls.label"]).len() as u64,
        ip_packets,
        "tshark"
    );

    // MPLS over GRE: the tunnel is a flow of its own, as a routed GRE
    // tunnel is, and what its labels carry gives the sample's flows.
    let pcap = encapsulated(dir.path(), "mpls_gre");
    let db = dir.path().join("mpls_gre.db");
    let summary = loopback::analyze(&db, &pcap);
    assert_eq!(summary["decapsulated"]["mpls"], ip_packets, "{summary}");
    let got = seen(&db, &summary);
    let (tunnel, carried): (Vec<String>, Vec<String>) =
        without_vlan(&got.flows).into_iter().partition(|f| f.starts_with("\"ip-47\""));
    assert_eq!(carried, without_vlan(&plain.flows), "MPLS over GRE: flows");
    assert_eq!(tunnel.len(), 1, "{tunnel:?}");
    assert_eq!(got.events, not_arp(&plain.events), "MPLS over GRE: events");
}

/// An HSR ring (IEC 62439-3, substation networks): every frame of the sample
/// tagged with its sender's sequence number and sent both ways round, so the
/// sensor receives it twice. Each frame is analysed once, as captured without
/// the ring: the sample's flows (bytes included: the tag is not the frame's),
/// hosts, messages and events; the second copies are counted and passed over.
/// tshark reads an HSR tag in every packet.
#[test]
fn an_hsr_rings_two_copies_of_a_frame_are_one_frame() {
    if !ready("scapy.all", true) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Plain { seen: plain, summary: plain_summary, .. } = plain(dir.path());

    let pcap = encapsulated(dir.path(), "hsr");
    let db = dir.path().join("hsr.db");
    let summary = loopback::analyze(&db, &pcap);
    assert_eq!(summary["packets"], 664, "{summary}");
    assert_eq!(summary["decapsulated"]["hsr"], 332, "{summary}");
    assert_eq!(summary["hsr_duplicates"], 332, "{summary}");
    assert_eq!(summary["transport"], plain_summary["transport"], "{summary}");
    let got = seen(&db, &summary);
    assert_eq!(got.flows, plain.flows, "flows");
    assert_eq!(got.bytes, plain.bytes, "bytes");
    assert_eq!(got.hosts, plain.hosts, "hosts");
    assert_eq!(got.protocols, plain.protocols, "messages");
    assert_eq!(got.events, plain.events, "events");
    // Each event is at its frame's first copy.
    assert_eq!(got.packets, plain.packets.iter().map(|p| 2 * p - 1).collect::<Vec<_>>(), "events' packets");
    assert_eq!(support::tshark_fields(&pcap, &[], "hsr", &["hsr.sequence_nr"]).len(), 664, "tshark");
}

/// PRP (IEC 62439-3): every frame of the sample with its redundancy control
/// trailer as a node sends it on LAN A, and again as it sends it on LAN B;
/// the sensor's captures of the two LANs are analysed together. Each frame is
/// analysed once: the sample's flows (but bytes, which now hold the trailers),
/// hosts, messages and events, and the LAN B copies are counted and passed
/// over. tshark, told to look for PRP trailers, finds one in every frame.
/// Either LAN alone gives the same, with nothing passed over.
#[test]
fn prp_copies_from_both_lans_are_one_frame() {
    if !ready("scapy.all", true) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Plain { seen: plain, summary: plain_summary, .. } = plain(dir.path());
    let (lan_a, lan_b) = (encapsulated(dir.path(), "prp_a"), encapsulated(dir.path(), "prp_b"));

    let db = dir.path().join("both.db");
    let out = loopback::otposture(
        &db,
        &["analyze", "--quiet", "--summary", "json", lan_a.to_str().unwrap(), lan_b.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["packets"], 664, "{summary}");
    assert_eq!(summary["prp_frames"], serde_json::json!({"lan_a": 332}), "{summary}");
    assert_eq!(summary["prp_duplicates"], 332, "{summary}");
    assert_eq!(summary["transport"], plain_summary["transport"], "{summary}");
    let got = seen(&db, &summary);
    assert_eq!(got.flows, plain.flows, "flows");
    assert_eq!(got.hosts, plain.hosts, "hosts");
    assert_eq!(got.protocols, plain.protocols, "messages");
    assert_eq!(got.events, plain.events, "events");
    assert_eq!(got.packets, plain.packets, "events' packets: LAN A's, read first at each time");

    let db = dir.path().join("b.db");
    let summary = loopback::analyze(&db, &lan_b);
    assert_eq!((summary["prp_frames"]["lan_b"].as_u64(), summary["prp_duplicates"].as_u64()), (Some(332), Some(0)));
    assert_eq!(seen(&db, &summary).flows, plain.flows, "LAN B alone");

    for pcap in [&lan_a, &lan_b] {
        let theirs = support::tshark_fields(pcap, &["-o", "prp.enable:TRUE"], "prp", &["prp.trailer.prp_sequence_nr"]);
        assert_eq!(theirs.len(), 332, "tshark: {pcap:?}");
    }
}
