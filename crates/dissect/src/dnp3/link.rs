//! The DNP3 data link layer (IEEE 1815-2012 §9.2): FT3 frames, their CRCs,
//! and the framer that cuts a byte stream into frames.
//!
//! Owns the 10-byte header — start octets 0x05 0x64, length, control,
//! destination, source, header CRC — and the user data that follows in blocks
//! of at most 16 bytes, each with its own CRC. It checks every CRC and hands out
//! the user data without them; it does not look inside the user data (that is
//! [`super::transport`]'s job).
//!
//! The [`Framer`] turns arbitrarily chunked in-order bytes into whole frames.
//! A frame that fails any check is reported once as malformed, and the framer
//! then resynchronises byte by byte on the next 0x05 0x64 whose header CRC is
//! good: a bad frame never swallows the rest of the flow. Only a frame split
//! across chunks is copied, into a buffer that never exceeds [`MAX_FRAME`].

use std::fmt;

/// The two start octets (§9.2.4.1.1).
pub const START: [u8; 2] = [0x05, 0x64];
/// Length of the header, its CRC included.
pub const HEADER_LEN: usize = 10;
/// Smallest length field: control, destination and source (§9.2.4.1.2).
pub const MIN_LENGTH: u8 = 5;
/// User data bytes per CRC block (§9.2.4.2).
pub const BLOCK_LEN: usize = 16;
/// Most user data a frame carries: a length of 255 less the 5 header octets.
pub const MAX_USER_DATA: usize = 250;
/// Largest frame on the wire: header, 250 user data bytes and 16 block CRCs.
pub const MAX_FRAME: usize = HEADER_LEN + MAX_USER_DATA + 2 * MAX_USER_DATA.div_ceil(BLOCK_LEN);

/// CRC-16/DNP (§9.2.4.2.2): polynomial 0x3D65 reflected (0xA6BC), initial
/// value 0, final XOR 0xFFFF. Sent least significant octet first.
pub fn crc(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in data {
        crc ^= u16::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xa6bc } else { crc >> 1 };
        }
    }
    !crc
}

/// True when `block` is data followed by its little-endian CRC.
fn crc_ok(block: &[u8]) -> bool {
    let Some((data, sent)) = block.split_last_chunk::<2>() else { return false };
    crc(data) == u16::from_le_bytes(*sent)
}

/// A link-layer function code (§9.2.4.1.3, Tables 9-1 and 9-2); open. Its
/// meaning depends on the PRM bit, so names are given with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinkFunction(pub u8);

impl LinkFunction {
    /// Primary 0: reset link states.
    pub const RESET_LINK_STATES: LinkFunction = LinkFunction(0);
    /// Primary 2: test link states.
    pub const TEST_LINK_STATES: LinkFunction = LinkFunction(2);
    /// Primary 3: confirmed user data.
    pub const CONFIRMED_USER_DATA: LinkFunction = LinkFunction(3);
    /// Primary 4: unconfirmed user data.
    pub const UNCONFIRMED_USER_DATA: LinkFunction = LinkFunction(4);
    /// Primary 9: request link status.
    pub const REQUEST_LINK_STATUS: LinkFunction = LinkFunction(9);
    /// Secondary 0: ACK.
    pub const ACK: LinkFunction = LinkFunction(0);
    /// Secondary 11: link status.
    pub const LINK_STATUS: LinkFunction = LinkFunction(11);

    /// The snake_case name for a primary (`prm`) or secondary frame;
    /// `primary_N` / `secondary_N` for codes the tables leave unassigned.
    pub fn name(self, prm: bool) -> String {
        let known = match (prm, self.0) {
            (true, 0) => "reset_states",
            (true, 1) => "reset_user_process",
            (true, 2) => "test_states",
            (true, 3) => "confirmed_user_data",
            (true, 4) => "unconfirmed_user_data",
            (true, 9) => "request_status",
            (false, 0) => "ack",
            (false, 1) => "nack",
            (false, 11) => "status",
            (false, 14) => "not_functioning",
            (false, 15) => "not_supported",
            (true, n) => return format!("primary_{n}"),
            (false, n) => return format!("secondary_{n}"),
        };
        known.to_string()
    }
}

