//! S7comm ("S7 communication", protocol id 0x32), Siemens' protocol of S7-300,
//! S7-400 and, in put/get mode, S7-1200/1500 PLCs, carried in ISO 8073 COTP
//! class 0 over TCP as RFC 1006 (TPKT) says; and detection of its successor
//! S7comm-plus (protocol id 0x72).
//!
//! Layers, one module each:
//! - [`tpkt`] and [`cotp`] ([`crate::rfc1006`], shared with MMS): the RFC
//!   1006 framer that cuts a stream into TPKT packets, resynchronising after
//!   bad headers and gaps; TPDUs (CR, CC, DR, DT, ER), CR/CC parameters
//!   (TSAPs) and the reassembly of DT TPDUs up to the one with EOT;
//! - [`pdu`]: the S7comm header, job/ack_data functions, userdata groups and
//!   subfunctions, the class of each operation, and the S7comm-plus header;
//! - [`szl`]: SZL records of module identification (0x0011), component
//!   identification (0x001C), CPU state (0x0424) and module status (0xXX91);
//! - `session`: per-flow layering, SZL answers split over data units, reporting.
//!
//! Reporting: every S7comm PDU is counted once with `emit.message` (or
//! [`Emit::operation`](crate::Emit::operation) for notable classes, with
//! `pdu_ref`, `function`, `item_count`, `block`, `pi_service` and `error`).
//! Operation names are the function's snake_case name (`read_var`,
//! `plc_stop`), the userdata service (`szl_read`, `set_clock`,
//! `plc_password`) or `userdata_g<group>_s<subfunction>`. Ack_data carries the
//! job's name and class, and so does a bare ack (no parameter: how a CPU
//! refuses a job) whose PDU reference is the last job's, with its error. COTP
//! connection and disconnection TPDUs are counted as `cotp_<tpdu>` (class
//! Session), and a CR or CC also becomes an annotation
//! event with its TSAPs and the rack and slot they name. SZL answers of module
//! and component identification become `s7comm.szl_identity` events, CPU
//! state answers `s7comm.szl_cpu_mode` events, each record of a module status
//! answer an `s7comm.module_status` event (`route` as `rack 0 slot 2` or `dp 1
//! station 3 slot 2`, `logical_address`, `type_code`, `expected_type_code`,
//! `status` ok/error/not_available/disabled/missing, `type_mismatch`), and mode-transition pushes
//! (userdata group 0, counted as `mode_transition`) `s7comm.cpu_mode` events.
//! S7comm-plus PDUs are counted under protocol `s7comm-plus` as
//! `s7comm_plus_<function>` (or `_<opcode>`).
//!
//! The probe accepts any port: TPKT version 3 and COTP whose first data TPDU
//! carries protocol id 0x32 or 0x72, after a CR with a TSAP parameter (RDP
//! sends CRs without TSAPs) or, in the server's direction, a CC. Port 102
//! only orders it. A CR or CC decides alone when its called TSAP is one only
//! S7 uses (`SIMATIC-ROOT-...`, or connection type 1-3 with a CPU slot, such
//! as 0x0102); otherwise the first data does: MMS (IEC 61850, ICCP) opens its
//! connections on port 102 the same way (TSAP 0x0001 and the like), and its
//! first data is an ISO session SPDU ([`crate::mms`]).
//!
//! Not done: variable item addresses and values, block contents, alarm and
//! cyclic data contents, S7comm-plus beyond its opcode and function (its
//! objects, session keys and integrity digests).

pub mod pdu;
mod session;
pub mod szl;

/// TPKT and COTP, shared with MMS and RDP ([`crate::rfc1006`]).
pub use crate::rfc1006::{cotp, tpkt};

use crate::{Probe, StreamDissector, StreamSession};
use otposture_model::Direction;

/// Protocol name in records.
pub(crate) const PROTOCOL: &str = "s7comm";
/// Protocol name of S7comm-plus messages in records.
pub(crate) const PROTOCOL_PLUS: &str = "s7comm-plus";
/// The ISO-TSAP port (RFC 1006 §3).
pub const PORT: u16 = 102;

