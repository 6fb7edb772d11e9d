//! `[alerts]` as the site file carries it: TOML parsing, defaults, and what `validate` reports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;

use otposture_alerts::{validate, AlertError, AlertsConfig, Dispatcher, Facility, Severity, Transport};
use serde::Deserialize;

#[derive(Deserialize)]
struct Site {
    alerts: AlertsConfig,
}

fn parse(toml_text: &str) -> Result<AlertsConfig, toml::de::Error> {
    toml::from_str::<Site>(toml_text).map(|s| s.alerts)
}

#[test]
fn parses_a_full_alerts_table_and_fills_defaults() {
    let c = parse(
        r#"
        [alerts]
        min_severity = "medium"
        dead_letter = "/var/lib/otposture/dead.jsonl"

        [[alerts.syslog]]
        name = "siem"
        address = "siem.plant.example:6514"
        transport = "tls"
        server_name = "siem.plant.example"

        [[alerts.syslog]]
        name = "local"
        address = "127.0.0.1:514"
        transport = "udp"
        facility = "local7"

        [[alerts.webhook]]
        name = "soar"
        url = "https://soar.example/hooks/otposture"
        secret_env = "OTPOSTURE_SOAR_KEY"
        timeout_ms = 2000
        min_severity = "high"
        "#,
    )
    .unwrap();
    assert_eq!(c.min_severity, Severity::Medium);
    assert_eq!(c.dead_letter, PathBuf::from("/var/lib/otposture/dead.jsonl"));
    assert_eq!((c.max_attempts, c.initial_backoff_ms, c.max_backoff_ms, c.deadline_secs), (8, 500, 60_000, 30));
    assert_eq!(c.syslog.len(), 2);
    let siem = &c.syslog[0];
    assert_eq!(
        (siem.transport, siem.facility, siem.app_name.as_str()),
        (Transport::Tls, Facility::Local4, "otposture")
    );
    assert_eq!((siem.hostname.as_deref(), siem.ca_file.as_deref(), siem.timeout_ms), (None, None, 5000));
    assert_eq!((c.syslog[1].transport, c.syslog[1].facility.code()), (Transport::Udp, 23));
    let soar = &c.webhook[0];
    assert_eq!(
        (soar.timeout_ms, soar.min_severity, soar.secret_env.as_deref()),
        (2000, Some(Severity::High), Some("OTPOSTURE_SOAR_KEY"))
    );
}

#[test]
fn an_empty_table_is_all_defaults() {
    assert_eq!(parse("[alerts]\n").unwrap(), AlertsConfig::default());
    assert_eq!(AlertsConfig::default().dead_letter, PathBuf::from("otposture-dead-letter.jsonl"));
    assert!(validate(&AlertsConfig::default()).is_empty());
}

#[test]
fn unknown_keys_are_rejected_at_every_level() {
    let e = parse("[alerts]\nmax_attempt = 3\n").unwrap_err();
    assert!(e.to_string().contains("max_attempt"), "{e}");
    let e =
        parse("[[alerts.syslog]]\nname = \"a\"\naddress = \"h:514\"\ntransport = \"udp\"\nport = 514\n").unwrap_err();
    assert!(e.to_string().contains("port"), "{e}");
    let e = parse("[[alerts.webhook]]\nname = \"a\"\nurl = \"http://h/\"\nsecret = \"inline\"\n").unwrap_err();
    assert!(e.to_string().contains("secret"), "{e}");
}

#[test]
fn unknown_transport_and_severity_are_rejected() {
    let e = parse("[[alerts.syslog]]\nname = \"a\"\naddress = \"h:514\"\ntransport = \"relp\"\n").unwrap_err();
    assert!(e.to_string().contains("relp"), "{e}");
    let e = parse("[alerts]\nmin_severity = \"info\"\n").unwrap_err();
    assert!(e.to_string().contains("info"), "{e}");
}

#[test]
fn validate_reports_each_problem_with_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let not_pem = dir.path().join("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let c = parse(&format!(
        r#"
        [alerts]
        max_attempts = 0
        [[alerts.syslog]]
        name = "a"
        address = "no-port"
        transport = "udp"
        [[alerts.syslog]]
        name = "b"
        address = "[::1]:6514"
        transport = "tls"
        ca_file = "{missing}"
        [[alerts.syslog]]
        name = "c"
        address = "h:70000"
        transport = "tcp"
        ca_file = "{not_pem}"
        [[alerts.webhook]]
        name = "a"
        url = "ftp://soar.example/"
        secret_env = "OTPOSTURE_TEST_SURELY_UNSET_VARIABLE"
        [[alerts.webhook]]
        name = "e"
        url = "http://soar.example/"
        "#,
        missing = dir.path().join("missing.pem").display(),
        not_pem = not_pem.display(),
    ))
    .unwrap();
    let problems = validate(&c);
    let expect = [
        "[alerts] max_attempts must be at least 1",
        "[alerts] target name \"a\" is used twice",
        "[[alerts.syslog]] \"a\": address \"no-port\": no :port",
        "[[alerts.syslog]] \"b\": ca_file ",
        "[[alerts.syslog]] \"c\": address \"h:70000\": port \"70000\"",
        "[[alerts.syslog]] \"c\": ca_file applies only to transport = \"tls\"",
        "[[alerts.syslog]] \"c\": ca_file ",
        "[[alerts.webhook]] \"a\": url: must start with http:// or https://",
        "[[alerts.webhook]] \"a\": secret_env: environment variable OTPOSTURE_TEST_SURELY_UNSET_VARIABLE is not set",
        "[[alerts.webhook]] \"e\": no secret_env or secret_file",
    ];
    for e in expect {
        assert!(problems.iter().any(|p| p.starts_with(e)), "no problem starting {e:?} in {problems:#?}");
    }
    assert!(problems.iter().any(|p| p.contains("missing.pem") && p.contains("No such file")), "{problems:#?}");
    assert!(problems.iter().any(|p| p.contains("not.pem") && p.contains("no CERTIFICATE")), "{problems:#?}");
    assert_eq!(problems.len(), expect.len(), "{problems:#?}");

    let Err(AlertError::Invalid { problems: from_start }) = Dispatcher::start(&c) else {
        panic!("start must refuse an invalid configuration")
    };
    assert_eq!(from_start, problems);
}

#[test]
fn secrets_stay_out_of_errors() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    std::fs::write(&key, "").unwrap();
    let c = parse(&format!(
        "[[alerts.webhook]]\nname = \"w\"\nurl = \"https://u:pa55word@h/t0ken\"\nsecret_file = \"{}\"\n",
        key.display()
    ))
    .unwrap();
    let problems = validate(&c).join("\n");
    assert!(problems.contains("the secret is empty"), "{problems}");
    assert!(!problems.contains("pa55word") && !problems.contains("t0ken"), "{problems}");
}
