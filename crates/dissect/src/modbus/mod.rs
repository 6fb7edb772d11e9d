//! Modbus/TCP: the Modbus Application Protocol Specification V1.1b3 carried
//! over TCP as the Modbus Messaging on TCP/IP Implementation Guide V1.0b says.
//!
//! Layers, one module each:
//! - [`mbap`]: the MBAP header and the framer that cuts a stream into ADUs,
//!   resynchronising after bad headers and gaps;
//! - [`pdu`]: function codes, the fields of every public request and response,
//!   exception responses, and the class of each operation;
//! - [`mei`]: Read Device Identification (43/14) objects;
//! - [`umas`]: Schneider Electric's UMAS inside function 90;
//! - `session`: per-flow framing, request/response pairing, reporting.
//!
//! Reporting: every ADU is counted once with `emit.message` (or
//! [`Emit::operation`](crate::Emit::operation) for notable classes, which adds
//! unit id, transaction id, address, quantity and the like to the record the
//! engine keeps). Operation names are the function's snake_case name
//! (`read_holding_registers`), refined by sub-function for diagnostics
//! (`diagnostics_force_listen_only_mode`), MEI (`read_device_identification`)
//! and UMAS (`umas_stop_plc`). Responses carry the same name and class as their
//! request; an exception response is `<name>_exception` with the request's class
//! and the exception code's name as the `exception` attribute of notable records.
//! Device identification (43/14, each part of a multi-part answer) and Report
//! Server ID (17) responses become identity events.
//!
//! The probe accepts any port: a plausible MBAP header (protocol id 0, length
//! 2..=260, a valid function code) at the start of the stream, and a plausible
//! second one if the first chunk holds more than one ADU; function code 0, which
//! scanners send, is accepted when the bytes are exactly one ADU. Port 502 only
//! orders it.
//!
//! Not done: Modbus RTU/ASCII over TCP (no MBAP header), Modbus/TCP Security
//! (TLS, port 802), register and coil values, the data of file records, CANopen
//! General Reference (43/13) contents and the data inside UMAS messages.

pub mod mbap;
pub mod mei;
pub mod pdu;
mod session;
pub mod umas;

use crate::{Probe, StreamDissector, StreamSession};
use mbap::Plausible;
use otposture_model::Direction;

/// Protocol name in records.
pub(crate) const PROTOCOL: &str = "modbus";
/// The registered Modbus/TCP port (Implementation Guide §4.1.1).
pub const PORT: u16 = 502;

/// The Modbus/TCP stream dissector.
#[derive(Clone, Copy, Debug, Default)]
pub struct Modbus;

impl StreamDissector for Modbus {
    fn protocol(&self) -> &'static str {
        PROTOCOL
    }

    fn port_hint(&self, server_port: u16) -> bool {
        server_port == PORT
    }

    fn owns_port(&self, server_port: u16) -> bool {
        server_port == PORT
    }

    fn probe(&self, _direction: Direction, data: &[u8]) -> Probe {
        let header = match mbap::parse_header(data) {
            Err(_) => return Probe::NoMatch,
            Ok(None) => {
                return if mbap::plausible(data) == Plausible::No { Probe::NoMatch } else { Probe::NeedMore };
            }
            Ok(Some(h)) => h,
        };
        let Some(&function) = data.get(mbap::HEADER_LEN) else { return Probe::NeedMore };
        let next = data.get(header.adu_len()..).filter(|rest| !rest.is_empty());
        match (mbap::plausible_function(function), next.map(mbap::plausible)) {
            // A second ADU in the same bytes must be plausible too: a stray match
            // on one header is much likelier than on two in a row.
            (_, Some(Plausible::No)) => Probe::NoMatch,
            (true, _) => Probe::Match,
            // Function 0 (or 0x80) is never valid, but scanners send it: accept it
            // when the bytes are exactly one ADU or a plausible one follows.
            (false, Some(Plausible::Yes)) => Probe::Match,
            (false, Some(_)) => Probe::NeedMore,
            (false, None) if data.len() == header.adu_len() => Probe::Match,
            (false, None) => Probe::NoMatch,
        }
    }

    fn new_session(&self) -> Box<dyn StreamSession> {
        Box::new(session::Session::new())
    }

    fn sent_by_client(&self, data: &[u8]) -> Option<bool> {
        sent_by_client(data)
    }
}

/// Whether the ADU at the start of `data` is a request, from the shapes of
/// requests and responses of its function (Application Protocol §6): a
/// read request is 5 bytes, its response a byte count and that many bytes,
/// and so on. `None` where both shapes fit (a response of 3 bytes of
/// coils), or where the response echoes the request (single writes,
/// diagnostics, mask write).
fn sent_by_client(data: &[u8]) -> Option<bool> {
    let h = mbap::parse_header(data).ok()??;
    let pdu = data.get(mbap::HEADER_LEN..h.adu_len())?;
    let (&function, rest) = pdu.split_first()?;
    let byte_at = |i: usize| rest.get(i).map(|&b| usize::from(b));
    let len = pdu.len();
    if function & 0x80 != 0 {
        // An exception response: the function with its high bit, and a code.
        return (len == 2).then_some(false);
    }
    let (request, response) = match pdu::FunctionCode(function) {
        pdu::FunctionCode::READ_COILS
        | pdu::FunctionCode::READ_DISCRETE_INPUTS
        | pdu::FunctionCode::READ_HOLDING_REGISTERS
        | pdu::FunctionCode::READ_INPUT_REGISTERS => (len == 5, byte_at(0)? + 2 == len),
        pdu::FunctionCode::WRITE_MULTIPLE_COILS | pdu::FunctionCode::WRITE_MULTIPLE_REGISTERS => {
            (byte_at(4).is_some_and(|n| n + 6 == len), len == 5)
        }
        pdu::FunctionCode::READ_WRITE_MULTIPLE_REGISTERS => {
            (byte_at(8).is_some_and(|n| n + 10 == len), byte_at(0)? + 2 == len)
        }
        pdu::FunctionCode::READ_EXCEPTION_STATUS => (len == 1, len == 2),
        pdu::FunctionCode::REPORT_SERVER_ID | pdu::FunctionCode::GET_COMM_EVENT_LOG => {
            (len == 1, byte_at(0).is_some_and(|n| n + 2 == len))
        }
        pdu::FunctionCode::GET_COMM_EVENT_COUNTER => (len == 1, len == 5),
        // Read Device Identification: MEI type, code and object id; the
        // response carries at least conformity, more-follows, next id and count.
        pdu::FunctionCode::ENCAPSULATED_INTERFACE if byte_at(0) == Some(0x0e) => (len == 4, len >= 7),
        // UMAS: session, then a function code, or 0xFE / 0xFD in a response.
        pdu::FunctionCode::UMAS => {
            let code = byte_at(1)?;
            let answer = code == usize::from(umas::RESPONSE_OK) || code == usize::from(umas::RESPONSE_ERROR);
            (!answer, answer)
        }
        _ => return None,
    };
    match (request, response) {
        (true, false) => Some(true),
        (false, true) => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