/// The S7comm stream dissector.
#[derive(Clone, Copy, Debug, Default)]
pub struct S7comm;

impl StreamDissector for S7comm {
    fn protocol(&self) -> &'static str {
        PROTOCOL
    }

    fn port_hint(&self, server_port: u16) -> bool {
        server_port == PORT
    }

    fn owns_port(&self, server_port: u16) -> bool {
        server_port == PORT
    }

    fn probe(&self, direction: Direction, data: &[u8]) -> Probe {
        // A CR must name TSAPs; a CC counts only from the server.
        match tpkt::first_tpdu(data).map(cotp::parse) {
            Err(Probe::NoMatch) => return Probe::NoMatch,
            Ok(Ok(t)) if t.code == cotp::TpduCode::CR || t.code == cotp::TpduCode::CC => {
                let tsap = t.param(cotp::PARAM_SRC_TSAP).is_some() || t.param(cotp::PARAM_DST_TSAP).is_some();
                let side = t.code == cotp::TpduCode::CR || direction == Direction::ToClient;
                if !(tsap && side) {
                    return Probe::NoMatch;
                }
                if s7_style_tsap(t.param(cotp::PARAM_DST_TSAP)) {
                    return Probe::Match;
                }
            }
            _ => {}
        }
        // The first data says which protocol runs over the connection.
        match crate::rfc1006::first_data(data) {
            Ok(d) => match d.first() {
                Some(&pdu::PROTOCOL_ID_S7COMM | &pdu::PROTOCOL_ID_S7COMM_PLUS) => Probe::Match,
                // A DT continuing a TSDU (no EOT) starts with the PDU too.
                Some(_) => Probe::NoMatch,
                None => Probe::NeedMore,
            },
            Err(p) => p,
        }
    }

    fn new_session(&self) -> Box<dyn StreamSession> {
        Box::new(session::Session::new())
    }

    fn sent_by_client(&self, data: &[u8]) -> Option<bool> {
        sent_by_client(data)
    }
}

/// Whether the first TPDU of `data` came from the client: a connection
/// request, or an S7 job (ROSCTR 1), a userdata request (type 4) or an
/// S7comm-plus request (opcode 0x31); a confirm, an ack, a userdata
/// response or push, or an S7comm-plus response or notification came from
/// the PLC.
fn sent_by_client(data: &[u8]) -> Option<bool> {
    if let Ok(Ok(t)) = tpkt::first_tpdu(data).map(cotp::parse) {
        if t.code == cotp::TpduCode::CR {
            return Some(true);
        }
        if t.code == cotp::TpduCode::CC {
            return Some(false);
        }
    }
    let d = crate::rfc1006::first_data(data).ok()?;
    match *d.first()? {
        pdu::PROTOCOL_ID_S7COMM => match pdu::Rosctr(*d.get(1)?) {
            pdu::Rosctr::JOB => Some(true),
            pdu::Rosctr::ACK | pdu::Rosctr::ACK_DATA => Some(false),
            pdu::Rosctr::USERDATA => match pdu::parse(d).ok()?.userdata()?.kind {
                4 => Some(true),
                0 | 8 => Some(false),
                _ => None,
            },
            _ => None,
        },
        pdu::PROTOCOL_ID_S7COMM_PLUS => match pdu::parse_plus(d)?.opcode? {
            0x31 => Some(true),
            0x02 | 0x32 | 0x33 => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// True for a called TSAP only S7 uses: `SIMATIC-ROOT-...` (S7-1200/1500), or
/// two bytes whose first is the connection type (1 PG, 2 OP, 3 S7 basic) and
/// whose second names a CPU slot (rack times 32 plus a slot from 1). MMS
/// stacks call 0x0001, 0x0002 or other TSAPs without a slot; an S7 connection
/// that is only opened and closed is still S7comm.
fn s7_style_tsap(called: Option<&[u8]>) -> bool {
    match called {
        Some([1..=3, rack_slot]) => rack_slot & 0x1f != 0,
        Some(name) => name.starts_with(b"SIMATIC-"),
        None => false,
    }
}

#[cfg(test)]
mod tests;
