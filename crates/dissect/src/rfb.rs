//! RFB, the VNC remote framebuffer protocol (RFC 6143): how operators reach
//! HMIs and engineering stations remotely, and how often nobody has to log in.
//!
//! Follows the handshake across both directions: protocol versions, the
//! security types the server offers and the one the client picks, VNC
//! authentication and its result, and the desktop name in ServerInit. Then
//! counts the client's messages by type (`key_event`, `pointer_event`,
//! `framebuffer_update_request`, `set_encodings`, `set_pixel_format`,
//! `client_cut_text`: someone typing or clicking on a remote screen). Server
//! messages after ServerInit (framebuffer updates) are not read, and neither
//! is anything after a security type otposture cannot follow (TLS, VeNCrypt,
//! Apple's ARD...).
//!
//! Reports: `rfb.server` (identity of the server: `server_version`,
//! `security_types`, `no_authentication` when it offers None, and, once seen,
//! `desktop_name`, `width`, `height`); operation `authentication` (class
//! `authentication`, kept) with `security_type`, `client_version` and
//! `result` (`ok`, `failed`, `refused` with `reason`, or `none` when the
//! chosen type needs no password). Messages: `protocol_version`,
//! `security_types`, `security_choice`, `challenge`, `challenge_response`,
//! `security_result`, `client_init`, `server_init` (class `session`).

use crate::{Emit, PacketCtx, Probe, StreamDissector, StreamSession};
use otposture_model::{Direction, EventKind, OperationClass};
use std::borrow::Cow;

const PROTOCOL: &str = "rfb";

/// Most bytes buffered per direction while a handshake message is incomplete.
const MAX_BUFFER: usize = 8192;

/// The RFB stream dissector.
#[derive(Clone, Copy, Debug, Default)]
pub struct Rfb;

/// "RFB 003.008\n": twelve bytes, digits in place.
fn version(b: &[u8]) -> Option<(u16, u16)> {
    let &[b'R', b'F', b'B', b' ', m1, m2, m3, b'.', n1, n2, n3, b'\n', ..] = b else { return None };
    let num = |d: [u8; 3]| -> Option<u16> { std::str::from_utf8(&d).ok()?.parse().ok() };
    Some((num([m1, m2, m3])?, num([n1, n2, n3])?))
}

impl StreamDissector for Rfb {
    fn protocol(&self) -> &'static str {
        PROTOCOL
    }

    fn port_hint(&self, server_port: u16) -> bool {
        (5900..=5910).contains(&server_port)
    }

    /// The server opens with its protocol version string.
    fn probe(&self, direction: Direction, data: &[u8]) -> Probe {
        if direction != Direction::ToClient {
            return Probe::NoMatch;
        }
        if data.len() < 12 {
            return if b"RFB ".starts_with(data.get(..4.min(data.len())).unwrap_or_default()) {
                Probe::NeedMore
            } else {
                Probe::NoMatch
            };
        }
        if version(data).is_some() {
            Probe::Match
        } else {
            Probe::NoMatch
        }
    }

    fn new_session(&self) -> Box<dyn StreamSession> {
        Box::new(Session::default())
    }
}

/// Where the handshake is: what the next message is, and from whom.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Stage {
    #[default]
    ServerVersion,
    ClientVersion,
    /// 3.7 and later: a count and a list; 3.3: one 32-bit type.
    SecurityTypes,
    SecurityChoice,
    Challenge,
    ChallengeResponse,
    SecurityResult,
    /// The reason string of a failure (length-prefixed), then the connection closes.
    FailureReason,
    ClientInit,
    ServerInit,
    /// Counting client messages.
    Running,
    /// Nothing more to read.
    Done,
}

#[derive(Debug, Default)]
struct Session {
    stage: Stage,
    bufs: [Vec<u8>; 2],
    minor: u16,
    server_version: String,
    client_version: String,
    offered: Vec<u8>,
    chosen: Option<u8>,
    /// A 3.8 security result said failed; its reason follows.
    failed: bool,
}

fn security_name(t: u8) -> Cow<'static, str> {
    Cow::Borrowed(match t {
        0 => "invalid",
        1 => "none",
        2 => "vnc_auth",
        5 => "ra2",
        6 => "ra2ne",
        16 => "tight",
        17 => "ultra",
        18 => "tls",
        19 => "vencrypt",
        20 => "sasl",
        21 => "md5_hash",
        22 => "xvp",
        30 => "apple_ard",
        _ => return Cow::Owned(format!("type_{t}")),
    })
}

