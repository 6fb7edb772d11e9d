//! Telnet from real, independent implementations: the telnetlib3 server (its
//! own option negotiation) and the Debian inetutils `telnet` client driven
//! through a pseudo-terminal with `-l eng` (tests/peers/telnet_peer.py),
//! captured by tcpdump. The login prompts and the shell are the script's (no
//! system account is used); the negotiation is the library's and the client's.
//! `otposture analyze` must report the options agreed, the terminal type, the
//! NEW-ENVIRON user, the banner identity, a failed then a good login with the
//! user name and `password_sent` — the passwords and the command typed after
//! the login nowhere in its output or database — and flag the session as
//! clear-text remote access.
//! Needs python3 with telnetlib3, the telnet client and tcpdump
//! (scripts/setup.sh installs them); without them the test skips with one
//! line, unless CI=true.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::loopback;

use loopback::{analyze, capture, python_peer};

#[test]
fn reports_the_login_and_flags_a_clear_text_session_of_inetutils_telnet() {
    if !loopback::available(
        &["import telnetlib3, shutil; assert shutil.which('telnet')"],
        "python3 with telnetlib3, the telnet client (inetutils-telnet) and tcpdump",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run = capture(dir.path(), |port| python_peer("telnet_peer.py", port));
    let db = dir.path().join("peer.db");
    let summary = analyze(&db, &run.pcap);
    let json = |args: &[&str]| loopback::json(&db, args);

    let flows = json(&["flows", "--port", &run.port.to_string()]);
    let flows = flows["flows"].as_array().unwrap();
    assert_eq!(flows.len(), 1, "{flows:?}");
    assert_eq!((flows[0]["app_protocol"].as_str(), flows[0]["malformed"].as_u64()), (Some("telnet"), Some(0)));
    assert_eq!(summary["anomalies"]["malformed_messages"], 0, "{summary}");

    let banner = json(&["events", "--kind", "identity", "--protocol", "telnet"]);
    let b = &banner["events"][0]["attributes"];
    assert_eq!(b["description"], "PLC-3 CPU 1214C DC/DC/DC FW V4.5.2 / Serial S C-X4U012345", "{banner}");
    assert_eq!(b["prompt"], "plc3 login:");

    let ops = json(&["events", "--kind", "operation", "--protocol", "telnet"]);
    let ops = ops["events"].as_array().unwrap();
    let got: Vec<(&str, &str, &str, &str)> = ops
        .iter()
        .map(|e| {
            let a = &e["attributes"];
            (
                e["name"].as_str().unwrap(),
                a["user"].as_str().unwrap_or(""),
                a["password_sent"].as_str().unwrap_or(""),
                a["result"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![("login", "eng", "true", ""), ("login", "eng", "true", "failed"), ("login", "eng", "true", "")],
        "{ops:?}"
    );
    assert_eq!(ops[1]["attributes"]["reason"], "Login incorrect");
    assert!(ops.iter().all(|e| e["class"] == "authentication"));
    // The second attempt is answered by the shell prompt: counted, not kept again.
    let counted = json(&["operations", "--protocol", "telnet"]);
    let login = counted["operations"].as_array().unwrap().iter().find(|o| o["operation"] == "login").unwrap().clone();
    assert_eq!((login["to_server"].as_u64(), login["to_client"].as_u64()), (Some(3), Some(1)), "{login}");

    let session = json(&["events", "--kind", "anomaly", "--protocol", "telnet"]);
    let s =
        &session["events"].as_array().unwrap().iter().find(|e| e["name"] == "telnet.session").unwrap()["attributes"];
    assert_eq!((s["clear_text"].as_str(), s["login"].as_str()), (Some("true"), Some("succeeded")), "{s}");
    assert_eq!((s["user"].as_str(), s["environ_user"].as_str()), (Some("eng"), Some("eng")), "{s}");
    assert_eq!((s["password_sent"].as_str(), s["terminal_type"].as_str()), (Some("true"), Some("XTERM")), "{s}");
    let options: Vec<&str> = s["options"].as_str().unwrap().split(',').collect();
    for o in ["echo", "suppress_go_ahead", "terminal_type", "naws", "new_environ"] {
        assert!(options.contains(&o), "{o} not agreed: {options:?}");
    }

    // Neither password nor what was typed after the login is kept anywhere.
    for args in [&["events"][..], &["operations"], &["flows"], &["assets"], &["hosts"]] {
        let out = json(args).to_string();
        for secret in ["tn-secret-77", "wrong-guess", "show version"] {
            assert!(!out.contains(secret), "{args:?} holds {secret:?}");
        }
    }
    let stored = std::fs::read(&db).unwrap();
    for secret in [&b"tn-secret-77"[..], b"wrong-guess", b"show version"] {
        assert!(!stored.windows(secret.len()).any(|w| w == secret), "the database holds {secret:?}");
    }
}
