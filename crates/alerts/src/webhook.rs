//! Webhook delivery: one signed JSON `POST` per alert, to a SOAR or any HTTP receiver.
//!
//! HTTP/1.1 is written here over std `TcpStream` (and rustls for https) rather
//! than taken from an HTTP client crate: a delivery is one request with
//! `Connection: close` whose answer we need only the status line and
//! `Retry-After` of (parsed with httparse), no redirects, cookies, pooling or
//! compression. That is some 100 lines against a client with its own TLS
//! stack choice and a dozen transitive crates, and it lets one timeout bound
//! connect, write and the whole wait for the answer.
//!
//! Signature: `X-Otposture-Signature: sha256=<hex HMAC-SHA256(key, "<timestamp>.<body>")>`,
//! the timestamp being `X-Otposture-Timestamp` (Unix seconds), so a receiver can
//! refuse replays outside its window. The key never leaves this module: not in
//! errors, not in `Debug`.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};
use sha2::Sha256;

use crate::config::{is_print_us_ascii, WebhookTarget};
use crate::dispatch::{Failure, Sink};
use crate::Alert;

/// The body schema's name and version; a receiver dispatches on it.
pub(crate) const SCHEMA: &str = "otposture.alert/1";
/// A response head larger than this is not an HTTP receiver we can talk to.
const MAX_RESPONSE_HEAD: usize = 64 * 1024;

/// The webhook body: `{"schema":"otposture.alert/1", ...the alert's fields}`.
pub fn webhook_body(alert: &Alert) -> Vec<u8> {
    let mut map = serde_json::Map::new();
    map.insert("schema".to_owned(), SCHEMA.into());
    if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(alert) {
        map.extend(fields);
    }
    serde_json::to_vec(&serde_json::Value::Object(map)).unwrap_or_default()
}

/// `sha256=<lowercase hex HMAC-SHA256(key, "<timestamp>.<body>")>`.
pub fn sign(key: &[u8], timestamp: u64, body: &[u8]) -> String {
    // HMAC takes keys of any length (RFC 2104 section 2): new_from_slice cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for b in digest {
        out.push(hex_digit(b >> 4));
        out.push(hex_digit(b));
    }
    out
}

/// The lowercase hex digit of a byte's low four bits.
fn hex_digit(nibble: u8) -> char {
    char::from_digit(u32::from(nibble & 0xf), 16).unwrap_or('0')
}

/// The HMAC key. Its `Debug` never shows it.
pub(crate) struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The target's key from `secret_env` or `secret_file`; errors name the variable or file only.
pub(crate) fn load_secret(t: &WebhookTarget) -> Result<Secret, String> {
    let key = match (&t.secret_env, &t.secret_file) {
        (Some(_), Some(_)) => return Err("set secret_env or secret_file, not both".to_owned()),
        (None, None) => return Err("no secret_env or secret_file: webhooks are always signed".to_owned()),
        (Some(var), None) => match std::env::var_os(var) {
            None => return Err(format!("secret_env: environment variable {var} is not set")),
            Some(v) => match v.into_string() {
                Ok(s) => s.into_bytes(),
                Err(_) => return Err(format!("secret_env: environment variable {var} is not UTF-8")),
            },
        },
        (None, Some(path)) => {
            let mut key = crate::config::read_small_file(path, "secret_file")?;
            // One trailing newline, as editors and `echo` leave it, is not part of the key.
            if key.last() == Some(&b'\n') {
                key.pop();
                if key.last() == Some(&b'\r') {
                    key.pop();
                }
            }
            key
        }
    };
    if key.is_empty() {
        return Err("the secret is empty".to_owned());
    }
    Ok(Secret(key))
}

/// The parts of an `http://` or `https://` URL a request needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Url {
    pub(crate) https: bool,
    /// Without brackets for IPv6.
    pub(crate) host: String,
    pub(crate) port: u16,
    /// As written: the `Host` header.
    pub(crate) authority: String,
    /// Path and query; `/` at least.
    pub(crate) target: String,
}

