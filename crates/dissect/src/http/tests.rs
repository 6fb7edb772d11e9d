#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::*;
use crate::test_support::{event_attr, run, splits_at_every_offset};
use proptest::prelude::*;
use Direction::{ToClient as S2C, ToServer as C2S};

fn attr<'a>(m: &'a crate::test_support::Message, k: &str) -> Option<&'a str> {
    m.4.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

#[test]
fn probes_request_and_status_lines_only() {
    assert_eq!(Http.probe(C2S, b"GET /index.htm HTTP/1.1\r\nHost: x\r\n"), Probe::Match);
    assert_eq!(Http.probe(C2S, b"GET /index.htm HTTP/1.0\n"), Probe::Match);
    assert_eq!(Http.probe(C2S, b"GET /index"), Probe::NeedMore);
    assert_eq!(Http.probe(S2C, b"HTTP/1.1 200 OK\r\n"), Probe::Match);
    assert_eq!(Http.probe(S2C, b"HTTP/1."), Probe::NeedMore);
    assert_eq!(Http.probe(C2S, wire::H2_PREFACE), Probe::Match);
    // Look-alikes: RTSP, SIP, an SSH banner, an FTP greeting and command.
    assert_eq!(Http.probe(C2S, b"DESCRIBE rtsp://cam/1 RTSP/1.0\r\n"), Probe::NoMatch);
    assert_eq!(Http.probe(S2C, b"RTSP/1.0 200 OK\r\n"), Probe::NoMatch);
    assert_eq!(Http.probe(C2S, b"INVITE sip:a@b SIP/2.0\r\n"), Probe::NoMatch);
    assert_eq!(Http.probe(C2S, b"SSH-2.0-OpenSSH_5.9p1 Debian-5ubuntu1\r\n"), Probe::NoMatch);
    assert_eq!(Http.probe(S2C, b"SSH-2.0-OpenSSH_5.9\r\n"), Probe::NoMatch);
    assert_eq!(Http.probe(S2C, b"220 FTP ready\r\n"), Probe::NoMatch);
    assert_eq!(Http.probe(C2S, b"USER anonymous\r\n"), Probe::NoMatch);
    assert_eq!(Http.probe(C2S, b"\xff\xfb\x18"), Probe::NoMatch);
    // A long target is decided on a well-known method.
    let mut long = b"GET /".to_vec();
    long.extend([b'a'; 300]);
    assert_eq!(Http.probe(C2S, &long), Probe::Match);
}

#[test]
fn decodes_the_basic_user_and_never_the_password() {
    // "operator:s3cret" in base64.
    assert_eq!(basic_user(b"b3BlcmF0b3I6czNjcmV0").as_deref(), Some("operator"));
    // "admin:" (empty password), padded.
    assert_eq!(basic_user(b"YWRtaW46").as_deref(), Some("admin"));
    assert_eq!(basic_user(b"YTpi").as_deref(), Some("a"));
    assert_eq!(basic_user(b"bm9jb2xvbg=="), None, "no ':' in 'nocolon'");
    assert_eq!(basic_user(b"!!!!"), None);
}

#[test]
fn tells_login_forms_by_their_path() {
    assert!(is_login_path("/goform/login"));
    assert!(is_login_path("/cgi-bin/Logon.cgi"));
    assert!(is_login_path("/api/auth.json"));
    assert!(!is_login_path("/author.htm"));
    assert!(!is_login_path("/plc/setpoint.cgi"));
}

#[test]
fn keeps_the_path_without_query_values_or_user_information() {
    assert_eq!(path_of("/cgi-bin/login.cgi?user=a&pw=b"), ("/cgi-bin/login.cgi".to_string(), true));
    assert_eq!(path_of("/a;jsessionid=123"), ("/a".to_string(), false));
    assert_eq!(path_of("http://u:p@plc:8080/x?y"), ("http://plc:8080/x".to_string(), true));
    assert_eq!(path_of(&format!("/{}", "a".repeat(400))).0.len(), MAX_TEXT);
}

