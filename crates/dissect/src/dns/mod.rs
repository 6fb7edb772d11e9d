//! DNS (RFC 1035) over UDP and TCP port 53, multicast DNS (RFC 6762, UDP
//! 5353) and LLMNR (RFC 4795, UDP 5355): one message format ([`wire`]), three
//! protocols told apart by port, each reported under its own name (`dns`,
//! `mdns`, `llmnr`).
//!
//! Counts every message by what it does (`query`, `response`, `error_<rcode>`
//! for answers other than NOERROR and NXDOMAIN, which is a normal answer;
//! `inverse_query`, `status`, `dso`, `opcode_N` for unknown opcodes, and their
//! `_response`s), class `discovery` unless said otherwise. Kept individually:
//! - `update` (RFC 2136, class `configuration`): the zone and the names and
//!   types of the records it adds or deletes; its answer is folded into it
//!   when it succeeds and kept (`update_response` with `rcode`) when refused;
//! - `notify` (RFC 1996, class `configuration`): the zone, likewise;
//! - `zone_transfer` (AXFR/IXFR, class `read`): a read of a whole zone, what
//!   a network is mapped with; an operation event with the zone and type, and
//!   the answer kept when refused (`zone_transfer_response` with `rcode`).
//!
//! Names learnt: A and AAAA records of answers and additional records, and
//! PTR records of `in-addr.arpa`/`ip6.arpa` names, give `<protocol>.answer`
//! identity events naming the host that owns the address (attribute
//! `address`, which the inventory attributes the event to: the host named, not
//! the server that answered), with `host_name`, `record` and `answered_by`.
//! mDNS SRV records give `mdns.service` (the sender's service instance, its
//! target host and port). A pair is reported once per flow, and at most
//! [`MAX_LEARNT`] per flow, so a busy resolver cannot flood the store.
//!
//! DNS over TCP carries the same messages after a 2-byte length (RFC 1035
//! §4.2.2), cut by [`crate::framing`]. Not done: EDNS(0) options, DNSSEC
//! records, TSIG (a signed update is reported like any other; the key is
//! never read), DNS over TLS/HTTPS (encrypted: TLS's dissector sees them).

pub mod wire;

use crate::framing::{FrameFormat, Framed, Framer, Plausible};
use crate::intern;
use crate::{DatagramDissector, DatagramSession, Emit, PacketCtx, Probe, StreamDissector, StreamSession};
use otposture_model::ToCompactString;
use otposture_model::{Direction, EventKind, OperationClass};
use std::borrow::Cow;
use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use wire::{Header, Item, Name, Opcode, Rcode, RrType, Section};

/// UDP and TCP port of DNS.
pub const DNS_PORT: u16 = 53;
/// UDP port of multicast DNS.
pub const MDNS_PORT: u16 = 5353;
/// UDP port of LLMNR.
pub const LLMNR_PORT: u16 = 5355;
/// Name/address pairs and services reported per flow; later ones are dropped.
pub const MAX_LEARNT: usize = 256;
/// Records of an UPDATE listed in its record (more are counted).
const MAX_UPDATE_RECORDS: usize = 8;

/// Which of the three protocols a flow speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// Unicast DNS.
    Dns,
    /// Multicast DNS.
    Mdns,
    /// Link-local multicast name resolution.
    Llmnr,
}

impl Flavor {
    /// The protocol name in records.
    pub fn protocol(self) -> &'static str {
        match self {
            Flavor::Dns => "dns",
            Flavor::Mdns => "mdns",
            Flavor::Llmnr => "llmnr",
        }
    }
    fn answer_event(self) -> &'static str {
        match self {
            Flavor::Dns => "dns.answer",
            Flavor::Mdns => "mdns.answer",
            Flavor::Llmnr => "llmnr.answer",
        }
    }
}

/// Whether a header looks like one a DNS speaker sends today: an opcode in
/// use (not the obsolete IQUERY and STATUS), the Z bit clear (RFC 1035
/// §4.1.1) and something in it. Only probes ask: a session reads any header.
fn sane(h: &Header) -> bool {
    matches!(h.opcode(), Opcode::QUERY | Opcode::NOTIFY | Opcode::UPDATE | Opcode::DSO)
        && h.flags & 0x0040 == 0
        && h.items() > 0
}

