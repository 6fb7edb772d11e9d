//! Cross-check of the EtherNet/IP and CIP dissector against tshark on every
//! shared capture whose INDEX `protocols` column lists `enip` or `cip`, per
//! packet and per protocol:
//! - `enip`: the command of every encapsulation message, ours against
//!   `enip.command`;
//! - `cip`: the service of every CIP message, embedded ones included (as
//!   tshark shows it, without the response bit), ours against `cip.sc`; and
//!   the set of classes named in the packet, ours against `cip.class`.
//!
//! `tshark -n -r FILE -Y "enip or cip" -T fields -e frame.number -e
//! enip.command -e cip.sc -e cip.class`.
//!
//! tshark lists under `cip.class` not only the request path's class but also
//! the classes of paths it remembers: a response's request path, the
//! connection path of the Forward_Open a connected message travels on, and
//! Forward_Open/Forward_Close connection paths. Ours are the same, from the
//! dissector's own pairing: the real session reports them through its public
//! [`Tap`], and each packet's classes are compared as a set.
//!
//! Ours are recorded by wrappers around the real dissectors (TCP and UDP):
//! the engine chooses them by the real probes and feeds them the real
//! reassembled streams; the wrappers run the real session with a tap.
//!
//! A second check reads the identity events the real session emits: on
//! captures whose INDEX `features` mention ListIdentity or CIP Identity, every
//! vendor id, device type, product code, revision, serial number and product
//! name tshark shows (`enip.lir.*`, `cip.id.*`) must be among ours, in our
//! notation (decimal ids, `major.minor`, `0x%08x` serial).
//!
//! Every disagreement is printed. Last run: enip 51636 of 51636 commands
//! agree (100.00%), cip 192002 of 192003 keys agree (100.00% rounded) over 18
//! captures; identity 30 of 30 values. The one disagreement is tshark's:
//! - `EIP-ChangePortConfigurationAttempt.pcap` frame 1275: tshark decodes the
//!   TCP/IP Interface object's attributes in a Get_Attributes_All reply and
//!   lists the class of the Physical Link Object path inside them (0xF6);
//!   we do not read that object's attribute values.
//!
//! Notes on reading tshark: `enip.lir.revision` is the revision's two bytes
//! (major, minor) read as one big-endian word (1027 is 4.3); class numbers
//! come as 8-bit (`0x8e`) or 16-bit (`0x0037`) hex. `EIP-FirmwareChange.pcap`
//! opens its last session with command 0x0001 (unassigned): our probe
//! accepts a first chunk that is exactly one such message, so its
//! ListIdentity, RegisterSession and Identity replies are read too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::support;

use otposture_dissect::enip::cip::Service;
use otposture_dissect::enip::encap::Command;
use otposture_dissect::enip::{Enip, EnipUdp, Tap};
use otposture_dissect::{
    DatagramDissector, DatagramSession, Emit, PacketCtx, Probe, Registry, StreamDissector, StreamSession,
};
use otposture_model::{Direction, Event, EventKind, OperationClass};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command as Process;
use std::sync::{Arc, Mutex};

/// What is compared per packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    /// An encapsulation command (protocol `enip`).
    Command(u16),
    /// A CIP service (protocol `cip`).
    Service(u8),
    /// A class named in the packet, once per packet (protocol `cip`).
    Class(u32),
}
type PerPacket = BTreeMap<u64, Vec<Key>>;
type Sink = Arc<Mutex<PerPacket>>;
type Ids = Arc<Mutex<BTreeSet<(String, String)>>>;

/// Records what the real session decodes.
struct Recorder(Sink);

impl Tap for Recorder {
    fn command(&mut self, ctx: &PacketCtx<'_>, command: Command) {
        self.0.lock().unwrap().entry(ctx.packet).or_default().push(Key::Command(command.0));
    }
    fn cip(&mut self, ctx: &PacketCtx<'_>, service: Service, classes: &[u32]) {
        let mut sink = self.0.lock().unwrap();
        let keys = sink.entry(ctx.packet).or_default();
        keys.push(Key::Service(service.0));
        for &c in classes {
            if !keys.contains(&Key::Class(c)) {
                keys.push(Key::Class(c));
            }
        }
    }
}

/// Forwards everything to the engine and keeps the values of identity events.
struct Tee<'a> {
    inner: &'a mut dyn Emit,
    ids: &'a Ids,
}