/// The control octet (§9.2.4.1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Control(pub u8);

impl Control {
    /// DIR: set on frames sent by the master.
    pub fn from_master(self) -> bool {
        self.0 & 0x80 != 0
    }
    /// PRM: set on frames that start a link transaction (primary station).
    pub fn primary(self) -> bool {
        self.0 & 0x40 != 0
    }
    /// The function code, low four bits.
    pub fn function(self) -> LinkFunction {
        LinkFunction(self.0 & 0x0f)
    }
    /// True for the two primary functions that carry user data.
    pub fn carries_user_data(self) -> bool {
        self.primary()
            && matches!(self.function(), LinkFunction::CONFIRMED_USER_DATA | LinkFunction::UNCONFIRMED_USER_DATA)
    }
}

/// A frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Octets after the length field, block CRCs excluded: control, addresses
    /// and user data.
    pub length: u8,
    /// The control octet.
    pub control: Control,
    /// Destination address.
    pub destination: u16,
    /// Source address.
    pub source: u16,
}

impl Header {
    /// User data octets, CRCs excluded.
    pub fn user_data_len(&self) -> usize {
        usize::from(self.length.saturating_sub(MIN_LENGTH))
    }
    /// The whole frame on the wire: header, user data and one CRC per block.
    pub fn frame_len(&self) -> usize {
        let n = self.user_data_len();
        HEADER_LEN + n + 2 * n.div_ceil(BLOCK_LEN)
    }
    /// The master's address: the source of a frame with DIR set, else the
    /// destination.
    pub fn master(&self) -> u16 {
        if self.control.from_master() {
            self.source
        } else {
            self.destination
        }
    }
    /// The outstation's address: the other end.
    pub fn outstation(&self) -> u16 {
        if self.control.from_master() {
            self.destination
        } else {
            self.source
        }
    }
}

/// Why bytes are not a good frame.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkError {
    /// The first two octets are not 0x05 0x64 (carries the first two found).
    BadStart(u8, u8),
    /// A length below [`MIN_LENGTH`].
    BadLength(u8),
    /// The header CRC is wrong (carries the CRC sent).
    BadHeaderCrc(u16),
    /// A user data block CRC is wrong (carries the block index).
    BadBlockCrc(usize),
}

impl LinkError {
    /// The short reason counted with a malformed message.
    pub fn what(self) -> &'static str {
        match self {
            LinkError::BadStart(..) => "bad_start",
            LinkError::BadLength(_) => "bad_length",
            LinkError::BadHeaderCrc(_) => "bad_header_crc",
            LinkError::BadBlockCrc(_) => "bad_block_crc",
        }
    }
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            LinkError::BadStart(a, b) => write!(f, "DNP3 start octets {a:#04x} {b:#04x}, expected 0x05 0x64"),
            LinkError::BadLength(n) => write!(f, "DNP3 link length {n}, expected at least {MIN_LENGTH}"),
            LinkError::BadHeaderCrc(c) => write!(f, "DNP3 link header CRC {c:#06x} is wrong"),
            LinkError::BadBlockCrc(i) => write!(f, "DNP3 link user data block {i} CRC is wrong"),
        }
    }
}

impl std::error::Error for LinkError {}

/// Parses and checks the header at the start of `data`: `Ok(None)` when fewer
/// than [`HEADER_LEN`] bytes are there and those present are consistent.
pub fn parse_header(data: &[u8]) -> Result<Option<Header>, LinkError> {
    let first = data.first().copied();
    let second = data.get(1).copied();
    match (first, second) {
        (Some(0x05), Some(0x64) | None) | (None, _) => {}
        (Some(a), b) => return Err(LinkError::BadStart(a, b.unwrap_or_default())),
    }
    if let Some(&length) = data.get(2) {
        if length < MIN_LENGTH {
            return Err(LinkError::BadLength(length));
        }
    }
    let Some(h) = data.first_chunk::<HEADER_LEN>() else { return Ok(None) };
    let [_, _, length, control, d0, d1, s0, s1, c0, c1] = *h;
    // §9.2.4.2.2: the CRC covers the eight octets before it.
    if !crc_ok(h) {
        return Err(LinkError::BadHeaderCrc(u16::from_le_bytes([c0, c1])));
    }
    Ok(Some(Header {
        length,
        control: Control(control),
        destination: u16::from_le_bytes([d0, d1]),
        source: u16::from_le_bytes([s0, s1]),
    }))
}

