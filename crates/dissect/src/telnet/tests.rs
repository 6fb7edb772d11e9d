#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::*;
use crate::test_support::{event_attr, run, splits_at_every_offset};
use proptest::prelude::*;
use Direction::{ToClient as S2C, ToServer as C2S};

fn attr<'a>(m: &'a crate::test_support::Message, k: &str) -> Option<&'a str> {
    m.4.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

/// A controller's Telnet service and a client logging in twice, in the order
/// the bytes cross the wire (the client types a character per packet).
fn session() -> Vec<(Direction, Vec<u8>)> {
    let mut s = vec![
        // IAC DO TERMINAL-TYPE, IAC DO NEW-ENVIRON, IAC WILL ECHO, IAC WILL SUPPRESS-GO-AHEAD
        (S2C, vec![0xff, 0xfd, 0x18, 0xff, 0xfd, 0x27, 0xff, 0xfb, 0x01, 0xff, 0xfb, 0x03]),
        // IAC WILL TERMINAL-TYPE, IAC WILL NEW-ENVIRON, IAC DO ECHO, IAC DO SUPPRESS-GO-AHEAD
        (C2S, vec![0xff, 0xfb, 0x18, 0xff, 0xfb, 0x27, 0xff, 0xfd, 0x01, 0xff, 0xfd, 0x03]),
        // IAC SB TERMINAL-TYPE SEND IAC SE
        (S2C, vec![0xff, 0xfa, 0x18, 0x01, 0xff, 0xf0]),
        // IAC SB TERMINAL-TYPE IS "xterm" IAC SE
        (C2S, vec![0xff, 0xfa, 0x18, 0x00, b'x', b't', b'e', b'r', b'm', 0xff, 0xf0]),
        // IAC SB NEW-ENVIRON IS VAR "USER" VALUE "eng" IAC SE
        (C2S, vec![0xff, 0xfa, 0x27, 0x00, 0x00, b'U', b'S', b'E', b'R', 0x01, b'e', b'n', b'g', 0xff, 0xf0]),
        (S2C, b"\r\nWAGO 750-8202 PFC200 FW 03.10.08\r\nLinux 4.9\r\n\r\nplc3 login: ".to_vec()),
    ];
    for b in b"eng\r\0" {
        s.push((C2S, vec![*b]));
        if *b != 0 {
            s.push((S2C, vec![*b]));
        }
    }
    s.push((S2C, b"\nPassword: ".to_vec()));
    s.push((C2S, b"hunter2\r\n".to_vec()));
    s.push((S2C, b"\r\nLogin incorrect\r\nplc3 login: ".to_vec()));
    s.push((C2S, b"admin\r\n".to_vec()));
    s.push((S2C, b"admin\r\nPassword: ".to_vec()));
    s.push((C2S, b"wago-pw\r\n".to_vec()));
    s.push((S2C, b"\r\nLast login: Mon\r\nroot@plc3:~# ".to_vec()));
    s.push((C2S, b"cat /etc/shadow\r\n".to_vec()));
    s.push((S2C, b"root:$6$secret-hash:...\r\nroot@plc3:~# ".to_vec()));
    s
}