impl Emit for Tee<'_> {
    fn message(&mut self, ctx: &PacketCtx<'_>, p: &'static str, op: Cow<'static, str>, c: OperationClass) {
        self.inner.message(ctx, p, op, c);
    }
    fn operation(
        &mut self,
        ctx: &PacketCtx<'_>,
        p: &'static str,
        op: Cow<'static, str>,
        c: OperationClass,
        a: Vec<(Cow<'static, str>, otposture_model::AttrValue)>,
    ) {
        self.inner.operation(ctx, p, op, c, a);
    }
    fn answer(&mut self, ctx: &PacketCtx<'_>, p: &'static str, op: Cow<'static, str>, c: OperationClass) {
        self.inner.answer(ctx, p, op, c);
    }
    fn event(&mut self, e: Event) {
        if e.kind == EventKind::Identity {
            self.ids.lock().unwrap().extend(e.attributes.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        }
        self.inner.event(e);
    }
    fn malformed(&mut self, ctx: &PacketCtx<'_>, p: &'static str, what: &'static str) {
        self.inner.malformed(ctx, p, what);
    }
}

/// The real TCP dissector with a tap.
struct Tcp(Sink, Ids);
struct TcpSession(Box<dyn StreamSession>, Ids);

impl StreamDissector for Tcp {
    fn protocol(&self) -> &'static str {
        Enip.protocol()
    }
    fn port_hint(&self, server_port: u16) -> bool {
        Enip.port_hint(server_port)
    }
    fn probe(&self, direction: Direction, data: &[u8]) -> Probe {
        Enip.probe(direction, data)
    }
    fn new_session(&self) -> Box<dyn StreamSession> {
        Box::new(TcpSession(Enip::session_with_tap(Box::new(Recorder(self.0.clone()))), self.1.clone()))
    }
}

impl StreamSession for TcpSession {
    fn data(&mut self, ctx: &PacketCtx<'_>, direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        self.0.data(ctx, direction, data, &mut Tee { inner: emit, ids: &self.1 });
    }
    fn gap(&mut self, ctx: &PacketCtx<'_>, direction: Direction, len: u64, emit: &mut dyn Emit) {
        self.0.gap(ctx, direction, len, emit);
    }
    fn close(&mut self, ctx: &PacketCtx<'_>, emit: &mut dyn Emit) {
        self.0.close(ctx, emit);
    }
}

/// The real UDP dissector with a tap.
struct Udp(Sink, Ids);
struct UdpSession(Box<dyn DatagramSession>, Ids);

impl DatagramDissector for Udp {
    fn protocol(&self) -> &'static str {
        EnipUdp.protocol()
    }
    fn port_hint(&self, src_port: u16, dst_port: u16) -> bool {
        EnipUdp.port_hint(src_port, dst_port)
    }
    fn probe(&self, data: &[u8]) -> Probe {
        EnipUdp.probe(data)
    }
    fn new_session(&self) -> Box<dyn DatagramSession> {
        Box::new(UdpSession(EnipUdp::session_with_tap(Box::new(Recorder(self.0.clone()))), self.1.clone()))
    }
}

impl DatagramSession for UdpSession {
    fn datagram(&mut self, ctx: &PacketCtx<'_>, direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        self.0.datagram(ctx, direction, data, &mut Tee { inner: emit, ids: &self.1 });
    }
    fn close(&mut self, ctx: &PacketCtx<'_>, emit: &mut dyn Emit) {
        self.0.close(ctx, emit);
    }
}

/// Our per-packet keys, and every identity attribute (name, value) we emitted.
fn ours(path: &Path) -> (PerPacket, BTreeSet<(String, String)>) {
    let sink = Sink::default();
    let ids = Ids::default();
    let mut registry = Registry::with_defaults();
    registry.streams.retain(|d| d.protocol() != "enip");
    registry.datagrams.retain(|d| d.protocol() != "enip");
    registry.streams.push(Box::new(Tcp(sink.clone(), ids.clone())));
    registry.datagrams.push(Box::new(Udp(sink.clone(), ids.clone())));
    support::run_engine(path, registry);
    let map = sink.lock().unwrap().clone();
    let ids = ids.lock().unwrap().clone();
    (map, ids)
}

fn tshark_fields(path: &Path, filter: &str, fields: &[&str]) -> Vec<Vec<Vec<String>>> {
    let mut cmd = Process::new("tshark");
    cmd.args(["-n", "-Y", filter, "-T", "fields", "-E", "aggregator=|", "-r"]).arg(path);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            line.split('\t').map(|f| f.split('|').filter(|x| !x.is_empty()).map(str::to_string).collect()).collect()
        })
        .collect()
}