/// A datagram is DNS when its header is sane and its questions and records
/// fill it exactly.
fn probe_message(data: &[u8]) -> Probe {
    match wire::check(data) {
        Ok((h, end)) if sane(&h) && end == data.len() => Probe::Match,
        _ => Probe::NoMatch,
    }
}

/// Unicast DNS over UDP.
#[derive(Clone, Copy, Debug, Default)]
pub struct Dns;
/// Multicast DNS.
#[derive(Clone, Copy, Debug, Default)]
pub struct Mdns;
/// LLMNR.
#[derive(Clone, Copy, Debug, Default)]
pub struct Llmnr;

macro_rules! datagram_flavor {
    ($t:ty, $flavor:expr, $port:expr) => {
        impl DatagramDissector for $t {
            fn protocol(&self) -> &'static str {
                $flavor.protocol()
            }
            fn port_hint(&self, src_port: u16, dst_port: u16) -> bool {
                src_port == $port || dst_port == $port
            }
            /// The three share a probe: the port hint orders them, so a
            /// message on 5353 is mDNS, on 5355 LLMNR, elsewhere DNS.
            fn probe(&self, data: &[u8]) -> Probe {
                probe_message(data)
            }
            fn new_session(&self) -> Box<dyn DatagramSession> {
                Box::new(DatagramFlow(Handler::new($flavor)))
            }
            /// The QR bit: a query (or a NOTIFY, a primary telling its
            /// secondary) comes from the client. Servers forwarding to
            /// servers use port 53 at both ends.
            fn sent_by_client(&self, data: &[u8]) -> Option<bool> {
                Some(!wire::check(data).ok()?.0.qr())
            }
        }
    };
}

datagram_flavor!(Dns, Flavor::Dns, DNS_PORT);
datagram_flavor!(Mdns, Flavor::Mdns, MDNS_PORT);
datagram_flavor!(Llmnr, Flavor::Llmnr, LLMNR_PORT);

struct DatagramFlow(Handler);

impl DatagramSession for DatagramFlow {
    fn datagram(&mut self, ctx: &PacketCtx<'_>, _direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        self.0.message(ctx, data, emit);
    }
}

/// Pairs and services already reported on a flow, by hash; bounded.
#[derive(Debug, Default)]
pub(crate) struct Learnt {
    seen: HashSet<u64, foldhash::fast::FixedState>,
}

impl Learnt {
    /// True the first time `(what, name, address)` is met on the flow, while
    /// there is room. Names compare without regard to ASCII case.
    pub(crate) fn first(&mut self, what: u8, name: &[u8], address: Option<IpAddr>) -> bool {
        self.first_of(what, &[name], address)
    }

    /// As [`Learnt::first`], for a name given in parts (hashed in order,
    /// without copying them together).
    pub(crate) fn first_of(&mut self, what: u8, parts: &[&[u8]], address: Option<IpAddr>) -> bool {
        if self.seen.len() >= MAX_LEARNT {
            return false;
        }
        let mut h = self.seen.hasher().build_hasher();
        h.write_u8(what);
        for part in parts {
            h.write_usize(part.len());
            for b in *part {
                h.write_u8(b.to_ascii_lowercase());
            }
        }
        match address {
            Some(IpAddr::V4(a)) => h.write(&a.octets()),
            Some(IpAddr::V6(a)) => h.write(&a.octets()),
            None => h.write_u8(0),
        }
        self.seen.insert(h.finish())
    }
}

/// What one flow's messages are read with.
#[derive(Debug)]
struct Handler {
    flavor: Flavor,
    learnt: Learnt,
}

impl Handler {
    fn new(flavor: Flavor) -> Self {
        Handler { flavor, learnt: Learnt::default() }
    }

