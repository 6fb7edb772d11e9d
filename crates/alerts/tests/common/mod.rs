//! Alerts and configurations shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::Path;
use std::process::Command;

use otposture_alerts::{Alert, AlertsConfig, Severity};

/// An alert whose text exercises CEF escaping: pipes, equals signs, backslashes, newlines.
pub(crate) fn alert(id: &str) -> Alert {
    Alert {
        id: id.to_owned(),
        finding_id: format!("finding-{id}"),
        event: "opened".to_owned(),
        check: "segmentation.unallowed_flow".to_owned(),
        title: "Flow from IT|zone to level-1 controllers".to_owned(),
        severity: Severity::High,
        time_ns: 1_700_000_000_123_456_789,
        site: Some("Plant=1".to_owned()),
        assets: vec!["asset-1".to_owned(), "asset-2".to_owned()],
        source: Some("192.168.10.20".parse().unwrap()),
        destination: Some("10.0.0.5".parse().unwrap()),
        protocol: Some("modbus".to_owned()),
        attack: vec!["T0886".to_owned()],
        remediation: Some("Allow it in a conduit\nor block it at C:\\fw".to_owned()),
        detail: serde_json::json!({"port": 502}),
    }
}

/// Short backoffs and deadline so failing receivers cost the tests seconds, not minutes.
pub(crate) fn quick_config(dead_letter: std::path::PathBuf) -> AlertsConfig {
    AlertsConfig {
        dead_letter,
        max_attempts: 5,
        initial_backoff_ms: 20,
        max_backoff_ms: 100,
        deadline_secs: 3,
        ..AlertsConfig::default()
    }
}

/// A CA and a server certificate for `localhost` and 127.0.0.1, made with the openssl CLI.
pub(crate) fn make_certificates(dir: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir).output().expect("the openssl CLI");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    run(&[
        &["req", "-x509"],
        &ec[..],
        &["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=otposture test CA"],
    ]
    .concat());
    run(&[&["req"], &ec[..], &["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"]].concat());
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
}
