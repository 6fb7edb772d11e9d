//! IEEE C37.118.2 frames: the common 14-byte header (SYNC with frame type
//! and version, FRAMESIZE, IDCODE, SOC, FRACSEC; big-endian), the frame
//! check (CRC-16/CCITT-FALSE over everything before it), and what command,
//! header and configuration frames say.
//!
//! The [`Scanner`] cuts a TCP stream into frames, trusting a frame's length
//! only once its check passes.

use crate::cursor::Cursor;

/// The first byte of every frame.
pub const SYNC: u8 = 0xaa;
/// The common header: SYNC (2), FRAMESIZE (2), IDCODE (2), SOC (4), FRACSEC (4).
pub const HEADER_LEN: usize = 14;
/// The frame check at the end.
pub const CHK_LEN: usize = 2;
/// The shortest frame: a header and its check (an empty header frame).
pub const MIN_FRAME: usize = HEADER_LEN + CHK_LEN;
/// FRAMESIZE is 16 bits: no frame is longer.
pub const MAX_FRAME: usize = u16::MAX as usize;

/// CRC-16/CCITT-FALSE (C37.118.2-2011 Annex B: polynomial 0x1021, initial
/// value 0xFFFF), from the `crc` crate's slice-by-16 tables, built at compile
/// time. A `static`: as a `const` each use copied the table, and the
/// byte-at-a-time table cost 1,500 instructions a 60-byte frame.
static CRC: crc::Crc<u16, crc::Table<16>> = crc::Crc::<u16, crc::Table<16>>::new(&crc::CRC_16_IBM_3740);

/// The frame type (SYNC bits 6-4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameType {
    /// Measurements.
    Data,
    /// Human-readable text about the data source.
    Header,
    /// Configuration 1: what the PMU can send.
    Config1,
    /// Configuration 2: what it sends.
    Config2,
    /// A command, from a PDC or other client.
    Command,
    /// Configuration 3 (C37.118.2-2011): names of any length, position, class.
    Config3,
}

impl FrameType {
    /// The type of SYNC's second byte, or `None` for the reserved 6 and 7.
    pub fn of(sync: u8) -> Option<FrameType> {
        Some(match (sync >> 4) & 0x07 {
            0 => FrameType::Data,
            1 => FrameType::Header,
            2 => FrameType::Config1,
            3 => FrameType::Config2,
            4 => FrameType::Command,
            5 => FrameType::Config3,
            _ => return None,
        })
    }

    /// The number C37.118.2 gives the type.
    pub fn number(self) -> u8 {
        match self {
            FrameType::Data => 0,
            FrameType::Header => 1,
            FrameType::Config1 => 2,
            FrameType::Config2 => 3,
            FrameType::Command => 4,
            FrameType::Config3 => 5,
        }
    }
}

/// The common header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// SYNC's second byte: bit 7 zero, frame type, version.
    pub sync: u8,
    /// The frame type.
    pub kind: FrameType,
    /// The version (1: C37.118-2005, 2: C37.118.2-2011).
    pub version: u8,
    /// The whole frame's length, check included.
    pub size: u16,
    /// The data stream's id (a PMU's, or a PDC's for its combined stream;
    /// in a command, the stream it is sent to).
    pub idcode: u16,
    /// Second of century.
    pub soc: u32,
    /// Time quality and fraction of second.
    pub fracsec: u32,
}

/// Why bytes cannot start a frame.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The first byte is not SYNC's 0xAA.
    BadSync,
    /// A reserved frame type (6, 7) or bit 7 of the second byte set.
    BadType(u8),
    /// FRAMESIZE shorter than a header and check.
    TooShort(u16),
}

impl FrameError {
    /// The short reason counted with a malformed message.
    pub fn what(self) -> &'static str {
        match self {
            FrameError::BadSync => "bad_sync",
            FrameError::BadType(_) => "bad_frame_type",
            FrameError::TooShort(_) => "too_short",
        }
    }
}

/// The header at the start of `data`: `Ok(None)` with fewer than
/// [`HEADER_LEN`] bytes.
pub fn parse_header(data: &[u8]) -> Result<Option<Header>, FrameError> {
    let mut c = Cursor::new(data);
    let Some(first) = c.u8() else { return Ok(None) };
    if first != SYNC {
        return Err(FrameError::BadSync);
    }
    let Some(sync) = c.u8() else { return Ok(None) };
    let kind = FrameType::of(sync).filter(|_| sync & 0x80 == 0).ok_or(FrameError::BadType(sync))?;
    let fields = (|| Some((c.be_u16()?, c.be_u16()?, c.be_u32()?, c.be_u32()?)))();
    let Some((size, idcode, soc, fracsec)) = fields else { return Ok(None) };
    if usize::from(size) < MIN_FRAME {
        return Err(FrameError::TooShort(size));
    }
    Ok(Some(Header { sync, kind, version: sync & 0x0f, size, idcode, soc, fracsec }))
}

