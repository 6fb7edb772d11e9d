//! Cross-check of the MMS dissector against tshark on every shared capture
//! whose INDEX `protocols` column lists `mms`, per packet: the confirmed
//! services requested and answered (`mms.confirmedServiceRequest`,
//! `mms.confirmedServiceResponse`) and the unconfirmed services
//! (`mms.unconfirmedService`), each as its operation name.
//!
//! Ours are what the real dissector counts, chosen by the real probe over the
//! real reassembled streams: a wrapper records the operation names it emits
//! per packet. An answer is named after its request, which is the same
//! service; a write to an IEC 61850 control (`control_operate`...) or to
//! an ICCP transfer set (`transfer_set_write`) is a `write` to tshark. Errors, initiate, conclude, ACSE and session messages
//! are not services and are left out on both sides.
//!
//! The names of what domain and program invocation services act on are
//! compared the same way: ours are the `domain` and `program_invocation`
//! attributes of the kept requests, tshark's `mms.domainName`,
//! `mms.programInvocationName`, `mms.deleteProgramInvocation` and
//! `mms.initiateUploadSequence`.
//!
//! The names themselves are checked against tshark's value strings
//! (`tshark -G values`), so a number misread on both sides cannot agree by
//! sharing a table.
//!
//! Every disagreement is printed. The `iec61850_*` captures (made by a test
//! tool) answer with confirmed responses that carry only an invoke id and no
//! service: tshark shows no service, and ours counts
//! `response_without_service`, which is not a service either.
//!
//! Last run (tshark 4.0.17): 190/190 services and 11/11 names over the 23
//! captures, and the 3 Identify values tshark shows (before MMS had its own dissector, S7comm took these flows and
//! counted every PDU as malformed).
//!
//! The ICCP (TASE.2) association values of the substation capture are compared
//! too (`iccp_association_values_match_tshark`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::support;

use otposture_dissect::mms::{self, Mms};
use otposture_dissect::{Emit, PacketCtx, Probe, StreamDissector, StreamSession};
use otposture_model::{Direction, Event, OperationClass};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

type PerPacket = BTreeMap<u64, Vec<String>>;

/// Every service name, confirmed and unconfirmed.
fn is_service(name: &str) -> bool {
    (0..80).any(|n| mms::confirmed_service_name(n) == Some(name))
        || (0..3).any(|n| mms::unconfirmed_service_name(n) == Some(name))
}

/// Ours, as tshark names the service.
fn as_service(name: &str) -> Option<String> {
    if name.starts_with("control_") || name == "transfer_set_write" {
        return Some("write".into());
    }
    is_service(name).then(|| name.to_string())
}

/// Per packet: services, and the domain and program invocation names.
#[derive(Clone, Default)]
struct Sinks {
    services: PerPacket,
    names: PerPacket,
}

struct Recording {
    sink: Arc<Mutex<Sinks>>,
}

struct RecordingSession {
    inner: Box<dyn StreamSession>,
    sink: Arc<Mutex<Sinks>>,
}

/// Forwards to the engine's emit and records the MMS operation names.
struct Tap<'a> {
    inner: &'a mut dyn Emit,
    sink: &'a Mutex<Sinks>,
}

impl Tap<'_> {
    fn record(&self, ctx: &PacketCtx<'_>, protocol: &str, op: &str) {
        if protocol == "mms" {
            if let Some(s) = as_service(op) {
                self.sink.lock().unwrap().services.entry(ctx.packet).or_default().push(s);
            }
        }
    }
}

impl Emit for Tap<'_> {
    fn message(&mut self, ctx: &PacketCtx<'_>, p: &'static str, op: Cow<'static, str>, class: OperationClass) {
        self.record(ctx, p, &op);
        self.inner.message(ctx, p, op, class);
    }
    fn operation(
        &mut self,
        ctx: &PacketCtx<'_>,
        p: &'static str,
        op: Cow<'static, str>,
        class: OperationClass,
        attributes: Vec<(Cow<'static, str>, otposture_model::AttrValue)>,
    ) {
        self.record(ctx, p, &op);
        if p == "mms" {
            let mut sink = self.sink.lock().unwrap();
            for (k, v) in &attributes {
                if k == "domain" || k == "program_invocation" {
                    sink.names.entry(ctx.packet).or_default().push(v.to_string());
                }
            }
        }
        self.inner.operation(ctx, p, op, class, attributes);
    }
    fn answer(&mut self, ctx: &PacketCtx<'_>, p: &'static str, op: Cow<'static, str>, class: OperationClass) {
        self.record(ctx, p, &op);
        self.inner.answer(ctx, p, op, class);
    }
    fn event(&mut self, event: Event) {
        self.inner.event(event);
    }
    fn malformed(&mut self, ctx: &PacketCtx<'_>, protocol: &'static str, what: &'static str) {
        self.inner.malformed(ctx, protocol, what);
    }
}

