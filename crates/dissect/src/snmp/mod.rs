//! SNMP (RFC 1157 v1, RFC 1901 v2c, RFC 3412/3414 v3 over UDP 161, traps and
//! informs to 162): how switches, routers, RTUs and PLC network modules are
//! managed, and often the only way passive monitoring learns their model and
//! firmware (sysDescr).
//!
//! Layers: [`message`] reads the envelope (version, community or v3 header and
//! USM parameters) and the PDU in place; this module reports.
//!
//! Reporting: every PDU is counted under its type: `get`, `get_next`,
//! `get_bulk` (class `read`), `response` (`read`), `trap`, `trap_v2`,
//! `inform`, `report` (`diagnostic`), `encrypted_pdu` (v3 with privacy: no
//! PDU can be read, class `unknown`), `unknown_0xNN`. A `set` is class
//! `configuration` (it changes the agent's managed objects: names, contacts,
//! interface states, routes) and kept with `request_id`, `oids` (the first
//! eight, comma-separated), `varbinds`, `version` and `community_length` or
//! `user`: never the values written, never the community. Its response is
//! counted as an answer when the error status is 0, and kept with
//! `error_status` (`not_writable`, `no_access`...) and `error_index` when the
//! agent refused.
//!
//! Events: `snmp.system` (identity of the agent answering a read without
//! error, or sending a notification, with the system group; never from the
//! answer to a set, which echoes the values asked for: `description` sysDescr, `object_id` sysObjectID and its
//! `enterprise` number, `contact`, `name` sysName, `location`); `snmp.engine`
//! (identity: a v3 agent's authoritative `engine_id` in hex, its `enterprise`
//! number and `engine_boots`); `snmp.weak_security` (anomaly, once per flow
//! and kind: a v1/v2c community sent in clear, with `version` and
//! `community_length`; or a v3 request with a user name at noAuthNoPriv, with
//! `user`; v3 engine discovery, which has no user, is not flagged);
//! `snmp.device_restarted` (anomaly: a coldStart or warmStart trap, v1 generic
//! 0/1 or snmpTrapOID coldStart/warmStart) and `snmp.authentication_failure`
//! (anomaly: the v1 generic trap 4 or snmpTrapOID authenticationFailure), each
//! with `trap` and `version`.
//!
//! Per flow: the request ids and OIDs of the last 16 sets (to pair answers),
//! and which weaknesses were reported.

pub mod message;

use crate::{DatagramDissector, DatagramSession, Emit, PacketCtx, Probe};
use message::{ErrorStatus, Message, Pdu, PduType, Value, Version};
use otposture_model::{Direction, EventKind, OperationClass};
use std::borrow::Cow;
use std::fmt::Write as _;

const PROTOCOL: &str = "snmp";

/// The agent port.
pub const AGENT_PORT: u16 = 161;
/// The trap and inform port.
pub const TRAP_PORT: u16 = 162;

/// Sets remembered per flow to pair their answers.
const MAX_PENDING: usize = 16;
/// OIDs listed per kept set.
const MAX_OIDS: usize = 8;
/// Longest text kept from a system group value.
const MAX_TEXT: usize = 255;

/// The SNMP datagram dissector.
#[derive(Clone, Copy, Debug, Default)]
pub struct Snmp;

impl DatagramDissector for Snmp {
    fn protocol(&self) -> &'static str {
        PROTOCOL
    }

    fn port_hint(&self, src_port: u16, dst_port: u16) -> bool {
        [src_port, dst_port].iter().any(|p| *p == AGENT_PORT || *p == TRAP_PORT)
    }

    /// A BER SEQUENCE opening with INTEGER 0, 1 or 3 and then a community
    /// (OCTET STRING) or a v3 header (SEQUENCE). Datagrams are whole: too
    /// short is no.
    fn probe(&self, data: &[u8]) -> Probe {
        match message::probe(data) {
            Some(_) => Probe::Match,
            None => Probe::NoMatch,
        }
    }

    fn new_session(&self) -> Box<dyn DatagramSession> {
        Box::<SnmpSession>::default()
    }

    /// The PDU type: requests, traps and informs come from the client (a
    /// manager, or an agent sending a trap from port 161 to port 162);
    /// responses and reports from the server. An encrypted v3 PDU cannot tell.
    fn sent_by_client(&self, data: &[u8]) -> Option<bool> {
        let kind = message::parse(data).ok()?.0.pdu?.kind;
        match kind {
            PduType::RESPONSE | PduType::REPORT => Some(false),
            PduType::GET
            | PduType::GET_NEXT
            | PduType::SET
            | PduType::TRAP_V1
            | PduType::GET_BULK
            | PduType::INFORM
            | PduType::TRAP_V2 => Some(true),
            _ => None,
        }
    }
}