/// A device's web server: a 401 with its realm, a Basic login, a write, a
/// read; then the engineering station's browser pipelines two more.
fn exchange() -> (Vec<u8>, Vec<u8>) {
    let client = b"GET /plc/status.htm HTTP/1.1\r\n\
        Host: 10.0.0.5\r\n\
        User-Agent: Mozilla/5.0 (Windows NT 10.0)\r\n\r\n\
        GET /plc/status.htm HTTP/1.1\r\n\
        Host: 10.0.0.5\r\n\
        User-Agent: Mozilla/5.0 (Windows NT 10.0)\r\n\
        Authorization: Basic b3BlcmF0b3I6czNjcmV0\r\n\r\n\
        POST /plc/setpoint.cgi?token=abc HTTP/1.1\r\n\
        Host: 10.0.0.5\r\n\
        Content-Type: application/x-www-form-urlencoded\r\n\
        Cookie: SID=deadbeef\r\n\
        Content-Length: 9\r\n\r\n\
        value=42\n\
        PUT /files/prog.bin HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n\
        DELETE /files/old.bin HTTP/1.1\r\n\r\n"
        .to_vec();
    let server = b"HTTP/1.1 401 Unauthorized\r\n\
        Server: GoAhead-Webs/2.5.0 PeerSec-MatrixSSL/3.4.2-OPEN\r\n\
        WWW-Authenticate: Basic realm=\"SIMATIC S7-1200\"\r\n\
        Content-Length: 0\r\n\r\n\
        HTTP/1.1 200 OK\r\n\
        Server: GoAhead-Webs/2.5.0 PeerSec-MatrixSSL/3.4.2-OPEN\r\n\
        Content-Length: 5\r\n\r\nhello\
        HTTP/1.1 200 OK\r\n\
        Server: GoAhead-Webs/2.5.0 PeerSec-MatrixSSL/3.4.2-OPEN\r\n\
        Set-Cookie: a=1\r\n\
        Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n\
        HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n\
        HTTP/1.1 403 Forbidden\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n\r\n"
        .to_vec();
    (client, server)
}

#[test]
fn keeps_logins_writes_and_refusals_and_the_server_identity() {
    let (client, server) = exchange();
    let r = run(&Http, &[(C2S, client), (S2C, server)]);
    assert!(r.malformed.is_empty(), "{:?}", r.malformed);
    use OperationClass::*;
    let got: Vec<_> = r.messages.iter().map(|m| (m.1, m.2.as_str(), m.3)).collect();
    assert_eq!(
        got,
        vec![
            (C2S, "get", Read),
            (C2S, "authenticate", Authentication),
            (C2S, "post", Write),
            (C2S, "put", Write),
            (C2S, "delete", Write),
            (S2C, "response_4xx", Session),        // the unauthenticated read is not kept
            (S2C, "authenticate", Authentication), // the login's answer
            (S2C, "post", Write),
            (S2C, "put", Write),
            (S2C, "delete", Write), // refused: kept again with its status
        ]
    );
    assert_eq!(r.folded, vec![6, 7, 8], "2xx answers fold into their request");
    let login = &r.messages[1];
    assert_eq!(
        (attr(login, "scheme"), attr(login, "user"), attr(login, "path")),
        (Some("basic"), Some("operator"), Some("/plc/status.htm"))
    );
    let all = format!("{:?}{:?}", r.messages, r.events);
    assert!(!all.contains("s3cret") && !all.contains("b3BlcmF0b3I6czNjcmV0"), "never the password");
    assert!(!all.contains("deadbeef") && !all.contains("token=abc"), "never cookie or query values");
    let post = &r.messages[2];
    assert_eq!(
        (attr(post, "query"), attr(post, "cookie"), attr(post, "content_length"), attr(post, "host")),
        (Some("present"), Some("present"), Some("9"), Some("10.0.0.5"))
    );
    assert_eq!(attr(post, "content_type"), Some("application/x-www-form-urlencoded"));
    assert_eq!(attr(&r.messages[3], "transfer"), Some("chunked"));
    let refused = &r.messages[9];
    assert_eq!((attr(refused, "status"), attr(refused, "set_cookies")), (Some("403"), Some("2")));

    let servers: Vec<_> = r.events.iter().filter(|e| e.name == "http.server").collect();
    assert_eq!(servers.len(), 2, "with its realm, then without; repeats not kept again");
    assert_eq!(
        (event_attr(servers[0], "product"), event_attr(servers[0], "version")),
        (Some("GoAhead-Webs"), Some("2.5.0"))
    );
    assert_eq!(event_attr(servers[0], "realm"), Some("SIMATIC S7-1200"));
    assert_eq!(event_attr(servers[0], "description"), Some("GoAhead-Webs/2.5.0 PeerSec-MatrixSSL/3.4.2-OPEN"));
    let clients: Vec<_> = r.events.iter().filter(|e| e.name == "http.client").collect();
    assert_eq!(clients.len(), 1);
    assert_eq!(event_attr(clients[0], "software"), Some("Mozilla/5.0 (Windows NT 10.0)"));
}

