//! RDP from real, independent implementations: Debian's xrdp server (in the
//! foreground, on a random loopback port, with its TLS key and certificate
//! generated into a temporary directory; `security_layer=negotiate`, so it
//! offers standard RDP security and TLS but no CredSSP) and FreeRDP's client
//! (xfreerdp, against TigerVNC's headless Xvnc as its display), captured by
//! tcpdump. The client connects three times:
//! - `/sec:rdp`: standard RDP security, so the client core, security and
//!   network data go in clear, and xrdp answers with RC4 encryption;
//! - `/sec:tls`: TLS, so the certificate goes in the TLS handshake;
//! - `/sec:nla`: the client asks for CredSSP, xrdp selects TLS and FreeRDP
//!   gives up (it insists on NLA).
//!
//! `otposture analyze` must find RDP by content on the random port, keep the
//! three connection requests with the cookie user and the protocols asked
//! for and chosen, read the client's name, build and channels (clipboard
//! and drive redirection asked for), the server's encryption, the
//! certificate from TLS, flag no NLA and the proprietary encryption, and no
//! password appears in its output.
//! xrdp reads its standard-security RSA key from /etc/xrdp/rsakeys.ini (its
//! package makes it at install; 0.9 has no setting for the path).
//! Needs xrdp, xfreerdp (Debian freerdp2-x11), Xvnc, openssl and tcpdump
//! (scripts/setup.sh installs them); without them the test skips with one
//! line, unless CI=true.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::loopback;

use loopback::{analyze, capture};
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::Duration;

const PASSWORD: &str = "Plant3-Secr3t";

fn tools() -> bool {
    let found = loopback::files(&["/usr/sbin/xrdp", "/usr/bin/xfreerdp", "/usr/bin/Xvnc", "/etc/xrdp/rsakeys.ini"])
        && Command::new("openssl").arg("version").output().is_ok();
    loopback::require(found, "xrdp, xfreerdp, Xvnc and openssl") && loopback::available(&[], "tcpdump")
}

#[test]
fn follows_freerdp_connecting_to_xrdp_with_three_security_layers() {
    if !tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let (key, cert) = loopback::self_signed(root);
    let ini = root.join("xrdp.ini");
    let run = capture(root, |port| {
        std::fs::write(
            &ini,
            format!(
                "[Globals]\nini_version=1\nfork=false\nport=tcp://127.0.0.1:{port}\nsecurity_layer=negotiate\n\
                 crypt_level=high\ncertificate={}\nkey_file={}\nssl_protocols=TLSv1.2\nallow_channels=true\n\
                 max_bpp=24\n[Logging]\nLogFile={}\nLogLevel=INFO\nEnableSyslog=false\n\
                 [Channels]\nrdpdr=true\nrdpsnd=true\ncliprdr=true\n\
                 [Xvnc]\nname=Xvnc\nlib=libvnc.so\nusername=ask\npassword=ask\nip=127.0.0.1\nport=-1\n",
                cert.display(),
                key.display(),
                root.join("xrdp.log").display()
            ),
        )
        .unwrap();
        let display = format!(":{}", 100 + (port + 7) % 500);
        let mut xvnc = Command::new("Xvnc")
            .args([&display, "-rfbport", "0", "-localhost", "-SecurityTypes", "None", "-geometry", "800x600"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut xrdp = Command::new("/usr/sbin/xrdp")
            .args(["--nodaemon", "--config"])
            .arg(&ini)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        loopback::wait_for_port(port, "xrdp");
        std::thread::sleep(Duration::from_millis(1000));
        for sec in ["/sec:rdp", "/sec:tls", "/sec:nla"] {
            let mut client = Command::new("xfreerdp")
                .env("DISPLAY", &display)
                .arg(format!("/v:127.0.0.1:{port}"))
                .args(["/u:operator", &format!("/p:{PASSWORD}"), "/cert:ignore", sec, "/client-hostname:ENG-WS01"])
                .args(["+clipboard", &format!("/drive:plant,{}", root.display())])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(Duration::from_millis(4000));
            client.kill().ok();
            client.wait().ok();
        }
        xrdp.kill().ok();
        xrdp.wait().ok();
        xvnc.kill().ok();
        xvnc.wait().ok();
        Command::new("true").output().unwrap()
    });
    let db = root.join("peer.db");
    let summary = analyze(&db, &run.pcap);
    assert_eq!(summary["anomalies"]["malformed_messages"], 0, "{summary}");
    let json = |args: &[&str]| loopback::json(&db, args);
    let flows = json(&["flows", "--port", &run.port.to_string()]);
    // The readiness probe's connection carries no payload.
    let flows: Vec<&Value> =
        flows["flows"].as_array().unwrap().iter().filter(|f| f["payload_to_server"] != 0).collect();
    assert_eq!(flows.len(), 3, "{flows:?}");
    assert!(flows.iter().all(|f| f["app_protocol"] == "rdp" && f["malformed"] == 0), "{flows:?}");

    let events = |kind: &str| json(&["events", "--kind", kind])["events"].as_array().unwrap().clone();
    let ops = events("operation");
    let requests: Vec<&Value> =
        ops.iter().filter(|o| o["name"] == "connection_request").map(|o| &o["attributes"]).collect();
    assert_eq!(requests.len(), 3, "{ops:?}");
    assert!(requests.iter().all(|r| r["cookie"] == "operator" && r["nla"] == "false"), "{requests:?}");
    let asked: Vec<(&str, &str)> = requests
        .iter()
        .map(|r| (r["requested_protocols"].as_str().unwrap(), r["selected_protocol"].as_str().unwrap()))
        .collect();
    // FreeRDP's /sec:rdp sends no negotiation request: standard security only.
    assert_eq!(asked, vec![("rdp", "rdp"), ("ssl", "ssl"), ("ssl,hybrid", "ssl")]);

    let ids = events("identity");
    let named = |n: &str| ids.iter().filter(|e| e["name"] == n).map(|e| e["attributes"].clone()).collect::<Vec<_>>();
    let clients = named("rdp.client");
    assert_eq!(clients.len(), 1, "only standard security shows the client data: {clients:?}");
    let c = &clients[0];
    assert_eq!(c["name"], "ENG-WS01", "{c}");
    assert!(c["client_build"].as_str().unwrap().parse::<u32>().unwrap() > 0, "{c}");
    assert_eq!((c["clipboard"].as_str(), c["drive_redirection"].as_str()), (Some("true"), Some("true")), "{c}");
    assert!(c["channels"].as_str().unwrap().contains("cliprdr"), "{c}");
    let servers = named("rdp.server");
    assert!(servers.iter().any(|s| s["encryption_method"] == "128bit" && s["proprietary_encryption"] == "true"));
    assert!(
        servers.iter().any(|s| s["certificate_subject"] == "O=Plant 3, CN=hmi-line-2.plant"),
        "the TLS certificate is the RDP server's: {servers:?}"
    );
    let anomalies = events("anomaly");
    let count = |n: &str| anomalies.iter().filter(|e| e["name"] == n).count();
    assert_eq!(count("rdp.no_nla"), 3, "{anomalies:?}");
    assert_eq!(count("rdp.proprietary_encryption"), 1, "{anomalies:?}");

    let everything = [json(&["events"]).to_string(), json(&["operations"]).to_string(), summary.to_string()].concat();
    assert!(!everything.contains(PASSWORD), "the password leaked");
}
