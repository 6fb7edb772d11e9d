//! Syslog delivery end to end: a real rsyslogd, started by the test on loopback
//! with UDP, TCP and TLS (gtls) inputs, writes what it parsed to a file; every
//! CEF record must arrive whole, with the RFC 5424 header fields rsyslog read.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use otposture_alerts::{cef_message, Alert, AlertsConfig, Dispatcher, Facility, Severity, SyslogTarget, Transport};

/// rsyslogd's path, or None (then the test is skipped, unless CI=true).
fn rsyslogd() -> Option<PathBuf> {
    let found = ["rsyslogd", "/usr/sbin/rsyslogd", "/sbin/rsyslogd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| Command::new(p).arg("-v").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok());
    if found.is_none() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("rsyslogd not installed (scripts/setup.sh installs it) and CI=true");
        }
        println!("skipping: rsyslogd not installed (scripts/setup.sh installs it)");
    }
    found
}

struct Ports {
    udp: u16,
    tcp: u16,
    tls: u16,
}

/// Free loopback ports (released just before rsyslogd binds them).
fn free_ports() -> Ports {
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    let tls = TcpListener::bind("127.0.0.1:0").unwrap();
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    Ports {
        udp: udp.local_addr().unwrap().port(),
        tcp: tcp.local_addr().unwrap().port(),
        tls: tls.local_addr().unwrap().port(),
    }
}

