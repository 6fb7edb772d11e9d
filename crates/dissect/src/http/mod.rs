//! HTTP/1.0 and 1.1 (RFC 9110, RFC 9112) on any TCP port, found by content:
//! what the web servers of PLCs, RTUs, gateways and HMIs say they are, who
//! logs in to them, and what is written to them.
//!
//! Framing, body skipping and where HTTP/1.x stops are in [`wire`]; this
//! module gives each message its meaning. Requests are counted by method
//! (`get`, `post`, ..., `unknown_method`): GET, HEAD, OPTIONS, TRACE class
//! `read`; POST, PUT, PATCH, DELETE class `write`, kept with `method`, `host`,
//! `path`, `query` (`present`: its values can carry credentials and are never
//! kept), `content_type`, `content_length` or `transfer` `chunked`, `cookie`
//! (`present`, never its value); CONNECT `session`; others `unknown`. A request
//! carrying `Authorization` is counted as `authenticate` (class
//! `authentication`), kept with `method`, `host`, `path`, `scheme`
//! (`basic`, `digest`, `ntlm`, `negotiate`, `bearer`, or the scheme's name) and,
//! for Basic only, the `user` (decoded, the part before ':' — never the
//! password, and never a Digest, NTLM, Negotiate or Bearer value); a form POST
//! to a login path (its last segment holds `login`, `logon`, `signin`, or is
//! `auth` or `authenticate` with any extension) is counted as `form_login` (class `authentication`, `form_login`
//! `true`; the body, where the password is, is never read). Responses are
//! counted as `response_1xx` ... `response_5xx` (class `session`) unless they
//! answer a kept request: a 2xx or 3xx is then
//! an answer, a 4xx or 5xx (401/403 to a login: a refusal) is kept with
//! `status`, `www_authenticate` and `realm`, and `set_cookies` (a count).
//! Identity: `http.server` from a response's `Server` (`description`, and the
//! first `Product/Version` token as `product` and `version`), `X-Powered-By`
//! (`powered_by`) and `WWW-Authenticate` (`www_authenticate`, `realm`);
//! `http.client` from a request's `User-Agent` (`software`, `product`,
//! `version`). Each is kept once per flow while it does not change.
//! `upgrade` (101), `connect_tunnel` and `http2_preface` are counted when the
//! connection stops speaking HTTP/1.x; nothing after is read.

pub mod wire;

use crate::{Emit, PacketCtx, Probe, StreamDissector, StreamSession};
use otposture_model::{Direction, EventKind, OperationClass};
use std::borrow::Cow;
use std::collections::VecDeque;
use wire::{Conversation, Head, Message, Start, Stop};

const PROTOCOL: &str = "http";

/// Longest text copied into an attribute.
const MAX_TEXT: usize = 256;
/// Identities kept per flow and side: a server changing its headers on every
/// answer is kept this many times, then no more.
const MAX_IDENTITIES: usize = 8;
/// Longest request line the probe waits for before deciding on the method alone.
const PROBE_LINE: usize = 256;
/// Kept requests awaiting an answer (as `wire` pairs them).
const MAX_KEPT: usize = 64;

/// The HTTP/1.x stream dissector.
#[derive(Clone, Copy, Debug, Default)]
pub struct Http;

/// Methods the probe accepts on a request line cut before its version.
const PROBE_METHODS: &[&[u8]] =
    &[b"GET ", b"POST ", b"HEAD ", b"PUT ", b"DELETE ", b"OPTIONS ", b"PATCH ", b"CONNECT ", b"TRACE "];

impl StreamDissector for Http {
    fn protocol(&self) -> &'static str {
        PROTOCOL
    }

    fn port_hint(&self, server_port: u16) -> bool {
        matches!(server_port, 80 | 8080)
    }

    /// A client's request line `token SP target SP HTTP/1.x` (or the HTTP/2
    /// preface), or a server's status line `HTTP/1.x NNN`. Text protocols that
    /// look alike (RTSP, SIP, FTP, SSH banners) differ in their version token.
    fn probe(&self, direction: Direction, data: &[u8]) -> Probe {
        match direction {
            Direction::ToClient => probe_status(data),
            Direction::ToServer => probe_request(data),
        }
    }

    fn new_session(&self) -> Box<dyn StreamSession> {
        Box::new(Session::default())
    }

    /// A request line comes from the client, a status line from the server.
    fn sent_by_client(&self, data: &[u8]) -> Option<bool> {
        if probe_request(data) == Probe::Match {
            Some(true)
        } else if probe_status(data) == Probe::Match {
            Some(false)
        } else {
            None
        }
    }
}

