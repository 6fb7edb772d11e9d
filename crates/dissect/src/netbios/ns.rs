//! The NetBIOS name service (RFC 1002 §4.2), UDP port 137: DNS's message
//! format with first-level encoded names.
//!
//! Counts every packet by opcode: `query` (`node_status` when it asks for
//! NBSTAT), `registration`, `release`, `wack`, `refresh`,
//! `multihomed_registration`, `opcode_N` (class `unknown`) for others; an
//! answer is `<op>_response`, or `<op>_negative_response` when its rcode is
//! not 0 (a name not found, a registration refused because another host holds
//! the name). Class `discovery`, `session` for WACK.
//!
//! Names learnt, each once per flow: a registration, refresh or multi-homed
//! registration request (`nbns.registration`) and a positive query answer
//! (`nbns.answer`) give, per NB address, `netbios_name` (`NAME<1C>`), `group`,
//! `address` (the host named: the inventory attributes the event to it, not to
//! the sender, which may be a WINS server), and what the suffix says:
//! `host_name` (unique <00> and <20>), `workgroup` (group <00>, <1C>, <1E>,
//! unique <1B>, <1D>: a workgroup or domain name) and `role` (`file_server`,
//! `domain_controller`, `domain_master_browser`, `master_browser`,
//! `browser_election`). A node status answer (`nbns.node_status`) describes
//! its sender: `names` (every name in its table, `(group)` marked),
//! `host_name`, `workgroup`, `roles` and `mac` (the unit id).

use super::{decode_label, meaning, NbName};
use crate::dns::wire::{self, DnsError, Header, Item, Section};
use crate::dns::Learnt;
use crate::intern;
use crate::{DatagramDissector, DatagramSession, Emit, PacketCtx, Probe};
use otposture_model::ToCompactString;
use otposture_model::{Direction, EventKind, MacAddr, OperationClass};
use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr};

const PROTOCOL: &str = "nbns";

/// UDP port of the name service.
pub const PORT: u16 = 137;
/// Question and record type NB (general name service).
pub const TYPE_NB: u16 = 0x20;
/// Question and record type NBSTAT (node status).
pub const TYPE_NBSTAT: u16 = 0x21;
/// Names of a node status answer read (it holds at most 255).
const MAX_STATUS_NAMES: usize = 64;

/// A name service opcode (RFC 1002 §4.2.1.1; 9 is the refresh Windows
/// sends, 15 the multi-homed registration of MS-NBTE); open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NsOpcode(pub u8);

impl NsOpcode {
    /// Name query (and node status).
    pub const QUERY: NsOpcode = NsOpcode(0);
    /// Name registration.
    pub const REGISTRATION: NsOpcode = NsOpcode(5);
    /// Name release.
    pub const RELEASE: NsOpcode = NsOpcode(6);
    /// Wait for acknowledgement.
    pub const WACK: NsOpcode = NsOpcode(7);
    /// Name refresh.
    pub const REFRESH: NsOpcode = NsOpcode(8);
    /// Name refresh, as most stacks send it.
    pub const REFRESH_ALT: NsOpcode = NsOpcode(9);
    /// Multi-homed name registration.
    pub const MULTIHOMED_REGISTRATION: NsOpcode = NsOpcode(15);

    /// Name used in counts; `None` for opcodes not named here.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "query",
            5 => "registration",
            6 => "release",
            7 => "wack",
            8 | 9 => "refresh",
            15 => "multihomed_registration",
            _ => return None,
        })
    }
}

/// Why bytes are not a name service packet that can be read.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NbnsError {
    /// The DNS-format layer is broken.
    Format(DnsError),
    /// A question or record name that is not a first-level encoded NetBIOS name.
    NotNetbiosName,
}

impl NbnsError {
    /// The short reason counted with a malformed packet.
    pub fn what(self) -> &'static str {
        match self {
            NbnsError::Format(e) => e.what(),
            NbnsError::NotNetbiosName => "bad_netbios_name",
        }
    }
}

/// What a packet says, first items only: for the cross-check and the probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    /// The header.
    pub header: Header,
    /// True for a response.
    pub response: bool,
    /// Its opcode.
    pub opcode: NsOpcode,
    /// The first question's or record's name.
    pub first_name: Option<NbName>,
    /// The first question's or record's type.
    pub first_type: Option<u16>,
    /// The first NB address of the records.
    pub first_address: Option<Ipv4Addr>,
}