#[test]
fn keeps_each_login_attempt_without_the_password_and_flags_the_session() {
    let r = run(&Telnet, &session());
    assert!(r.malformed.is_empty(), "{:?}", r.malformed);
    let kept: Vec<_> = r.messages.iter().filter(|m| m.2 == "login").collect();
    let got: Vec<_> = kept
        .iter()
        .map(|m| (attr(m, "user"), attr(m, "user_source"), attr(m, "password_sent"), attr(m, "result")))
        .collect();
    assert_eq!(
        got,
        vec![
            (Some("eng"), Some("prompt"), Some("true"), None),
            (Some("eng"), Some("prompt"), Some("true"), Some("failed")),
            (Some("admin"), Some("prompt"), Some("true"), None),
            (None, None, None, None), // the answer: folded, no attributes
        ]
    );
    assert_eq!(attr(kept[1], "reason"), Some("Login incorrect"));
    assert_eq!(r.folded.len(), 1, "the shell prompt answers the second attempt");
    let everything = format!("{:?}{:?}", r.messages, r.events);
    for secret in ["hunter2", "wago-pw", "shadow", "secret-hash"] {
        assert!(!everything.contains(secret), "{secret} must never be kept");
    }

    let banner = r.events.iter().find(|e| e.name == "telnet.banner").unwrap();
    assert_eq!(event_attr(banner, "description"), Some("WAGO 750-8202 PFC200 FW 03.10.08 / Linux 4.9"));
    assert_eq!(event_attr(banner, "prompt"), Some("plc3 login:"));
    assert_eq!(r.events.iter().filter(|e| e.name == "telnet.banner").count(), 1);

    let s = r.events.iter().find(|e| e.name == "telnet.session").unwrap();
    assert_eq!(s.kind, EventKind::Anomaly);
    assert_eq!(
        (event_attr(s, "clear_text"), event_attr(s, "login"), event_attr(s, "user"), event_attr(s, "password_sent")),
        (Some("true"), Some("succeeded"), Some("admin"), Some("true"))
    );
    assert_eq!(event_attr(s, "terminal_type"), Some("xterm"));
    assert_eq!(event_attr(s, "environ_user"), Some("eng"));
    assert_eq!(event_attr(s, "options"), Some("echo,suppress_go_ahead,terminal_type,new_environ"));
    assert_eq!(event_attr(s, "lines_to_server"), Some("5"));

    let ops: Vec<_> = r.messages.iter().take(10).map(|m| m.2.as_str()).collect();
    assert_eq!(
        ops,
        vec![
            "do_terminal_type",
            "do_new_environ",
            "will_echo",
            "will_suppress_go_ahead",
            "will_terminal_type",
            "will_new_environ",
            "do_echo",
            "do_suppress_go_ahead",
            "sb_terminal_type",
            "sb_terminal_type",
        ]
    );
}

#[test]
fn a_user_sent_by_new_environ_and_a_password_prompt_alone() {
    let r = run(
        &Telnet,
        &[
            (S2C, vec![0xff, 0xfd, 0x27]),
            // IAC SB NEW-ENVIRON IS VAR "USER" VALUE "op" USERVAR "X" VALUE "y" IAC SE
            (
                C2S,
                vec![
                    0xff, 0xfa, 0x27, 0x00, 0x00, b'U', b'S', b'E', b'R', 0x01, b'o', b'p', 0x03, b'X', 0x01, b'y',
                    0xff, 0xf0,
                ],
            ),
            (S2C, b"Password:".to_vec()),
            (C2S, b"pw\r\0".to_vec()),
            (S2C, b"\r\n% Authentication failed\r\n".to_vec()),
        ],
    );
    let kept: Vec<_> = r.messages.iter().filter(|m| m.2 == "login").collect();
    assert_eq!(kept.len(), 2);
    assert_eq!((attr(kept[0], "user"), attr(kept[0], "user_source")), (Some("op"), Some("new_environ")));
    assert_eq!((attr(kept[1], "result"), attr(kept[1], "reason")), (Some("failed"), Some("% Authentication failed")));
}

#[test]
fn stops_reading_a_direction_once_encryption_starts() {
    let r = run(
        &Telnet,
        &[
            (S2C, vec![0xff, 0xfb, 0x26]), // IAC WILL ENCRYPT
            (C2S, vec![0xff, 0xfd, 0x26]), // IAC DO ENCRYPT
            // IAC SB ENCRYPT START keyid IAC SE, then ciphertext holding IAC-like bytes
            (S2C, vec![0xff, 0xfa, 0x26, 0x03, 0x00, 0xff, 0xf0, 0xff, 0x01, 0xff, 0xfb, 0x00]),
        ],
    );
    assert!(r.malformed.is_empty());
    let ops: Vec<_> = r.messages.iter().map(|m| m.2.as_str()).collect();
    assert_eq!(ops, vec!["will_encrypt", "do_encrypt", "sb_encrypt", "encryption_start"]);
    let s = r.events.iter().find(|e| e.name == "telnet.session").unwrap();
    assert_eq!((event_attr(s, "clear_text"), event_attr(s, "encryption_offered")), (Some("false"), Some("true")));
}