    /// One whole message (a datagram, or a TCP frame's body).
    fn message(&mut self, ctx: &PacketCtx<'_>, msg: &[u8], emit: &mut dyn Emit) {
        let protocol = self.flavor.protocol();
        // Read it whole first: a malformed message is only counted as such.
        let h = match wire::check(msg) {
            Ok((h, _)) => h,
            Err(e) => {
                emit.malformed(ctx, protocol, e.what());
                return;
            }
        };
        let first = wire::items(msg, &h).flatten().next().filter(|i| i.section == Section::Question);
        let transfer = first.filter(|q| matches!(q.rtype, RrType::AXFR | RrType::IXFR));
        let zone = || -> otposture_model::AttrValue { first.map(|q| q.name.text()).unwrap_or_default().into() };
        let rcode_attr = || (Cow::Borrowed("rcode"), otposture_model::AttrValue::from(h.rcode().name()));
        match (h.opcode(), h.qr()) {
            (Opcode::QUERY, false) if transfer.is_some() => {
                emit.message(ctx, protocol, Cow::Borrowed("zone_transfer"), OperationClass::Read);
                let mut e = ctx.event(protocol, EventKind::Operation, "zone_transfer");
                e.class = Some(OperationClass::Read);
                e.attributes.push((Cow::Borrowed("zone"), zone()));
                e.attributes.push((Cow::Borrowed("type"), transfer_type(transfer).to_compact_string()));
                emit.event(e);
            }
            (Opcode::QUERY, true) if transfer.is_some() => {
                emit.message(ctx, protocol, Cow::Borrowed("zone_transfer_response"), OperationClass::Read);
                if h.rcode() != Rcode::NOERROR {
                    let mut e = ctx.event(protocol, EventKind::Operation, "zone_transfer_response");
                    e.class = Some(OperationClass::Read);
                    e.attributes.push((Cow::Borrowed("zone"), zone()));
                    e.attributes.push((Cow::Borrowed("type"), transfer_type(transfer).to_compact_string()));
                    e.attributes.push(rcode_attr());
                    emit.event(e);
                }
            }
            (Opcode::QUERY, false) => emit.message(ctx, protocol, Cow::Borrowed("query"), OperationClass::Discovery),
            (Opcode::QUERY, true) => {
                let op = match h.rcode() {
                    Rcode::NOERROR | Rcode::NXDOMAIN => Cow::Borrowed("response"),
                    r => intern::name("dns_error", u64::from(r.0), || format!("error_{}", rcode_label(r))),
                };
                emit.message(ctx, protocol, op, OperationClass::Discovery);
                if h.rcode() == Rcode::NOERROR {
                    self.learn(ctx, msg, &h, emit);
                }
            }
            (Opcode::UPDATE | Opcode::NOTIFY, false) => {
                let op = if h.opcode() == Opcode::UPDATE { "update" } else { "notify" };
                let mut a = vec![(Cow::Borrowed("zone"), zone())];
                if h.opcode() == Opcode::UPDATE {
                    update_records(msg, &h, &mut a);
                }
                emit.operation(ctx, protocol, Cow::Borrowed(op), OperationClass::Configuration, a);
            }
            (Opcode::UPDATE | Opcode::NOTIFY, true) => {
                let op = if h.opcode() == Opcode::UPDATE { "update_response" } else { "notify_response" };
                if h.rcode() == Rcode::NOERROR {
                    emit.answer(ctx, protocol, Cow::Borrowed(op), OperationClass::Configuration);
                } else {
                    let a = vec![(Cow::Borrowed("zone"), zone()), rcode_attr()];
                    emit.operation(ctx, protocol, Cow::Borrowed(op), OperationClass::Configuration, a);
                }
            }
            (op, qr) => {
                let (name, class) = match op {
                    Opcode::IQUERY => ("inverse_query", OperationClass::Discovery),
                    Opcode::STATUS => ("status", OperationClass::Diagnostic),
                    Opcode::DSO => ("dso", OperationClass::Session),
                    _ => ("", OperationClass::Unknown),
                };
                let code = u64::from(op.0) << 1 | u64::from(qr);
                let op = intern::name("dns_opcode", code, || {
                    let base = if name.is_empty() { format!("opcode_{}", op.0) } else { name.to_string() };
                    if qr {
                        format!("{base}_response")
                    } else {
                        base
                    }
                });
                emit.message(ctx, protocol, op, class);
            }
        }
    }