/// The NetBIOS name of an item: the decoded first label.
fn nb_name(item: &Item<'_>) -> Result<NbName, NbnsError> {
    item.name.label_iter().next().and_then(decode_label).ok_or(NbnsError::NotNetbiosName)
}

/// The (flags, address) entries of NB record data (RFC 1002 §4.2.1.3);
/// trailing bytes short of an entry are ignored.
fn nb_entries<'a>(rdata: &'a [u8]) -> impl Iterator<Item = (u16, Ipv4Addr)> + 'a {
    rdata.chunks_exact(6).filter_map(|e| {
        let &[f0, f1, a, b, c, d] = e else { return None };
        Some((u16::from_be_bytes([f0, f1]), Ipv4Addr::new(a, b, c, d)))
    })
}

/// Reads a whole packet: every item must parse and carry a NetBIOS name.
pub fn summary(data: &[u8]) -> Result<Summary, NbnsError> {
    let (header, _) = wire::check(data).map_err(NbnsError::Format)?;
    let mut first_name = None;
    let mut first_type = None;
    let mut first_address = None;
    for item in wire::items(data, &header).flatten() {
        let name = nb_name(&item)?;
        first_name.get_or_insert(name);
        first_type.get_or_insert(item.rtype.0);
        if item.section != Section::Question && item.rtype.0 == TYPE_NB && first_address.is_none() {
            first_address = nb_entries(item.rdata).next().map(|(_, a)| a);
        }
    }
    Ok(Summary {
        header,
        response: header.qr(),
        opcode: NsOpcode(((header.flags >> 11) & 0x0f) as u8),
        first_name,
        first_type,
        first_address,
    })
}

/// The name service dissector.
#[derive(Clone, Copy, Debug, Default)]
pub struct Nbns;

impl DatagramDissector for Nbns {
    fn protocol(&self) -> &'static str {
        PROTOCOL
    }

    fn port_hint(&self, src_port: u16, dst_port: u16) -> bool {
        src_port == PORT || dst_port == PORT
    }

    /// A packet whose items all parse, fill it, and carry NetBIOS names, with
    /// a known opcode.
    fn probe(&self, data: &[u8]) -> Probe {
        match summary(data) {
            Ok(s) if s.opcode.name().is_some() && s.first_name.is_some() => match wire::check(data) {
                Ok((_, end)) if end == data.len() => Probe::Match,
                _ => Probe::NoMatch,
            },
            _ => Probe::NoMatch,
        }
    }

    fn new_session(&self) -> Box<dyn DatagramSession> {
        Box::new(Session::default())
    }

    /// The R bit: Windows asks from port 137 to port 137.
    fn sent_by_client(&self, data: &[u8]) -> Option<bool> {
        Some(!summary(data).ok()?.response)
    }
}

#[derive(Debug, Default)]
struct Session {
    learnt: Learnt,
}

impl DatagramSession for Session {
    fn datagram(&mut self, ctx: &PacketCtx<'_>, _direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        let s = match summary(data) {
            Ok(s) => s,
            Err(e) => {
                emit.malformed(ctx, PROTOCOL, e.what());
                return;
            }
        };
        let status = s.first_type == Some(TYPE_NBSTAT);
        let (base, class) = match (s.opcode, status) {
            (NsOpcode::QUERY, true) => ("node_status", OperationClass::Discovery),
            (NsOpcode::WACK, _) => ("wack", OperationClass::Session),
            (op, _) => {
                (op.name().unwrap_or(""), op.name().map_or(OperationClass::Unknown, |_| OperationClass::Discovery))
            }
        };
        let negative = s.header.rcode().0 != 0;
        let code =
            u64::from(s.opcode.0) << 3 | u64::from(status) << 2 | u64::from(s.response) << 1 | u64::from(negative);
        let op = intern::name("nbns_op", code, || {
            let base = if base.is_empty() { format!("opcode_{}", s.opcode.0) } else { base.to_string() };
            match (s.response, negative) {
                (false, _) => base,
                (true, false) => format!("{base}_response"),
                (true, true) => format!("{base}_negative_response"),
            }
        });
        emit.message(ctx, PROTOCOL, op, class);
        match (s.opcode, s.response, negative) {
            (
                NsOpcode::REGISTRATION | NsOpcode::REFRESH | NsOpcode::REFRESH_ALT | NsOpcode::MULTIHOMED_REGISTRATION,
                false,
                _,
            ) => {
                self.names(ctx, data, &s.header, "nbns.registration", emit);
            }
            (NsOpcode::QUERY, true, false) if status => self.node_status(ctx, data, &s.header, emit),
            (NsOpcode::QUERY, true, false) => self.names(ctx, data, &s.header, "nbns.answer", emit),
            _ => {}
        }
    }
}

