//! IEEE C37.118.2 synchrophasor data transfer (2005 and 2011 frames) over TCP
//! (port 4712) and UDP (4713): how phasor measurement units (PMUs) and
//! phasor data concentrators (PDCs) stream a grid's voltages, currents and
//! frequency to control centres, and how a PDC starts, stops and configures
//! those streams.
//!
//! Layers: [`frame`] (the common header, the CRC frame check, configuration
//! and command contents, the framer) and `session` (per flow: framing,
//! checking, reporting).
//!
//! Reporting: every frame is counted once: `data` (read), `header`,
//! `config_1`, `config_2`, `config_3` (discovery) and commands by name:
//! `turn_off_transmission` and `turn_on_transmission` (control: they stop and
//! start the measurements the control centre sees, and are kept with the
//! stream id), `send_header`, `send_config_1`, `send_config_2`,
//! `send_config_3` (discovery), `extended_frame`, `user_command`,
//! `reserved_command` (unknown). A configuration 1 or 2 frame names each PMU
//! of the stream in a `c37118.pmu` identity event (station name, PMU id,
//! channel counts and first names, nominal frequency, data rate,
//! configuration change count), once per configuration; a header frame's
//! text is a `c37118.header` identity event.
//!
//! The probe accepts any port: a sound header whose frame, once whole, passes
//! its CRC. Ports 4712 and 4713 only order it.
//!
//! Not done: the measurements inside data frames (their layout needs the
//! stream's configuration), configuration 3 frames' contents (counted), and
//! IEEE C37.118 over IEC 61850-90-5 (R-GOOSE/R-SV).

pub mod frame;
mod session;

use crate::{DatagramDissector, DatagramSession, Probe, StreamDissector, StreamSession};
use frame::FrameType;
use otposture_model::Direction;

/// Protocol name in records.
pub(crate) const PROTOCOL: &str = "c37118";
/// The TCP port C37.118.2 suggests.
pub const PORT: u16 = 4712;
/// The UDP port C37.118.2 suggests.
pub const UDP_PORT: u16 = 4713;

/// A frame at the start of `data`: `Match` when it is whole and passes its
/// check, `NeedMore` while it may still be.
fn probe(data: &[u8]) -> Probe {
    match frame::parse_header(data) {
        Err(_) => Probe::NoMatch,
        Ok(None) => Probe::NeedMore,
        Ok(Some(h)) if !h.sound() => Probe::NoMatch,
        Ok(Some(h)) => match data.get(..usize::from(h.size)) {
            Some(whole) if frame::check_ok(whole) => Probe::Match,
            Some(_) => Probe::NoMatch,
            None => Probe::NeedMore,
        },
    }
}

/// A command is the client's (a PDC's); every other frame the PMU's.
fn sent_by_client(data: &[u8]) -> Option<bool> {
    let h = frame::parse_header(data).ok()??;
    Some(h.kind == FrameType::Command)
}

/// C37.118 over TCP.
#[derive(Clone, Copy, Debug, Default)]
pub struct C37118;

impl StreamDissector for C37118 {
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
        probe(data)
    }

    fn new_session(&self) -> Box<dyn StreamSession> {
        Box::new(session::Session::new())
    }

    fn sent_by_client(&self, data: &[u8]) -> Option<bool> {
        sent_by_client(data)
    }
}

/// C37.118 over UDP: one frame per datagram.
#[derive(Clone, Copy, Debug, Default)]
pub struct C37118Udp;

impl DatagramDissector for C37118Udp {
    fn protocol(&self) -> &'static str {
        PROTOCOL
    }

    fn port_hint(&self, src_port: u16, dst_port: u16) -> bool {
        src_port == UDP_PORT || dst_port == UDP_PORT
    }

    fn owns_port(&self, server_port: u16) -> bool {
        server_port == UDP_PORT
    }

    fn probe(&self, data: &[u8]) -> Probe {
        match probe(data) {
            Probe::Match => Probe::Match,
            _ => Probe::NoMatch,
        }
    }

    fn new_session(&self) -> Box<dyn DatagramSession> {
        Box::new(session::Datagrams::default())
    }

    fn sent_by_client(&self, data: &[u8]) -> Option<bool> {
        sent_by_client(data)
    }
}

#[cfg(test)]
mod tests;