    /// Reports the names a successful answer gives for addresses, and mDNS
    /// service instances.
    fn learn(&mut self, ctx: &PacketCtx<'_>, msg: &[u8], h: &Header, emit: &mut dyn Emit) {
        for item in wire::items(msg, h).flatten() {
            if !matches!(item.section, Section::Answer | Section::Additional) {
                continue;
            }
            let (name, address, record) = match item.rtype {
                RrType::A => (item.name, item.ipv4().map(IpAddr::V4), "a"),
                RrType::AAAA => (item.name, item.ipv6().map(IpAddr::V6), "aaaa"),
                RrType::PTR => match (reverse_address(&item.name), wire::rdata_name(msg, &item)) {
                    (Some(a), Some((target, _))) => (target, Some(a), "ptr"),
                    _ => continue,
                },
                RrType::SRV if self.flavor == Flavor::Mdns => {
                    self.service(ctx, msg, &item, emit);
                    continue;
                }
                _ => continue,
            };
            let Some(address) = address else { continue };
            if name.is_root() || !self.learnt.first(0, name.as_bytes(), Some(address)) {
                continue;
            }
            let mut e = ctx.event(self.flavor.protocol(), EventKind::Identity, self.flavor.answer_event());
            e.attributes.push((Cow::Borrowed("host_name"), name.text().into()));
            e.attributes.push((Cow::Borrowed("address"), address.to_compact_string()));
            e.attributes.push((Cow::Borrowed("record"), record.to_compact_string()));
            if let Some(server) = ctx.src_ip {
                e.attributes.push((Cow::Borrowed("answered_by"), server.to_compact_string()));
            }
            emit.event(e);
        }
    }

    fn service(&mut self, ctx: &PacketCtx<'_>, msg: &[u8], item: &Item<'_>, emit: &mut dyn Emit) {
        let Some((target, port)) = wire::rdata_name(msg, item) else { return };
        if !self.learnt.first(1, item.name.as_bytes(), None) {
            return;
        }
        let mut e = ctx.event("mdns", EventKind::Identity, "mdns.service");
        e.attributes.push((Cow::Borrowed("instance"), item.name.text().into()));
        e.attributes.push((Cow::Borrowed("target"), target.text().into()));
        if let Some(port) = port {
            e.attributes.push((Cow::Borrowed("port"), port.to_compact_string()));
        }
        emit.event(e);
    }
}