/// True when `data` and `prefix` agree on their common length.
fn agrees(data: &[u8], prefix: &[u8]) -> bool {
    let n = data.len().min(prefix.len());
    data.get(..n) == prefix.get(..n)
}

fn probe_status(data: &[u8]) -> Probe {
    // "HTTP/1." DIGIT SP 3DIGIT
    let shape = |i: usize, b: u8| match i {
        0..=6 => b"HTTP/1.".get(i) == Some(&b),
        7 => b == b'0' || b == b'1',
        8 => b == b' ',
        _ => b.is_ascii_digit(),
    };
    for i in 0..12 {
        match data.get(i) {
            None => return Probe::NeedMore,
            Some(&b) if !shape(i, b) => return Probe::NoMatch,
            Some(_) => {}
        }
    }
    Probe::Match
}

fn probe_request(data: &[u8]) -> Probe {
    if agrees(data, wire::H2_PREFACE) {
        return if data.len() >= 16 { Probe::Match } else { Probe::NeedMore };
    }
    let is_tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    // The method: a token (RFC 9110 §9.1), at most 24 characters, then SP.
    let Some(sp) = data.iter().take(25).position(|&b| !is_tchar(b)) else {
        return if data.len() < 25 { Probe::NeedMore } else { Probe::NoMatch };
    };
    if sp == 0 || data.get(sp) != Some(&b' ') {
        return Probe::NoMatch;
    }
    let line_end = data.iter().position(|&b| b == b'\n');
    let Some(end) = line_end else {
        // A long target: decide on a well-known method once enough is seen.
        if data.len() >= PROBE_LINE {
            let known = PROBE_METHODS.iter().any(|m| data.starts_with(m));
            let target_ok = data.get(sp + 1..).unwrap_or_default().iter().all(|&b| b > b' ' && b != 0x7f);
            return if known && target_ok { Probe::Match } else { Probe::NoMatch };
        }
        return Probe::NeedMore;
    };
    let line = data.get(..end).unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    // ... SP "HTTP/1." DIGIT at the end of the line.
    let ok = line.len() > sp + 10
        && line.get(line.len() - 9..line.len() - 1) == Some(b" HTTP/1.".as_slice())
        && line.last().is_some_and(|b| *b == b'0' || *b == b'1');
    if ok {
        Probe::Match
    } else {
        Probe::NoMatch
    }
}