/// Weaknesses reported on a flow, one bit each.
const WEAK_V1: u8 = 1;
const WEAK_V2C: u8 = 2;
const WEAK_V3_NO_AUTH: u8 = 4;

#[derive(Debug, Default)]
struct SnmpSession {
    /// (request id, OIDs text) of recent sets.
    pending: Vec<(i64, String)>,
    /// Weaknesses already reported.
    weak: u8,
    /// The last engine id reported (to report a change, not every message).
    engine: Vec<u8>,
}

fn push(a: &mut Vec<(Cow<'static, str>, otposture_model::AttrValue)>, key: &'static str, value: String) {
    a.push((Cow::Borrowed(key), value.into()));
}

fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len().min(32) * 2);
    for x in b.iter().take(32) {
        let _ = write!(s, "{x:02x}");
    }
    s
}

fn text(b: &[u8]) -> String {
    let b = b.get(..MAX_TEXT.min(b.len())).unwrap_or_default();
    String::from_utf8_lossy(b).trim_end_matches(['\0', ' ', '\r', '\n']).to_string()
}

/// The system group's scalar instances (RFC 3418): 1.3.6.1.2.1.1.N.0.
fn system_object(oid: &[u8]) -> Option<u8> {
    match oid.strip_prefix(&[0x2b, 0x06, 0x01, 0x02, 0x01, 0x01])? {
        [n @ 1..=9, 0] => Some(*n),
        _ => None,
    }
}

/// snmpTrapOID.0 (1.3.6.1.6.3.1.1.4.1.0).
const SNMP_TRAP_OID: &[u8] = &[0x2b, 0x06, 0x01, 0x06, 0x03, 0x01, 0x01, 0x04, 0x01, 0x00];
/// snmpTraps (1.3.6.1.6.3.1.1.5): .1 coldStart, .2 warmStart, .5 authenticationFailure.
const SNMP_TRAPS: &[u8] = &[0x2b, 0x06, 0x01, 0x06, 0x03, 0x01, 0x01, 0x05];

/// What a notification says happened, by the generic trap numbers of RFC 1157
/// (which RFC 3584 maps to snmpTraps.N+1).
fn trap_meaning(generic: i64) -> Option<(&'static str, &'static str)> {
    match generic {
        0 => Some(("snmp.device_restarted", "cold_start")),
        1 => Some(("snmp.device_restarted", "warm_start")),
        4 => Some(("snmp.authentication_failure", "authentication_failure")),
        _ => None,
    }
}

impl SnmpSession {
    fn weak(&mut self, ctx: &PacketCtx<'_>, msg: &Message<'_>, emit: &mut dyn Emit) {
        let (bit, attrs) = match (msg.version, msg.community, msg.v3) {
            (Version::V1, Some(c), _) => (WEAK_V1, ("community_length", c.len().to_string())),
            (Version::V2C, Some(c), _) => (WEAK_V2C, ("community_length", c.len().to_string())),
            (Version::V3, _, Some(v3)) if v3.flags & 0x01 == 0 && !v3.user.is_empty() => {
                (WEAK_V3_NO_AUTH, ("user", text(v3.user)))
            }
            _ => return,
        };
        if self.weak & bit != 0 {
            return;
        }
        self.weak |= bit;
        let mut e = ctx.event(PROTOCOL, EventKind::Anomaly, "snmp.weak_security");
        push(&mut e.attributes, "version", msg.version.name().to_string());
        let why = if bit == WEAK_V3_NO_AUTH { "no_auth_no_priv" } else { "cleartext_community" };
        push(&mut e.attributes, "weakness", why.to_string());
        e.attributes.push((Cow::Borrowed(attrs.0), attrs.1.into()));
        emit.event(e);
    }

    fn engine(&mut self, ctx: &PacketCtx<'_>, msg: &Message<'_>, emit: &mut dyn Emit) {
        // The authoritative engine is the agent's: its id in an answer, a
        // report or a notification describes the sender.
        let Some(v3) = msg.v3 else { return };
        let from_agent = msg.pdu.map_or(ctx.direction == Some(Direction::ToClient), |p| {
            matches!(p.kind, PduType::RESPONSE | PduType::REPORT | PduType::TRAP_V2 | PduType::INFORM)
        });
        if !from_agent || v3.engine_id.is_empty() || v3.engine_id == self.engine.as_slice() {
            return;
        }
        self.engine = v3.engine_id.get(..32.min(v3.engine_id.len())).unwrap_or_default().to_vec();
        let mut e = ctx.event(PROTOCOL, EventKind::Identity, "snmp.engine");
        push(&mut e.attributes, "engine_id", hex(v3.engine_id));
        if let Some(n) = message::enterprise_of_engine_id(v3.engine_id) {
            push(&mut e.attributes, "enterprise", n.to_string());
        }
        if let Some(b) = v3.engine_boots {
            push(&mut e.attributes, "engine_boots", b.to_string());
        }
        emit.event(e);
    }

