//! Cross-check of the Telnet dissector against tshark, field by field
//! (`telnet_cross`), per packet: over the shared captures holding Telnet —
//! INDEX lists none as `telnet`; `it_remote/telnet-auth-missing-name.pcap` is
//! one (zeek's test of an AUTHENTICATION subnegotiation without its name,
//! sent on port 21, so tshark calls it FTP: it is given `-d` for the flows we
//! recognise as Telnet by content) — and over a loopback capture of real peers
//! (telnetlib3's server and the inetutils telnet client,
//! tests/peers/telnet_peer.py). Fails below 99% per field; prints every
//! disagreement. Last run: every field 100% — commands 32/32, options 28/28,
//! terminal types 2/2, authentication commands 1/1 (the peer's 17 packets
//! with commands, and the shared capture's one).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::loopback;
use crate::support;
use crate::telnet_cross;

const SHARED: &str = "it_remote/telnet-auth-missing-name.pcap";

#[test]
fn telnet_agrees_with_tshark_on_the_shared_capture_and_a_telnet_session() {
    let Some(pcaps) = support::shared_pcaps() else { return };
    if !support::tshark_available() {
        return;
    }
    let mut tally = telnet_cross::tally();
    let mut files: Vec<(String, std::path::PathBuf)> =
        support::captures_with(&pcaps, "telnet").into_iter().map(|c| (c.dest, c.path)).collect();
    if !files.iter().any(|(d, _)| d == SHARED) {
        files.push((SHARED.to_string(), pcaps.join(SHARED)));
    }
    for (dest, path) in &files {
        let (ours, ports) = telnet_cross::ours(path);
        assert!(!ports.is_empty(), "{dest}: no Telnet flow recognised");
        tally.add(dest, &ours, &telnet_cross::theirs(path, &ports));
    }
    let peer = loopback::available(&["import telnetlib3"], "python3 with telnetlib3, the telnet client and tcpdump");
    if peer {
        let dir = tempfile::tempdir().unwrap();
        let run = loopback::capture(dir.path(), |port| loopback::python_peer("telnet_peer.py", port));
        let (ours, ports) = telnet_cross::ours(&run.pcap);
        assert!(ports.contains(&run.port), "the peer's flow is Telnet");
        tally.add("telnet_peer.py", &ours, &telnet_cross::theirs(&run.pcap, &ports));
    }
    tally.check("telnet", peer);
}