impl Header {
    /// A header of a known version (1 to 3), and for a command frame a size
    /// of 18 or more: what the search for a frame takes as a start.
    pub fn sound(&self) -> bool {
        (1..=3).contains(&self.version) && (self.kind != FrameType::Command || self.size >= 18)
    }
}

/// Whether `frame` (a whole frame, its check last) passes its check.
pub fn check_ok(frame: &[u8]) -> bool {
    let Some((covered, sent)) = frame.split_last_chunk::<CHK_LEN>() else { return false };
    CRC.checksum(covered) == u16::from_be_bytes(*sent)
}

/// Cuts one direction of a stream into frames that pass their check.
///
/// Not the shared length-prefixed framer: a frame's length is trusted only
/// once its check passes. Where it fails (noise, a frame cut by a lost
/// segment, a SYNC byte inside other bytes), the shared framer would have
/// skipped the whole length that header claimed, up to 64 KiB of good
/// frames; here the search goes on from the byte after the false start,
/// over the bytes already held. At 30-60 frames a second of tens to
/// hundreds of bytes, holding them costs nothing measurable.
#[derive(Debug, Default)]
pub struct Scanner {
    /// Bytes not yet framed: at most one frame's claimed length, and the chunk
    /// that completed it.
    held: Vec<u8>,
    /// True after a failure or gap: false starts are passed over silently.
    hunting: bool,
    /// Bytes passed over while hunting.
    skipped: u64,
}

impl Scanner {
    /// Feeds in-order bytes; calls `out` with each frame's header, the bytes
    /// after it (its check last) and whether the check passed (a frame that
    /// fails is given only where one was expected, not while hunting).
    pub fn push(&mut self, data: &[u8], out: &mut dyn FnMut(&Header, &[u8], bool)) {
        if self.held.is_empty() {
            // Frames read in place; only an incomplete tail is kept.
            let used = self.scan(data, out);
            self.held.extend_from_slice(data.get(used..).unwrap_or_default());
        } else {
            self.held.extend_from_slice(data);
            let held = std::mem::take(&mut self.held);
            let used = self.scan(&held, out);
            self.held = held;
            self.held.drain(..used.min(self.held.len()));
        }
    }

    /// Frames `bytes` from the start; returns how many were used (the rest
    /// is an incomplete frame, or fewer bytes than a header).
    fn scan(&mut self, bytes: &[u8], out: &mut dyn FnMut(&Header, &[u8], bool)) -> usize {
        let mut at = 0;
        loop {
            let rest = bytes.get(at..).unwrap_or_default();
            let Some(start) = rest.iter().position(|&b| b == SYNC) else {
                self.pass_over(rest.len());
                return bytes.len();
            };
            self.pass_over(start);
            at += start;
            let rest = bytes.get(at..).unwrap_or_default();
            let h = match parse_header(rest) {
                Ok(Some(h)) if h.sound() => h,
                Ok(None) => return at,
                // Not a header: the search goes on after this byte.
                _ => {
                    self.false_start();
                    at += 1;
                    continue;
                }
            };
            let Some(whole) = rest.get(..usize::from(h.size)) else {
                // Incomplete: wait for the rest, unless a whole frame that
                // passes its check starts inside the bytes this one claims
                // (then this was a false start, and waiting for its length
                // would hold real frames back).
                if whole_frame_after(rest) {
                    self.false_start();
                    at += 1;
                    continue;
                }
                return at;
            };
            let body = whole.get(HEADER_LEN..).unwrap_or_default();
            if check_ok(whole) {
                out(&h, body, true);
                self.hunting = false;
                at += whole.len();
            } else {
                if !self.hunting {
                    out(&h, body, false);
                }
                self.false_start();
                at += 1;
            }
        }
    }

    /// Bytes of this direction are missing: hunt for the next frame.
    pub fn gap(&mut self) {
        self.held.clear();
        self.hunting = true;
    }

    /// Bytes passed over while hunting.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    fn pass_over(&mut self, n: usize) {
        if n > 0 {
            self.hunting = true;
            self.skipped += n as u64;
        }
    }

    fn false_start(&mut self) {
        self.hunting = true;
        self.skipped += 1;
    }
}

/// Whether a whole frame that passes its check starts after the first byte
/// of `bytes`.
fn whole_frame_after(bytes: &[u8]) -> bool {
    let starts = bytes.iter().enumerate().skip(1).filter(|(_, &b)| b == SYNC).map(|(i, _)| i);
    for i in starts {
        let Some(rest) = bytes.get(i..) else { break };
        let Ok(Some(h)) = parse_header(rest) else { continue };
        if !h.sound() {
            continue;
        }
        if rest.get(..usize::from(h.size)).is_some_and(check_ok) {
            return true;
        }
    }
    false
}

