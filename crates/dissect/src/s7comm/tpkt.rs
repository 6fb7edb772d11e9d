//! TPKT framing (RFC 1006 §6): cutting one direction of a TCP stream into
//! TPKT packets.
//!
//! Owns the 4-byte TPKT header — version (3), reserved, length (header
//! included) — and the [`Framer`], which turns arbitrarily chunked in-order
//! bytes into whole packets. It looks at the COTP length indicator and TPDU code
//! only to judge whether a position plausibly starts a packet when
//! resynchronising; the COTP layer itself is [`super::cotp`].
//!
//! Complete packets are handed out borrowed from the caller's chunk; only a
//! packet split across chunks is copied, into a buffer that never exceeds
//! [`MAX_PACKET`] bytes. After a bad header or a gap the framer scans for the
//! next plausible header instead of trusting the byte that follows.

use super::cotp;
use crate::cursor::Cursor;
use std::fmt;

/// Length of the TPKT header.
pub const HEADER_LEN: usize = 4;
/// The only TPKT version (RFC 1006 §6: "vrsn 8 bits, this field is always 3").
pub const VERSION: u8 = 3;
/// Smallest length field: RFC 1006 §6 gives 7 as the minimum packet length
/// (header and the shortest TPDU, a COTP DT header).
pub const MIN_LENGTH: u16 = 7;
/// Largest packet the framer accepts and so the most it ever buffers. The
/// length field is 16 bits, so this is also the format's own limit.
pub const MAX_PACKET: usize = u16::MAX as usize;
/// Bytes needed to judge whether a position starts a plausible packet: the
/// header, the COTP length indicator and the TPDU code.
pub const PLAUSIBLE_LEN: usize = HEADER_LEN + 2;

/// A TPKT header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Always [`VERSION`].
    pub version: u8,
    /// Reserved; 0 on the wire, reported as is.
    pub reserved: u8,
    /// The whole packet's length, header included.
    pub length: u16,
}

impl Header {
    /// The whole packet's length, header included.
    pub fn packet_len(&self) -> usize {
        usize::from(self.length)
    }
}

/// Why bytes cannot start a TPKT packet.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TpktError {
    /// A version other than 3.
    BadVersion(u8),
    /// A length below [`MIN_LENGTH`].
    BadLength(u16),
}

impl TpktError {
    /// The short reason counted with a malformed message.
    pub fn what(self) -> &'static str {
        match self {
            TpktError::BadVersion(_) => "tpkt_bad_version",
            TpktError::BadLength(_) => "tpkt_bad_length",
        }
    }
}

impl fmt::Display for TpktError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TpktError::BadVersion(v) => write!(f, "TPKT version {v}, expected {VERSION}"),
            TpktError::BadLength(n) => write!(f, "TPKT length {n}, expected at least {MIN_LENGTH}"),
        }
    }
}

impl std::error::Error for TpktError {}

/// Parses the header at the start of `data`: `Ok(None)` when fewer than
/// [`HEADER_LEN`] bytes are there.
pub fn parse_header(data: &[u8]) -> Result<Option<Header>, TpktError> {
    let mut c = Cursor::new(data);
    let (Some(version), Some(reserved), Some(length)) = (c.u8(), c.u8(), c.be_u16()) else {
        // A first byte other than 3 is already wrong.
        return match data.first() {
            Some(&v) if v != VERSION => Err(TpktError::BadVersion(v)),
            _ => Ok(None),
        };
    };
    // RFC 1006 §6: the version is always 3.
    if version != VERSION {
        return Err(TpktError::BadVersion(version));
    }
    // RFC 1006 §6: the length includes the header; the minimum is 7.
    if length < MIN_LENGTH {
        return Err(TpktError::BadLength(length));
    }
    Ok(Some(Header { version, reserved, length }))
}

/// What the first bytes of `data` say about a packet starting there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plausible {
    /// A good header, reserved byte 0, and a COTP length indicator and TPDU code
    /// that fit.
    Yes,
    /// Not a packet start.
    No,
    /// Consistent so far; more bytes needed to tell.
    NeedMore,
}

/// Judges whether `data` starts with a plausible packet: version 3, reserved 0,
/// a length of at least 7, a COTP length indicator inside the packet and a
/// known TPDU code.
pub fn plausible(data: &[u8]) -> Plausible {
    let header = match parse_header(data) {
        Err(_) => return Plausible::No,
        Ok(None) => {
            return if data.get(1).is_some_and(|&r| r != 0) { Plausible::No } else { Plausible::NeedMore };
        }
        Ok(Some(h)) => h,
    };
    if header.reserved != 0 {
        return Plausible::No;
    }
    let (Some(&li), Some(&code)) = (data.get(HEADER_LEN), data.get(HEADER_LEN + 1)) else {
        return Plausible::NeedMore;
    };
    // ISO 8073 §13.2.1: the length indicator counts the header after itself, so
    // it must fit in the packet.
    let fits = usize::from(li) < header.packet_len() - HEADER_LEN && li >= 2;
    if fits && cotp::TpduCode::from_byte(code).is_known() {
        Plausible::Yes
    } else {
        Plausible::No
    }
}

