//! TLS (RFC 5246, RFC 8446): what the handshake says in clear — the server
//! name a client asks for, its JA4 fingerprint, the version and cipher the
//! server picks, and (up to TLS 1.2) the server's certificate.
//!
//! Reads records per direction and joins handshake messages across records,
//! until ChangeCipherSpec, application data, or (TLS 1.3) the ServerHello;
//! after that everything is encrypted and only the flow counts it.
//!
//! Reports: `tls.client_hello` (`sni`, `alpn`, `versions` (highest offered),
//! `ja4`, `ciphers`, `extensions`), `tls.server_hello` (`version`, `cipher`
//! as `0x` and 4 hex digits), `tls.certificate` of the server (`subject`,
//! `issuer`, `not_before`, `not_after` (RFC 3339), `self_signed`, `serial`),
//! and alerts (`alert`, with `level` and `description`, kept as anomaly events
//! when fatal). Messages counted (class `session`): `client_hello`,
//! `server_hello`, `certificate`, `server_key_exchange`, `server_hello_done`,
//! `client_key_exchange`, `change_cipher_spec`, `alert`, `application_data`
//! (once per direction), `handshake_<type>` for others.
//!
//! A connection picked up mid-stream (its handshake not in the capture) is
//! taken up at the first segment that starts a record whose header, and the
//! next one when the segment holds it, is valid ([`StreamDissector::resync`]).
//! Everything after the handshake is encrypted, so such a flow is named `tls`
//! and counts, per direction, the type of the first record it starts at:
//! `application_data`, `alert`, `change_cipher_spec` or `handshake_record`.
//!
//! JA4 follows FoxIO's JA4 specification (BSD 3-Clause): `t` (TCP), the
//! highest version offered, `d`/`i` for SNI present or not, cipher and
//! extension counts without GREASE, the first and last characters of the
//! first ALPN value; then the first 12 hex digits of the SHA-256 of the
//! sorted cipher list, and of the sorted extension list (without SNI and
//! ALPN) joined by `_` to the signature algorithms in order.

use crate::cursor::Cursor;
use crate::{Emit, PacketCtx, Probe, StreamDissector, StreamSession};
use otposture_model::{Direction, EventKind, OperationClass};
use sha2::{Digest, Sha256};
use std::borrow::Cow;

const PROTOCOL: &str = "tls";

/// Most bytes of records or handshake messages held per direction
/// (a certificate chain fits; a larger one ends the reading).
const MAX_BUFFER: usize = 65_536;

/// The TLS stream dissector.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tls;

impl StreamDissector for Tls {
    fn protocol(&self) -> &'static str {
        PROTOCOL
    }

    fn port_hint(&self, server_port: u16) -> bool {
        matches!(server_port, 443 | 4843 | 8443 | 636 | 993 | 995 | 465 | 3389 | 5986 | 8883)
    }

    /// A handshake record (type 22, version 3.x) that holds a ClientHello, or
    /// a ServerHello in the server's direction.
    fn probe(&self, direction: Direction, data: &[u8]) -> Probe {
        if data.len() < 6 {
            return match data {
                [] | [22] | [22, 3] | [22, 3, _] | [22, 3, _, _] | [22, 3, _, _, _] => Probe::NeedMore,
                _ => Probe::NoMatch,
            };
        }
        let hello = if direction == Direction::ToServer { 1 } else { 2 };
        match data {
            [22, 3, 0..=4, _, _, t, ..] if *t == hello => Probe::Match,
            _ => Probe::NoMatch,
        }
    }

    fn new_session(&self) -> Box<dyn StreamSession> {
        Box::new(Session::default())
    }

    fn resync(&self, _direction: Direction, data: &[u8]) -> Option<Box<dyn StreamSession>> {
        let adrift = || Side { adrift: true, ..Side::default() };
        midstream_record(data).map(|_| Box::new(Session { sides: [adrift(), adrift()] }) as Box<dyn StreamSession>)
    }
}

