//! MMS (Manufacturing Message Specification, ISO 9506) over the OSI upper
//! layers on RFC 1006: the client/server protocol of IEC 61850 substations
//! (IEDs, protection relays, bay controllers, gateways) and of ICCP/TASE.2
//! between control centres. It shares port 102 with S7comm; the first data of
//! a connection tells them apart ([`crate::rfc1006::first_data`]).
//!
//! Layers: [`crate::rfc1006`] (TPKT, COTP and the reassembly of a TSDU),
//! `osi` (session SPDUs, presentation data values, ACSE association APDUs),
//! `pdu` (the MMS PDU, its confirmed or unconfirmed service, and the bodies
//! read), `session` (per-flow state and reporting).
//!
//! Reporting, under protocol `mms`:
//! - every confirmed request and its answer is counted under the service's
//!   name (`read`, `write`, `get_name_list`, `identify`, `start`, `stop`,
//!   `initiate_download_sequence`, `file_delete`...) with its class; an answer
//!   is named after its request (paired by invoke id, at most 64 waiting);
//! - notable requests are kept with `invoke_id`; writes and controls with
//!   `variable_count` and `variables` (up to eight, `domain/item`, `@list`
//!   for a named variable list); domain, program invocation and file
//!   services with `domain`, `program_invocation` or `file`. A write to `Oper`, `SBOw` or `Cancel` of an
//!   IEC 61850 controllable object (`...$CO$...`) is `control_operate`,
//!   `control_select` or `control_cancel`, class control;
//! - a confirmed error is kept under its request's name with `error_class`
//!   and `error_code`; a write answered with a failure for some variable is
//!   kept with `failed` (`1 of 2`);
//! - an Identify answer becomes an `mms.identify` identity event (`vendor`,
//!   `model`, `revision`), a GetNameList answer listing the server's domains
//!   (an IED's logical devices) an `mms.domains` one (`domains`, `count`);
//! - reports (`information_report`), initiate, conclude, cancel and reject
//!   PDUs, ACSE association APDUs (`associate_request`...) and session SPDUs
//!   that carry nothing (`session_refuse`, `session_abort`) are counted. An
//!   association request with authentication is kept as `associate_request`
//!   class authentication (`credentials: present`, `mechanism`: the OID; the
//!   value itself is never kept); a rejected association as
//!   `associate_rejected`.
//!
//! Not done: the values read, written or reported; domain and file contents;
//! the initiate parameters (versions, services supported); ISO session
//! features outside the kernel subset (activities, synchronisation points);
//! MMS under TLS (IEC 62351-4), which is TLS to the engine.

mod osi;
mod pdu;
mod session;

use crate::{Probe, StreamDissector, StreamSession};
use otposture_model::Direction;

/// Protocol name in records.
pub(crate) const PROTOCOL: &str = "mms";

/// The operation name of confirmed service `number` (its ConfirmedServiceRequest
/// tag in ISO 9506-2): `kill` for 44.
pub fn confirmed_service_name(number: u32) -> Option<&'static str> {
    pdu::confirmed_service(number).map(|(name, _)| name)
}

/// The operation name of unconfirmed service `number`: `information_report` for 0.
pub fn unconfirmed_service_name(number: u32) -> Option<&'static str> {
    pdu::unconfirmed_service(number).map(|(name, _)| name)
}

/// The MMS stream dissector.
#[derive(Clone, Copy, Debug, Default)]
pub struct Mms;

impl StreamDissector for Mms {
    fn protocol(&self) -> &'static str {
        PROTOCOL
    }

    fn port_hint(&self, server_port: u16) -> bool {
        server_port == crate::s7comm::PORT
    }

    fn owns_port(&self, server_port: u16) -> bool {
        server_port == crate::s7comm::PORT
    }

    fn probe(&self, _direction: Direction, data: &[u8]) -> Probe {
        match crate::rfc1006::first_data(data) {
            Ok(d) if osi::looks_like_mms_transport(d) => Probe::Match,
            Ok(d) if d.len() < 4 => Probe::NeedMore,
            Ok(_) => Probe::NoMatch,
            Err(p) => p,
        }
    }

    fn new_session(&self) -> Box<dyn StreamSession> {
        Box::<session::Session>::default()
    }
}

#[cfg(test)]
mod tests;