impl StreamDissector for Recording {
    fn protocol(&self) -> &'static str {
        Mms.protocol()
    }
    fn port_hint(&self, server_port: u16) -> bool {
        Mms.port_hint(server_port)
    }
    fn probe(&self, direction: Direction, data: &[u8]) -> Probe {
        Mms.probe(direction, data)
    }
    fn new_session(&self) -> Box<dyn StreamSession> {
        Box::new(RecordingSession { inner: Mms.new_session(), sink: self.sink.clone() })
    }
}

impl StreamSession for RecordingSession {
    fn data(&mut self, ctx: &PacketCtx<'_>, direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        let mut tap = Tap { inner: emit, sink: &self.sink };
        self.inner.data(ctx, direction, data, &mut tap);
    }
    fn gap(&mut self, ctx: &PacketCtx<'_>, direction: Direction, len: u64, emit: &mut dyn Emit) {
        self.inner.gap(ctx, direction, len, emit);
    }
    fn close(&mut self, ctx: &PacketCtx<'_>, emit: &mut dyn Emit) {
        self.inner.close(ctx, emit);
    }
}

fn ours(path: &Path) -> Sinks {
    let sink = Arc::new(Mutex::new(Sinks::default()));
    support::run_tapped(path, "mms", Box::new(Recording { sink: sink.clone() }));
    let map = sink.lock().unwrap().clone();
    map
}

/// tshark's domain and program invocation names per packet.
fn their_names(path: &Path) -> PerPacket {
    let fields =
        ["mms.domainName", "mms.programInvocationName", "mms.deleteProgramInvocation", "mms.initiateUploadSequence"];
    let mut map = PerPacket::new();
    for (frame, values) in support::tshark_fields(path, &["-n"], "mms", &fields) {
        for v in values.iter().filter(|v| !v.is_empty()) {
            map.entry(frame).or_default().push(v.clone());
        }
    }
    map
}

fn theirs(path: &Path) -> PerPacket {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(path)
        .args(["-n", "-Y", "mms", "-T", "fields", "-e", "frame.number"])
        .args([
            "-e",
            "mms.confirmedServiceRequest",
            "-e",
            "mms.confirmedServiceResponse",
            "-e",
            "mms.unconfirmedService",
        ])
        .output()
        .unwrap();
    let mut map = PerPacket::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let Some(frame) = f.first().and_then(|x| x.parse::<u64>().ok()) else { continue };
        for (i, column) in f.iter().enumerate().skip(1) {
            for n in column.split(',').filter_map(|x| x.parse::<u32>().ok()) {
                let name = if i == 3 { mms::unconfirmed_service_name(n) } else { mms::confirmed_service_name(n) };
                map.entry(frame).or_default().push(name.map_or_else(|| format!("unknown_{n}"), str::to_string));
            }
        }
    }
    map
}

#[test]
fn mms_services_match_tshark_per_packet_on_every_shared_capture() {
    let Some(dir) = support::shared_pcaps() else { return };
    if !support::tshark_available() {
        return;
    }
    let (mut total, mut names) = (support::Agreement::default(), support::Agreement::default());
    let mut services = 0;
    for c in support::captures_with(&dir, "mms:") {
        let (ours, theirs) = (ours(&c.path), theirs(&c.path));
        services += theirs.values().map(Vec::len).sum::<usize>();
        let (matched, union) = support::compare(&c.dest, &ours.services, &theirs);
        println!("{}: {matched}/{union} services agree ({:.2}%)", c.dest, support::percent(matched, union));
        total.add((matched, union));
        let (matched, union) = support::compare(&format!("{} [names]", c.dest), &ours.names, &their_names(&c.path));
        names.add((matched, union));
    }
    println!("mms: {services} services shown by tshark");
    assert!(services >= 100, "too few MMS services compared: {services}");
    total.check("mms services", "services");
    assert!(names.union >= 10, "too few domain and program invocation names compared: {}", names.union);
    names.check("mms domain and program invocation names", "names");
}

