//! SSH (RFC 4253): the identification strings both sides send in clear, and
//! the algorithms each offers in its KEXINIT, up to NEWKEYS; after that the
//! stream is encrypted and only counted by the flow.
//!
//! Reports, per side: `ssh.banner` (identity of the sender: `role` client or
//! server, `protocol_version`, `software`, `comments`, `ssh1` when it speaks
//! protocol 1 only), and `ssh.kexinit` (`kex_algorithms`,
//! `host_key_algorithms`, `encryption`, `mac`, `compression`: the lists the
//! sender offers for its own direction, and `weak`: the offered algorithms
//! that are broken or deprecated — RFC 9142 for key exchange, RFC 8758 for
//! RC4, RFC 8332/OpenSSH for DSA, CBC-mode ciphers and MD5/96-bit MACs as
//! NIST SP 800-131A and the OpenSSH defaults retired them). Messages counted:
//! `banner`, `kexinit`, `key_exchange`, `newkeys` (class `session`).
//! A gap or a packet too long to hold ends the reading of that direction.

use crate::{Emit, PacketCtx, Probe, StreamDissector, StreamSession};
use otposture_model::{Direction, EventKind, OperationClass};
use std::borrow::Cow;

const PROTOCOL: &str = "ssh";

/// Longest identification line, with the lines a server may send before it (RFC 4253 §4.2).
const MAX_BANNER: usize = 4096;
/// Largest KEXINIT read; RFC 4253 §6.1 lets packets reach 35000 bytes.
const MAX_PACKET: usize = 35_000;

/// Algorithms a KEXINIT should no longer offer.
const WEAK: &[&str] = &[
    "diffie-hellman-group1-sha1",
    "diffie-hellman-group-exchange-sha1",
    "gss-group1-sha1-",
    "ssh-dss",
    "ssh-rsa1",
    "3des-cbc",
    "aes128-cbc",
    "aes192-cbc",
    "aes256-cbc",
    "blowfish-cbc",
    "cast128-cbc",
    "des-cbc",
    "arcfour",
    "arcfour128",
    "arcfour256",
    "rijndael-cbc@lysator.liu.se",
    "hmac-md5",
    "hmac-md5-96",
    "hmac-sha1-96",
    "hmac-md5-etm@openssh.com",
    "hmac-md5-96-etm@openssh.com",
    "none",
];

/// The SSH stream dissector.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ssh;

impl StreamDissector for Ssh {
    fn protocol(&self) -> &'static str {
        PROTOCOL
    }

    fn port_hint(&self, server_port: u16) -> bool {
        server_port == 22
    }

    /// Either side opens with "SSH-" (a server may send other lines first;
    /// those flows are not recognised).
    fn probe(&self, _direction: Direction, data: &[u8]) -> Probe {
        let prefix = b"SSH-";
        let n = data.len().min(prefix.len());
        match (data.get(..n), prefix.get(..n)) {
            (Some(a), Some(b)) if a != b => Probe::NoMatch,
            _ if n < prefix.len() => Probe::NeedMore,
            _ => Probe::Match,
        }
    }

    fn new_session(&self) -> Box<dyn StreamSession> {
        Box::new(Session::default())
    }
}

#[derive(Debug, Default)]
enum Stage {
    /// Reading the identification line.
    #[default]
    Banner,
    /// Reading binary packets until NEWKEYS.
    Packets,
    /// Encrypted, cut by a gap, or unreadable: nothing more to read.
    Done,
}

#[derive(Debug, Default)]
struct Side {
    stage: Stage,
    buf: Vec<u8>,
}

#[derive(Debug, Default)]
struct Session {
    sides: [Side; 2],
}

