//! Webhook delivery against a real HTTP receiver on loopback: a thread with a
//! std `TcpListener` that parses each request (httparse), checks the HMAC
//! signature with its own key, and answers as each test scripts it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use otposture_alerts::{redeliver, AlertsConfig, DeadLetter, Dispatcher, WebhookTarget};
use sha2::Sha256;

const KEY: &str = "receiver-shared-key-7f3a";

/// What the receiver answers to the n-th request (0-based) for an alert id.
#[derive(Clone, Copy)]
enum Answer {
    Status(u16),
    StatusRetryAfter(u16, u64),
    /// Read the request, then never answer.
    Hang,
}

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Request {
    delivery: String,
    body: serde_json::Value,
    signature_ok: bool,
    status: u16,
}

#[derive(Clone, Default)]
struct Log {
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Log {
    fn delivered_ids(&self) -> Vec<String> {
        self.requests.lock().unwrap().iter().filter(|r| r.status == 200).map(|r| r.delivery.clone()).collect()
    }
    fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

trait Stream: Read + Write + Send {}
impl<S: Read + Write + Send> Stream for S {}

/// Serves plain HTTP on `listener` until the test ends; `answer(id, n)` scripts the replies.
fn serve(listener: TcpListener, answer: impl Fn(&str, usize) -> Answer + Send + 'static) -> Log {
    serve_with(listener, None, answer)
}

/// Serves HTTP, or HTTPS with `tls`.
fn serve_with(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    answer: impl Fn(&str, usize) -> Answer + Send + 'static,
) -> Log {
    let log = Log::default();
    let requests = Arc::clone(&log.requests);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut stream: Box<dyn Stream> = match &tls {
                None => Box::new(stream),
                Some(config) => {
                    let conn = rustls::ServerConnection::new(Arc::clone(config)).unwrap();
                    Box::new(rustls::StreamOwned::new(conn, stream))
                }
            };
            let Some((head, body)) = read_request(&mut stream) else { continue };
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut req = httparse::Request::new(&mut headers);
            req.parse(&head).unwrap();
            assert_eq!((req.method, req.path), (Some("POST"), Some("/hooks/ot?site=1")));
            let header = |name: &str| {
                let h = req.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name));
                String::from_utf8(h.unwrap_or_else(|| panic!("no {name} header")).value.to_vec()).unwrap()
            };
            assert_eq!(header("Content-Type"), "application/json");
            let timestamp = header("X-Otposture-Timestamp");
            let age = now_secs().abs_diff(timestamp.parse::<u64>().unwrap());
            assert!(age < 60, "timestamp {timestamp} is not now");
            // The check a receiver makes (docs/alerts.md), with its own copy of the key.
            let mut mac = Hmac::<Sha256>::new_from_slice(KEY.as_bytes()).unwrap();
            mac.update(format!("{timestamp}.").as_bytes());
            mac.update(&body);
            let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
            let signature_ok = header("X-Otposture-Signature") == format!("sha256={expected}");
            let delivery = header("X-Otposture-Delivery");
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let seen_before = requests.lock().unwrap().iter().filter(|r: &&Request| r.delivery == delivery).count();
            let reply = answer(&delivery, seen_before);
            let status = match reply {
                Answer::Status(s) | Answer::StatusRetryAfter(s, _) => s,
                Answer::Hang => 0,
            };
            requests.lock().unwrap().push(Request { delivery, body, signature_ok, status });
            match reply {
                Answer::Status(s) => respond(&mut stream, s, ""),
                Answer::StatusRetryAfter(s, after) => respond(&mut stream, s, &format!("Retry-After: {after}\r\n")),
                Answer::Hang => {
                    std::thread::spawn(move || {
                        std::thread::sleep(Duration::from_secs(30));
                        drop(stream);
                    });
                }
            }
        }
    });
    log
}

fn read_request(stream: &mut dyn Stream) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
        let head = buf[..end + 4].to_vec();
        let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
        let len: usize = text
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map(|v| v.trim().parse().unwrap())
            .expect("Content-Length");
        while buf.len() < end + 4 + len {
            let n = stream.read(&mut chunk).ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        return Some((head, buf[end + 4..end + 4 + len].to_vec()));
    }
}