fn push(a: &mut Vec<(Cow<'static, str>, otposture_model::AttrValue)>, key: &'static str, value: String) {
    a.push((Cow::Borrowed(key), value.into()));
}

/// Takes `n` bytes from the front of `buf`, when it has them.
fn take(buf: &mut Vec<u8>, n: usize) -> Option<Vec<u8>> {
    (buf.len() >= n).then(|| buf.drain(..n).collect())
}

/// Drops `n` bytes from the front of `buf`, when it has them (no copy: key
/// and pointer events come by the thousand).
fn skip(buf: &mut Vec<u8>, n: usize) -> bool {
    let whole = buf.len() >= n;
    if whole {
        buf.drain(..n);
    }
    whole
}

fn be32(b: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(..4)?.try_into().ok()?))
}

impl Session {
    fn session(&self, ctx: &PacketCtx<'_>, name: &'static str, emit: &mut dyn Emit) {
        emit.message(ctx, PROTOCOL, Cow::Borrowed(name), OperationClass::Session);
    }

    fn auth(&self, ctx: &PacketCtx<'_>, result: &str, reason: Option<String>, emit: &mut dyn Emit) {
        let mut a = Vec::new();
        push(&mut a, "security_type", self.chosen.map_or(Cow::Borrowed("none"), security_name).into_owned());
        push(&mut a, "client_version", self.client_version.clone());
        push(&mut a, "result", result.to_string());
        if let Some(r) = reason {
            push(&mut a, "reason", r);
        }
        emit.operation(ctx, PROTOCOL, Cow::Borrowed("authentication"), OperationClass::Authentication, a);
    }