fn push(a: &mut Vec<(Cow<'static, str>, otposture_model::AttrValue)>, key: &'static str, value: String) {
    a.push((Cow::Borrowed(key), value.into()));
}

impl StreamSession for Session {
    fn data(&mut self, ctx: &PacketCtx<'_>, direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        let Some(side) = self.sides.get_mut(direction.index()) else { return };
        if matches!(side.stage, Stage::Done) {
            return;
        }
        side.buf.extend_from_slice(data);
        loop {
            match side.stage {
                Stage::Banner => {
                    let Some(end) = side.buf.iter().position(|&b| b == b'\n') else {
                        if side.buf.len() > MAX_BANNER {
                            emit.malformed(ctx, PROTOCOL, "ssh_banner_too_long");
                            side.stage = Stage::Done;
                            side.buf = Vec::new();
                        }
                        return;
                    };
                    let line: Vec<u8> = side.buf.drain(..=end).collect();
                    if !line.starts_with(b"SSH-") {
                        // A line a server may send before its identification.
                        continue;
                    }
                    banner(ctx, direction, &line, emit);
                    side.stage = Stage::Packets;
                }
                Stage::Packets => {
                    let [a, b, c, d, ..] = *side.buf.as_slice() else { return };
                    let len = u32::from_be_bytes([a, b, c, d]) as usize;
                    if !(5..=MAX_PACKET).contains(&len) {
                        emit.malformed(ctx, PROTOCOL, "ssh_bad_packet_length");
                        side.stage = Stage::Done;
                        side.buf = Vec::new();
                        return;
                    }
                    if side.buf.len() < 4 + len {
                        return;
                    }
                    let packet: Vec<u8> = side.buf.drain(..4 + len).collect();
                    let padding = usize::from(*packet.get(4).unwrap_or(&0));
                    let payload = packet.get(5..(4 + len).saturating_sub(padding)).unwrap_or_default();
                    match payload.first() {
                        Some(20) => {
                            emit.message(ctx, PROTOCOL, Cow::Borrowed("kexinit"), OperationClass::Session);
                            kexinit(ctx, direction, payload, emit);
                        }
                        Some(21) => {
                            emit.message(ctx, PROTOCOL, Cow::Borrowed("newkeys"), OperationClass::Session);
                            side.stage = Stage::Done;
                            side.buf = Vec::new();
                            return;
                        }
                        Some(30..=49) => {
                            emit.message(ctx, PROTOCOL, Cow::Borrowed("key_exchange"), OperationClass::Session)
                        }
                        _ => emit.message(ctx, PROTOCOL, Cow::Borrowed("other"), OperationClass::Session),
                    }
                }
                Stage::Done => return,
            }
        }
    }

    fn gap(&mut self, _ctx: &PacketCtx<'_>, direction: Direction, _len: u64, _emit: &mut dyn Emit) {
        if let Some(side) = self.sides.get_mut(direction.index()) {
            side.stage = Stage::Done;
            side.buf = Vec::new();
        }
    }
}

/// `SSH-protoversion-softwareversion SP comments CR LF`.
fn banner(ctx: &PacketCtx<'_>, direction: Direction, line: &[u8], emit: &mut dyn Emit) {
    emit.message(ctx, PROTOCOL, Cow::Borrowed("banner"), OperationClass::Session);
    let text = String::from_utf8_lossy(line.get(..255.min(line.len())).unwrap_or_default()).into_owned();
    let text = text.trim_end_matches(['\r', '\n']);
    let rest = text.strip_prefix("SSH-").unwrap_or(text);
    let (version, software) = rest.split_once('-').unwrap_or((rest, ""));
    let (software, comments) = software.split_once(' ').unwrap_or((software, ""));
    let mut e = ctx.event(PROTOCOL, EventKind::Identity, "ssh.banner");
    let role = if direction == Direction::ToServer { "client" } else { "server" };
    push(&mut e.attributes, "role", role.to_string());
    push(&mut e.attributes, "protocol_version", version.to_string());
    push(&mut e.attributes, "software", software.to_string());
    if !comments.is_empty() {
        push(&mut e.attributes, "comments", comments.to_string());
    }
    if version.starts_with("1.") && version != "1.99" {
        push(&mut e.attributes, "ssh1", "true".to_string());
    }
    emit.event(e);
}

/// The name-lists of a KEXINIT payload (after the message byte and cookie).
fn name_lists(payload: &[u8]) -> Option<Vec<&[u8]>> {
    let mut rest = payload.get(17..)?;
    let mut out = Vec::with_capacity(10);
    for _ in 0..10 {
        let (len, tail) = rest.split_at_checked(4)?;
        let len = u32::from_be_bytes(len.try_into().ok()?) as usize;
        let (list, tail) = tail.split_at_checked(len)?;
        out.push(list);
        rest = tail;
    }
    Some(out)
}

fn kexinit(ctx: &PacketCtx<'_>, direction: Direction, payload: &[u8], emit: &mut dyn Emit) {
    let Some(lists) = name_lists(payload) else {
        emit.malformed(ctx, PROTOCOL, "ssh_bad_kexinit");
        return;
    };
    // Lists 2-9 come in pairs, client to server first; a sender offers for its own direction.
    let own =
        |pair: usize| lists.get(pair + usize::from(direction == Direction::ToClient)).copied().unwrap_or_default();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let mut e = ctx.event(PROTOCOL, EventKind::Identity, "ssh.kexinit");
    let role = if direction == Direction::ToServer { "client" } else { "server" };
    push(&mut e.attributes, "role", role.to_string());
    let kex = text(lists.first().copied().unwrap_or_default());
    let host_key = text(lists.get(1).copied().unwrap_or_default());
    let (enc, mac, comp) = (text(own(2)), text(own(4)), text(own(6)));
    let weak: Vec<&str> = [&kex, &host_key, &enc, &mac]
        .iter()
        .flat_map(|l| l.split(','))
        .filter(|a| WEAK.iter().any(|w| a == w || (w.ends_with('-') && a.starts_with(w))))
        .collect();
    push(&mut e.attributes, "kex_algorithms", kex.clone());
    push(&mut e.attributes, "host_key_algorithms", host_key.clone());
    push(&mut e.attributes, "encryption", enc.clone());
    push(&mut e.attributes, "mac", mac.clone());
    push(&mut e.attributes, "compression", comp);
    if !weak.is_empty() {
        push(&mut e.attributes, "weak", weak.join(","));
    }
    emit.event(e);
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::test_support::{event_attr, run, splits_at_every_offset};
    use proptest::prelude::*;
    use Direction::{ToClient as S2C, ToServer as C2S};

    /// A KEXINIT packet: length, padding length, message 20, cookie, ten
    /// name-lists, first_kex_packet_follows, reserved, padding.
    fn kexinit_packet(lists: [&str; 10]) -> Vec<u8> {
        let mut payload = vec![20];
        payload.extend([0x11; 16]);
        for l in lists {
            payload.extend((l.len() as u32).to_be_bytes());
            payload.extend(l.as_bytes());
        }
        payload.extend([0, 0, 0, 0, 0]);
        let padding = 8 - (payload.len() + 5) % 8 + 4;
        let mut p = ((payload.len() + padding + 1) as u32).to_be_bytes().to_vec();
        p.push(padding as u8);
        p.extend(payload);
        p.extend(vec![0; padding]);
        p
    }

    fn server_stream() -> Vec<u8> {
        let mut s = b"SSH-2.0-dropbear_2019.78\r\n".to_vec();
        s.extend(kexinit_packet([
            "curve25519-sha256,diffie-hellman-group1-sha1",
            "ssh-rsa,ssh-dss",
            "aes128-ctr",
            "aes128-ctr,3des-cbc",
            "hmac-sha2-256",
            "hmac-sha2-256,hmac-md5",
            "none",
            "none",
            "",
            "",
        ]));
        s.extend([0, 0, 0, 12, 10, 21, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // NEWKEYS
        s.extend([0xde, 0xad, 0xbe, 0xef]); // encrypted from here
        s
    }

    #[test]
    fn reads_banners_and_the_algorithms_each_side_offers() {
        let client = b"SSH-2.0-PuTTY_Release_0.76\r\n".to_vec();
        let r = run(&Ssh, &[(C2S, client), (S2C, server_stream())]);
        assert!(r.malformed.is_empty(), "{:?}", r.malformed);
        let ops: Vec<_> = r.messages.iter().map(|m| m.2.as_str()).collect();
        assert_eq!(ops, vec!["banner", "banner", "kexinit", "newkeys"]);
        let banners: Vec<_> = r.events.iter().filter(|e| e.name == "ssh.banner").collect();
        assert_eq!(event_attr(banners[0], "software"), Some("PuTTY_Release_0.76"));
        assert_eq!(event_attr(banners[0], "role"), Some("client"));
        assert_eq!(event_attr(banners[1], "software"), Some("dropbear_2019.78"));
        let k = r.events.iter().find(|e| e.name == "ssh.kexinit").unwrap();
        assert_eq!(event_attr(k, "role"), Some("server"));
        assert_eq!(event_attr(k, "encryption"), Some("aes128-ctr,3des-cbc"), "the server's own direction");
        assert_eq!(event_attr(k, "weak"), Some("diffie-hellman-group1-sha1,ssh-dss,3des-cbc,hmac-md5"));
    }

    #[test]
    fn flags_protocol_1_and_skips_lines_before_the_banner() {
        let r = run(&Ssh, &[(S2C, b"Welcome to the RTU\r\nSSH-1.5-OpenSSH_1.2.3 legacy\n".to_vec())]);
        let e = &r.events[0];
        assert_eq!((event_attr(e, "ssh1"), event_attr(e, "comments")), (Some("true"), Some("legacy")));
    }

    #[test]
    fn the_same_records_whatever_the_segmentation() {
        let client = b"SSH-2.0-OpenSSH_9.6\r\n".to_vec();
        let r = splits_at_every_offset(&Ssh, &client, &server_stream());
        assert!(r.malformed.is_empty());
    }

    proptest! {
        #[test]
        fn never_panics(a in proptest::collection::vec(any::<u8>(), 0..400), b in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut c = b"SSH-2.0-x\r\n".to_vec();
            c.extend(a);
            let _ = run(&Ssh, &[(C2S, c), (S2C, b)]);
        }
    }
}
