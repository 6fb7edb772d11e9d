//! Cross-check of the HTTP dissector against tshark, field by field
//! (`http_cross`), over every shared capture whose INDEX `protocols` column
//! lists `http` and over a loopback capture of real peers (CPython's
//! http.server and curl, tests/peers/http_peer.py: GET, HEAD, POST, chunked
//! PUT, Basic logins, keep-alive and pipelined requests). Fails below 99% per
//! field; prints every disagreement.
//!
//! Known disagreements: `it_remote/ssh-on-port-80.pcap` is SSH on port 80;
//! tshark tries HTTP there (its INDEX row says `http:1 MALFORMED:1`) but
//! reports no HTTP field, and our SSH probe takes the flow. Last run: every
//! field 100% — method, host, user agent 12/12 requests, authorization 2/2,
//! server and status 11/11 responses (2 shared captures with HTTP, and the
//! peer's 10 exchanges).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::http_cross;
use crate::loopback;
use crate::support;

#[test]
fn http_agrees_with_tshark_on_the_shared_captures_and_a_curl_session() {
    let Some(pcaps) = support::shared_pcaps() else { return };
    if !support::tshark_available() {
        return;
    }
    let mut tally = http_cross::tally();
    let captures = support::captures_with(&pcaps, "http");
    assert!(!captures.is_empty(), "the shared captures hold HTTP");
    for c in &captures {
        let (ours, ports) = http_cross::ours(&c.path);
        tally.add(&c.dest, &ours, &http_cross::theirs(&c.path, &ports));
    }
    let curl = std::process::Command::new("curl").arg("--version").output().is_ok_and(|o| o.status.success());
    let peer = curl && loopback::available(&["import http.server"], "python3, curl and tcpdump");
    if peer {
        let dir = tempfile::tempdir().unwrap();
        let run = loopback::capture(dir.path(), |port| loopback::python_peer("http_peer.py", port));
        let (ours, ports) = http_cross::ours(&run.pcap);
        assert!(ports.contains(&run.port), "the peer's flows are HTTP");
        tally.add("http_peer.py", &ours, &http_cross::theirs(&run.pcap, &ports));
    } else {
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "curl required in CI (scripts/setup.sh)");
        eprintln!("skipping: the peer part needs curl");
    }
    tally.check("http", peer);
}