/// Largest record length a header may give (RFC 5246 §6.2.3: 2^14 + 2048).
const MAX_RECORD: usize = 18_432;

/// The content type of the record `data` starts with, when its header is one
/// a connection past its handshake sends: change_cipher_spec, alert, handshake
/// or application data, version 3.1 to 3.3 (TLS 1.3 records say 3.3), a
/// length in bounds; and the next record's header, as far as `data` holds it,
/// agrees. Three fixed bytes of five, and the chained header when present,
/// make a false start unlikely in other traffic.
fn midstream_record(data: &[u8]) -> Option<u8> {
    let [kind, 3, minor @ 1..=3, hi, lo, ..] = *data else { return None };
    let len = usize::from(u16::from_be_bytes([hi, lo]));
    let next = data.get(5 + len..).unwrap_or_default();
    let next_ok = next.first().is_none_or(|k| (20..=23).contains(k))
        && next.iter().skip(1).zip([3, minor]).all(|(a, b)| *a == b)
        && match *next {
            [_, _, _, hi, lo, ..] => (1..=MAX_RECORD).contains(&usize::from(u16::from_be_bytes([hi, lo]))),
            _ => true,
        };
    ((20..=23).contains(&kind) && (1..=MAX_RECORD).contains(&len) && next_ok).then_some(kind)
}

#[derive(Debug, Default)]
struct Side {
    records: Vec<u8>,
    handshake: Vec<u8>,
    done: bool,
    /// Taken up mid-stream: waiting for a chunk that starts a record.
    adrift: bool,
}

#[derive(Debug, Default)]
struct Session {
    sides: [Side; 2],
}