#[test]
fn a_refused_login_is_kept_with_its_status_and_other_schemes_keep_no_value() {
    let r = run(
        &Http,
        &[
            (C2S, b"GET / HTTP/1.1\r\nAuthorization: Bearer eyJhbGciOi.secret.sig\r\n\r\n".to_vec()),
            (C2S, b"GET / HTTP/1.1\r\nAuthorization: Digest username=\"op\", response=\"abc\"\r\n\r\n".to_vec()),
            (C2S, b"POST /goform/login HTTP/1.1\r\nContent-Length: 3\r\n\r\npw=".to_vec()),
            (S2C, b"HTTP/1.1 401 No\r\nWWW-Authenticate: Digest realm=\"RTU\", nonce=\"1\"\r\n\r\n".to_vec()),
            (S2C, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec()),
            (S2C, b"HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n".to_vec()),
        ],
    );
    let kept: Vec<_> = r.messages.iter().filter(|m| !m.4.is_empty()).collect();
    assert_eq!(kept.len(), 4);
    assert_eq!((attr(kept[0], "scheme"), attr(kept[0], "user")), (Some("bearer"), None));
    assert_eq!(attr(kept[1], "scheme"), Some("digest"));
    assert_eq!((kept[2].3, attr(kept[2], "form_login")), (OperationClass::Authentication, Some("true")));
    assert_eq!(
        (attr(kept[3], "status"), attr(kept[3], "www_authenticate"), attr(kept[3], "realm")),
        (Some("401"), Some("digest"), Some("RTU"))
    );
    let all = format!("{:?}", r.messages);
    assert!(!all.contains("secret") && !all.contains("abc") && !all.contains("\"op\""));
}

#[test]
fn unknown_methods_are_named_and_stops_are_counted() {
    let r = run(
        &Http,
        &[
            (C2S, b"PROPFIND /dav HTTP/1.1\r\n\r\nGET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n".to_vec()),
            (S2C, b"HTTP/1.1 207 Multi\r\nContent-Length: 0\r\n\r\nHTTP/1.1 101 Switching\r\n\r\n\x81\x01x".to_vec()),
        ],
    );
    let ops: Vec<_> = r.messages.iter().map(|m| (m.2.as_str(), m.3)).collect();
    assert_eq!(
        ops,
        vec![
            ("unknown_propfind", OperationClass::Unknown),
            ("get", OperationClass::Read),
            ("response_2xx", OperationClass::Session),
            ("response_1xx", OperationClass::Session),
            ("upgrade", OperationClass::Session),
        ]
    );
    assert!(r.malformed.is_empty());
}

#[test]
fn the_same_records_whatever_the_segmentation() {
    let (client, server) = exchange();
    splits_at_every_offset(&Http, &client, &server);
}

proptest! {
    #[test]
    fn never_panics(a in proptest::collection::vec(any::<u8>(), 0..600), b in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut c = b"POST / HTTP/1.1\r\nAuthorization: Basic ".to_vec();
        c.extend(&a);
        let mut s = b"HTTP/1.1 401 x\r\nWWW-Authenticate: ".to_vec();
        s.extend(&b);
        let _ = run(&Http, &[(C2S, c), (S2C, s), (C2S, a), (S2C, b)]);
    }
}

#[test]
fn a_request_line_comes_from_the_client_and_a_status_line_from_the_server() {
    assert_eq!(Http.sent_by_client(b"GET /index.html HTTP/1.1\r\nHost: plc\r\n\r\n"), Some(true));
    assert_eq!(Http.sent_by_client(b"HTTP/1.1 404 Not Found\r\n\r\n"), Some(false));
    assert_eq!(Http.sent_by_client(b"<html><body>"), None);
    assert_eq!(Http.sent_by_client(b"HTTP/1."), None);
}