/// A kept request, remembered until its answer.
#[derive(Debug)]
struct Kept {
    op: Cow<'static, str>,
    class: OperationClass,
    attrs: Vec<(Cow<'static, str>, otposture_model::AttrValue)>,
}

#[derive(Debug, Default)]
struct Session {
    conv: Conversation,
    /// One entry per request awaiting an answer, in `conv`'s order: the kept
    /// record of a notable request, `None` for the others.
    kept: VecDeque<Option<Kept>>,
    /// Server identities (`Server`, `X-Powered-By`, realm) kept on this flow.
    servers: Vec<[String; 3]>,
    /// User-Agents kept on this flow.
    clients: Vec<String>,
}

fn clip(s: &str) -> String {
    s.chars().take(MAX_TEXT).collect()
}

fn text(b: &[u8]) -> String {
    clip(String::from_utf8_lossy(b).trim())
}

fn push(a: &mut Vec<(Cow<'static, str>, otposture_model::AttrValue)>, key: &'static str, value: String) {
    a.push((Cow::Borrowed(key), value.into()));
}

/// The operation name and class of a request method.
fn method_op(method: &str) -> (Cow<'static, str>, OperationClass) {
    use OperationClass::*;
    let (name, class) = match method {
        "GET" => ("get", Read),
        "HEAD" => ("head", Read),
        "OPTIONS" => ("options", Read),
        "TRACE" => ("trace", Read),
        "POST" => ("post", Write),
        "PUT" => ("put", Write),
        "PATCH" => ("patch", Write),
        "DELETE" => ("delete", Write),
        "CONNECT" => ("connect", Session),
        _ => {
            // Unknown methods (WebDAV, vendor ones) by name when short, so they are reported as such.
            let b = method.as_bytes();
            if b.len() <= 8 && b.iter().all(u8::is_ascii_alphabetic) {
                let mut code = [0u8; 8];
                for (c, m) in code.iter_mut().zip(b) {
                    *c = m.to_ascii_lowercase();
                }
                let name = crate::intern::name("http_method", u64::from_be_bytes(code), || {
                    format!("unknown_{}", method.to_ascii_lowercase())
                });
                return (name, Unknown);
            }
            ("unknown_method", Unknown)
        }
    };
    (Cow::Borrowed(name), class)
}

/// The path of a request target without its query, fragment, path
/// parameters (`;jsessionid=`) or, in absolute form, user information; and
/// whether a query was present.
fn path_of(target: &str) -> (String, bool) {
    let query = target.contains('?');
    let end = target.find(['?', '#', ';']).unwrap_or(target.len());
    let path = target.get(..end).unwrap_or_default();
    // absolute-form: scheme "://" [userinfo "@"] host ...
    if let Some((scheme, rest)) = path.split_once("://") {
        let authority_end = rest.find('/').unwrap_or(rest.len());
        let (authority, tail) = rest.split_at_checked(authority_end).unwrap_or((rest, ""));
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        return (clip(&format!("{scheme}://{host}{tail}")), query);
    }
    (clip(path), query)
}

/// A form POST to a path whose last segment names a login.
fn is_login_path(path: &str) -> bool {
    let last = path.rsplit('/').find(|s| !s.is_empty()).unwrap_or_default().to_ascii_lowercase();
    let stem = last.split('.').next().unwrap_or_default();
    ["login", "logon", "signin", "sign_in"].iter().any(|w| last.contains(w))
        || ["auth", "authenticate", "authentication"].contains(&stem)
}

/// `Product/Version` of the first token of a `Server` or `User-Agent` value.
fn product_version(value: &str) -> (&str, &str) {
    let first = value.split_whitespace().next().unwrap_or_default();
    first.split_once('/').unwrap_or((first, ""))
}

/// The Authorization scheme, lower case when it is a standard one.
fn scheme_name(scheme: &str) -> String {
    for known in ["basic", "digest", "ntlm", "negotiate", "bearer"] {
        if scheme.eq_ignore_ascii_case(known) {
            return known.to_string();
        }
    }
    clip(scheme)
}

/// The user name of a Basic credential (RFC 7617): base64 of `user:password`,
/// decoded only up to the ':' so the password is never held. Hand-written:
/// a general decoder would decode (and allocate) the password too.
fn basic_user(token: &[u8]) -> Option<String> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32)
    };
    let mut user = [0u8; MAX_TEXT];
    let mut n = 0;
    let token = token.trim_ascii();
    let token = token.strip_suffix(b"==").or_else(|| token.strip_suffix(b"=")).unwrap_or(token);
    for quad in token.chunks(4) {
        let mut acc = 0u32;
        for &c in quad {
            acc = (acc << 6) | value(c)?;
        }
        // 4 characters give 3 bytes, 3 give 2, 2 give 1.
        let bytes = match quad.len() {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => return None,
        };
        let acc = acc << (6 * (4 - quad.len()));
        for k in 0..bytes {
            let b = (acc >> (16 - 8 * k)) as u8;
            if b == b':' {
                return Some(String::from_utf8_lossy(user.get(..n)?).into_owned());
            }
            *user.get_mut(n)? = b;
            n += 1;
        }
    }
    // No ':': not a Basic credential.
    None
}