fn push(a: &mut Vec<(Cow<'static, str>, otposture_model::AttrValue)>, key: &'static str, value: String) {
    a.push((Cow::Borrowed(key), value.into()));
}

fn count(ctx: &PacketCtx<'_>, name: &'static str, emit: &mut dyn Emit) {
    emit.message(ctx, PROTOCOL, Cow::Borrowed(name), OperationClass::Session);
}

impl StreamSession for Session {
    fn data(&mut self, ctx: &PacketCtx<'_>, direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        let Some(side) = self.sides.get_mut(direction.index()) else { return };
        if side.done {
            return;
        }
        if side.adrift {
            // Taken up mid-way: the first record's type is all there is to read.
            if let Some(kind) = midstream_record(data) {
                let name = match kind {
                    20 => "change_cipher_spec",
                    21 => "alert",
                    // Encrypted, or after a hole mid-handshake perhaps not: unread either way.
                    22 => "handshake_record",
                    _ => "application_data",
                };
                count(ctx, name, emit);
                *side = Side { done: true, ..Side::default() };
            }
            return;
        }
        if side.records.len() + data.len() > MAX_BUFFER {
            emit.malformed(ctx, PROTOCOL, "tls_record_too_long");
            *side = Side { done: true, ..Side::default() };
            return;
        }
        side.records.extend_from_slice(data);
        while let [kind, major, _minor, hi, lo, ..] = *side.records.as_slice() {
            let len = usize::from(u16::from_be_bytes([hi, lo]));
            if major != 3 || len > MAX_RECORD {
                emit.malformed(ctx, PROTOCOL, "tls_bad_record");
                *side = Side { done: true, ..Side::default() };
                return;
            }
            if side.records.len() < 5 + len {
                return;
            }
            let record: Vec<u8> = side.records.drain(..5 + len).collect();
            let body = record.get(5..).unwrap_or_default();
            match kind {
                22 => {
                    if side.handshake.len() + body.len() > MAX_BUFFER {
                        emit.malformed(ctx, PROTOCOL, "tls_handshake_too_long");
                        *side = Side { done: true, ..Side::default() };
                        return;
                    }
                    side.handshake.extend_from_slice(body);
                    if handshake(ctx, direction, &mut side.handshake, emit) {
                        *side = Side { done: true, ..Side::default() };
                        return;
                    }
                }
                20 => {
                    count(ctx, "change_cipher_spec", emit);
                    *side = Side { done: true, ..Side::default() };
                    return;
                }
                21 => alert(ctx, body, emit),
                23 => {
                    count(ctx, "application_data", emit);
                    *side = Side { done: true, ..Side::default() };
                    return;
                }
                _ => count(ctx, "other_record", emit),
            }
        }
    }

    fn gap(&mut self, _ctx: &PacketCtx<'_>, direction: Direction, _len: u64, _emit: &mut dyn Emit) {
        // What was buffered cannot be continued; a later chunk that starts a
        // record takes the reading up again.
        if let Some(side) = self.sides.get_mut(direction.index()) {
            *side = Side { done: side.done, adrift: !side.done, ..Side::default() };
        }
    }
}

fn alert(ctx: &PacketCtx<'_>, body: &[u8], emit: &mut dyn Emit) {
    count(ctx, "alert", emit);
    let [level, description, ..] = *body else { return };
    if level == 2 {
        let mut e = ctx.event(PROTOCOL, EventKind::Anomaly, "tls.alert");
        push(&mut e.attributes, "level", "fatal".to_string());
        push(&mut e.attributes, "description", description.to_string());
        emit.event(e);
    }
}

/// Reads every whole handshake message; true when the rest of this direction
/// is encrypted (a TLS 1.3 ServerHello).
fn handshake(ctx: &PacketCtx<'_>, direction: Direction, buf: &mut Vec<u8>, emit: &mut dyn Emit) -> bool {
    while let [kind, a, b, c, ..] = *buf.as_slice() {
        let len = usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c);
        if buf.len() < 4 + len {
            return false;
        }
        let msg: Vec<u8> = buf.drain(..4 + len).collect();
        let body = msg.get(4..).unwrap_or_default();
        match kind {
            1 if direction == Direction::ToServer => {
                count(ctx, "client_hello", emit);
                match client_hello(body) {
                    Some(a) => {
                        let mut e = ctx.event(PROTOCOL, EventKind::Identity, "tls.client_hello");
                        e.attributes = a;
                        emit.event(e);
                    }
                    None => emit.malformed(ctx, PROTOCOL, "tls_bad_client_hello"),
                }
            }
            2 if direction == Direction::ToClient => {
                count(ctx, "server_hello", emit);
                match server_hello(body) {
                    Some((version, cipher)) => {
                        let mut e = ctx.event(PROTOCOL, EventKind::Identity, "tls.server_hello");
                        push(&mut e.attributes, "version", version_name(version).to_string());
                        push(&mut e.attributes, "cipher", format!("{cipher:#06x}"));
                        emit.event(e);
                        if version == 0x0304 {
                            return true;
                        }
                    }
                    None => emit.malformed(ctx, PROTOCOL, "tls_bad_server_hello"),
                }
            }
            11 if direction == Direction::ToClient => {
                count(ctx, "certificate", emit);
                if let Some(a) = certificate(body) {
                    let mut e = ctx.event(PROTOCOL, EventKind::Identity, "tls.certificate");
                    e.attributes = a;
                    emit.event(e);
                }
            }
            12 => count(ctx, "server_key_exchange", emit),
            14 => count(ctx, "server_hello_done", emit),
            16 => count(ctx, "client_key_exchange", emit),
            k => emit.message(ctx, PROTOCOL, Cow::Owned(format!("handshake_{k}")), OperationClass::Session),
        }
    }
    false
}

/// GREASE values (RFC 8701): both bytes equal, low nibble 0xA.
fn grease(v: u16) -> bool {
    let [hi, lo] = v.to_be_bytes();
    hi == lo && lo & 0x0f == 0x0a
}