/// Station names, channel names: 16 bytes, padded with spaces (or NULs).
const NAME_LEN: usize = 16;

/// One PMU's block of a configuration 1 or 2 frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PmuConfig {
    /// Station name, trimmed.
    pub station: String,
    /// The PMU's own id (the data source).
    pub idcode: u16,
    /// Data format: bits for frequency, analog and phasor formats, notation.
    pub format: u16,
    /// Phasors, analog values and digital status words it sends.
    pub phasors: u16,
    /// Analog values.
    pub analogs: u16,
    /// Digital status words.
    pub digitals: u16,
    /// The first channel names (up to 8), trimmed.
    pub channels: Vec<String>,
    /// Nominal frequency: 50 or 60 Hz.
    pub nominal_hz: u8,
    /// Configuration change count.
    pub config_count: u16,
}

impl PmuConfig {
    /// The length of this PMU's block in a data frame: STAT, its phasors
    /// (two 16-bit integers or two floats each), FREQ and DFREQ, analog
    /// values and digital status words (C37.118.2-2011 Table 5), by the
    /// FORMAT bits (1: phasors as floats, 2: analogs as floats, 3: FREQ and
    /// DFREQ as floats).
    pub fn data_block_len(&self) -> usize {
        let phasor = if self.format & 0x0002 != 0 { 8 } else { 4 };
        let analog = if self.format & 0x0004 != 0 { 4 } else { 2 };
        let freq = if self.format & 0x0008 != 0 { 8 } else { 4 };
        2 + phasor * usize::from(self.phasors)
            + freq
            + analog * usize::from(self.analogs)
            + 2 * usize::from(self.digitals)
    }
}

/// A configuration 1 or 2 frame's data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// TIME_BASE: the resolution of FRACSEC.
    pub time_base: u32,
    /// The PMUs whose blocks were read whole.
    pub pmus: Vec<PmuConfig>,
    /// Frames a second (negative: seconds per frame), when the frame reads to its end.
    pub data_rate: Option<i16>,
    /// NUM_PMU, as the frame states it.
    pub num_pmu: u16,
}

/// Channel names kept per PMU.
const MAX_CHANNELS: usize = 8;
/// PMU blocks read per frame: a PDC combines a few dozen at most.
const MAX_PMUS: u16 = 256;

fn name(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim_matches(|c: char| c == ' ' || c == '\0').to_string()
}

/// Reads a configuration 1 or 2 frame's data (the bytes after the header,
/// without the check). `None` when even NUM_PMU is missing; PMU blocks cut
/// short end the list.
pub fn parse_config(body: &[u8]) -> Option<Config> {
    let mut c = Cursor::new(body);
    let time_base = c.be_u32()?;
    let num_pmu = c.be_u16()?;
    let mut pmus = Vec::new();
    let mut whole = true;
    for _ in 0..num_pmu.min(MAX_PMUS) {
        let block = (|| {
            let station = name(c.take(NAME_LEN)?);
            let idcode = c.be_u16()?;
            let format = c.be_u16()?;
            let phasors = c.be_u16()?;
            let analogs = c.be_u16()?;
            let digitals = c.be_u16()?;
            let names = usize::from(phasors) + usize::from(analogs) + 16 * usize::from(digitals);
            let mut channels = Vec::new();
            for i in 0..names {
                let n = c.take(NAME_LEN)?;
                if i < MAX_CHANNELS {
                    channels.push(name(n));
                }
            }
            // PHUNIT, ANUNIT, DIGUNIT: 4 bytes each.
            c.skip(4 * (usize::from(phasors) + usize::from(analogs) + usize::from(digitals)))?;
            let fnom = c.be_u16()?;
            let config_count = c.be_u16()?;
            Some(PmuConfig {
                station,
                idcode,
                format,
                phasors,
                analogs,
                digitals,
                channels,
                nominal_hz: if fnom & 1 == 1 { 50 } else { 60 },
                config_count,
            })
        })();
        match block {
            Some(p) => pmus.push(p),
            None => {
                whole = false;
                break;
            }
        }
    }
    let data_rate = if whole && num_pmu <= MAX_PMUS { c.be_u16().map(|r| r as i16) } else { None };
    Some(Config { time_base, pmus, data_rate, num_pmu })
}

/// Command codes (C37.118.2-2011 Table 15) and their names.
pub fn command_name(cmd: u16) -> &'static str {
    match cmd {
        1 => "turn_off_transmission",
        2 => "turn_on_transmission",
        3 => "send_header",
        4 => "send_config_1",
        5 => "send_config_2",
        6 => "send_config_3",
        8 => "extended_frame",
        0x0100..=0x0fff => "user_command",
        _ => "reserved_command",
    }
}

/// CRC-16/CCITT-FALSE of `data`: a frame's check is this over the frame
/// before it.
pub fn crc(data: &[u8]) -> u16 {
    CRC.checksum(data)
}