impl Session {
    fn request(&mut self, ctx: &PacketCtx<'_>, h: &Head<'_>, method: &str, target: &str, emit: &mut dyn Emit) {
        let (mut op, mut class) = method_op(method);
        if let Some(ua) = h.header("user-agent") {
            self.client_identity(ctx, ua, emit);
        }
        let auth = h.header("authorization");
        let login_form = method == "POST" && is_login_path(&path_of(target).0);
        // Named apart from the method: the engine counts an operation name under one class.
        if auth.is_some() {
            (op, class) = (Cow::Borrowed("authenticate"), OperationClass::Authentication);
        } else if login_form {
            (op, class) = (Cow::Borrowed("form_login"), OperationClass::Authentication);
        }
        if !class.is_notable() {
            emit.message(ctx, PROTOCOL, op, class);
            self.remember(None);
            return;
        }
        // Only kept records allocate: a read is counted without copying anything.
        let (path, query) = path_of(target);
        let mut a = Vec::with_capacity(10);
        push(&mut a, "method", clip(method));
        if let Some(host) = h.header("host") {
            push(&mut a, "host", text(host));
        }
        push(&mut a, "path", path);
        if query {
            push(&mut a, "query", "present".to_string());
        }
        if let Some(auth) = auth {
            let auth = auth.trim_ascii();
            let (scheme, credentials) = match auth.iter().position(|&b| b == b' ') {
                Some(i) => (auth.get(..i).unwrap_or_default(), auth.get(i + 1..).unwrap_or_default()),
                None => (auth, &[][..]),
            };
            let scheme = scheme_name(&String::from_utf8_lossy(scheme));
            if scheme == "basic" {
                match basic_user(credentials) {
                    Some(user) => push(&mut a, "user", clip(&user)),
                    None => push(&mut a, "credentials", "undecodable".to_string()),
                }
            }
            push(&mut a, "scheme", scheme);
        } else if login_form {
            push(&mut a, "form_login", "true".to_string());
        }
        if let Some(ct) = h.header("content-type") {
            push(&mut a, "content_type", text(ct));
        }
        match h.body {
            wire::Body::Length(n) => push(&mut a, "content_length", n.to_string()),
            wire::Body::Chunked => push(&mut a, "transfer", "chunked".to_string()),
            _ => {}
        }
        if h.header("cookie").is_some() {
            push(&mut a, "cookie", "present".to_string());
        }
        self.remember(Some(Kept { op: op.clone(), class, attrs: a.clone() }));
        emit.operation(ctx, PROTOCOL, op, class, a);
    }

    /// Keeps what the answer to this request needs, in `wire`'s order.
    fn remember(&mut self, k: Option<Kept>) {
        if self.kept.len() < MAX_KEPT {
            self.kept.push_back(k);
        }
    }

    fn response(&mut self, ctx: &PacketCtx<'_>, h: &Head<'_>, code: u16, emit: &mut dyn Emit) {
        self.server_identity(ctx, h, emit);
        let counted = match code {
            100..=199 => "response_1xx",
            200..=299 => "response_2xx",
            300..=399 => "response_3xx",
            400..=499 => "response_4xx",
            500..=599 => "response_5xx",
            _ => "response_other",
        };
        let kept = if h.answered { self.kept.pop_front().flatten() } else { None };
        let Some(k) = kept else {
            emit.message(ctx, PROTOCOL, Cow::Borrowed(counted), OperationClass::Session);
            return;
        };
        if code < 400 {
            emit.answer(ctx, PROTOCOL, k.op, k.class);
            return;
        }
        let mut a = k.attrs;
        push(&mut a, "status", code.to_string());
        if let Some(www) = h.header("www-authenticate") {
            let (scheme, realm) = challenge(www);
            push(&mut a, "www_authenticate", scheme);
            if let Some(r) = realm {
                push(&mut a, "realm", r);
            }
        }
        let cookies = h.headers_named("set-cookie").count();
        if cookies > 0 {
            push(&mut a, "set_cookies", cookies.to_string());
        }
        emit.operation(ctx, PROTOCOL, k.op, k.class, a);
    }