fn respond(stream: &mut dyn Stream, status: u16, extra: &str) {
    let _ = write!(stream, "HTTP/1.1 {status} Scripted\r\nContent-Length: 2\r\n{extra}Connection: close\r\n\r\nok");
    let _ = stream.flush();
}

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

fn config(dir: &Path, addr: SocketAddr) -> AlertsConfig {
    let key = dir.join("soar.key");
    std::fs::write(&key, format!("{KEY}\n")).unwrap();
    AlertsConfig {
        webhook: vec![WebhookTarget {
            name: "soar".into(),
            url: format!("http://{addr}/hooks/ot?site=1"),
            secret_env: None,
            secret_file: Some(key),
            timeout_ms: 1000,
            ca_file: None,
            min_severity: None,
        }],
        ..common::quick_config(dir.join("dead.jsonl"))
    }
}

fn dead_letters(path: &Path) -> Vec<DeadLetter> {
    match std::fs::read_to_string(path) {
        Ok(text) => text.lines().map(|l| serde_json::from_str(l).unwrap()).collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn delivers_signed_json_that_the_receiver_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let log = serve(listener, |_, _| Answer::Status(200));
    let dispatcher = Dispatcher::start(&config(dir.path(), addr)).unwrap();
    assert!(!format!("{dispatcher:?}").contains(KEY), "the key is in Debug output");
    for id in ["a1", "a2", "a3"] {
        dispatcher.send(common::alert(id));
    }
    let report = dispatcher.finish();
    assert!(report.all_delivered(), "{report}");
    assert_eq!((report.targets[0].delivered, report.targets[0].retried), (3, 0));
    assert_eq!(log.delivered_ids(), ["a1", "a2", "a3"], "in order, once each");
    let requests = log.requests.lock().unwrap().clone();
    assert!(requests.iter().all(|r| r.signature_ok), "{requests:#?}");
    let body = &requests[0].body;
    assert_eq!(body["schema"], "otposture.alert/1");
    assert_eq!((body["id"].as_str(), body["severity"].as_str()), (Some("a1"), Some("high")));
    assert_eq!(body["detail"]["port"], 502);
    assert_eq!(body["source"], "192.168.10.20");
    assert!(dead_letters(&dir.path().join("dead.jsonl")).is_empty());
}

#[test]
fn a_receiver_answering_503_twice_gets_each_alert_once() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let log = serve(listener, |_, n| if n < 2 { Answer::Status(503) } else { Answer::Status(200) });
    let dispatcher = Dispatcher::start(&config(dir.path(), addr)).unwrap();
    dispatcher.send(common::alert("b1"));
    dispatcher.send(common::alert("b2"));
    let report = dispatcher.finish();
    assert!(report.all_delivered(), "{report}");
    assert_eq!((report.targets[0].delivered, report.targets[0].retried), (2, 4));
    assert_eq!(log.count(), 6);
    assert_eq!(log.delivered_ids(), ["b1", "b2"]);
}

#[test]
fn retry_after_is_honoured_but_capped_by_max_backoff() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // Asks for an hour; max_backoff_ms (100) caps it, so delivery comes well within the 3 s deadline.
    let log = serve(listener, |_, n| if n == 0 { Answer::StatusRetryAfter(429, 3600) } else { Answer::Status(200) });
    let dispatcher = Dispatcher::start(&config(dir.path(), addr)).unwrap();
    dispatcher.send(common::alert("c1"));
    let report = dispatcher.finish();
    assert!(report.all_delivered(), "{report}");
    assert_eq!((report.targets[0].delivered, report.targets[0].retried), (1, 1));
    assert_eq!(log.delivered_ids(), ["c1"]);
}

#[test]
fn a_client_error_is_dead_lettered_at_once_without_retries() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let log = serve(listener, |_, _| Answer::Status(400));
    let dispatcher = Dispatcher::start(&config(dir.path(), addr)).unwrap();
    dispatcher.send(common::alert("d1"));
    let report = dispatcher.finish();
    let t = &report.targets[0];
    assert_eq!((t.delivered, t.retried, t.dead_lettered), (0, 0, 1), "{report}");
    assert_eq!(log.count(), 1);
    let dead = dead_letters(&dir.path().join("dead.jsonl"));
    assert_eq!(dead.len(), 1);
    assert_eq!((dead[0].target.as_str(), dead[0].attempts, dead[0].alert.id.as_str()), ("soar", 1, "d1"));
    assert!(dead[0].last_error.contains("HTTP 400"), "{}", dead[0].last_error);
    assert_eq!(dead[0].alert, common::alert("d1"), "the alert is kept whole");
}