    fn server_identity(
        &self,
        ctx: &PacketCtx<'_>,
        extra: Vec<(Cow<'static, str>, otposture_model::AttrValue)>,
        emit: &mut dyn Emit,
    ) {
        let mut e = ctx.event(PROTOCOL, EventKind::Identity, "rfb.server");
        push(&mut e.attributes, "server_version", self.server_version.clone());
        let types: Vec<String> = self.offered.iter().map(|t| security_name(*t).into_owned()).collect();
        if !types.is_empty() {
            push(&mut e.attributes, "security_types", types.join(","));
        }
        if self.offered.contains(&1) {
            push(&mut e.attributes, "no_authentication", "true".to_string());
        }
        e.attributes.extend(extra);
        emit.event(e);
    }

    /// After the security handshake: 3.8 always sends a result; older versions
    /// send one only for VNC authentication.
    fn after_choice(&mut self, ctx: &PacketCtx<'_>, emit: &mut dyn Emit) {
        match self.chosen {
            Some(2) => self.stage = Stage::Challenge,
            Some(1) if self.minor >= 8 => self.stage = Stage::SecurityResult,
            Some(1) => {
                self.auth(ctx, "none", None, emit);
                self.stage = Stage::ClientInit;
            }
            _ => self.stage = Stage::Done,
        }
    }

    /// Moves through every message whose bytes are all here.
    fn advance(&mut self, ctx: &PacketCtx<'_>, emit: &mut dyn Emit) {
        use Direction::{ToClient as S2C, ToServer as C2S};
        loop {
            let from = match self.stage {
                Stage::ServerVersion
                | Stage::SecurityTypes
                | Stage::Challenge
                | Stage::SecurityResult
                | Stage::FailureReason
                | Stage::ServerInit => S2C,
                Stage::ClientVersion
                | Stage::SecurityChoice
                | Stage::ChallengeResponse
                | Stage::ClientInit
                | Stage::Running => C2S,
                Stage::Done => return,
            };
            let Some(buf) = self.bufs.get_mut(from.index()) else { return };
            let progressed = match self.stage {
                Stage::ServerVersion | Stage::ClientVersion => {
                    let Some(b) = take(buf, 12) else { return };
                    let Some((major, minor)) = version(&b) else {
                        emit.malformed(ctx, PROTOCOL, "rfb_bad_version");
                        self.stage = Stage::Done;
                        return;
                    };
                    self.session(ctx, "protocol_version", emit);
                    if self.stage == Stage::ServerVersion {
                        self.minor = minor;
                        self.server_version = format!("{major}.{minor}");
                        self.stage = Stage::ClientVersion;
                    } else {
                        // The version both then speak is the lower one; 3.889 (Apple) behaves as 3.8.
                        self.client_version = format!("{major}.{minor}");
                        self.minor = self.minor.min(minor).min(8);
                        self.stage = Stage::SecurityTypes;
                    }
                    true
                }
                Stage::SecurityTypes if self.minor >= 7 => {
                    let Some(&n) = buf.first() else { return };
                    let Some(b) = take(buf, 1 + usize::from(n)) else { return };
                    self.session(ctx, "security_types", emit);
                    self.offered = b.get(1..).unwrap_or_default().to_vec();
                    if n == 0 {
                        self.stage = Stage::FailureReason;
                    } else {
                        self.server_identity(ctx, Vec::new(), emit);
                        self.stage = Stage::SecurityChoice;
                    }
                    true
                }
                Stage::SecurityTypes => {
                    let Some(b) = take(buf, 4) else { return };
                    self.session(ctx, "security_types", emit);
                    let t = be32(&b).unwrap_or(0);
                    if t == 0 {
                        self.stage = Stage::FailureReason;
                    } else {
                        self.offered = vec![u8::try_from(t).unwrap_or(u8::MAX)];
                        self.chosen = self.offered.first().copied();
                        self.server_identity(ctx, Vec::new(), emit);
                        self.after_choice(ctx, emit);
                    }
                    true
                }
                Stage::SecurityChoice => {
                    let Some(b) = take(buf, 1) else { return };
                    self.session(ctx, "security_choice", emit);
                    self.chosen = b.first().copied();
                    self.after_choice(ctx, emit);
                    true
                }
                Stage::Challenge => {
                    if !skip(buf, 16) {
                        return;
                    }
                    self.session(ctx, "challenge", emit);
                    self.stage = Stage::ChallengeResponse;
                    true
                }
                Stage::ChallengeResponse => {
                    if !skip(buf, 16) {
                        return;
                    }
                    self.session(ctx, "challenge_response", emit);
                    self.stage = Stage::SecurityResult;
                    true
                }
                Stage::SecurityResult => {
                    let Some(b) = take(buf, 4) else { return };
                    self.session(ctx, "security_result", emit);
                    let ok = be32(&b) == Some(0);
                    if ok {
                        let result = if self.chosen == Some(1) { "none" } else { "ok" };
                        self.auth(ctx, result, None, emit);
                        self.stage = Stage::ClientInit;
                    } else if self.minor >= 8 {
                        // 3.8 explains a failure; the reason comes next.
                        self.stage = Stage::FailureReason;
                        self.failed = true;
                    } else {
                        self.auth(ctx, "failed", None, emit);
                        self.stage = Stage::Done;
                    }
                    true
                }
                Stage::FailureReason => {
                    let Some(len) = buf.get(..4).and_then(be32) else { return };
                    let len = usize::try_from(len).unwrap_or(usize::MAX).min(MAX_BUFFER);
                    let Some(b) = take(buf, 4 + len) else { return };
                    let reason = String::from_utf8_lossy(b.get(4..).unwrap_or_default()).into_owned();
                    // A failed security result, or a refusal before any type was offered.
                    self.auth(ctx, if self.failed { "failed" } else { "refused" }, Some(reason), emit);
                    self.stage = Stage::Done;
                    true
                }
                Stage::ClientInit => {
                    if !skip(buf, 1) {
                        return;
                    }
                    self.session(ctx, "client_init", emit);
                    self.stage = Stage::ServerInit;
                    true
                }
                Stage::ServerInit => {
                    let Some(len) = buf.get(20..24).and_then(be32) else { return };
                    let len = usize::try_from(len).unwrap_or(usize::MAX);
                    if len > MAX_BUFFER {
                        emit.malformed(ctx, PROTOCOL, "rfb_bad_server_init");
                        self.stage = Stage::Done;
                        return;
                    }
                    let Some(b) = take(buf, 24 + len) else { return };
                    self.session(ctx, "server_init", emit);
                    let dim = |i: usize| match b.get(i..i + 2) {
                        Some(&[hi, lo]) => Some(u16::from_be_bytes([hi, lo])),
                        _ => None,
                    };
                    let mut extra = Vec::new();
                    push(
                        &mut extra,
                        "desktop_name",
                        String::from_utf8_lossy(b.get(24..).unwrap_or_default()).into_owned(),
                    );
                    if let (Some(w), Some(h)) = (dim(0), dim(2)) {
                        push(&mut extra, "width", w.to_string());
                        push(&mut extra, "height", h.to_string());
                    }
                    self.server_identity(ctx, extra, emit);
                    self.stage = Stage::Running;
                    true
                }
                Stage::Running => {
                    let Some(&kind) = buf.first() else { return };
                    let (name, len) = match kind {
                        0 => ("set_pixel_format", Some(20)),
                        2 => (
                            "set_encodings",
                            match buf.get(2..4) {
                                Some(&[hi, lo]) => Some(4 + 4 * usize::from(u16::from_be_bytes([hi, lo]))),
                                _ => None,
                            },
                        ),
                        3 => ("framebuffer_update_request", Some(10)),
                        4 => ("key_event", Some(8)),
                        5 => ("pointer_event", Some(6)),
                        6 => (
                            "client_cut_text",
                            buf.get(4..8).and_then(be32).and_then(|n| usize::try_from(n).ok()).map(|n| 8 + n),
                        ),
                        _ => {
                            // An extension message of unknown length: stop counting.
                            self.session(ctx, "unknown_client_message", emit);
                            self.stage = Stage::Done;
                            return;
                        }
                    };
                    let Some(len) = len else { return };
                    if len > MAX_BUFFER {
                        // A large paste: count it and stop following the stream.
                        self.session(ctx, name, emit);
                        self.stage = Stage::Done;
                        return;
                    }
                    if !skip(buf, len) {
                        return;
                    }
                    self.session(ctx, name, emit);
                    true
                }
                Stage::Done => return,
            };
            if !progressed {
                return;
            }
        }
    }
}

impl StreamSession for Session {
    fn data(&mut self, ctx: &PacketCtx<'_>, direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        if self.stage == Stage::Done {
            return;
        }
        let Some(buf) = self.bufs.get_mut(direction.index()) else { return };
        // Server updates after ServerInit are not read: drop them rather than buffer.
        if self.stage == Stage::Running && direction == Direction::ToClient {
            return;
        }
        if buf.len() + data.len() > MAX_BUFFER * 2 {
            emit.malformed(ctx, PROTOCOL, "rfb_buffer_full");
            self.stage = Stage::Done;
            self.bufs = Default::default();
            return;
        }
        buf.extend_from_slice(data);
        self.advance(ctx, emit);
        if self.stage == Stage::Running {
            if let Some(b) = self.bufs.get_mut(Direction::ToClient.index()) {
                b.clear();
            }
        }
    }