impl Session {
    /// One event per NB address of the records (not questions).
    fn names(&mut self, ctx: &PacketCtx<'_>, data: &[u8], h: &Header, event: &'static str, emit: &mut dyn Emit) {
        for item in wire::items(data, h).flatten() {
            if item.section == Section::Question || item.rtype.0 != TYPE_NB {
                continue;
            }
            let Ok(name) = nb_name(&item) else { continue };
            for (flags, address) in nb_entries(item.rdata) {
                let key = [name.name(), std::slice::from_ref(&name.suffix)];
                if address.is_unspecified() || !self.learnt.first_of(2, &key, Some(IpAddr::V4(address))) {
                    continue;
                }
                let group = flags & 0x8000 != 0;
                let mut e = ctx.event(PROTOCOL, EventKind::Identity, event);
                e.attributes.push((Cow::Borrowed("netbios_name"), name.with_suffix().into()));
                push_meaning(&mut e.attributes, &name, group);
                e.attributes.push((Cow::Borrowed("group"), group.to_compact_string()));
                e.attributes.push((Cow::Borrowed("address"), address.to_compact_string()));
                if event == "nbns.answer" {
                    if let Some(server) = ctx.src_ip {
                        e.attributes.push((Cow::Borrowed("answered_by"), server.to_compact_string()));
                    }
                }
                emit.event(e);
            }
        }
    }

    /// A node status answer (RFC 1002 §4.2.18): the sender's name table and
    /// unit id.
    fn node_status(&mut self, ctx: &PacketCtx<'_>, data: &[u8], h: &Header, emit: &mut dyn Emit) {
        let Some(item) =
            wire::items(data, h).flatten().find(|i| i.section == Section::Answer && i.rtype.0 == TYPE_NBSTAT)
        else {
            return;
        };
        let Some((&count, rest)) = item.rdata.split_first() else { return };
        let mut names = Vec::new();
        let (mut host, mut workgroup, mut roles) = (None, None, Vec::new());
        let entries = rest.chunks_exact(18).take(usize::from(count));
        let read = entries.len();
        for entry in entries.clone().take(MAX_STATUS_NAMES) {
            let (Some(raw), Some(flags)) = (entry.first_chunk::<16>(), entry.get(16..18)) else { continue };
            let name = NbName::from_raw(raw);
            let group = flags.first().is_some_and(|f| f & 0x80 != 0);
            names.push(format!("{}{}", name.with_suffix(), if group { "(group)" } else { "" }));
            let (is_host, is_group, role) = meaning(name.suffix, group);
            if is_host {
                host.get_or_insert_with(|| name.text());
            }
            if is_group {
                workgroup.get_or_insert_with(|| name.text());
            }
            if let Some(r) = role.filter(|r| !roles.contains(r)) {
                roles.push(r);
            }
        }
        let mac = rest.get(read * 18..read * 18 + 6).and_then(|m| <[u8; 6]>::try_from(m).ok()).map(MacAddr);
        let key = names.join(",");
        if !self.learnt.first(3, key.as_bytes(), None) {
            return;
        }
        let mut e = ctx.event(PROTOCOL, EventKind::Identity, "nbns.node_status");
        e.attributes.push((Cow::Borrowed("names"), key.into()));
        if let Some(h) = host {
            e.attributes.push((Cow::Borrowed("host_name"), h.into()));
        }
        if let Some(w) = workgroup {
            e.attributes.push((Cow::Borrowed("workgroup"), w.into()));
        }
        if !roles.is_empty() {
            e.attributes.push((Cow::Borrowed("roles"), roles.join(",").into()));
        }
        // An all-zero unit id is what Samba and many stacks send: no MAC.
        if let Some(mac) = mac.filter(|m| m.0 != [0; 6]) {
            e.attributes.push((Cow::Borrowed("mac"), mac.to_compact_string()));
        }
        emit.event(e);
    }
}