fn transfer_type(q: Option<Item<'_>>) -> &'static str {
    match q.map(|q| q.rtype) {
        Some(RrType::IXFR) => "ixfr",
        _ => "axfr",
    }
}

/// `refused`, or `rcode_N` for codes without a name.
fn rcode_label(r: Rcode) -> String {
    match r.name() {
        "other" => format!("rcode_{}", r.0),
        n => n.to_string(),
    }
}

/// The zone's update section (RFC 2136 §2.5): names and types of the records
/// added or deleted, `name type` comma-separated, and how many there are.
fn update_records(msg: &[u8], h: &Header, a: &mut Vec<(Cow<'static, str>, otposture_model::AttrValue)>) {
    let mut list = String::new();
    let mut n = 0usize;
    for item in wire::items(msg, h).flatten().filter(|i| i.section == Section::Authority) {
        n += 1;
        if n > MAX_UPDATE_RECORDS {
            continue;
        }
        if !list.is_empty() {
            list.push(',');
        }
        list.push_str(&item.name.text());
        list.push(' ');
        match item.rtype.mnemonic() {
            Some(m) => list.push_str(m),
            None => list.push_str(&format!("type{}", item.rtype.0)),
        }
        // Class ANY (255) or NONE (254) with TTL 0 deletes (§2.5.2-2.5.4).
        if matches!(item.class, 254 | 255) {
            list.push_str(" delete");
        }
    }
    a.push((Cow::Borrowed("records"), list.into()));
    a.push((Cow::Borrowed("record_count"), n.to_compact_string()));
}

/// The address a reverse-lookup name stands for: `4.3.2.1.in-addr.arpa` is
/// 1.2.3.4, and `ip6.arpa` names hold 32 nibbles, least significant first.
pub fn reverse_address(name: &Name) -> Option<IpAddr> {
    let labels: Vec<&[u8]> = name.label_iter().collect();
    let (head, &[zone, top]) = labels.split_last_chunk::<2>()?;
    let arpa = |l: &[u8], s: &str| l.eq_ignore_ascii_case(s.as_bytes());
    if !arpa(top, "arpa") {
        return None;
    }
    if arpa(zone, "in-addr") && head.len() == 4 {
        let mut octets = [0u8; 4];
        for (o, l) in octets.iter_mut().rev().zip(head) {
            *o = std::str::from_utf8(l).ok()?.parse().ok()?;
        }
        return Some(IpAddr::V4(Ipv4Addr::from(octets)));
    }
    if arpa(zone, "ip6") && head.len() == 32 {
        let mut v = 0u128;
        for l in head.iter().rev() {
            let [d] = l else { return None };
            v = v << 4 | u128::from(char::from(*d).to_digit(16)?);
        }
        return Some(IpAddr::V6(Ipv6Addr::from(v)));
    }
    None
}

/// DNS over TCP: a 2-byte length, then a message (RFC 1035 §4.2.2).
#[derive(Clone, Copy, Debug)]
pub struct TcpFrame;

/// A TCP length prefix shorter than a header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShortMessage(pub u16);

impl FrameFormat for TcpFrame {
    const HEADER_LEN: usize = 2;
    const PLAUSIBLE_LEN: usize = 2 + wire::HEADER_LEN;
    const MAX_FRAME: usize = 2 + u16::MAX as usize;
    type Header = u16;
    type Error = ShortMessage;
    fn header(data: &[u8]) -> Result<Option<u16>, ShortMessage> {
        match data {
            [hi, lo, ..] => {
                let len = u16::from_be_bytes([*hi, *lo]);
                if usize::from(len) < wire::HEADER_LEN {
                    Err(ShortMessage(len))
                } else {
                    Ok(Some(len))
                }
            }
            _ => Ok(None),
        }
    }
    fn frame_len(header: &u16) -> usize {
        2 + usize::from(*header)
    }
    fn plausible(data: &[u8]) -> Plausible {
        let Some(msg) = data.get(2..Self::PLAUSIBLE_LEN) else { return Plausible::NeedMore };
        match (Self::header(data), wire::header(msg)) {
            // Over TCP a message asks one question (or none, in the later
            // messages of a zone transfer).
            (Ok(Some(_)), Ok(h)) if sane(&h) && h.qdcount <= 1 => Plausible::Yes,
            _ => Plausible::No,
        }
    }
}

/// DNS over TCP.
#[derive(Clone, Copy, Debug, Default)]
pub struct DnsTcp;

/// Bytes the engine probes with at most (its window).
const PROBE_WINDOW: usize = 512;

impl StreamDissector for DnsTcp {
    fn protocol(&self) -> &'static str {
        "dns"
    }

    fn port_hint(&self, server_port: u16) -> bool {
        server_port == DNS_PORT
    }

    /// A length prefix, and a message of that length whose header is sane,
    /// asks at most one question (as over TCP), and whose items fill it exactly; a message longer than the probe window is
    /// judged on its header and first item.
    fn probe(&self, _direction: Direction, data: &[u8]) -> Probe {
        let Some((len, msg)) = data.split_first_chunk::<2>() else { return Probe::NeedMore };
        let len = usize::from(u16::from_be_bytes(*len));
        if len < wire::HEADER_LEN {
            return Probe::NoMatch;
        }
        let Ok(h) = wire::header(msg) else { return Probe::NeedMore };
        if !sane(&h) || h.qdcount > 1 {
            return Probe::NoMatch;
        }
        if let Some(whole) = msg.get(..len) {
            return match wire::check(whole) {
                Ok((_, end)) if end == len => Probe::Match,
                _ => Probe::NoMatch,
            };
        }
        if data.len() < PROBE_WINDOW {
            return Probe::NeedMore;
        }
        match wire::items(msg, &h).next() {
            Some(Ok(_)) => Probe::Match,
            _ => Probe::NoMatch,
        }
    }

    fn new_session(&self) -> Box<dyn StreamSession> {
        Box::new(TcpFlow { handler: Handler::new(Flavor::Dns), framers: [Framer::new(), Framer::new()] })
    }
}

struct TcpFlow {
    handler: Handler,
    framers: [Framer<TcpFrame>; 2],
}

impl StreamSession for TcpFlow {
    fn data(&mut self, ctx: &PacketCtx<'_>, direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        let Some(framer) = self.framers.get_mut(direction.index()) else { return };
        let handler = &mut self.handler;
        framer.push(data, &mut |f| match f {
            Framed::Frame(_, msg) => handler.message(ctx, msg, emit),
            Framed::Malformed(_) => emit.malformed(ctx, "dns", "short_message"),
        });
    }

    fn gap(&mut self, _ctx: &PacketCtx<'_>, direction: Direction, len: u64, _emit: &mut dyn Emit) {
        if let Some(framer) = self.framers.get_mut(direction.index()) {
            framer.gap(len);
        }
    }
}

#[cfg(test)]
mod tests;