fn version_name(v: u16) -> &'static str {
    match v {
        0x0304 => "TLS 1.3",
        0x0303 => "TLS 1.2",
        0x0302 => "TLS 1.1",
        0x0301 => "TLS 1.0",
        0x0300 => "SSL 3.0",
        _ => "unknown",
    }
}

fn ja4_version(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        _ => "00",
    }
}

/// JA4's two ALPN characters, by the specification's text (FoxIO,
/// technical_details/JA4.md): `00` for no value; the first and last bytes of
/// the first value when both are ASCII letters or digits (one byte counts as
/// both); otherwise the first and last digits of the value's hex, from its
/// bytes as sent. FoxIO's own Python and Rust tools, and the ja4plus library,
/// still write such values otherwise (`9` for a byte past ASCII, the bytes
/// themselves for punctuation); real clients' ALPN values (`h2`, `http/1.1`)
/// read the same under every rule.
fn ja4_alpn(value: Option<&[u8]>) -> String {
    match value {
        None | Some([]) => "00".to_string(),
        Some(v) => {
            let (first, last) = (v.first().copied().unwrap_or(0), v.last().copied().unwrap_or(0));
            if first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric() {
                format!("{}{}", char::from(first), char::from(last))
            } else {
                format!("{:x}{:x}", first >> 4, last & 0x0f)
            }
        }
    }
}

fn hash12(text: &str) -> String {
    if text.is_empty() {
        return "000000000000".to_string();
    }
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

fn u16s(b: &[u8]) -> Vec<u16> {
    b.chunks_exact(2).filter_map(|p| Some(u16::from_be_bytes([*p.first()?, *p.get(1)?]))).collect()
}

/// A length-prefixed (u16) field.
fn vec16<'a>(c: &mut Cursor<'a>) -> Option<&'a [u8]> {
    let n = c.be_u16()?;
    c.take(usize::from(n))
}

/// The attributes of a ClientHello body.
fn client_hello(body: &[u8]) -> Option<Vec<(Cow<'static, str>, otposture_model::AttrValue)>> {
    let mut c = Cursor::new(body);
    let legacy = c.be_u16()?;
    c.take(32)?;
    let sid = c.u8()?;
    c.take(usize::from(sid))?;
    let ciphers: Vec<u16> = u16s(vec16(&mut c)?).into_iter().filter(|v| !grease(*v)).collect();
    let comp = c.u8()?;
    c.take(usize::from(comp))?;
    let mut exts = Vec::new();
    let (mut sni, mut alpn, mut versions, mut sigs) = (None, None, Vec::new(), Vec::new());
    if let Some(list) = vec16(&mut c) {
        let mut e = Cursor::new(list);
        while e.remaining() >= 4 {
            let (Some(kind), Some(data)) = (e.be_u16(), vec16(&mut e)) else { break };
            if grease(kind) {
                continue;
            }
            exts.push(kind);
            let mut d = Cursor::new(data);
            match kind {
                0x0000 => {
                    // server_name_list: type 0 (host_name), then the name.
                    let list = vec16(&mut d).unwrap_or_default();
                    let mut l = Cursor::new(list);
                    if l.u8() == Some(0) {
                        sni = vec16(&mut l).map(wire_text);
                    }
                }
                0x0010 => {
                    let list = vec16(&mut d).unwrap_or_default();
                    let mut l = Cursor::new(list);
                    alpn = l.u8().and_then(|n| l.take(usize::from(n)));
                }
                0x002b => {
                    let n = d.u8().unwrap_or(0);
                    versions =
                        u16s(d.take(usize::from(n)).unwrap_or_default()).into_iter().filter(|v| !grease(*v)).collect();
                }
                0x000d => sigs = u16s(vec16(&mut d).unwrap_or_default()),
                _ => {}
            }
        }
    }
    let top = versions.iter().copied().max().unwrap_or(legacy);
    let a = format!(
        "t{}{}{:02}{:02}{}",
        ja4_version(top),
        // The extension's presence decides, whatever name it holds.
        if exts.contains(&0x0000) { "d" } else { "i" },
        ciphers.len().min(99),
        exts.len().min(99),
        ja4_alpn(alpn)
    );
    let mut sorted_ciphers: Vec<String> = ciphers.iter().map(|v| format!("{v:04x}")).collect();
    sorted_ciphers.sort();
    let mut sorted_exts: Vec<String> =
        exts.iter().filter(|e| **e != 0x0000 && **e != 0x0010).map(|v| format!("{v:04x}")).collect();
    sorted_exts.sort();
    let mut c_text = sorted_exts.join(",");
    if !sigs.is_empty() {
        c_text.push('_');
        c_text.push_str(&sigs.iter().map(|v| format!("{v:04x}")).collect::<Vec<_>>().join(","));
    }
    let ja4 = format!(
        "{a}_{}_{}",
        hash12(&sorted_ciphers.join(",")),
        if sorted_exts.is_empty() { hash12("") } else { hash12(&c_text) }
    );
    let mut out = Vec::new();
    if let Some(s) = sni {
        push(&mut out, "sni", s);
    }
    if let Some(p) = alpn {
        push(&mut out, "alpn", wire_text(p));
    }
    push(&mut out, "versions", version_name(top).to_string());
    push(&mut out, "ja4", ja4);
    push(&mut out, "ciphers", ciphers.len().to_string());
    push(&mut out, "extensions", exts.len().to_string());
    Some(out)
}