#[test]
fn a_banner_line_that_ends_in_a_colon_is_no_prompt_unless_answered() {
    let r = run(
        &Telnet,
        &[
            (S2C, vec![0xff, 0xfb, 0x01]),
            (S2C, b"Contact user: ops\r\nLast login: today\r\nUsername: ".to_vec()),
            (C2S, b"op\r\n".to_vec()),
        ],
    );
    let kept: Vec<_> = r.messages.iter().filter(|m| m.2 == "login").collect();
    assert_eq!(kept.len(), 1, "the user typed, no password asked: kept at the end");
    assert_eq!((attr(kept[0], "user"), attr(kept[0], "password_sent")), (Some("op"), Some("false")));
    let banner = r.events.iter().find(|e| e.name == "telnet.banner").unwrap();
    assert_eq!(event_attr(banner, "description"), Some("Contact user: ops / Last login: today"));
}

#[test]
fn probes_option_negotiation_only() {
    assert_eq!(Telnet.probe(S2C, &[0xff, 0xfd, 0x18]), Probe::Match);
    assert_eq!(Telnet.probe(C2S, &[0xff, 0xfb]), Probe::Match);
    assert_eq!(Telnet.probe(S2C, &[0xff]), Probe::NeedMore);
    assert_eq!(Telnet.probe(S2C, &[0xff, 0xf0]), Probe::NoMatch);
    // IAC SB AUTHENTICATION REPLY (zeek's telnet-auth-missing-name.pcap opens so); IAC SB of option 100 does not.
    assert_eq!(Telnet.probe(S2C, &[0xff, 0xfa, 0x25, 0x02]), Probe::Match);
    assert_eq!(Telnet.probe(S2C, &[0xff, 0xfa, 100]), Probe::NoMatch);
    assert_eq!(Telnet.probe(S2C, b"login: "), Probe::NoMatch);
}

#[test]
fn the_same_records_whatever_the_segmentation() {
    // Client first, then server, whole or cut: the negotiation, subnegotiations and banner.
    let c: Vec<u8> = session().into_iter().filter(|(d, _)| *d == C2S).take(3).flat_map(|(_, b)| b).collect();
    let s: Vec<u8> = session().into_iter().filter(|(d, _)| *d == S2C).take(3).flat_map(|(_, b)| b).collect();
    let r = splits_at_every_offset(&Telnet, &c, &s);
    assert!(r.messages.len() >= 10);
    // The interleaved session, cut at every offset of every piece.
    let whole = run(&Telnet, &session());
    for (k, (d, bytes)) in session().iter().enumerate() {
        for cut in 0..=bytes.len() {
            let mut pieces = session();
            pieces.remove(k);
            pieces.insert(k, (*d, bytes[cut..].to_vec()));
            pieces.insert(k, (*d, bytes[..cut].to_vec()));
            let r = run(&Telnet, &pieces);
            assert_eq!(r.messages, whole.messages, "piece {k} cut at {cut}");
            assert_eq!(r.events, whole.events, "piece {k} cut at {cut}");
        }
    }
}

proptest! {
    #[test]
    fn never_panics(a in proptest::collection::vec(any::<u8>(), 0..400), b in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut s = vec![0xff, 0xfb, 0x01];
        s.extend(b"login: ");
        s.extend(&b);
        let _ = run(&Telnet, &[(S2C, s), (C2S, a.clone()), (S2C, b"Password:".to_vec()), (C2S, a), (S2C, b)]);
    }
}