impl Url {
    /// Parses; errors never repeat the URL (its path may carry a token).
    pub(crate) fn parse(url: &str) -> Result<Url, String> {
        let (https, rest) = if let Some(r) = strip_prefix_ignore_case(url, "https://") {
            (true, r)
        } else if let Some(r) = strip_prefix_ignore_case(url, "http://") {
            (false, r)
        } else {
            return Err("must start with http:// or https://".to_owned());
        };
        let rest = rest.split('#').next().unwrap_or_default();
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(end);
        if authority.contains('@') {
            return Err("user:password@ is not supported (use secret_env for the signing key)".to_owned());
        }
        let default_port = if https { 443 } else { 80 };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or("unclosed [ in the host")?;
            if host.parse::<std::net::Ipv6Addr>().is_err() {
                return Err("the host in [] is not an IPv6 address".to_owned());
            }
            if !after.is_empty() && !after.starts_with(':') {
                return Err("text between ] and the port".to_owned());
            }
            (host, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, _)) if h.contains(':') => return Err("an IPv6 host must be written in []".to_owned()),
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        let port = match port {
            None => default_port,
            Some(p) => match p.parse::<u16>() {
                Ok(p) if p > 0 => p,
                _ => return Err("the port is not a number from 1 to 65535".to_owned()),
            },
        };
        if host.is_empty() || !host.bytes().all(is_print_us_ascii) {
            return Err("no usable host".to_owned());
        }
        if !target.bytes().all(is_print_us_ascii) {
            return Err("the path has spaces or non-ASCII characters (percent-encode them)".to_owned());
        }
        let target = if target.starts_with('/') { target.to_owned() } else { format!("/{target}") };
        Ok(Url { https, host: host.to_owned(), port, authority: authority.to_owned(), target })
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        s.get(prefix.len()..)
    } else {
        None
    }
}

/// A header value from text we do not control: bytes outside visible ASCII and
/// space are percent-encoded, so an id can never end the header early.
fn header_safe(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b == b' ' || (is_print_us_ascii(b) && b != b'%') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(hex_digit(b >> 4).to_ascii_uppercase());
            out.push(hex_digit(b).to_ascii_uppercase());
        }
    }
    out
}

/// One webhook target, owned by its thread.
pub(crate) struct WebhookSink {
    url: Url,
    secret: Secret,
    timeout: Duration,
    tls: Option<(Arc<ClientConfig>, ServerName<'static>)>,
}

impl std::fmt::Debug for WebhookSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSink").field("host", &self.url.host).field("port", &self.url.port).finish()
    }
}

impl WebhookSink {
    pub(crate) fn new(target: &WebhookTarget) -> Result<WebhookSink, String> {
        let url = Url::parse(&target.url).map_err(|e| format!("url: {e}"))?;
        let secret = load_secret(target)?;
        let tls = if url.https {
            let config = crate::tls::client_config(target.ca_file.as_deref())?;
            let name = ServerName::try_from(url.host.clone()).map_err(|e| format!("url host: {e}"))?;
            Some((config, name))
        } else {
            None
        };
        Ok(WebhookSink { url, secret, timeout: Duration::from_millis(target.timeout_ms.max(1)), tls })
    }

