//! Beckhoff ADS (Automation Device Specification) over AMS/TCP, port 48898,
//! and the TwinCAT router's UDP service on port 48899: how engineering
//! stations, HMIs and SCADA read and write TwinCAT PLCs (CX embedded PCs,
//! industrial PCs with TwinCAT 2 or 3), start and stop them, and add
//! themselves as routes.
//!
//! Layers, one module each:
//! - [`ams`]: the AMS/TCP and AMS headers and the framer that cuts a stream
//!   into messages, resynchronising after bad headers and gaps;
//! - [`command`]: commands, index groups, ADS states, and the operation and
//!   class of each request;
//! - `session`: per-flow framing, request/response pairing by invoke id,
//!   reporting;
//! - [`udp`]: the router's discovery and add-route service.
//!
//! Reporting: every ADS message is counted once. Names follow the command
//! and what its index group touches (`write_variable`, `write_outputs`,
//! `get_handle_by_name`, `file_write`, `write_control_stop`); a response
//! carries its request's name and class, an error response
//! (`<name>_error`) the error code and its name. Notable classes are kept
//! with the AMS Net Ids and ports, the invoke id, the index group and
//! offset, and the ADS state a Write Control asks for. A Read Device Info
//! answer becomes an `ads.device_info` identity event (device name and
//! version of the AMS port that answered: 10000 is the TwinCAT system
//! itself, 851 and 801 PLC runtimes), a router discovery answer an
//! `ads.router` one (host name, operating system, TwinCAT version).
//!
//! The probe accepts any port: a plausible pair of headers at the start of
//! the stream (reserved bytes zero, lengths that agree, the ADS command flag,
//! a known command). Port 48898 only orders it.
//!
//! Not done: ADS over AMS/UDP (port 48899 carries the router service here,
//! not commands), the AMS router's own port-connect commands (a local
//! client to its router, never on the network), Secure ADS (TLS on 8016),
//! the values read and written, and the sub-commands inside sum commands.

pub mod ams;
pub mod command;
mod session;
pub mod udp;

use crate::framing::Plausible;
use crate::{DatagramDissector, DatagramSession, Probe, StreamDissector, StreamSession};
use otposture_model::Direction;

/// Protocol name in records.
pub(crate) const PROTOCOL: &str = "ads";
/// The AMS/TCP port.
pub const PORT: u16 = 48898;

/// The attributes of a kept record.
type Attributes = Vec<(std::borrow::Cow<'static, str>, otposture_model::AttrValue)>;

/// The ADS stream dissector (AMS/TCP).
#[derive(Clone, Copy, Debug, Default)]
pub struct Ads;

impl StreamDissector for Ads {
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
        match ams::plausible(data) {
            Plausible::Yes => Probe::Match,
            Plausible::NeedMore => Probe::NeedMore,
            Plausible::No => Probe::NoMatch,
        }
    }

    fn new_session(&self) -> Box<dyn StreamSession> {
        Box::new(session::Session::new())
    }

    fn sent_by_client(&self, data: &[u8]) -> Option<bool> {
        sent_by_client(data)
    }
}

/// Whether the message at the start of `data` was sent by the client: a
/// request is, a response is not, and so is not a Device Notification (a
/// server's, sent as a request).
fn sent_by_client(data: &[u8]) -> Option<bool> {
    let h = ams::parse_header(data)?;
    if h.command == command::id::DEVICE_NOTIFICATION {
        return Some(false);
    }
    Some(!h.is_response())
}

/// The TwinCAT router's UDP service (discovery, add route).
#[derive(Clone, Copy, Debug, Default)]
pub struct AdsRouter;

impl DatagramDissector for AdsRouter {
    fn protocol(&self) -> &'static str {
        PROTOCOL
    }

    fn port_hint(&self, src_port: u16, dst_port: u16) -> bool {
        src_port == udp::PORT || dst_port == udp::PORT
    }

    fn owns_port(&self, server_port: u16) -> bool {
        server_port == udp::PORT
    }

    fn probe(&self, data: &[u8]) -> Probe {
        if udp::is_router_datagram(data) {
            Probe::Match
        } else {
            Probe::NoMatch
        }
    }

    fn new_session(&self) -> Box<dyn DatagramSession> {
        Box::new(udp::Session)
    }

    /// A request is the client's; an answer has the response bit.
    fn sent_by_client(&self, data: &[u8]) -> Option<bool> {
        udp::parse(data).map(|d| d.service & udp::RESPONSE == 0)
    }
}

/// The name of an ADS or AMS error code (Beckhoff InfoSys, "ADS Return
/// Codes"), for the codes a posture reviewer meets; others stay numbers.
pub(crate) fn error_name(code: u32) -> Option<&'static str> {
    Some(match code {
        0x0006 => "target_port_not_found",
        0x0007 => "target_machine_not_found",
        0x0700 => "device_error",
        0x0701 => "service_not_supported",
        0x0702 => "invalid_index_group",
        0x0703 => "invalid_index_offset",
        0x0704 => "invalid_access",
        0x0705 => "invalid_size",
        0x0706 => "invalid_data",
        0x0707 => "not_ready",
        0x0708 => "busy",
        0x070a => "out_of_memory",
        0x070c => "not_found",
        0x070d => "syntax_error",
        0x070e => "incompatible",
        0x0710 => "symbol_not_found",
        0x0711 => "symbol_version_invalid",
        0x0712 => "invalid_state",
        0x0713 => "transmission_mode_not_supported",
        0x0714 => "notification_handle_invalid",
        0x0719 => "access_denied",
        0x071a => "license_not_found",
        0x071b => "license_expired",
        0x071c => "license_exceeded",
        0x071d => "license_invalid",
        0x0745 => "timeout",
        0x0746 => "no_interface",
        0x0747 => "invalid_interface",
        0x0750 => "port_disabled",
        0x0751 => "port_not_connected",
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