/// Version (from supported_versions when present) and cipher of a ServerHello.
fn server_hello(body: &[u8]) -> Option<(u16, u16)> {
    let mut c = Cursor::new(body);
    let legacy = c.be_u16()?;
    c.take(32)?;
    let sid = c.u8()?;
    c.take(usize::from(sid))?;
    let cipher = c.be_u16()?;
    c.u8()?;
    let mut version = legacy;
    if let Some(list) = vec16(&mut c) {
        let mut e = Cursor::new(list);
        while let (Some(kind), Some(data)) = (e.be_u16(), vec16(&mut e)) {
            if kind == 0x002b {
                if let [hi, lo] = *data {
                    version = u16::from_be_bytes([hi, lo]);
                }
            }
        }
    }
    Some((version, cipher))
}

/// A name a client sent (server name, ALPN protocol) as text: invalid UTF-8
/// replaced, control characters left out, as [`name_text`] does for
/// certificates.
fn wire_text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).chars().filter(|c| !c.is_control()).collect()
}

/// A certificate's subject or issuer as text, without control characters:
/// Windows ends the serialNumber of some RDP server certificates with CR LF,
/// and names are printed in tables and on terminals, where a control
/// character from the wire must not act.
pub(crate) fn name_text(name: &x509_parser::x509::X509Name<'_>) -> String {
    name.to_string().chars().filter(|c| !c.is_control()).collect()
}