/// What the framer found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framed<'a> {
    /// A whole packet's payload (the COTP TPDU), header stripped.
    Packet(Header, &'a [u8]),
    /// A bad header where one was expected; the framer now resynchronises.
    Malformed(TpktError),
}

/// Where the framer stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// The next byte starts a header.
    Synced,
    /// The next bytes belong to a packet lost in a gap: skip them, then synced.
    Skip(usize),
    /// Alignment unknown: look for a plausible header.
    Hunting,
}

/// Counters kept by a framer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FramerStats {
    /// Bytes dropped while hunting for a header.
    pub skipped_bytes: u64,
    /// Times the framer lost alignment (bad header or gap).
    pub resyncs: u64,
}

/// Cuts one direction of a stream into TPKT packets, whatever the chunking.
#[derive(Clone, Debug)]
pub struct Framer {
    /// A partial packet (or, while hunting, a candidate start) carried between
    /// chunks; never longer than [`MAX_PACKET`].
    buf: Vec<u8>,
    state: State,
    /// Counters.
    pub stats: FramerStats,
}

impl Default for Framer {
    fn default() -> Self {
        Framer::new()
    }
}

impl Framer {
    /// A framer expecting a header first.
    pub fn new() -> Self {
        Framer { buf: Vec::new(), state: State::Synced, stats: FramerStats::default() }
    }

    /// Bytes held between chunks.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// `len` bytes of the stream are missing. When the gap falls inside a
    /// buffered packet of known length, the framer skips the rest of that
    /// packet exactly; otherwise it hunts for the next plausible header.
    pub fn gap(&mut self, len: u64) {
        let known = parse_header(&self.buf).ok().flatten().map(|h| h.packet_len());
        let missing = known.and_then(|n| n.checked_sub(self.buf.len()));
        self.buf.clear();
        self.stats.resyncs += 1;
        self.state = match (self.state, missing) {
            (State::Synced, Some(missing)) => match usize::try_from(len).ok().and_then(|l| missing.checked_sub(l)) {
                Some(0) => State::Synced,
                Some(rest) => State::Skip(rest),
                None => State::Hunting,
            },
            _ => State::Hunting,
        };
    }