/// One checked frame, borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The header.
    pub header: Header,
    /// The user data blocks as sent, each followed by its (checked) CRC.
    pub blocks: &'a [u8],
}

impl Frame<'_> {
    /// Copies the user data, CRCs removed, into `out`; returns its length
    /// (at most [`MAX_USER_DATA`]).
    pub fn user_data(&self, out: &mut [u8; MAX_USER_DATA]) -> usize {
        let mut n = 0;
        for block in self.blocks.chunks(BLOCK_LEN + 2) {
            let data = block.get(..block.len().saturating_sub(2)).unwrap_or_default();
            let Some(dst) = out.get_mut(n..n + data.len()) else { break };
            dst.copy_from_slice(data);
            n += data.len();
        }
        n
    }
}

/// Parses the whole frame at the start of `data`: `Ok(None)` when more bytes
/// are needed, with the frame's length once the header is known.
pub fn parse_frame(data: &[u8]) -> Result<Result<Frame<'_>, Option<usize>>, LinkError> {
    let Some(header) = parse_header(data)? else { return Ok(Err(None)) };
    let Some(frame) = data.get(..header.frame_len()) else { return Ok(Err(Some(header.frame_len()))) };
    let blocks = frame.get(HEADER_LEN..).unwrap_or_default();
    for (i, block) in blocks.chunks(BLOCK_LEN + 2).enumerate() {
        if !crc_ok(block) {
            return Err(LinkError::BadBlockCrc(i));
        }
    }
    Ok(Ok(Frame { header, blocks }))
}

/// What the framer found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framed<'a> {
    /// A whole, checked frame.
    Frame(Frame<'a>),
    /// A bad frame where one was expected; the framer now resynchronises.
    Malformed(LinkError),
}

/// Counters kept by a framer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FramerStats {
    /// Bytes dropped while hunting for a frame start.
    pub skipped_bytes: u64,
    /// Times the framer lost alignment (bad frame or gap).
    pub resyncs: u64,
}

/// Cuts one direction of a stream into frames, whatever the chunking.
#[derive(Clone, Debug, Default)]
pub struct Framer {
    /// A partial frame (or candidate start) carried between chunks; never
    /// longer than [`MAX_FRAME`].
    buf: Vec<u8>,
    /// Alignment lost: bad frames met now are not reported again.
    hunting: bool,
    /// Counters.
    pub stats: FramerStats,
}

impl Framer {
    /// A framer expecting a frame first.
    pub fn new() -> Self {
        Framer::default()
    }

    /// Bytes held between chunks.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Forgets a partial frame (the end of a datagram, or a gap) and hunts
    /// for the next start.
    pub fn reset(&mut self) {
        self.buf.clear();
        self.hunting = true;
        self.stats.resyncs += 1;
    }