/// A running rsyslogd, killed when dropped.
struct Rsyslog {
    child: Child,
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_rsyslog(bin: &Path, dir: &Path, ports: &Ports, run: u32) -> Rsyslog {
    let work = dir.join(format!("work{run}"));
    std::fs::create_dir_all(&work).unwrap();
    let d = dir.display();
    let conf = format!(
        r#"global(workDirectory="{work}" maxMessageSize="64k"
       defaultNetstreamDriverCAFile="{d}/ca.pem"
       defaultNetstreamDriverCertFile="{d}/server.pem"
       defaultNetstreamDriverKeyFile="{d}/server.key")
module(load="imudp")
module(load="imtcp")
input(type="imudp" address="127.0.0.1" port="{udp}")
input(type="imtcp" address="127.0.0.1" port="{tcp}")
input(type="imtcp" address="127.0.0.1" port="{tls}"
      streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
template(name="fields" type="string" string="%app-name% %pri% %msgid% %hostname% %msg%\n")
action(type="omfile" file="{d}/received.log" template="fields")
"#,
        work = work.display(),
        udp = ports.udp,
        tcp = ports.tcp,
        tls = ports.tls,
    );
    let conf_path = dir.join(format!("rsyslog{run}.conf"));
    std::fs::write(&conf_path, conf).unwrap();
    let child = Command::new(bin)
        .arg("-n")
        .arg("-f")
        .arg(&conf_path)
        .arg("-i")
        .arg(dir.join(format!("rsyslog{run}.pid")))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let rsyslog = Rsyslog { child };
    let started = Instant::now();
    // Every input bound, as the kernel lists them: a probe connection to the
    // TLS one makes gnutls complain, and under load the TLS input came up
    // after the others had and after the targets had spent their retries.
    let bound = || {
        listed("/proc/net/tcp", ports.tcp, "0A")
            && listed("/proc/net/tcp", ports.tls, "0A")
            && listed("/proc/net/udp", ports.udp, "07")
    };
    while !bound() {
        assert!(started.elapsed() < Duration::from_secs(10), "rsyslogd did not listen within 10 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    rsyslog
}

/// Whether `table` (`/proc/net/tcp` or `/proc/net/udp`) lists a socket bound
/// to 127.0.0.1:`port` in state `state` (`0A` listening, `07` a bound datagram socket).
fn listed(table: &str, port: u16, state: &str) -> bool {
    let local = format!("0100007F:{port:04X}");
    std::fs::read_to_string(table).is_ok_and(|t| {
        t.lines().skip(1).any(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.get(1) == Some(&local.as_str()) && fields.get(3) == Some(&state)
        })
    })
}

fn target(name: &str, transport: Transport, port: u16, dir: &Path) -> SyslogTarget {
    SyslogTarget {
        name: name.to_owned(),
        address: format!("127.0.0.1:{port}"),
        transport,
        ca_file: (transport == Transport::Tls).then(|| dir.join("ca.pem")),
        server_name: (transport == Transport::Tls).then(|| "localhost".to_owned()),
        facility: Facility::Local4,
        app_name: format!("ot-{name}"),
        hostname: Some("sensor-1".to_owned()),
        timeout_ms: 2000,
        min_severity: None,
    }
}

/// The lines rsyslogd wrote, once there are at least `n` (waits up to 10 s).
fn received(dir: &Path, n: usize) -> Vec<String> {
    let started = Instant::now();
    loop {
        let text = std::fs::read_to_string(dir.join("received.log")).unwrap_or_default();
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        if lines.len() >= n {
            return lines;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "only {} of {n} lines arrived:\n{text}", lines.len());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The received line for an app name and alert: `APP PRI MSGID HOSTNAME MSG`.
fn line_for<'a>(lines: &'a [String], app: &str, alert: &Alert) -> &'a str {
    let cef = cef_message(alert);
    let matching: Vec<&String> =
        lines.iter().filter(|l| l.starts_with(&format!("{app} ")) && l.ends_with(&cef)).collect();
    assert_eq!(matching.len(), 1, "{app}: want exactly one line ending with\n{cef}\nin\n{lines:#?}");
    matching[0]
}

#[test]
fn rsyslog_receives_whole_cef_records_over_udp_tcp_and_tls() {
    let Some(bin) = rsyslogd() else { return };
    let dir = tempfile::tempdir().unwrap();
    common::make_certificates(dir.path());
    let ports = free_ports();
    let _rsyslog = start_rsyslog(&bin, dir.path(), &ports, 1);

    let config = AlertsConfig {
        syslog: vec![
            target("udp", Transport::Udp, ports.udp, dir.path()),
            target("tcp", Transport::Tcp, ports.tcp, dir.path()),
            target("tls", Transport::Tls, ports.tls, dir.path()),
        ],
        ..common::quick_config(dir.path().join("dead.jsonl"))
    };
    let mut critical = common::alert("a2");
    critical.severity = Severity::Critical;
    critical.source = Some("fd00::17".parse().unwrap());
    let alerts = [common::alert("a1"), critical];
    let dispatcher = Dispatcher::start(&config).unwrap();
    for a in &alerts {
        dispatcher.send(a.clone());
    }
    let report = dispatcher.finish();
    assert!(report.all_delivered(), "{report}");

    let lines = received(dir.path(), 6);
    assert_eq!(lines.len(), 6, "{lines:#?}");
    for app in ["ot-udp", "ot-tcp", "ot-tls"] {
        // local4 (20) * 8 + err (3) for High, + crit (2) for Critical.
        for (alert, pri) in alerts.iter().zip(["163", "162"]) {
            let line = line_for(&lines, app, alert);
            let fields: Vec<&str> = line.splitn(5, ' ').collect();
            assert_eq!(fields[1..4], [pri, "segmentation.unallowed_flow", "sensor-1"], "{line}");
            assert!(fields[4].starts_with("CEF:0|otposture|otposture|"), "{line}");
        }
        let line = line_for(&lines, app, &alerts[0]);
        for field in [
            "|segmentation.unallowed_flow|Flow from IT\\|zone to level-1 controllers|8|",
            "|8|rt=1700000000123 act=opened cat=segmentation.unallowed_flow ",
            " src=192.168.10.20 dst=10.0.0.5 app=modbus ",
            " cs1Label=assets cs1=asset-1,asset-2 cs2Label=attack cs2=T0886 cs3Label=site cs3=Plant\\=1 ",
            " externalId=finding-a1 ",
            " msg=Allow it in a conduit\\nor block it at C:\\\\fw",
        ] {
            assert!(line.contains(field), "{field:?} not in {line}");
        }
        assert!(line_for(&lines, app, &alerts[1]).contains(" c6a2Label=Source IPv6 Address c6a2=fd00::17 "));
    }
}

#[test]
fn tcp_and_tls_reconnect_after_rsyslog_restarts() {
    let Some(bin) = rsyslogd() else { return };
    let dir = tempfile::tempdir().unwrap();
    common::make_certificates(dir.path());
    let ports = free_ports();
    let rsyslog = start_rsyslog(&bin, dir.path(), &ports, 1);

    let config = AlertsConfig {
        syslog: vec![
            target("tcp", Transport::Tcp, ports.tcp, dir.path()),
            target("tls", Transport::Tls, ports.tls, dir.path()),
        ],
        ..common::quick_config(dir.path().join("dead.jsonl"))
    };
    let dispatcher = Dispatcher::start(&config).unwrap();
    dispatcher.send(common::alert("r1"));
    received(dir.path(), 2);
    drop(rsyslog); // killed: both connections are closed under the dispatcher
    let _rsyslog = start_rsyslog(&bin, dir.path(), &ports, 2);
    dispatcher.send(common::alert("r2"));
    let report = dispatcher.finish();
    assert!(report.all_delivered(), "{report}");
    let lines = received(dir.path(), 4);
    for app in ["ot-tcp", "ot-tls"] {
        line_for(&lines, app, &common::alert("r2"));
    }
}