    fn pdu(&mut self, ctx: &PacketCtx<'_>, msg: &Message<'_>, pdu: &Pdu<'_>, emit: &mut dyn Emit) {
        let op = Cow::Borrowed(pdu.kind.name().unwrap_or_else(|| unknown_pdu_name(pdu.kind.0)));
        match pdu.kind {
            PduType::SET => {
                let (oids, count) = oid_list(pdu.varbinds);
                let mut a = Vec::new();
                if let Some(id) = pdu.request_id {
                    push(&mut a, "request_id", id.to_string());
                    if self.pending.len() >= MAX_PENDING {
                        self.pending.remove(0);
                    }
                    self.pending.push((id, oids.clone()));
                }
                push(&mut a, "oids", oids);
                push(&mut a, "varbinds", count.to_string());
                credentials(&mut a, msg);
                emit.operation(ctx, PROTOCOL, op, OperationClass::Configuration, a);
            }
            PduType::RESPONSE => {
                let set = pdu
                    .request_id
                    .and_then(|id| self.pending.iter().position(|(r, _)| *r == id))
                    .map(|i| self.pending.remove(i));
                match set {
                    Some((_, _)) if pdu.error_status == ErrorStatus::NO_ERROR => {
                        emit.answer(ctx, PROTOCOL, Cow::Borrowed("set"), OperationClass::Configuration);
                    }
                    Some((id, oids)) => {
                        let mut a = Vec::new();
                        push(&mut a, "request_id", id.to_string());
                        push(&mut a, "oids", oids);
                        let status = pdu.error_status;
                        let name = status.name().map_or_else(|| format!("unknown_{}", status.0), str::to_string);
                        push(&mut a, "error_status", name);
                        push(&mut a, "error_index", pdu.error_index.to_string());
                        credentials(&mut a, msg);
                        emit.operation(ctx, PROTOCOL, Cow::Borrowed("set"), OperationClass::Configuration, a);
                    }
                    None => {
                        emit.message(ctx, PROTOCOL, op, OperationClass::Read);
                        // An answer to a read states the agent's values. An
                        // answer to a set only echoes what was asked for, even
                        // when refused: it names nothing.
                        if pdu.error_status == ErrorStatus::NO_ERROR {
                            self.system(ctx, msg, pdu, emit);
                        }
                    }
                }
            }
            PduType::GET | PduType::GET_NEXT | PduType::GET_BULK => {
                emit.message(ctx, PROTOCOL, op, OperationClass::Read)
            }
            PduType::TRAP_V1 | PduType::TRAP_V2 | PduType::INFORM | PduType::REPORT => {
                emit.message(ctx, PROTOCOL, op, OperationClass::Diagnostic);
                self.notification(ctx, msg, pdu, emit);
                if pdu.kind != PduType::REPORT {
                    self.system(ctx, msg, pdu, emit);
                }
            }
            _ => emit.message(ctx, PROTOCOL, op, OperationClass::Unknown),
        }
    }

    /// A restart or authentication failure notification.
    fn notification(&self, ctx: &PacketCtx<'_>, msg: &Message<'_>, pdu: &Pdu<'_>, emit: &mut dyn Emit) {
        let meaning = match pdu.trap {
            Some(t) => trap_meaning(t.generic),
            None => message::varbinds(pdu.varbinds).map_while(Result::ok).find_map(|(oid, v)| {
                if oid != SNMP_TRAP_OID || v.tag != 0x06 {
                    return None;
                }
                match v.value.strip_prefix(SNMP_TRAPS)? {
                    [n @ 1..=6] => trap_meaning(i64::from(*n) - 1),
                    _ => None,
                }
            }),
        };
        if let Some((name, trap)) = meaning {
            let mut e = ctx.event(PROTOCOL, EventKind::Anomaly, name);
            push(&mut e.attributes, "trap", trap.to_string());
            push(&mut e.attributes, "version", msg.version.name().to_string());
            if let Some(agent) = pdu.trap.and_then(|t| t.agent) {
                push(&mut e.attributes, "agent_address", std::net::Ipv4Addr::from(agent).to_string());
            }
            emit.event(e);
        }
    }