#[test]
fn service_names_match_tshark_value_strings() {
    if !support::tshark_available() {
        return;
    }
    let out = Command::new("tshark").args(["-G", "values"]).output().unwrap();
    let snake = |camel: &str| {
        let mut s = String::new();
        for ch in camel.chars() {
            if ch.is_ascii_uppercase() {
                s.push('_');
                s.push(ch.to_ascii_lowercase());
            } else {
                s.push(ch);
            }
        }
        s
    };
    let (mut confirmed, mut unconfirmed) = (0, 0);
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        match f[..] {
            ["V", "mms.confirmedServiceRequest", n, name] => {
                assert_eq!(mms::confirmed_service_name(n.parse().unwrap()), Some(snake(name).as_str()), "service {n}");
                confirmed += 1;
            }
            ["V", "mms.unconfirmedService", n, name] => {
                assert_eq!(
                    mms::unconfirmed_service_name(n.parse().unwrap()),
                    Some(snake(name).as_str()),
                    "service {n}"
                );
                unconfirmed += 1;
            }
            _ => {}
        }
    }
    assert_eq!((confirmed, unconfirmed), (78, 3), "tshark names 78 confirmed and 3 unconfirmed services");
}

/// Every vendor, model and revision tshark shows in an Identify answer is in
/// ours (the substation capture's server names itself: AREVA T&D
/// Corporation, e-terracomm, 2.3.1).
#[test]
fn every_identify_value_tshark_shows_is_recovered() {
    let Some(dir) = support::shared_pcaps() else { return };
    if !support::tshark_available() {
        return;
    }
    let fields = [("vendor", "mms.vendorName"), ("model", "mms.modelName"), ("revision", "mms.revision")];
    let (mut found, mut shown) = (0, 0);
    for c in support::captures_with(&dir, "mms:") {
        let mut theirs = std::collections::BTreeSet::new();
        let names: Vec<&str> = fields.iter().map(|f| f.1).collect();
        for (_, values) in support::tshark_fields(&c.path, &["-n"], "mms.vendorName", &names) {
            for ((key, _), v) in fields.iter().zip(values) {
                if !v.is_empty() {
                    theirs.insert((key.to_string(), v));
                }
            }
        }
        let mut ours = std::collections::BTreeSet::new();
        for o in support::run_engine(&c.path, otposture_dissect::Registry::with_defaults()) {
            if let otposture_model::Observation::Event(e) = o {
                if e.name == "mms.identify" {
                    ours.extend(e.attributes.iter().map(|(k, v)| (k.to_string(), v.to_string())));
                }
            }
        }
        let (f, s) = support::identity_recovered(&c.dest, &theirs, &ours);
        found += f;
        shown += s;
    }
    assert!(shown >= 3, "no Identify answer in the shared captures");
    assert_eq!(found, shown, "identity values tshark shows are missing from ours");
}

/// tshark's fields of the MMS packets matching `filter`, every occurrence
/// (comma-separated lists), per frame.
fn all_fields(path: &Path, filter: &str, fields: &[&str]) -> Vec<Vec<Vec<String>>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(path).args(["-n", "-Y", filter, "-T", "fields"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(|c| c.split(',').filter(|v| !v.is_empty()).map(str::to_string).collect()).collect())
        .collect()
}