/// `host_name`, `workgroup` and `role` as the suffix and group flag say.
pub(crate) fn push_meaning(a: &mut Vec<(Cow<'static, str>, otposture_model::AttrValue)>, name: &NbName, group: bool) {
    let (host, workgroup, role) = meaning(name.suffix, group);
    if host {
        a.push((Cow::Borrowed("host_name"), name.text().into()));
    }
    if workgroup {
        a.push((Cow::Borrowed("workgroup"), name.text().into()));
    }
    if let Some(r) = role {
        a.push((Cow::Borrowed("role"), r.to_compact_string()));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::super::tests::encode;
    use super::*;
    use crate::test_support::{ctx, event_attr, Recorder};
    use proptest::prelude::*;

    /// A packet: header fields, then a question or record with `name`.
    fn packet(id: u16, flags: u16, counts: [u16; 4], body: &[u8]) -> Vec<u8> {
        let mut p = id.to_be_bytes().to_vec();
        p.extend_from_slice(&flags.to_be_bytes());
        for c in counts {
            p.extend_from_slice(&c.to_be_bytes());
        }
        p.extend_from_slice(body);
        p
    }

    /// 0x20 (label length 32), the encoded name, the root.
    fn wire_name(name: &str, suffix: u8) -> Vec<u8> {
        let mut v = vec![0x20];
        v.extend(encode(name, suffix));
        v.push(0);
        v
    }

    /// A broadcast registration of `EWS01<20>` at 192.168.10.105, as Windows sends it.
    fn registration() -> Vec<u8> {
        let mut body = wire_name("EWS01", 0x20); // question name (offset 12)
        body.extend_from_slice(&[0x00, 0x20, 0x00, 0x01]); // NB, IN
        body.extend_from_slice(&[0xc0, 0x0c]); // record name: pointer to the question's
        body.extend_from_slice(&[0x00, 0x20, 0x00, 0x01]); // NB, IN
        body.extend_from_slice(&[0x00, 0x04, 0x93, 0xe0]); // TTL 300000
        body.extend_from_slice(&[0x00, 0x06, 0x00, 0x00, 192, 168, 10, 105]); // 6 bytes: unique, B-node, address
        packet(0x8001, 0x2910, [1, 0, 0, 1], &body) // opcode 5, RD, broadcast
    }

    fn run(grams: &[&[u8]]) -> Recorder {
        let mut r = Recorder::default();
        let mut s = Nbns.new_session();
        for g in grams {
            let mut c = ctx(Direction::ToServer);
            c.src_ip = Some("192.168.10.1".parse().unwrap());
            s.datagram(&c, Direction::ToServer, g, &mut r);
        }
        r
    }

    #[test]
    fn reads_a_registration_and_names_the_file_server() {
        let p = registration();
        let s = summary(&p).unwrap();
        assert_eq!((s.opcode, s.response, s.first_type), (NsOpcode::REGISTRATION, false, Some(TYPE_NB)));
        assert_eq!(s.first_name.unwrap().with_suffix(), "EWS01<20>");
        assert_eq!(s.first_address, Some(Ipv4Addr::new(192, 168, 10, 105)));
        assert_eq!(Nbns.probe(&p), Probe::Match);
        let r = run(&[&p, &p]);
        assert_eq!(r.messages.len(), 2);
        assert_eq!(r.messages[0].2, "registration");
        assert_eq!(r.events.len(), 1, "once per flow");
        let e = &r.events[0];
        assert_eq!(e.name, "nbns.registration");
        let attrs: Vec<(&str, &str)> = e.attributes.iter().map(|(k, v)| (k.as_ref(), v.as_str())).collect();
        assert_eq!(
            attrs,
            [
                ("netbios_name", "EWS01<20>"),
                ("host_name", "EWS01"),
                ("role", "file_server"),
                ("group", "false"),
                ("address", "192.168.10.105")
            ]
        );
    }

    #[test]
    fn reads_a_positive_answer_from_a_wins_server_as_naming_the_address() {
        let mut body = wire_name("PLANT", 0x1c);
        body.extend_from_slice(&[0x00, 0x20, 0x00, 0x01, 0, 0, 0, 0]); // NB IN, TTL 0
        body.extend_from_slice(&[0x00, 0x0c]); // 12 bytes: two entries
        body.extend_from_slice(&[0x80, 0x00, 10, 0, 0, 2]); // group, 10.0.0.2
        body.extend_from_slice(&[0x80, 0x00, 10, 0, 0, 3]); // group, 10.0.0.3
        let p = packet(7, 0x8500, [0, 1, 0, 0], &body); // response, opcode 0, AA, RD
        let r = run(&[&p]);
        assert_eq!(r.messages[0].2, "query_response");
        assert_eq!(r.events.len(), 2);
        assert_eq!(event_attr(&r.events[1], "address"), Some("10.0.0.3"));
        assert_eq!(event_attr(&r.events[1], "workgroup"), Some("PLANT"));
        assert_eq!(event_attr(&r.events[1], "role"), Some("domain_controller"));
        assert_eq!(event_attr(&r.events[1], "answered_by"), Some("192.168.10.1"));
        assert_eq!(event_attr(&r.events[1], "host_name"), None);
    }

    #[test]
    fn reads_a_node_status_answer() {
        let mut body = wire_name("*\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 0);
        body.extend_from_slice(&[0x00, 0x21, 0x00, 0x01, 0, 0, 0, 0]); // NBSTAT IN, TTL 0
        let mut rdata = vec![3u8]; // three names
        for (n, s, f) in [("HMI-2", 0x00u8, 0x04u8), ("PLANT", 0x00, 0x84), ("HMI-2", 0x20, 0x04)] {
            let mut raw = [b' '; 15];
            raw[..n.len()].copy_from_slice(n.as_bytes());
            rdata.extend_from_slice(&raw);
            rdata.push(s);
            rdata.extend_from_slice(&[f, 0x00]); // flags: (group,) active
        }
        rdata.extend_from_slice(&[0x00, 0x0c, 0x29, 0xaa, 0xbb, 0xcc]); // unit id
        rdata.extend_from_slice(&[0; 40]); // the rest of the statistics
        body.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        body.extend_from_slice(&rdata);
        let p = packet(9, 0x8400, [0, 1, 0, 0], &body);
        let r = run(&[&p]);
        assert_eq!(r.messages[0].2, "node_status_response");
        let e = &r.events[0];
        assert_eq!(e.name, "nbns.node_status");
        assert_eq!(event_attr(e, "names"), Some("HMI-2<00>,PLANT<00>(group),HMI-2<20>"));
        assert_eq!(event_attr(e, "host_name"), Some("HMI-2"));
        assert_eq!(event_attr(e, "workgroup"), Some("PLANT"));
        assert_eq!(event_attr(e, "roles"), Some("file_server"));
        assert_eq!(event_attr(e, "mac"), Some("00:0c:29:aa:bb:cc"));
    }

    #[test]
    fn names_negative_answers_and_unknown_opcodes() {
        let mut neg = registration();
        neg[2] = 0xa9; // response, opcode 5
        neg[3] = 0x86; // RA, rcode 6: the name is active elsewhere
        let mut odd = registration();
        odd[2] = 0x19; // opcode 3
        let r = run(&[&neg, &odd]);
        let names: Vec<(&str, OperationClass)> = r.messages.iter().map(|m| (m.2.as_str(), m.3)).collect();
        assert_eq!(
            names,
            [("registration_negative_response", OperationClass::Discovery), ("opcode_3", OperationClass::Unknown)]
        );
        assert!(r.events.is_empty());
        assert_eq!(Nbns.probe(&odd), Probe::NoMatch, "an unknown opcode is not enough to claim a flow");
    }

    #[test]
    fn refuses_dns_names_and_truncation() {
        let mut body = vec![3, b'w', b'w', b'w', 0];
        body.extend_from_slice(&[0x00, 0x01, 0x00, 0x01]);
        let dns = packet(1, 0x0100, [1, 0, 0, 0], &body);
        assert_eq!(Nbns.probe(&dns), Probe::NoMatch);
        assert_eq!(run(&[&dns]).malformed, ["bad_netbios_name"]);
        let p = registration();
        assert_eq!(run(&[&p[..p.len() - 2]]).malformed, ["truncated"]);
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..200), i in 0usize..80, b in any::<u8>()) {
            let _ = Nbns.probe(&data);
            prop_assert_eq!(run(&[&data]).messages.len() + run(&[&data]).malformed.len(), 1);
            let mut p = registration();
            let n = p.len();
            p[i % n] = b;
            let r = run(&[&p]);
            prop_assert_eq!(r.messages.len() + r.malformed.len(), 1);
        }
    }

    #[test]
    fn a_question_comes_from_the_client_and_an_answer_from_the_server() {
        // Windows asks from port 137 to port 137.
        assert_eq!(Nbns.sent_by_client(&registration()), Some(true));
        let mut answer = registration();
        answer[2] |= 0x80;
        assert_eq!(Nbns.sent_by_client(&answer), Some(false));
        assert_eq!(Nbns.sent_by_client(&answer[..10]), None);
    }
}