/// Subject, issuer and validity of the first certificate of a Certificate message.
fn certificate(body: &[u8]) -> Option<Vec<(Cow<'static, str>, otposture_model::AttrValue)>> {
    let mut c = Cursor::new(body);
    let [a, b, d] = c.array::<3>()?;
    let list = c.take(usize::from(a) << 16 | usize::from(b) << 8 | usize::from(d))?;
    let mut l = Cursor::new(list);
    let [a, b, d] = l.array::<3>()?;
    let der = l.take(usize::from(a) << 16 | usize::from(b) << 8 | usize::from(d))?;
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let mut out = Vec::new();
    let subject = name_text(cert.subject());
    let issuer = name_text(cert.issuer());
    push(&mut out, "subject", subject.clone());
    push(&mut out, "issuer", issuer.clone());
    let when = |t: x509_parser::time::ASN1Time| otposture_model::Timestamp::from_parts(t.timestamp(), 0).to_rfc3339();
    push(&mut out, "not_before", when(cert.validity().not_before));
    push(&mut out, "not_after", when(cert.validity().not_after));
    push(&mut out, "serial", cert.raw_serial_as_string());
    if subject == issuer {
        push(&mut out, "self_signed", "true".to_string());
    }
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::test_support::{event_attr, run, splits_at_every_offset};
    use proptest::prelude::*;
    use Direction::{ToClient as S2C, ToServer as C2S};

    fn record(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut r = vec![kind, 3, 1];
        r.extend((body.len() as u16).to_be_bytes());
        r.extend(body);
        r
    }

    fn handshake_msg(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![kind, 0, (body.len() >> 8) as u8, body.len() as u8];
        m.extend(body);
        m
    }

    fn ext(kind: u16, data: &[u8]) -> Vec<u8> {
        let mut e = kind.to_be_bytes().to_vec();
        e.extend((data.len() as u16).to_be_bytes());
        e.extend(data);
        e
    }

    /// A ClientHello: TLS 1.2 legacy version, GREASE and two ciphers, SNI
    /// "plc.example", ALPN "h2", supported versions (GREASE, 1.3, 1.2),
    /// signature algorithms 0403, 0804.
    fn client_hello_body() -> Vec<u8> {
        let mut b = vec![3, 3];
        b.extend([0x42; 32]);
        b.push(0);
        b.extend([0, 6, 0x0a, 0x0a, 0x13, 0x01, 0xc0, 0x2f]);
        b.extend([1, 0]);
        let mut exts = Vec::new();
        exts.extend(ext(0x0a0a, &[]));
        exts.extend(ext(0x0000, &[0, 14, 0, 0, 11, b'p', b'l', b'c', b'.', b'e', b'x', b'a', b'm', b'p', b'l', b'e']));
        exts.extend(ext(0x0010, &[0, 3, 2, b'h', b'2']));
        exts.extend(ext(0x002b, &[6, 0x1a, 0x1a, 3, 4, 3, 3]));
        exts.extend(ext(0x000d, &[0, 4, 4, 3, 8, 4]));
        b.extend((exts.len() as u16).to_be_bytes());
        b.extend(exts);
        b
    }

    #[test]
    fn reads_the_client_hello_and_computes_ja4() {
        let hello = record(22, &handshake_msg(1, &client_hello_body()));
        let r = run(&Tls, &[(C2S, hello)]);
        assert!(r.malformed.is_empty(), "{:?}", r.malformed);
        let e = r.events.iter().find(|e| e.name == "tls.client_hello").unwrap();
        assert_eq!(event_attr(e, "sni"), Some("plc.example"));
        assert_eq!(event_attr(e, "alpn"), Some("h2"));
        assert_eq!(event_attr(e, "versions"), Some("TLS 1.3"));
        // a: TCP, 1.3, SNI, 2 ciphers and 4 extensions without GREASE, ALPN h2.
        let ja4 = event_attr(e, "ja4").unwrap();
        assert!(ja4.starts_with("t13d0204h2_"), "{ja4}");
        // b: SHA-256 of "1301,c02f".
        assert_eq!(&ja4[11..23], &hash12("1301,c02f"));
        // c: SHA-256 of "000d,002b_0403,0804" (SNI and ALPN left out).
        assert_eq!(&ja4[24..], &hash12("000d,002b_0403,0804"));
    }

    #[test]
    fn ja4_alpn_characters_follow_the_specifications_examples() {
        // technical_details/JA4.md, "ALPN Extension Value", every example given there.
        let cases: [(&[u8], &str); 7] = [
            (&[0xab], "ab"),
            (&[0x20], "20"),
            (&[0xab, 0xcd], "ad"),
            (&[0x20, 0x61], "21"),
            (&[0x30, 0xab], "3b"),
            (&[0x61, 0x20], "60"),
            (&[0x30, 0x31, 0xab, 0xcd], "3d"),
        ];
        for (value, code) in cases {
            assert_eq!(ja4_alpn(Some(value)), code, "{value:02x?}");
        }
        assert_eq!(ja4_alpn(Some(b"h2")), "h2");
        assert_eq!(ja4_alpn(Some(b"http/1.1")), "h1");
        assert_eq!(ja4_alpn(Some(b"a")), "aa", "one character is both ends");
        assert_eq!(ja4_alpn(Some(b"")), "00");
        assert_eq!(ja4_alpn(None), "00");
        // Bytes that are not UTF-8 are read as sent, not as replacement characters.
        assert_eq!(ja4_alpn(Some(&[0xab, 0xcd, 0x01])), "a1");
    }

    #[test]
    fn names_a_client_sends_come_without_control_characters() {
        assert_eq!(wire_text(b"plc\x1b[2J.example\r\n"), "plc[2J.example");
        assert_eq!(wire_text(&[b'h', 0xff, b'2']), "h\u{fffd}2");
    }

    #[test]
    fn a_tls_13_server_hello_ends_the_reading_and_a_handshake_spans_records() {
        let mut sh = vec![3, 3];
        sh.extend([0x24; 32]);
        sh.push(0);
        sh.extend([0x13, 0x01, 0]);
        let e = ext(0x002b, &[3, 4]);
        sh.extend((e.len() as u16).to_be_bytes());
        sh.extend(e);
        let msg = handshake_msg(2, &sh);
        // The message split over two records, then "encrypted" records.
        let mut s = record(22, &msg[..10]);
        s.extend(record(22, &msg[10..]));
        s.extend(record(23, &[0xee; 40]));
        let hello = record(22, &handshake_msg(1, &client_hello_body()));
        let r = splits_at_every_offset(&Tls, &hello, &s);
        let e = r.events.iter().find(|e| e.name == "tls.server_hello").unwrap();
        assert_eq!((event_attr(e, "version"), event_attr(e, "cipher")), (Some("TLS 1.3"), Some("0x1301")));
        assert!(r.messages.iter().all(|m| m.2 != "application_data"), "1.3 stops at the ServerHello");
    }

    #[test]
    fn a_fatal_alert_is_an_anomaly() {
        let r = run(&Tls, &[(S2C, record(21, &[2, 40]))]);
        let e = r.events.iter().find(|e| e.name == "tls.alert").unwrap();
        assert_eq!(event_attr(e, "description"), Some("40"));
    }

    /// Records as a TLS 1.2 connection sends them after its handshake.
    fn app_records(bodies: &[usize]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, n) in bodies.iter().enumerate() {
            out.extend([23, 3, 3]);
            out.extend((*n as u16).to_be_bytes());
            out.extend((0..*n).map(|j| (i * 31 + j * 7) as u8));
        }
        out
    }

    /// Feeds chunks to a session taken up by `resync` at the first chunk it accepts.
    fn resynced(chunks: &[(Direction, Vec<u8>)]) -> Option<(usize, crate::test_support::Recorder)> {
        let at = chunks.iter().position(|(d, c)| Tls.resync(*d, c).is_some())?;
        let (d, c) = chunks.get(at)?;
        let mut s = Tls.resync(*d, c)?;
        let mut r = crate::test_support::Recorder::default();
        for (d, c) in chunks.get(at..)? {
            s.data(&crate::test_support::ctx(*d), *d, c, &mut r);
        }
        Some((at, r))
    }

    #[test]
    fn a_connection_picked_up_mid_stream_is_taken_up_where_a_segment_starts_a_record() {
        let s2c = app_records(&[3000, 1200, 400]);
        let c2s = app_records(&[60, 60]);
        // The capture starts 700 bytes into the server's first record; the
        // server's next segment starts its second record, the client's first
        // segment starts a record.
        let chunks = vec![
            (S2C, s2c[700..1460].to_vec()),
            (S2C, s2c[1460..3005].to_vec()),
            (C2S, c2s.clone()),
            (S2C, s2c[3005..].to_vec()),
        ];
        let (at, r) = resynced(&chunks).unwrap();
        assert_eq!(at, 2, "the middle of a record is not a start, however it looks");
        assert!(r.malformed.is_empty(), "{:?}", r.malformed);
        let names: Vec<_> = r.messages.iter().map(|m| (m.1, m.2.as_str())).collect();
        assert_eq!(names, vec![(C2S, "application_data"), (S2C, "application_data")]);
    }

    #[test]
    fn resync_checks_the_header_and_the_next_one() {
        let good = app_records(&[40, 40]);
        assert_eq!(midstream_record(&good), Some(23));
        assert_eq!(midstream_record(&good[..20]), Some(23), "a record longer than the segment");
        assert_eq!(midstream_record(&good[..47]), Some(23), "the next header cut short but agreeing");
        let alert = [21, 3, 3, 0, 26];
        assert_eq!(midstream_record(&alert), Some(21));
        for (what, bad) in [
            ("SSL 3.0", vec![23, 3, 0, 0, 40]),
            ("no TLS 1.4 record version", vec![23, 3, 4, 0, 40]),
            ("not a record type", vec![24, 3, 3, 0, 40]),
            ("empty", vec![23, 3, 3, 0, 0]),
            ("too long", vec![23, 3, 3, 0x48, 0x01]),
            ("short", vec![23, 3, 3, 0]),
        ] {
            assert_eq!(midstream_record(&bad), None, "{what}");
        }
        let mut other_version = good.clone();
        other_version[47] = 1;
        assert_eq!(midstream_record(&other_version), None, "the next header's version differs");
        let mut not_a_record = good.clone();
        not_a_record[45] = 0x99;
        assert_eq!(midstream_record(&not_a_record), None, "the next header's type is not one");
        let mut too_long = good;
        too_long[48] = 0xff;
        assert_eq!(midstream_record(&too_long), None, "the next header's length is out of bounds");
    }

    #[test]
    fn after_a_gap_the_reading_is_taken_up_at_the_next_record() {
        let hello = record(22, &handshake_msg(1, &client_hello_body()));
        let mut s = Tls.new_session();
        let mut r = crate::test_support::Recorder::default();
        let c = crate::test_support::ctx(C2S);
        s.data(&c, C2S, &hello[..30], &mut r);
        s.gap(&c, C2S, 100, &mut r);
        s.data(&c, C2S, &[0x55; 80], &mut r);
        s.data(&c, C2S, &app_records(&[50]), &mut r);
        assert!(r.malformed.is_empty(), "{:?}", r.malformed);
        let names: Vec<_> = r.messages.iter().map(|m| m.2.as_str()).collect();
        assert_eq!(names, vec!["application_data"]);
    }

    proptest! {
        #[test]
        fn never_panics(a in proptest::collection::vec(any::<u8>(), 0..300), b in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = run(&Tls, &[(C2S, record(22, &a)), (S2C, record(22, &b))]);
            let _ = client_hello(&a);
            let _ = server_hello(&b);
            let _ = certificate(&a);
            let _ = Tls.resync(C2S, &a);
        }

        /// A segment that starts any record of a well-formed run is taken up.
        #[test]
        fn every_record_start_is_taken_up(bodies in proptest::collection::vec(1usize..3000, 1..6), pick in any::<prop::sample::Index>()) {
            let stream = app_records(&bodies);
            let starts: Vec<usize> = bodies.iter().scan(0, |at, n| { let s = *at; *at += 5 + n; Some(s) }).collect();
            let start = starts[pick.index(starts.len())];
            prop_assert_eq!(midstream_record(&stream[start..]), Some(23));
            prop_assert_eq!(midstream_record(&stream[start..(start + 1400).min(stream.len())]), Some(23));
        }
    }
}