    fn request(&self, alert: &Alert) -> Vec<u8> {
        let body = webhook_body(alert);
        let timestamp = crate::clock::now_secs();
        let signature = sign(&self.secret.0, timestamp, &body);
        let mut req = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: otposture/{}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\nX-Otposture-Delivery: {}\r\n\
             X-Otposture-Timestamp: {timestamp}\r\nX-Otposture-Signature: {signature}\r\n\r\n",
            self.url.target,
            self.url.authority,
            crate::VERSION,
            body.len(),
            header_safe(&alert.id),
        )
        .into_bytes();
        req.extend_from_slice(&body);
        req
    }

    fn connect(&self) -> io::Result<TcpStream> {
        let addrs: Vec<SocketAddr> = (self.url.host.as_str(), self.url.port).to_socket_addrs()?.collect();
        let mut last = io::Error::new(io::ErrorKind::NotFound, "the host name has no address");
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, self.timeout) {
                Ok(s) => {
                    s.set_read_timeout(Some(self.timeout))?;
                    s.set_write_timeout(Some(self.timeout))?;
                    return Ok(s);
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Sends the request and returns the status and `Retry-After` seconds.
    fn exchange(&self, request: &[u8]) -> io::Result<Response> {
        let sock = self.connect()?;
        match &self.tls {
            None => round_trip(sock, request, self.timeout),
            Some((config, name)) => {
                let conn = ClientConnection::new(Arc::clone(config), name.clone()).map_err(io::Error::other)?;
                round_trip(StreamOwned::new(conn, sock), request, self.timeout)
            }
        }
    }
}

impl Sink for WebhookSink {
    fn deliver(&mut self, alert: &Alert) -> Result<(), Failure> {
        let where_ = format!("webhook {}:{}", self.url.host, self.url.port);
        let response = self.exchange(&self.request(alert)).map_err(|e| Failure::retry(format!("{where_}: {e}")))?;
        let status = response.status;
        let error = || format!("{where_}: HTTP {status}{}", response.reason_suffix());
        match status {
            200..=299 => Ok(()),
            // Try again later: timeout, rate limit, server trouble. Retry-After (RFC 9110
            // section 10.2.3) is honoured in its seconds form on 429 and 503.
            408 | 429 | 500..=599 => match response.retry_after {
                Some(secs) if status == 429 || status == 503 => {
                    Err(Failure::retry_after(error(), Duration::from_secs(secs)))
                }
                _ => Err(Failure::retry(error())),
            },
            // Anything else (other 4xx, redirects, 1xx) will not get better by itself.
            _ => Err(Failure::permanent(error())),
        }
    }
}

#[derive(Debug)]
struct Response {
    status: u16,
    reason: String,
    retry_after: Option<u64>,
}

impl Response {
    fn reason_suffix(&self) -> String {
        if self.reason.is_empty() {
            String::new()
        } else {
            format!(" {}", self.reason)
        }
    }
}

fn round_trip<S: Read + Write>(mut stream: S, request: &[u8], timeout: Duration) -> io::Result<Response> {
    let started = Instant::now();
    stream.write_all(request)?;
    stream.flush()?;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        // Per-read timeouts alone would let a receiver drip bytes for ever.
        if started.elapsed() > timeout {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "no complete response in time"));
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed before a response"));
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(&buf) {
            Ok(httparse::Status::Complete(_)) => {
                let status = response.code.unwrap_or(0);
                let reason: String = response.reason.unwrap_or_default().chars().take(64).collect();
                let retry_after = response
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("retry-after"))
                    .and_then(|h| std::str::from_utf8(h.value).ok())
                    .and_then(|v| v.trim().parse::<u64>().ok());
                return Ok(Response { status, reason, retry_after });
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_RESPONSE_HEAD => {}
            Ok(httparse::Status::Partial) => {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "response head over 64 KiB"));
            }
            Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, format!("not an HTTP response: {e}"))),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_an_independent_hmac() {
        // python3 -c 'import hmac,hashlib; print(hmac.new(b"s3cret-key",
        //   b"1700000000.{\"schema\":\"otposture.alert/1\",\"id\":\"a1\"}", hashlib.sha256).hexdigest())'
        let body = br#"{"schema":"otposture.alert/1","id":"a1"}"#;
        // Output of the command above, run once with CPython 3's hmac module.
        let python = "c2cfc8d7d289e9d83f4f8765124961ea7527170b8bac1263e2cf310a613e7ef3";
        assert_eq!(sign(b"s3cret-key", 1_700_000_000, body), format!("sha256={python}"));
    }

    #[test]
    fn parses_urls_with_default_ports_ipv6_and_queries() {
        let u = Url::parse("https://soar.example:8443/hooks/ot?x=1#frag").unwrap();
        assert_eq!(
            u,
            Url {
                https: true,
                host: "soar.example".into(),
                port: 8443,
                authority: "soar.example:8443".into(),
                target: "/hooks/ot?x=1".into()
            }
        );
        let u = Url::parse("http://[::1]/").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.authority.as_str()), ("::1", 80, "[::1]"));
        let u = Url::parse("HTTPS://h?q").unwrap();
        assert_eq!((u.port, u.target.as_str()), (443, "/?q"));
    }

    #[test]
    fn refuses_bad_urls_without_echoing_them() {
        for bad in [
            "ftp://h/",
            "http://",
            "http://u:tok3n@h/",
            "http://h:0/",
            "http://h:99999/",
            "http://h/a b",
            "http://[zz]/",
            "http://::1/",
            "http://[::1]x/",
        ] {
            let e = Url::parse(bad).unwrap_err();
            assert!(!e.contains("tok3n"), "{e}");
        }
    }

    #[test]
    fn header_values_cannot_be_split() {
        assert_eq!(header_safe("f1:opened:1"), "f1:opened:1");
        assert_eq!(header_safe("a\r\nX-Evil: 1%"), "a%0D%0AX-Evil: 1%25");
    }

    #[test]
    fn secret_debug_is_redacted() {
        assert_eq!(format!("{:?}", Secret(b"hunter2".to_vec())), "Secret(<redacted>)");
    }

    #[test]
    fn body_starts_with_the_schema_then_the_alert_fields() {
        let alert: Alert = serde_json::from_value(serde_json::json!({
            "id": "a", "finding_id": "f", "event": "opened", "check": "c", "title": "t",
            "severity": "critical", "time_ns": 5, "site": null, "assets": [], "source": "10.0.0.1",
            "destination": null, "protocol": null, "attack": ["T0886"], "remediation": null, "detail": {"k": 1}
        }))
        .unwrap();
        let body = String::from_utf8(webhook_body(&alert)).unwrap();
        assert!(body.starts_with(r#"{"schema":"otposture.alert/1","id":"a","finding_id":"f","#), "{body}");
        assert!(body.contains(r#""severity":"critical""#) && body.contains(r#""source":"10.0.0.1""#), "{body}");
    }
}