    fn gap(&mut self, _ctx: &PacketCtx<'_>, _direction: Direction, _len: u64, _emit: &mut dyn Emit) {
        self.stage = Stage::Done;
        self.bufs = Default::default();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::test_support::{event_attr, run};
    use proptest::prelude::*;
    use Direction::{ToClient as S2C, ToServer as C2S};

    fn server_init(name: &str) -> Vec<u8> {
        let mut b = vec![0x04, 0x00, 0x03, 0x00]; // 1024 x 768
        b.extend([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]); // pixel format
        b.extend((name.len() as u32).to_be_bytes());
        b.extend(name.as_bytes());
        b
    }

    /// RFB 3.8 with VNC authentication: versions, types [vnc_auth, none],
    /// choice 2, challenge, response, result ok, ClientInit, ServerInit, then
    /// the client sets encodings and types a key.
    fn session_38() -> (Vec<u8>, Vec<u8>) {
        let mut s = b"RFB 003.008\n".to_vec();
        s.extend([2, 2, 1]);
        s.extend([0xaa; 16]);
        s.extend([0, 0, 0, 0]);
        s.extend(server_init("HMI-LINE-2"));
        let mut c = b"RFB 003.008\n".to_vec();
        c.push(2);
        c.extend([0xbb; 16]);
        c.push(1); // ClientInit: shared
        c.extend([2, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1]); // SetEncodings: raw, copyrect
        c.extend([4, 1, 0, 0, 0, 0, 0xff, 0x0d]); // KeyEvent down Return
        (c, s)
    }

    fn interleaved((c, s): &(Vec<u8>, Vec<u8>)) -> Vec<(Direction, Vec<u8>)> {
        // The server's version, the client's, then the rest in protocol order.
        vec![
            (S2C, s[..12].to_vec()),
            (C2S, c[..12].to_vec()),
            (S2C, s[12..15].to_vec()),
            (C2S, c[12..13].to_vec()),
            (S2C, s[15..31].to_vec()),
            (C2S, c[13..29].to_vec()),
            (S2C, s[31..35].to_vec()),
            (C2S, c[29..30].to_vec()),
            (S2C, s[35..].to_vec()),
            (C2S, c[30..].to_vec()),
        ]
    }

    #[test]
    fn follows_vnc_authentication_to_the_desktop_name() {
        let r = run(&Rfb, &interleaved(&session_38()));
        assert!(r.malformed.is_empty(), "{:?}", r.malformed);
        let auth: Vec<_> = r.messages.iter().filter(|m| m.2 == "authentication").collect();
        assert_eq!(auth.len(), 1);
        let a = &auth[0].4;
        let get = |k: &str| a.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(
            (get("security_type"), get("result"), get("client_version")),
            (Some("vnc_auth"), Some("ok"), Some("3.8"))
        );
        let last = r.events.iter().rev().find(|e| e.name == "rfb.server").unwrap();
        assert_eq!(event_attr(last, "desktop_name"), Some("HMI-LINE-2"));
        assert_eq!(event_attr(last, "security_types"), Some("vnc_auth,none"));
        assert_eq!(event_attr(last, "no_authentication"), Some("true"));
        assert_eq!((event_attr(last, "width"), event_attr(last, "height")), (Some("1024"), Some("768")));
        let ops: Vec<_> =
            r.messages.iter().map(|m| m.2.as_str()).filter(|n| n.ends_with("event") || n.starts_with("set_")).collect();
        assert_eq!(ops, vec!["set_encodings", "key_event"]);
    }

    #[test]
    fn a_failed_login_is_kept_with_its_reason() {
        let mut s = b"RFB 003.008\n".to_vec();
        s.extend([1, 2]);
        s.extend([0xaa; 16]);
        s.extend([0, 0, 0, 1, 0, 0, 0, 14]);
        s.extend(b"Authentication");
        let mut c = b"RFB 003.008\n".to_vec();
        c.push(2);
        c.extend([0xbb; 16]);
        let r = run(
            &Rfb,
            &[
                (S2C, s[..12].to_vec()),
                (C2S, c[..12].to_vec()),
                (S2C, s[12..30].to_vec()),
                (C2S, c[12..].to_vec()),
                (S2C, s[30..].to_vec()),
            ],
        );
        let a = &r.messages.iter().find(|m| m.2 == "authentication").unwrap().4;
        let get = |k: &str| a.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!((get("result"), get("reason")), (Some("failed"), Some("Authentication")));
    }

    #[test]
    fn rfb_33_with_no_authentication() {
        let mut s = b"RFB 003.003\n".to_vec();
        s.extend([0, 0, 0, 1]); // security type None
        s.extend(server_init("plant"));
        let c = b"RFB 003.003\n\x01".to_vec();
        let r = run(&Rfb, &[(S2C, s[..16].to_vec()), (C2S, c.clone()), (S2C, s[16..].to_vec())]);
        let a = &r.messages.iter().find(|m| m.2 == "authentication").unwrap().4;
        assert!(a.contains(&("result".to_string(), "none".to_string())), "{a:?}");
        assert!(r.events.iter().any(|e| event_attr(e, "desktop_name") == Some("plant")));
    }

    #[test]
    fn the_same_records_whatever_the_segmentation_of_each_message() {
        // Whole directions at once would reorder the handshake; cut within messages instead.
        let whole = run(&Rfb, &interleaved(&session_38()));
        let mut bytes = Vec::new();
        for (d, b) in interleaved(&session_38()) {
            bytes.extend(b.into_iter().map(|x| (d, vec![x])));
        }
        let split = run(&Rfb, &bytes);
        assert_eq!(split.messages, whole.messages);
        assert_eq!(split.events, whole.events);
    }

    proptest! {
        #[test]
        fn never_panics(a in proptest::collection::vec(any::<u8>(), 0..300), b in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut s = b"RFB 003.008\n".to_vec();
            s.extend(a);
            let _ = run(&Rfb, &[(S2C, s), (C2S, b)]);
        }
    }
}
