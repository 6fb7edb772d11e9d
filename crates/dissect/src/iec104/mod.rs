//! IEC 60870-5-104 (edition 2, 2006): the telecontrol companion standard of
//! IEC 60870-5-101 carried over TCP, as substations, grids and pipelines use
//! it between a controlling station (SCADA) and controlled stations (RTUs,
//! bay controllers, gateways).
//!
//! Layers, one module each:
//! - [`apci`]: the APDU framing (start 0x68, length), the framer that cuts a
//!   stream into APDUs and resynchronises after bad headers and gaps, and the
//!   control field's I, S and U formats;
//! - [`asdu`]: the data unit identifier (type, variable structure qualifier,
//!   cause of transmission, originator and common address with the field
//!   sizes of IEC 60870-5-104 §9), the information objects, and the
//!   elements of commands, set points, parameters and file transfer;
//! - [`types`]: every type identification IEC 60870-5-101/104 (and -5-7)
//!   defines, its element length and its class;
//! - [`cot`]: causes of transmission;
//! - `session`: per-flow stations, sequence numbers, pairing, reporting.
//!
//! Reporting: every APDU is counted once. U-format APDUs are `startdt_act`,
//! `startdt_con`, `stopdt_act`, `stopdt_con`, `testfr_act`, `testfr_con`;
//! S-format `supervisory_ack`; all class Session. An I-format APDU is counted
//! under its type's readable name (`single_command`, `interrogation`,
//! `measured_float_with_time`; `unknown_type_N` for types no standard
//! defines, class unknown), and notable classes go through
//! [`Emit::operation`](crate::Emit::operation) with the type, cause, common
//! address, object address, and for commands the value, select/execute and
//! qualifier. A positive confirmation or termination of a seen activation is
//! an [`Emit::answer`](crate::Emit::answer); a negative one (P/N) or an error
//! cause (44-47) is kept. Anomalous ASDUs become `iec104.anomalous_asdu`
//! events, and per-flow counts (sequence jumps, unsolicited answers, negative
//! confirmations) one `iec104.session_anomalies` event at close.
//!
//! The probe accepts any port: a plausible APDU at the start of the stream
//! (start, length, a well-formed control field that fits the length, a
//! non-zero type and cause), and a plausible second one when the first chunk
//! holds more. Port 2404 only orders it.
//!
//! Not done: other field sizes than §9's (some stations use one-octet causes
//! or two-octet object addresses over TCP; their ASDUs read as malformed),
//! monitored values and their quality, the contents of secure authentication
//! ASDUs (IEC 62351-5) and of file segments, the k/w window and the t1-t3
//! timers (they need clocks a passive dissector does not keep). IEC 60870-5
//! carries no device identity, so there is no identity event.

pub mod apci;
pub mod asdu;
pub mod cot;
mod session;
pub mod types;

use crate::{Probe, StreamDissector, StreamSession};
use apci::Plausible;
use otposture_model::Direction;

/// Protocol name in records.
pub(crate) const PROTOCOL: &str = "iec104";
/// The IEC 60870-5-104 port (IANA `iec-104`).
pub const PORT: u16 = 2404;

/// The IEC 60870-5-104 stream dissector.
#[derive(Clone, Copy, Debug, Default)]
pub struct Iec104;

impl StreamDissector for Iec104 {
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
        match apci::plausible(data) {
            Plausible::No => return Probe::NoMatch,
            Plausible::NeedMore => return Probe::NeedMore,
            Plausible::Yes => {}
        }
        let Ok(Some(h)) = apci::parse_header(data) else { return Probe::NoMatch };
        // A second APDU in the same bytes must be plausible too: a stray 0x68
        // that passes once is much likelier than twice in a row.
        match data.get(h.apdu_len()..).filter(|rest| !rest.is_empty()).map(apci::plausible) {
            Some(Plausible::No) => Probe::NoMatch,
            _ => Probe::Match,
        }
    }

    fn new_session(&self) -> Box<dyn StreamSession> {
        Box::new(session::Session::new())
    }

    fn sent_by_client(&self, data: &[u8]) -> Option<bool> {
        sent_by_client(data)
    }
}

/// Whether the APDU at the start of `data` came from the controlling station
/// (the client, IEC 60870-5-104 §5.3): STARTDT and STOPDT act do, their
/// confirmations come from the controlled station; an ASDU of a monitoring
/// type (1-44) comes from the controlled station, a command (45-69, 100-113)
/// with cause activation or deactivation from the controlling one and with a
/// confirmation or termination from the controlled one (IEC 60870-5-101
/// §7.2.3). TESTFR and S format run both ways.
fn sent_by_client(data: &[u8]) -> Option<bool> {
    apci::parse_header(data).ok()??;
    let control: [u8; 4] = data.get(2..6)?.try_into().ok()?;
    match apci::Control::parse(control) {
        apci::Control::U(apci::UFunction::STARTDT_ACT | apci::UFunction::STOPDT_ACT) => Some(true),
        apci::Control::U(apci::UFunction::STARTDT_CON | apci::UFunction::STOPDT_CON) => Some(false),
        apci::Control::U(_) | apci::Control::S { .. } => None,
        apci::Control::I { .. } => {
            let (type_id, cause) = (*data.get(6)?, *data.get(8)? & 0x3f);
            match (type_id, cause) {
                (1..=44, _) => Some(false),
                (45..=69 | 100..=113, 6 | 8) => Some(true),
                (45..=69 | 100..=113, 7 | 9 | 10 | 44..=47) => Some(false),
                _ => None,
            }
        }
    }
}

#[cfg(test)]
mod tests;