/// A number as tshark prints it (`0x006f`, `54`).
fn number(s: &str) -> Option<u64> {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

fn theirs(path: &Path) -> PerPacket {
    let rows = tshark_fields(path, "enip or cip", &["frame.number", "enip.command", "cip.sc", "cip.class"]);
    let mut map = PerPacket::new();
    for f in rows {
        let Some(frame) = f.first().and_then(|x| x.first()).and_then(|x| x.parse::<u64>().ok()) else { continue };
        let col = |i: usize| f.get(i).cloned().unwrap_or_default();
        let keys = map.entry(frame).or_default();
        keys.extend(col(1).iter().filter_map(|c| number(c)).map(|c| Key::Command(c as u16)));
        keys.extend(col(2).iter().filter_map(|c| number(c)).map(|c| Key::Service(c as u8)));
        for c in col(3).iter().filter_map(|c| number(c)) {
            if !keys.contains(&Key::Class(c as u32)) {
                keys.push(Key::Class(c as u32));
            }
        }
    }
    map
}

/// Identity values tshark shows, as (our attribute name, our notation).
fn tshark_identity(path: &Path) -> BTreeSet<(String, String)> {
    let fields = [
        "enip.lir.vendor",
        "enip.lir.devtype",
        "enip.lir.prodcode",
        "enip.lir.revision",
        "enip.lir.serial",
        "enip.lir.name",
        "cip.id.vendor_id",
        "cip.id.device_type",
        "cip.id.product_code",
        "cip.id.major_rev",
        "cip.id.minor_rev",
        "cip.id.serial_number",
        "cip.id.product_name",
    ];
    let rows = tshark_fields(path, "enip.lir.vendor or cip.id.vendor_id or cip.id.product_name", &fields);
    let mut set = BTreeSet::new();
    let mut put = |k: &str, v: String| {
        set.insert((k.to_string(), v));
    };
    for f in rows {
        let col = |i: usize| f.get(i).cloned().unwrap_or_default();
        for (i, k) in [
            (0, "vendor_id"),
            (1, "device_type_id"),
            (2, "product_code"),
            (6, "vendor_id"),
            (7, "device_type_id"),
            (8, "product_code"),
        ] {
            for v in col(i) {
                put(k, number(&v).unwrap().to_string());
            }
        }
        // tshark reads the ListIdentity revision (major byte, minor byte) as
        // one big-endian word: 1027 is 4.3.
        for v in col(3) {
            let n = number(&v).unwrap();
            put("revision", format!("{}.{}", n >> 8, n & 0xff));
        }
        for (major, minor) in col(9).iter().zip(col(10).iter()) {
            put("revision", format!("{major}.{minor}"));
        }
        for i in [4, 11] {
            for v in col(i) {
                put("serial", format!("{:#010x}", number(&v).unwrap()));
            }
        }
        for i in [5, 12] {
            for v in col(i) {
                put("product_name", v.trim().to_string());
            }
        }
    }
    set
}

#[test]
fn enip_and_cip_match_tshark_per_packet_on_every_shared_capture() {
    let Some(dir) = support::shared_pcaps() else { return };
    if !support::tshark_available() {
        return;
    }
    let mut captures = support::captures_with(&dir, "enip");
    for c in support::captures_with(&dir, "cip") {
        if !captures.iter().any(|x| x.dest == c.dest) {
            captures.push(c);
        }
    }
    let split = |m: &PerPacket, enip: bool| -> PerPacket {
        m.iter()
            .map(|(f, keys)| (*f, keys.iter().filter(|k| matches!(k, Key::Command(_)) == enip).copied().collect()))
            .filter(|(_, v): &(u64, Vec<Key>)| !v.is_empty())
            .collect()
    };
    let mut totals = [support::Agreement::default(); 2];
    let (mut ids_found, mut ids_total) = (0usize, 0usize);
    for c in &captures {
        let (dest, path) = (c.dest.as_str(), &c.path);
        let ((a, identity), b) = (ours(path), theirs(path));
        for (i, (name, enip)) in [("enip", true), ("cip", false)].into_iter().enumerate() {
            let (m, u) = support::compare(dest, &split(&a, enip), &split(&b, enip));
            println!("{dest}: {name} {m}/{u} keys agree ({:.2}%)", support::percent(m, u));
            totals[i].add((m, u));
        }
        let features = c.features.to_ascii_lowercase();
        if features.contains("listidentity") || features.contains("cip identity") {
            let (found, shown) = support::identity_recovered(dest, &tshark_identity(path), &identity);
            ids_found += found;
            ids_total += shown;
        }
    }
    println!("identity: {ids_found}/{ids_total} values recovered");
    for (i, name) in ["enip", "cip"].into_iter().enumerate() {
        totals[i].check(name, "keys");
    }
    assert!(ids_total > 0, "no capture with ListIdentity or CIP Identity replies");
    assert_eq!(ids_found, ids_total, "identity values tshark shows are missing from ours");
}