#[test]
fn a_down_receiver_costs_at_most_the_deadline_and_redeliver_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener); // nothing listens there now
    let mut config = config(dir.path(), addr);
    config.max_attempts = 1000; // only the deadline ends the retries
    config.deadline_secs = 2;
    let dead_path = dir.path().join("dead.jsonl");
    // An earlier line must survive the appends.
    std::fs::write(&dead_path, "not json, kept as it is\n").unwrap();

    let started = Instant::now();
    let dispatcher = Dispatcher::start(&config).unwrap();
    dispatcher.send(common::alert("e1"));
    dispatcher.send(common::alert("e2"));
    let report = dispatcher.finish();
    let took = started.elapsed();
    assert!(took < Duration::from_millis(3500), "finish took {took:?} with a 2 s deadline");
    let t = &report.targets[0];
    assert_eq!((t.delivered, t.dead_lettered), (0, 2), "{report}");
    assert!(t.retried > 0, "{report}");
    let text = std::fs::read_to_string(&dead_path).unwrap();
    assert!(text.starts_with("not json, kept as it is\n"), "{text}");
    assert!(!text.contains(KEY), "the key is in the dead-letter file");
    let dead: Vec<DeadLetter> = text.lines().skip(1).map(|l| serde_json::from_str(l).unwrap()).collect();
    let ids: Vec<&str> = dead.iter().map(|d| d.alert.id.as_str()).collect();
    assert_eq!(ids, ["e1", "e2"]);
    assert!(dead[0].attempts > 1 && dead[0].last_error.contains("refused"), "{:?}", dead[0]);
    assert_eq!(dead[1].attempts, 0, "e2 waited behind e1 and was never tried");

    // The receiver comes back on the same port.
    let log = serve(TcpListener::bind(addr).unwrap(), |_, _| Answer::Status(200));
    let report = redeliver(&config).unwrap();
    assert_eq!((report.targets[0].delivered, report.unreadable_lines), (2, 1), "{report}");
    assert_eq!(log.delivered_ids(), ["e1", "e2"]);
    assert!(log.requests.lock().unwrap().iter().all(|r| r.signature_ok));
    assert_eq!(
        std::fs::read_to_string(&dead_path).unwrap(),
        "not json, kept as it is\n",
        "only the unreadable line is left"
    );

    // Nothing left to send: a second redeliver changes nothing.
    let report = redeliver(&config).unwrap();
    assert_eq!(report.targets[0].delivered, 0);
    assert_eq!(log.count(), 2);
}

#[test]
fn redeliver_keeps_what_still_fails_with_attempts_counted_on() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let log = serve(listener, |id, _| if id == "f2" { Answer::Status(422) } else { Answer::Status(200) });
    let config = config(dir.path(), addr);
    let entry = |id: &str, target: &str| DeadLetter {
        target: target.into(),
        alert: common::alert(id),
        attempts: 4,
        last_error: "earlier".into(),
        dead_lettered_at_ns: 1,
    };
    let lines: Vec<String> = [entry("f1", "soar"), entry("f2", "soar"), entry("f3", "retired-siem")]
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    std::fs::write(&config.dead_letter, lines.join("\n") + "\n").unwrap();
    let report = redeliver(&config).unwrap();
    assert_eq!((report.targets[0].delivered, report.targets[0].dead_lettered, report.unknown_target), (1, 1, 1));
    assert_eq!(log.delivered_ids(), ["f1"]);
    let left = dead_letters(&config.dead_letter);
    let left: Vec<(&str, &str, u32)> =
        left.iter().map(|d| (d.target.as_str(), d.alert.id.as_str(), d.attempts)).collect();
    assert_eq!(left, [("retired-siem", "f3", 4), ("soar", "f2", 5)]);
}