/// ICCP (TASE.2) told apart from IEC 61850: every value tshark shows in the
/// answers to reads of the TASE.2 association objects (`Bilateral_Table_ID`,
/// `TASE2_Version`, `Supported_Features`) and of `Next_DSTransfer_Set` is in
/// our `mms.tase2` events, and ours holds nothing tshark does not show; and
/// every write to a transfer set so lent is our `transfer_set_write` with the
/// data set tshark shows first in its data. tshark's bit string is turned
/// into block numbers here from its bytes and padding, not by our code. The
/// substation capture's two control centres (domains BELLEVUE and KIRKLAND)
/// each read the other's: bilateral table 1.0, TASE.2 1996.8, blocks 1-5, 7,
/// 8, then borrow transfer sets (CITEC_TS0, EMSICCP_TS0, ...) and point them at
/// their data sets (EMS_ANALOG_ICCP_IN, ...).
#[test]
fn iccp_association_values_match_tshark() {
    let Some(dir) = support::shared_pcaps() else { return };
    if !support::tshark_available() {
        return;
    }
    let (mut compared, mut writes) = (0, 0);
    for c in support::captures_with(&dir, "mms:") {
        // Requests reading the objects: (stream, invoke id, requester) -> (the
        // domain of the table id, whether it asks for a transfer set).
        let asks = all_fields(
            &c.path,
            "mms.confirmedServiceRequest == 4 && (mms.itemId == \"Bilateral_Table_ID\" || mms.vmd_specific == \"TASE2_Version\" || mms.vmd_specific == \"Supported_Features\" || mms.itemId == \"Next_DSTransfer_Set\")",
            &["tcp.stream", "mms.invokeID", "ip.src", "mms.domainId", "mms.itemId"],
        );
        let mut asked = BTreeMap::new();
        for f in &asks {
            let domain = f[4].iter().position(|i| i == "Bilateral_Table_ID").and_then(|i| f[3].get(i).cloned());
            let transfer_set = f[4].iter().any(|i| i == "Next_DSTransfer_Set");
            asked.insert((f[0][0].clone(), f[1][0].clone(), f[2][0].clone()), (domain, transfer_set));
        }
        let mut theirs = std::collections::BTreeSet::new();
        let mut lent = std::collections::BTreeSet::new();
        let answers = all_fields(
            &c.path,
            "mms.confirmedServiceResponse == 4",
            &[
                "tcp.stream",
                "mms.invokeID",
                "ip.dst",
                "mms.data.visible-string",
                "mms.integer",
                "mms.data_bit-string",
                "ber.bitstring.padding",
            ],
        );
        for f in &answers {
            let Some((domain, transfer_set)) = asked.get(&(f[0][0].clone(), f[1][0].clone(), f[2][0].clone())) else {
                continue;
            };
            if *transfer_set {
                // Only Next_DSTransfer_Set is asked in these reads: { scope, domain, name }.
                if let [domain, name] = &f[3][..] {
                    theirs.insert(("transfer_set".to_string(), format!("{domain}/{name}")));
                    lent.insert(name.clone());
                }
                continue;
            }
            if let Some(d) = domain {
                theirs.insert(("bilateral_table".to_string(), d.clone()));
            }
            if let Some(v) = f[3].first() {
                theirs.insert(("bilateral_table_id".to_string(), v.clone()));
            }
            if let [major, minor, ..] = &f[4][..] {
                theirs.insert(("tase2_version".to_string(), format!("{major}.{minor}")));
            }
            if let (Some(bits), Some(padding)) = (f[5].first(), f[6].first()) {
                let hex: String = bits.chars().filter(char::is_ascii_hexdigit).collect();
                let bytes: Vec<u8> =
                    (0..hex.len() / 2).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap()).collect();
                let len = bytes.len() * 8 - padding.parse::<usize>().unwrap();
                let blocks: Vec<String> =
                    (0..len).filter(|i| bytes[i / 8] & (0x80 >> (i % 8)) != 0).map(|i| (i + 1).to_string()).collect();
                theirs.insert(("supported_blocks".to_string(), blocks.join(",")));
            }
        }
        // Writes to a lent transfer set: frame -> the data set (the first two
        // visible strings of the data: domain, name).
        let mut their_writes = std::collections::BTreeSet::new();
        for f in all_fields(
            &c.path,
            "mms.confirmedServiceRequest == 5",
            &["frame.number", "mms.itemId", "mms.data.visible-string"],
        ) {
            if f[1].iter().any(|i| lent.contains(i)) {
                if let [domain, name, ..] = &f[2][..] {
                    their_writes.insert((f[0][0].parse::<u64>().unwrap(), format!("{domain}/{name}")));
                }
            }
        }
        let mut ours = std::collections::BTreeSet::new();
        let mut our_writes = std::collections::BTreeSet::new();
        for o in support::run_engine(&c.path, otposture_dissect::Registry::with_defaults()) {
            if let otposture_model::Observation::Event(e) = o {
                if e.name == "mms.tase2" {
                    ours.extend(
                        e.attributes
                            .iter()
                            .filter(|(k, _)| k != "services")
                            .map(|(k, v)| (k.to_string(), v.to_string())),
                    );
                }
                if e.name == "transfer_set_write" {
                    let data_set = e.attributes.iter().find(|(k, _)| k == "data_set").map(|(_, v)| v.to_string());
                    our_writes.insert((e.packet, data_set.unwrap_or_default()));
                }
            }
        }
        let (found, shown) = support::identity_recovered(&c.dest, &theirs, &ours);
        assert_eq!(found, shown, "{}: TASE.2 values tshark shows are missing from ours", c.dest);
        assert!(ours.is_subset(&theirs), "{}: ours {ours:?} holds values tshark does not show {theirs:?}", c.dest);
        assert_eq!(our_writes, their_writes, "{}: writes to lent transfer sets", c.dest);
        compared += shown;
        writes += their_writes.len();
    }
    assert!(compared >= 8, "too few TASE.2 values compared: {compared}");
    assert!(writes >= 2, "too few transfer set writes compared: {writes}");
}