    /// The system group values an agent gives in an answer or notification.
    fn system(&self, ctx: &PacketCtx<'_>, _msg: &Message<'_>, pdu: &Pdu<'_>, emit: &mut dyn Emit) {
        let mut a = Vec::new();
        for (oid, v) in message::varbinds(pdu.varbinds).map_while(Result::ok) {
            let Some(n) = system_object(oid) else { continue };
            match (n, v) {
                (1, Value { tag: 0x04, value }) => push(&mut a, "description", text(value)),
                (2, Value { tag: 0x06, value }) => {
                    if let Some(s) = message::oid_text(value) {
                        push(&mut a, "object_id", s);
                    }
                    if let Some(n) = message::enterprise_of_oid(value) {
                        push(&mut a, "enterprise", n.to_string());
                    }
                }
                (4, Value { tag: 0x04, value }) => push(&mut a, "contact", text(value)),
                (5, Value { tag: 0x04, value }) => push(&mut a, "name", text(value)),
                (6, Value { tag: 0x04, value }) => push(&mut a, "location", text(value)),
                _ => {}
            }
        }
        a.retain(|(_, v)| !v.is_empty());
        if !a.is_empty() {
            let mut e = ctx.event(PROTOCOL, EventKind::Identity, "snmp.system");
            e.attributes = a;
            emit.event(e);
        }
    }
}

/// The name of a PDU tag SNMP does not define. A PDU tag is context class,
/// constructed, number 0-30 (0xA0-0xBE; 0xBF would be a long tag), so every
/// name is in this table: nothing is formatted or interned per message.
fn unknown_pdu_name(tag: u8) -> &'static str {
    const NAMES: [&str; 32] = [
        "unknown_0xa0",
        "unknown_0xa1",
        "unknown_0xa2",
        "unknown_0xa3",
        "unknown_0xa4",
        "unknown_0xa5",
        "unknown_0xa6",
        "unknown_0xa7",
        "unknown_0xa8",
        "unknown_0xa9",
        "unknown_0xaa",
        "unknown_0xab",
        "unknown_0xac",
        "unknown_0xad",
        "unknown_0xae",
        "unknown_0xaf",
        "unknown_0xb0",
        "unknown_0xb1",
        "unknown_0xb2",
        "unknown_0xb3",
        "unknown_0xb4",
        "unknown_0xb5",
        "unknown_0xb6",
        "unknown_0xb7",
        "unknown_0xb8",
        "unknown_0xb9",
        "unknown_0xba",
        "unknown_0xbb",
        "unknown_0xbc",
        "unknown_0xbd",
        "unknown_0xbe",
        "unknown_0xbf",
    ];
    NAMES.get(usize::from(tag.wrapping_sub(0xa0))).copied().unwrap_or("unknown")
}

/// The first [`MAX_OIDS`] OIDs of a varbind list, comma-separated, and how many there are.
fn oid_list(varbinds: &[u8]) -> (String, usize) {
    let mut s = String::new();
    let mut n = 0;
    for (oid, _) in message::varbinds(varbinds).map_while(Result::ok) {
        if n < MAX_OIDS {
            if n > 0 {
                s.push(',');
            }
            s.push_str(&message::oid_text(oid).unwrap_or_else(|| format!("0x{}", hex(oid))));
        }
        n += 1;
    }
    (s, n)
}

/// Who asked: the version and the community's length (never its value) or
/// the v3 user and security level.
fn credentials(a: &mut Vec<(Cow<'static, str>, otposture_model::AttrValue)>, msg: &Message<'_>) {
    push(a, "version", msg.version.name().to_string());
    if let Some(c) = msg.community {
        push(a, "community_length", c.len().to_string());
    }
    if let Some(v3) = msg.v3 {
        push(a, "user", text(v3.user));
        push(a, "security_level", v3.security_level().to_string());
    }
}

impl DatagramSession for SnmpSession {
    fn datagram(&mut self, ctx: &PacketCtx<'_>, _direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        let (msg, pdu_result) = match message::parse(data) {
            Ok(m) => m,
            Err(e) => {
                emit.malformed(ctx, PROTOCOL, e.what());
                return;
            }
        };
        self.weak(ctx, &msg, emit);
        self.engine(ctx, &msg, emit);
        if let Err(e) = pdu_result {
            emit.malformed(ctx, PROTOCOL, e.what());
            return;
        }
        match msg.pdu {
            Some(pdu) => {
                self.pdu(ctx, &msg, &pdu, emit);
                // A varbind list that breaks off is malformed; what came before was used.
                if let Some(Err(e)) = message::varbinds(pdu.varbinds).find(Result::is_err) {
                    emit.malformed(ctx, PROTOCOL, e.what());
                }
            }
            None => emit.message(ctx, PROTOCOL, Cow::Borrowed("encrypted_pdu"), OperationClass::Unknown),
        }
    }
}

#[cfg(test)]
mod tests;