    fn server_identity(&mut self, ctx: &PacketCtx<'_>, h: &Head<'_>, emit: &mut dyn Emit) {
        let raw = |name: &str| h.header(name).map(<[u8]>::trim_ascii).unwrap_or_default();
        let (raw_server, raw_powered) = (raw("server"), raw("x-powered-by"));
        // The common case, a server repeating itself without a challenge, copies nothing.
        if h.header("www-authenticate").is_none()
            && self
                .servers
                .iter()
                .any(|[s, p, r]| s.as_bytes() == raw_server && p.as_bytes() == raw_powered && r.is_empty())
        {
            return;
        }
        let server = h.header("server").map(text).unwrap_or_default();
        let powered = h.header("x-powered-by").map(text).unwrap_or_default();
        let (scheme, realm) = h.header("www-authenticate").map(challenge).unwrap_or_default();
        let realm = realm.unwrap_or_default();
        if server.is_empty() && powered.is_empty() && realm.is_empty() {
            return;
        }
        let key = [server, powered, realm];
        if self.servers.len() >= MAX_IDENTITIES || self.servers.contains(&key) {
            return;
        }
        let mut e = ctx.event(PROTOCOL, EventKind::Identity, "http.server");
        let [server, powered, realm] = &key;
        if !server.is_empty() {
            let (product, version) = product_version(server);
            push(&mut e.attributes, "product", product.to_string());
            if !version.is_empty() {
                push(&mut e.attributes, "version", version.to_string());
            }
            push(&mut e.attributes, "description", server.clone());
        }
        if !powered.is_empty() {
            push(&mut e.attributes, "powered_by", powered.clone());
        }
        if !realm.is_empty() {
            push(&mut e.attributes, "www_authenticate", scheme);
            push(&mut e.attributes, "realm", realm.clone());
        }
        self.servers.push(key);
        emit.event(e);
    }

    fn client_identity(&mut self, ctx: &PacketCtx<'_>, ua: &[u8], emit: &mut dyn Emit) {
        if self.clients.len() >= MAX_IDENTITIES || self.clients.iter().any(|c| c.as_bytes() == ua.trim_ascii()) {
            return;
        }
        let ua = text(ua);
        if ua.is_empty() {
            return;
        }
        let mut e = ctx.event(PROTOCOL, EventKind::Identity, "http.client");
        let (product, version) = product_version(&ua);
        push(&mut e.attributes, "product", product.to_string());
        if !version.is_empty() {
            push(&mut e.attributes, "version", version.to_string());
        }
        push(&mut e.attributes, "software", ua.clone());
        self.clients.push(ua);
        emit.event(e);
    }
}

/// The scheme of a WWW-Authenticate challenge and its `realm` parameter.
fn challenge(value: &[u8]) -> (String, Option<String>) {
    let v = String::from_utf8_lossy(value);
    let v = v.trim();
    let scheme = v.split_whitespace().next().unwrap_or_default();
    let realm = v.find("realm=").or_else(|| v.to_ascii_lowercase().find("realm=")).and_then(|i| {
        let rest = v.get(i + 6..)?;
        let r = match rest.strip_prefix('"') {
            Some(q) => q.split('"').next().unwrap_or_default(),
            None => rest.split([',', ' ']).next().unwrap_or_default(),
        };
        Some(clip(r))
    });
    (scheme_name(scheme), realm)
}

impl StreamSession for Session {
    fn data(&mut self, ctx: &PacketCtx<'_>, direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        let mut conv = std::mem::take(&mut self.conv);
        conv.push(direction == Direction::ToServer, data, &mut |m| match m {
            Message::Head(h) => match h.start {
                Start::Request { method, target } => self.request(ctx, &h, method, target, emit),
                Start::Response { code, .. } => self.response(ctx, &h, code, emit),
            },
            Message::Stop(s) => {
                let name = match s {
                    Stop::Upgrade => "upgrade",
                    Stop::Connect => "connect_tunnel",
                    Stop::Http2 => "http2_preface",
                };
                emit.message(ctx, PROTOCOL, Cow::Borrowed(name), OperationClass::Session);
            }
            Message::Malformed(e) => emit.malformed(ctx, PROTOCOL, e.name()),
        });
        self.conv = conv;
    }

    fn gap(&mut self, _ctx: &PacketCtx<'_>, direction: Direction, len: u64, _emit: &mut dyn Emit) {
        if self.conv.gap(direction == Direction::ToServer, len) {
            self.kept.clear();
        }
    }
}

#[cfg(test)]
mod tests;