    /// Feeds in-order bytes; calls `out` for every frame completed and every
    /// bad frame met, in stream order.
    pub fn push(&mut self, data: &[u8], out: &mut dyn FnMut(Framed<'_>)) {
        let mut data = data;
        while !self.buf.is_empty() && !data.is_empty() {
            // Top the buffer up with at most one frame's worth and run it; what
            // it does not keep is taken from `data` no further.
            let old = self.buf.len();
            let (head, _) = data.split_at_checked(MAX_FRAME.min(data.len())).unwrap_or((data, &[]));
            let mut held = std::mem::take(&mut self.buf);
            held.extend_from_slice(head);
            let used = self.run(&held, out);
            if used >= old {
                // Everything buffered before is done with: go on in `data`.
                data = data.get(used - old..).unwrap_or_default();
            } else {
                // A candidate start inside the old buffer still waits.
                self.buf = held.get(used..).unwrap_or_default().to_vec();
                data = data.get(head.len()..).unwrap_or_default();
            }
        }
        if self.buf.is_empty() {
            let used = self.run(data, out);
            self.buf = data.get(used..).unwrap_or_default().to_vec();
        }
    }

    /// Frames `data` from the current alignment; returns how many bytes were
    /// used (the rest is a partial frame or a candidate start).
    fn run(&mut self, data: &[u8], out: &mut dyn FnMut(Framed<'_>)) -> usize {
        let mut pos = 0;
        while let Some(rest) = data.get(pos..).filter(|r| !r.is_empty()) {
            if self.hunting {
                // Skip to the next 0x05 0x64, keeping a trailing 0x05.
                let skip = rest.windows(2).position(|w| w == START).unwrap_or_else(|| {
                    if rest.last() == Some(&START[0]) {
                        rest.len() - 1
                    } else {
                        rest.len()
                    }
                });
                self.stats.skipped_bytes += skip as u64;
                pos += skip;
                if data.get(pos..).is_none_or(|r| r.len() < 2) {
                    return pos;
                }
            }
            let rest = data.get(pos..).unwrap_or_default();
            match parse_frame(rest) {
                Ok(Ok(frame)) => {
                    self.hunting = false;
                    pos += frame.header.frame_len();
                    out(Framed::Frame(frame));
                }
                Ok(Err(_)) => return pos,
                Err(e) => {
                    if !self.hunting {
                        self.hunting = true;
                        self.stats.resyncs += 1;
                        out(Framed::Malformed(e));
                    }
                    // §9.2.4: a bad frame is discarded and the search for the
                    // start octets resumes at the next octet.
                    pos += 1;
                    self.stats.skipped_bytes += 1;
                }
            }
        }
        pos
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    /// Request link status, master 1 to outstation 10: the frame from
    /// `DNP3-RequestLinkStatus.pcap`, CRC computed here.
    fn link_status_request() -> Vec<u8> {
        let mut f = vec![
            0x05, 0x64, // start
            0x05, // length: control + addresses, no user data
            0xc9, // control: DIR, PRM, function 9 request link status
            0x0a, 0x00, // destination 10
            0x01, 0x00, // source 1
        ];
        let c = crc(&f);
        f.extend_from_slice(&c.to_le_bytes()); // header CRC
        f
    }

    /// A frame with `user` as user data, CRC blocks added.
    fn frame(control: u8, dst: u16, src: u16, user: &[u8]) -> Vec<u8> {
        let mut f = vec![0x05, 0x64, 5 + user.len() as u8, control];
        f.extend_from_slice(&dst.to_le_bytes());
        f.extend_from_slice(&src.to_le_bytes());
        let c = crc(&f);
        f.extend_from_slice(&c.to_le_bytes());
        for block in user.chunks(BLOCK_LEN) {
            f.extend_from_slice(block);
            f.extend_from_slice(&crc(block).to_le_bytes());
        }
        f
    }

    fn frame_all(f: &mut Framer, chunks: &[&[u8]]) -> Vec<Result<(Header, Vec<u8>), LinkError>> {
        let mut got = Vec::new();
        for c in chunks {
            f.push(c, &mut |x| {
                got.push(match x {
                    Framed::Frame(fr) => {
                        let mut b = [0; MAX_USER_DATA];
                        let n = fr.user_data(&mut b);
                        Ok((fr.header, b[..n].to_vec()))
                    }
                    Framed::Malformed(e) => Err(e),
                })
            });
        }
        got
    }

    #[test]
    fn computes_the_crc_dnp_check_value() {
        // The catalogue check value of CRC-16/DNP over "123456789".
        assert_eq!(crc(b"123456789"), 0xea82);
        assert_eq!(crc(&[]), 0xffff);
        // Header of a real read request (dnp3_read.pcap frame 4): length 20,
        // DIR PRM unconfirmed user data, to 2 from 3; sent CRC 45 03.
        assert_eq!(crc(&[0x05, 0x64, 0x14, 0xc4, 0x02, 0x00, 0x03, 0x00]).to_le_bytes(), [0x45, 0x03]);
        // Its one user data block: transport c7, read class 1/2/3/0; sent CRC 42 ac.
        let block = [0xc7, 0xc8, 0x01, 0x3c, 0x02, 0x06, 0x3c, 0x03, 0x06, 0x3c, 0x04, 0x06, 0x3c, 0x01, 0x06];
        assert_eq!(crc(&block).to_le_bytes(), [0x42, 0xac]);
    }

    #[test]
    fn reads_a_header_and_who_is_master() {
        let h = parse_header(&link_status_request()).unwrap().unwrap();
        assert_eq!(h.destination, 10);
        assert_eq!(h.source, 1);
        assert!(h.control.from_master() && h.control.primary());
        assert_eq!(h.control.function(), LinkFunction::REQUEST_LINK_STATUS);
        assert_eq!((h.master(), h.outstation()), (1, 10));
        assert_eq!(h.frame_len(), 10);
        assert_eq!(h.control.function().name(true), "request_status");
    }

    #[test]
    fn sizes_a_frame_with_one_crc_per_sixteen_bytes() {
        let f = frame(0xc4, 1, 2, &[0xaa; 17]);
        let h = parse_header(&f).unwrap().unwrap();
        assert_eq!(h.user_data_len(), 17);
        assert_eq!(h.frame_len(), 10 + 17 + 4);
        assert_eq!(f.len(), h.frame_len());
        assert_eq!(MAX_FRAME, 292);
    }

    #[test]
    fn rejects_bad_start_length_and_crcs() {
        assert_eq!(parse_header(&[0x05, 0x65]), Err(LinkError::BadStart(0x05, 0x65)));
        assert_eq!(parse_header(&[0x05]), Ok(None));
        assert_eq!(parse_header(&[0x05, 0x64, 0x04]), Err(LinkError::BadLength(4)));
        let mut f = link_status_request();
        f[8] ^= 0xff;
        assert!(matches!(parse_header(&f), Err(LinkError::BadHeaderCrc(_))));
        let mut f = frame(0xc4, 1, 2, &[1, 2, 3]);
        f[11] ^= 1; // second user data octet
        assert_eq!(parse_frame(&f), Err(LinkError::BadBlockCrc(0)));
    }

    #[test]
    fn yields_every_frame_of_a_chunk_and_buffers_the_tail() {
        let one = frame(0xc4, 1, 2, &[0xc0, 0xc1, 0x01, 0x3c, 0x02, 0x06]);
        let mut stream = one.clone();
        stream.extend_from_slice(&one);
        stream.extend_from_slice(&one[..7]);
        let mut f = Framer::new();
        assert_eq!(frame_all(&mut f, &[&stream]).len(), 2);
        assert_eq!(f.buffered(), 7);
        let got = frame_all(&mut f, &[&one[7..]]);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].as_ref().unwrap().1, vec![0xc0, 0xc1, 0x01, 0x3c, 0x02, 0x06]);
        assert_eq!(f.buffered(), 0);
    }

    #[test]
    fn resynchronises_byte_by_byte_after_a_bad_header_crc() {
        let good = link_status_request();
        let mut bad = good.clone();
        bad[9] ^= 0x55; // header CRC broken
        let mut stream = vec![0x05]; // a lone start octet
        stream.extend_from_slice(&bad);
        stream.extend_from_slice(&[0x00, 0x05, 0x64]); // junk with a false start
        stream.extend_from_slice(&good);
        let mut f = Framer::new();
        let got = frame_all(&mut f, &[&stream]);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0], Err(LinkError::BadStart(0x05, 0x05)));
        assert_eq!(got[1].as_ref().unwrap().0.source, 1);
        // The same bytes byte by byte.
        let mut f = Framer::new();
        let chunks: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(frame_all(&mut f, &chunks).len(), 2);
    }

    #[test]
    fn a_bad_block_crc_does_not_swallow_the_next_frame() {
        let mut bad = frame(0xc4, 1, 2, &[9; 20]);
        bad[12] ^= 1;
        let mut stream = bad;
        stream.extend_from_slice(&link_status_request());
        let mut f = Framer::new();
        let got = frame_all(&mut f, &[&stream]);
        assert_eq!(got[0], Err(LinkError::BadBlockCrc(0)));
        assert_eq!(got.len(), 2);
        assert!(got[1].is_ok());
    }
}