#[test]
fn send_returns_at_once_while_the_receiver_hangs() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let hung = Arc::new(AtomicUsize::new(0));
    let log = serve(listener, {
        let hung = Arc::clone(&hung);
        move |_, _| {
            hung.fetch_add(1, Ordering::SeqCst);
            Answer::Hang
        }
    });
    let mut config = config(dir.path(), addr);
    config.deadline_secs = 1;
    let dispatcher = Dispatcher::start(&config).unwrap();
    dispatcher.send(common::alert("g0"));
    // Wait until the target's thread is stuck waiting for an answer.
    let wait = Instant::now();
    while hung.load(Ordering::SeqCst) == 0 && wait.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(hung.load(Ordering::SeqCst), 1);
    let started = Instant::now();
    for n in 1..1000 {
        dispatcher.send(common::alert(&format!("g{n}")));
    }
    let sending = started.elapsed();
    assert!(sending < Duration::from_millis(50), "1000 sends took {sending:?} while the receiver hangs");
    let started = Instant::now();
    let report = dispatcher.finish();
    assert!(started.elapsed() < Duration::from_millis(2500), "finish took {:?}", started.elapsed());
    assert_eq!((report.targets[0].delivered, report.targets[0].dead_lettered), (0, 1000), "{report}");
    assert_eq!(dead_letters(&config.dead_letter).len(), 1000);
    assert_eq!(log.delivered_ids().len(), 0);
}

#[test]
fn the_severity_threshold_applies_at_send() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let log = serve(listener, |_, _| Answer::Status(200));
    let mut config = config(dir.path(), addr);
    config.min_severity = otposture_alerts::Severity::Critical;
    let dispatcher = Dispatcher::start(&config).unwrap();
    dispatcher.send(common::alert("h1")); // High
    let mut critical = common::alert("h2");
    critical.severity = otposture_alerts::Severity::Critical;
    dispatcher.send(critical);
    let report = dispatcher.finish();
    assert_eq!((report.targets[0].delivered, report.targets[0].filtered), (1, 1), "{report}");
    assert_eq!(log.delivered_ids(), ["h2"]);
}

fn tls_server(dir: &Path) -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    common::make_certificates(dir);
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(dir.join("server.pem")).unwrap().map(Result::unwrap).collect();
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    Arc::new(config)
}

#[test]
fn delivers_over_https_trusting_the_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let log = serve_with(listener, Some(tls_server(dir.path())), |_, _| Answer::Status(200));
    let mut config = config(dir.path(), ([127, 0, 0, 1], port).into());
    config.webhook[0].url = format!("https://localhost:{port}/hooks/ot?site=1");
    config.webhook[0].ca_file = Some(dir.path().join("ca.pem"));
    let dispatcher = Dispatcher::start(&config).unwrap();
    dispatcher.send(common::alert("s1"));
    let report = dispatcher.finish();
    assert!(report.all_delivered(), "{report}");
    assert_eq!(log.delivered_ids(), ["s1"]);
    assert!(log.requests.lock().unwrap()[0].signature_ok);
}

#[test]
fn an_untrusted_https_receiver_gets_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let log = serve_with(listener, Some(tls_server(dir.path())), |_, _| Answer::Status(200));
    // Another CA than the one that signed the server's certificate.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    common::make_certificates(&other);
    let mut config = config(dir.path(), ([127, 0, 0, 1], port).into());
    config.webhook[0].url = format!("https://localhost:{port}/hooks/ot?site=1");
    config.webhook[0].ca_file = Some(other.join("ca.pem"));
    config.max_attempts = 2;
    let dispatcher = Dispatcher::start(&config).unwrap();
    dispatcher.send(common::alert("u1"));
    let report = dispatcher.finish();
    assert_eq!(report.targets[0].dead_lettered, 1, "{report}");
    let error = report.targets[0].last_error.clone().unwrap_or_default();
    assert!(error.contains("certificate"), "{error}");
    assert_eq!(log.count(), 0);
    let dead = dead_letters(&config.dead_letter);
    assert_eq!((dead.len(), dead[0].attempts), (1, 2), "max_attempts = 2, then the dead-letter file");
}