    /// Feeds in-order bytes; calls `out` for every packet completed and every
    /// bad header met, in stream order.
    pub fn push(&mut self, data: &[u8], out: &mut dyn FnMut(Framed<'_>)) {
        let mut data = data;
        while !self.buf.is_empty() && !data.is_empty() {
            data = self.top_up(data, out);
        }
        if self.buf.is_empty() {
            self.run(data, out);
        }
    }

    /// Completes the buffered partial packet (or hunting candidate) from
    /// `data`; returns what is left of `data`.
    fn top_up<'d>(&mut self, data: &'d [u8], out: &mut dyn FnMut(Framed<'_>)) -> &'d [u8] {
        let want = match (self.state, parse_header(&self.buf)) {
            (State::Synced, Ok(Some(h))) => h.packet_len(),
            (State::Synced, Ok(None) | Err(_)) => HEADER_LEN,
            (State::Hunting, _) => PLAUSIBLE_LEN,
            _ => {
                self.buf.clear();
                return data;
            }
        };
        let n = want.saturating_sub(self.buf.len()).min(data.len());
        let (head, rest) = data.split_at_checked(n).unwrap_or((data, &[]));
        self.buf.extend_from_slice(head);
        if self.buf.len() < want {
            return rest;
        }
        let held = std::mem::take(&mut self.buf);
        self.run(&held, out);
        rest
    }

    /// Frames `data` from the current state; a trailing partial packet is
    /// buffered.
    fn run(&mut self, data: &[u8], out: &mut dyn FnMut(Framed<'_>)) {
        let mut rest = data;
        loop {
            match self.state {
                State::Skip(n) => {
                    let k = n.min(rest.len());
                    rest = rest.get(k..).unwrap_or_default();
                    self.state = if k == n { State::Synced } else { State::Skip(n - k) };
                    if rest.is_empty() {
                        return;
                    }
                }
                State::Hunting => {
                    let mut i = 0;
                    let found = loop {
                        let Some(tail) = rest.get(i..).filter(|t| !t.is_empty()) else { break None };
                        match plausible(tail) {
                            Plausible::Yes => break Some(true),
                            Plausible::NeedMore => break Some(false),
                            Plausible::No => i += 1,
                        }
                    };
                    self.stats.skipped_bytes += i as u64;
                    rest = rest.get(i..).unwrap_or_default();
                    match found {
                        Some(true) => self.state = State::Synced,
                        Some(false) => {
                            self.buf.extend_from_slice(rest);
                            return;
                        }
                        None => return,
                    }
                }
                State::Synced => match parse_header(rest) {
                    Ok(None) => {
                        self.buf.extend_from_slice(rest);
                        return;
                    }
                    Err(e) => {
                        out(Framed::Malformed(e));
                        self.stats.resyncs += 1;
                        self.state = State::Hunting;
                        // The bad header's first byte cannot start a packet.
                        rest = rest.get(1..).unwrap_or_default();
                    }
                    Ok(Some(h)) => {
                        let Some((packet, tail)) = rest.split_at_checked(h.packet_len()) else {
                            self.buf.extend_from_slice(rest);
                            return;
                        };
                        out(Framed::Packet(h, packet.get(HEADER_LEN..).unwrap_or_default()));
                        rest = tail;
                        if rest.is_empty() {
                            return;
                        }
                    }
                },
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    /// Everything a framer yields, owned.
    fn frame_all(framer: &mut Framer, chunks: &[&[u8]]) -> Vec<Result<(Header, Vec<u8>), TpktError>> {
        let mut got = Vec::new();
        for c in chunks {
            framer.push(c, &mut |f| match f {
                Framed::Packet(h, p) => got.push(Ok((h, p.to_vec()))),
                Framed::Malformed(e) => got.push(Err(e)),
            });
        }
        got
    }

    const DT: [u8; 10] = [
        0x03, // TPKT version 3
        0x00, // reserved
        0x00, 0x0a, // length 10
        0x02, // COTP length indicator 2
        0xf0, // DT
        0x80, // TPDU number 0, EOT
        0x32, 0x01, 0x00, // start of an S7comm header
    ];

    #[test]
    fn parses_a_header_and_its_packet_length() {
        let h = parse_header(&DT).unwrap().unwrap();
        assert_eq!(h, Header { version: 3, reserved: 0, length: 10 });
        assert_eq!(parse_header(&DT[..3]), Ok(None));
    }

    #[test]
    fn rejects_other_versions_and_lengths_below_seven() {
        assert_eq!(parse_header(&[0x04, 0x00, 0x00, 0x0a]), Err(TpktError::BadVersion(4)));
        assert_eq!(parse_header(&[0x04]), Err(TpktError::BadVersion(4)));
        assert_eq!(parse_header(&[0x03, 0x00, 0x00, 0x06]), Err(TpktError::BadLength(6)));
    }

    #[test]
    fn judges_plausibility_from_the_cotp_header_too() {
        assert_eq!(plausible(&DT), Plausible::Yes);
        assert_eq!(plausible(&DT[..5]), Plausible::NeedMore);
        let mut b = DT;
        b[5] = 0x00; // no such TPDU code
        assert_eq!(plausible(&b), Plausible::No);
        let mut b = DT;
        b[4] = 0x09; // length indicator past the packet's end
        assert_eq!(plausible(&b), Plausible::No);
        let mut b = DT;
        b[1] = 0x01; // reserved not zero
        assert_eq!(plausible(&b), Plausible::No);
    }

    #[test]
    fn splitting_the_stream_at_every_offset_yields_the_same_packets() {
        let mut stream = DT.to_vec();
        stream.extend_from_slice(&DT);
        stream.extend_from_slice(&DT);
        let whole = frame_all(&mut Framer::new(), &[&stream]);
        assert_eq!(whole.len(), 3);
        for i in 0..=stream.len() {
            for j in i..=stream.len() {
                let got = frame_all(&mut Framer::new(), &[&stream[..i], &stream[i..j], &stream[j..]]);
                assert_eq!(got, whole, "split at {i} and {j}");
            }
        }
    }

    #[test]
    fn resynchronises_after_a_bad_header() {
        let mut stream = vec![0xde, 0xad, 0xbe, 0xef];
        stream.extend_from_slice(&DT);
        let mut f = Framer::new();
        let got = frame_all(&mut f, &[&stream]);
        assert_eq!(got[0], Err(TpktError::BadVersion(0xde)));
        assert_eq!(got.len(), 2);
        assert!(got[1].is_ok());
        assert_eq!(f.stats.skipped_bytes, 3);
    }

    #[test]
    fn skips_exactly_the_rest_of_a_packet_cut_by_a_gap() {
        let mut f = Framer::new();
        assert!(frame_all(&mut f, &[&DT[..6]]).is_empty());
        f.gap(2); // bytes 6 and 7 lost; 8 and 9 still belong to the packet
        let mut rest = DT[8..].to_vec();
        rest.extend_from_slice(&DT);
        let got = frame_all(&mut f, &[&rest]);
        assert_eq!(got.len(), 1);
        assert!(got[0].is_ok());
    }

    #[test]
    fn hunts_for_a_header_after_a_gap_of_unknown_alignment() {
        let mut f = Framer::new();
        f.gap(1000);
        let mut rest = vec![0x32, 0x03, 0x00]; // tail of some earlier packet
        rest.extend_from_slice(&DT);
        let got = frame_all(&mut f, &[&rest[..4], &rest[4..6], &rest[6..]]);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].as_ref().unwrap().1, DT[4..].to_vec());
    }
}
