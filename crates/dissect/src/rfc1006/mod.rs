//! ISO transport over TCP (RFC 1006): the TPKT header that cuts a TCP stream
//! into packets ([`tpkt`]) and the ISO 8073 COTP class 0 TPDUs they carry
//! ([`cotp`]). Port 102 carries several protocols over this one transport:
//! S7comm and S7comm-plus ([`crate::s7comm`]), and ISO session, presentation
//! and MMS ([`crate::mms`]); RDP uses the same TPKT and X.224 framing.
//!
//! [`first_data`] reads the first data TPDU of a connection's opening bytes,
//! which is what tells those protocols apart: a connection request names
//! TSAPs, not the protocol above it.

pub mod cotp;
pub mod tpkt;

use crate::Probe;

/// One direction of an ISO transport connection: the TPKT framer and the
/// COTP reassembler behind it, as S7comm and MMS sessions keep them.
#[derive(Debug, Default)]
pub struct Transport {
    /// Cuts the stream into TPKT packets.
    pub framer: tpkt::Framer,
    /// Joins DT TPDUs into TSDUs.
    pub cotp: cotp::Reassembler,
}

impl Transport {
    /// A hole in the stream: the framer hunts for the next packet, and a
    /// partial TSDU is forgotten.
    pub fn gap(&mut self, len: u64) {
        self.framer.gap(len);
        self.cotp.reset();
    }

    /// What both directions could not use, for a session's close-time
    /// anomaly counts: bytes skipped to resynchronise, TSDUs too long.
    pub fn counts<'a>(dirs: impl IntoIterator<Item = &'a Transport>) -> [(&'static str, u64); 2] {
        let (mut skipped, mut overflows) = (0, 0);
        for t in dirs {
            skipped += t.framer.stats.skipped_bytes;
            overflows += t.cotp.overflows;
        }
        [("resync_skipped_bytes", skipped), ("cotp_overflows", overflows)]
    }
}

/// The data of the first DT TPDU in `data` (the opening bytes of one
/// direction), after any connection TPDUs (CR, CC) before it. `NeedMore` while
/// the bytes so far are TPKT packets of connection TPDUs or a packet cut short;
/// `NoMatch` when they are not TPKT and COTP, or hold no data TPDU within the
/// first few packets.
pub fn first_data(mut data: &[u8]) -> Result<&[u8], Probe> {
    // A connection opens with one CR (client) or CC (server); a few more allow
    // a retried CR. Anything longer without data is not ISO transport.
    for _ in 0..4 {
        match tpkt::plausible(data) {
            tpkt::Plausible::No => return Err(Probe::NoMatch),
            tpkt::Plausible::NeedMore => return Err(Probe::NeedMore),
            tpkt::Plausible::Yes => {}
        }
        let Ok(Some(h)) = tpkt::parse_header(data) else { return Err(Probe::NoMatch) };
        // A data TPDU is judged on its first bytes: the probe window may end
        // inside a long one.
        let whole = data.get(tpkt::HEADER_LEN..h.packet_len());
        let packet = whole.unwrap_or_else(|| data.get(tpkt::HEADER_LEN..).unwrap_or_default());
        let t = match cotp::parse(packet) {
            Ok(t) => t,
            Err(_) if whole.is_none() => return Err(Probe::NeedMore),
            Err(_) => return Err(Probe::NoMatch),
        };
        match t.kind {
            cotp::TpduKind::Data { .. } if t.data.is_empty() && whole.is_none() => return Err(Probe::NeedMore),
            cotp::TpduKind::Data { .. } => return Ok(t.data),
            cotp::TpduKind::Connect { .. } if whole.is_none() => return Err(Probe::NeedMore),
            cotp::TpduKind::Connect { .. } => {}
            _ => return Err(Probe::NoMatch),
        }
        data = data.get(h.packet_len()..).unwrap_or_default();
        if data.is_empty() {
            return Err(Probe::NeedMore);
        }
    }
    Err(Probe::NoMatch)
}
