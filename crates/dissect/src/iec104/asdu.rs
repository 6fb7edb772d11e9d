//! The ASDU (IEC 60870-5-101:2003 §7.1-7.3 with the field sizes IEC
//! 60870-5-104:2006 §9 fixes): the data unit identifier, the information
//! objects, and the information elements an OT engineer reads in a command.
//!
//! Data unit identifier, 6 octets: type identification ([`TypeId`]), variable
//! structure qualifier (SQ bit and number of objects), cause of transmission
//! (two octets: [`Cot`] and originator address), common address of ASDU (two
//! octets, little endian). Information objects follow: with SQ = 0 each has
//! its 3-octet information object address (IOA) and its elements; with SQ = 1
//! one IOA is followed by the elements of that address and the next ones.
//!
//! Owns the walk over the objects, which is possible when the type's element
//! length is known (every standard type but the security ones; segments say
//! their own length), and decoding the elements of commands, set points,
//! parameters, resets, clock synchronization and file transfer into
//! [`Details`]. Monitored values are not decoded.
//!
//! Three outcomes: fewer octets than the identifier or the objects need is an
//! [`AsduError`]; octets after the last object parse, and are counted by
//! [`Objects::trailing`]; the rest is valid.

use super::cot::Cot;
use super::types::{ElementSize, TypeId};
use crate::cursor::Cursor;
use std::fmt;

/// Length of the data unit identifier with the sizes of IEC 60870-5-104 §9.
pub const HEADER_LEN: usize = 6;
/// Length of an information object address (IEC 60870-5-104 §9).
pub const IOA_LEN: usize = 3;

/// The data unit identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Type identification.
    pub type_id: TypeId,
    /// SQ: the objects are a sequence of elements at consecutive addresses.
    pub sequence: bool,
    /// Number of objects (or elements, with SQ), 0..=127.
    pub count: u8,
    /// Cause of transmission, P/N and T.
    pub cot: Cot,
    /// Originator address (0: default, or no originator).
    pub originator: u8,
    /// Common address of ASDU: the station (or sector) addressed.
    pub common_address: u16,
}

/// Why an ASDU cannot be read.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AsduError {
    /// Fewer than [`HEADER_LEN`] octets.
    ShortHeader(usize),
    /// The objects the qualifier announces need more octets than there are.
    Truncated {
        /// Octets after the identifier needed to finish the first object
        /// cut short (the walk stops there).
        need: usize,
        /// Octets there are.
        have: usize,
    },
}

impl AsduError {
    /// The short reason counted with a malformed message.
    pub fn what(self) -> &'static str {
        match self {
            AsduError::ShortHeader(_) => "short_asdu_header",
            AsduError::Truncated { .. } => "truncated_asdu",
        }
    }
}

impl fmt::Display for AsduError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            AsduError::ShortHeader(n) => write!(f, "ASDU of {n} octets, the identifier needs {HEADER_LEN}"),
            AsduError::Truncated { need, have } => write!(f, "ASDU objects need {need} octets, {have} present"),
        }
    }
}

impl std::error::Error for AsduError {}

/// One ASDU, borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Asdu<'a> {
    /// The data unit identifier.
    pub header: Header,
    /// The octets after it: the information objects.
    pub body: &'a [u8],
}

/// Reads the data unit identifier of `data` (an I-format APDU after its
/// control field).
pub fn parse(data: &[u8]) -> Result<Asdu<'_>, AsduError> {
    let mut c = Cursor::new(data);
    let (Some(type_id), Some(vsq), Some(cot), Some(originator), Some([ca_lo, ca_hi])) =
        (c.u8(), c.u8(), c.u8(), c.u8(), c.array::<2>())
    else {
        return Err(AsduError::ShortHeader(data.len()));
    };
    let header = Header {
        type_id: TypeId(type_id),
        // §7.2.2: bit 8 SQ, bits 1-7 the number of objects or elements.
        sequence: vsq & 0x80 != 0,
        count: vsq & 0x7f,
        cot: Cot::from_octet(cot),
        originator,
        // §7.2.4, IEC 60870-5-104 §9: two octets, least significant first.
        common_address: u16::from_le_bytes([ca_lo, ca_hi]),
    };
    Ok(Asdu { header, body: c.rest() })
}

/// A 3-octet information object address, least significant octet first.
fn ioa([lo, mid, hi]: [u8; 3]) -> u32 {
    u32::from_le_bytes([lo, mid, hi, 0])
}

impl<'a> Asdu<'a> {
    /// The first information object address, when the body has one.
    pub fn first_ioa(&self) -> Option<u32> {
        self.body.first_chunk::<IOA_LEN>().map(|b| ioa(*b))
    }

    /// The information objects, checked against the qualifier; `None` for a
    /// type whose element length is unknown (security types, undefined
    /// types), which is not walked.
    pub fn objects(&self) -> Option<Result<Checked<'a>, AsduError>> {
        let size = self.header.type_id.info()?.size;
        if size == ElementSize::Variable {
            return None;
        }
        let objects = Objects { size, sequence: self.header.sequence, count: self.header.count, data: self.body };
        // Walk once to check the length: every object whole, and what is left.
        let mut used = 0;
        for o in objects.iter() {
            match o {
                Ok((_, end)) => used = end,
                Err(e) => return Some(Err(e)),
            }
        }
        let (mine, rest) = self.body.split_at_checked(used).unwrap_or((self.body, &[]));
        Some(Ok(Checked { objects: Objects { data: mine, ..objects }, trailing: rest.len() }))
    }
}

/// The information objects of an ASDU whose length was checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Objects<'a> {
    size: ElementSize,
    sequence: bool,
    count: u8,
    data: &'a [u8],
}

/// One information object: its address and one element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Object<'a> {
    /// Information object address (with SQ, the first one plus the index).
    pub ioa: u32,
    /// The element's octets.
    pub element: &'a [u8],
}

/// The objects and how many octets follow them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checked<'a> {
    /// The objects, each whole.
    pub objects: Objects<'a>,
    /// Octets after the last object (the APDU length and the qualifier disagree).
    pub trailing: usize,
}

impl<'a> Objects<'a> {
    /// The objects in order, each with the end offset of its element.
    fn iter(&self) -> impl Iterator<Item = Result<(Object<'a>, usize), AsduError>> + 'a {
        let Objects { size, sequence, count, data } = *self;
        let mut c = Cursor::new(data);
        let mut next_ioa: Option<u32> = None;
        let mut left = count;
        let mut failed = false;
        std::iter::from_fn(move || {
            if left == 0 || failed {
                return None;
            }
            left -= 1;
            let truncated = |need: usize| AsduError::Truncated { need, have: data.len() };
            let address = match (sequence, next_ioa) {
                // §7.2.2.1 SQ = 1: the next element's address is one more.
                (true, Some(a)) => a.wrapping_add(1) & 0x00ff_ffff,
                _ => match c.array::<IOA_LEN>() {
                    Some(b) => ioa(b),
                    None => {
                        failed = true;
                        return Some(Err(truncated(data.len() - c.remaining() + IOA_LEN)));
                    }
                },
            };
            next_ioa = Some(address);
            let len = match size {
                ElementSize::Fixed(n) => n,
                // F_SG_NA_1: NOF (2), NOS (1), LOS (1), then LOS octets.
                ElementSize::Segment => {
                    let los = c.rest().get(3).copied().unwrap_or(0);
                    4 + usize::from(los)
                }
                ElementSize::Variable => 0,
            };
            let Some(element) = c.take(len) else {
                failed = true;
                return Some(Err(truncated(data.len() - c.remaining() + len)));
            };
            Some(Ok((Object { ioa: address, element }, data.len() - c.remaining())))
        })
    }

    /// The objects in order.
    pub fn each(&self) -> impl Iterator<Item = Object<'a>> + 'a {
        // The length was checked when these were made: every object is whole.
        self.iter().map_while(Result::ok).map(|(o, _)| o)
    }

    /// The first object.
    pub fn first(&self) -> Option<Object<'a>> {
        self.each().next()
    }

    /// Number of objects (or elements, with SQ).
    pub fn count(&self) -> u8 {
        self.count
    }
}

/// CP56Time2a (IEC 60870-5-101 §7.2.6.18): milliseconds, minutes, hours,
/// day of month and week, month, two-digit year.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cp56Time {
    /// Milliseconds within the minute, 0..=59999.
    pub millis: u16,
    /// Minutes, 0..=59.
    pub minute: u8,
    /// IV: the time is invalid.
    pub invalid: bool,
    /// Hours, 0..=23.
    pub hour: u8,
    /// SU: summer time.
    pub summer: bool,
    /// Day of month, 1..=31.
    pub day: u8,
    /// Day of week, 1..=7 (0: not used).
    pub weekday: u8,
    /// Month, 1..=12.
    pub month: u8,
    /// The 7-bit year (IEC 60870-5-101: 0..=99, century implicit).
    pub year: u8,
}

impl Cp56Time {
    /// Reads the 7 octets.
    pub fn parse(b: [u8; 7]) -> Self {
        let [ms_lo, ms_hi, min, hour, day, month, year] = b;
        Cp56Time {
            millis: u16::from_le_bytes([ms_lo, ms_hi]),
            minute: min & 0x3f,
            invalid: min & 0x80 != 0,
            hour: hour & 0x1f,
            summer: hour & 0x80 != 0,
            day: day & 0x1f,
            weekday: day >> 5,
            month: month & 0x0f,
            year: year & 0x7f,
        }
    }
}

impl Cp56Time {
    /// The full year. The standard's two digits leave the century implicit:
    /// below 70 it is 20xx, from 70 on the field counts from 1900, which also
    /// reads the stations that send years since 1900 (109 for 2009, as in
    /// `090813_diverse.pcap`). tshark reads the field the same way.
    pub fn full_year(&self) -> u16 {
        let y = u16::from(self.year);
        if y < 70 {
            2000 + y
        } else {
            1900 + y
        }
    }
}

impl fmt::Display for Cp56Time {
    /// `2009-08-13 14:27:05.123`, with ` invalid` or ` summer` appended when set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}",
            self.full_year(),
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.millis / 1000,
            self.millis % 1000
        )?;
        if self.summer {
            f.write_str(" summer")?;
        }
        if self.invalid {
            f.write_str(" invalid")?;
        }
        Ok(())
    }
}

/// What an element of a command, set point, parameter, reset, clock
/// synchronization or file transfer says, as text for a record.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Details {
    /// The value commanded or set: `on`/`off` (single), `off`/`on` (double,
    /// DCS 1/2), `lower`/`higher` (regulating step, RCS 1/2), `not_permitted_N`
    /// for DCS/RCS 0 and 3, a number (normalized, scaled, float, a parameter's
    /// value, a delay in ms), or `0x` and 8 hex digits (bitstring).
    pub value: Option<String>,
    /// S/E: true for select, false for execute (commands and set points).
    pub select: Option<bool>,
    /// The qualifier: QU of a command (`no_pulse_defined`, `short_pulse`,
    /// `long_pulse`, `persistent`, `qu_N`), QL of a set point (its number),
    /// QRP, QPM's kind of parameter, QPA, or SCQ/AFQ of a file message.
    pub qualifier: Option<String>,
    /// The time tag or the clock value (CP56Time2a).
    pub time: Option<Cp56Time>,
    /// Name of file (NOF) of a file transfer message.
    pub file: Option<u16>,
    /// Name of section (NOS).
    pub section: Option<u8>,
    /// Valid but against the standard: a DCS or RCS value 0 or 3 ("not
    /// permitted", §7.2.6.16-17).
    pub not_permitted: bool,
}

/// The qualifier of command (QOC, §7.2.6.26), bits 3-7 of SCO, DCO and RCO.
fn qu_name(qu: u8) -> String {
    match qu {
        0 => "no_pulse_defined".to_string(),
        1 => "short_pulse".to_string(),
        2 => "long_pulse".to_string(),
        3 => "persistent".to_string(),
        n => format!("qu_{n}"),
    }
}

/// A normalized value (NVA): a signed fraction of 2^15.
fn normalized(b: [u8; 2]) -> String {
    (f64::from(i16::from_le_bytes(b)) / 32768.0).to_string()
}

/// Decodes the element of a type whose meaning an OT engineer reads in a
/// record; `None` for monitored data and the types this does not decode.
pub fn details(type_id: TypeId, element: &[u8]) -> Option<Details> {
    let mut d = Details::default();
    let mut c = Cursor::new(element);
    let time_tag = |e: &[u8]| e.last_chunk::<7>().map(|b| Cp56Time::parse(*b));
    match type_id.0 {
        // SCO, DCO, RCO (§7.2.6.15-17): value bits 1-2, QU bits 3-7, S/E bit 8.
        45..=47 | 58..=60 => {
            let b = c.u8()?;
            let v = b & 0x03;
            d.value = Some(match (type_id.0, v) {
                (45 | 58, _) => if b & 0x01 != 0 { "on" } else { "off" }.to_string(),
                (46 | 59, 1) => "off".to_string(),
                (46 | 59, 2) => "on".to_string(),
                (47 | 60, 1) => "lower".to_string(),
                (47 | 60, 2) => "higher".to_string(),
                (_, v) => {
                    d.not_permitted = true;
                    format!("not_permitted_{v}")
                }
            });
            d.qualifier = Some(qu_name((b >> 2) & 0x1f));
            d.select = Some(b & 0x80 != 0);
            if type_id.0 >= 58 {
                d.time = time_tag(element);
            }
        }
        // Set points: value, then QOS (§7.2.6.39): QL bits 1-7, S/E bit 8.
        48..=50 | 61..=63 => {
            d.value = Some(match type_id.0 {
                48 | 61 => normalized(c.array()?),
                49 | 62 => i16::from_le_bytes(c.array()?).to_string(),
                _ => f32::from_le_bytes(c.array()?).to_string(),
            });
            let qos = c.u8()?;
            d.qualifier = Some((qos & 0x7f).to_string());
            d.select = Some(qos & 0x80 != 0);
            if type_id.0 >= 61 {
                d.time = time_tag(element);
            }
        }
        // Bitstring of 32 bits (BSI).
        51 | 64 => {
            d.value = Some(format!("{:#010x}", u32::from_le_bytes(c.array()?)));
            if type_id.0 == 64 {
                d.time = time_tag(element);
            }
        }
        // Clock synchronization: the time to set.
        103 => d.time = Some(Cp56Time::parse(c.array()?)),
        // Reset process: QRP (§7.2.6.27).
        105 => {
            d.qualifier = Some(match c.u8()? {
                1 => "general_reset".to_string(),
                2 => "reset_event_buffer".to_string(),
                n => format!("qrp_{n}"),
            })
        }
        // Delay acquisition: CP16Time2a, milliseconds.
        106 => d.value = Some(u16::from_le_bytes(c.array()?).to_string()),
        // Parameters of measured values: value, then QPM (§7.2.6.24): KPA
        // bits 1-6, LPC bit 7, POP bit 8.
        110..=112 => {
            d.value = Some(match type_id.0 {
                110 => normalized(c.array()?),
                111 => i16::from_le_bytes(c.array()?).to_string(),
                _ => f32::from_le_bytes(c.array()?).to_string(),
            });
            let qpm = c.u8()?;
            let mut q = match qpm & 0x3f {
                1 => "threshold".to_string(),
                2 => "smoothing_factor".to_string(),
                3 => "low_limit".to_string(),
                4 => "high_limit".to_string(),
                n => format!("kpa_{n}"),
            };
            if qpm & 0x40 != 0 {
                q.push_str(",local_parameter_change");
            }
            if qpm & 0x80 != 0 {
                q.push_str(",not_in_operation");
            }
            d.qualifier = Some(q);
        }
        // Parameter activation: QPA (§7.2.6.25).
        113 => {
            d.qualifier = Some(match c.u8()? {
                1 => "activate_loaded_parameters".to_string(),
                2 => "activate_object_parameter".to_string(),
                3 => "activate_cyclic_transmission".to_string(),
                n => format!("qpa_{n}"),
            })
        }
        // File transfer: NOF (2), then for all but file ready and the
        // directory NOS (1); call file SCQ (§7.2.6.30), ack file AFQ (§7.2.6.32).
        120..=127 => {
            d.file = Some(u16::from_le_bytes(c.array()?));
            if matches!(type_id.0, 121..=125) {
                d.section = Some(c.u8()?);
            }
            match type_id.0 {
                122 => d.qualifier = Some(scq_name(c.u8()?)),
                124 => d.qualifier = Some(afq_name(c.u8()?)),
                _ => {}
            }
            // The directory's creation time after NOF, LOF and SOF; the query
            // log's start of range after NOF.
            let at = match type_id.0 {
                126 => Some(6),
                127 => Some(2),
                _ => None,
            };
            if let Some(at) = at {
                d.time = element.get(at..).and_then(|e| e.first_chunk::<7>()).map(|b| Cp56Time::parse(*b));
            }
        }
        _ => return None,
    }
    Some(d)
}

/// SCQ (§7.2.6.30), low four bits.
fn scq_name(scq: u8) -> String {
    match scq & 0x0f {
        0 => "default".to_string(),
        1 => "select_file".to_string(),
        2 => "request_file".to_string(),
        3 => "deactivate_file".to_string(),
        4 => "delete_file".to_string(),
        5 => "select_section".to_string(),
        6 => "request_section".to_string(),
        7 => "deactivate_section".to_string(),
        n => format!("scq_{n}"),
    }
}

/// AFQ (§7.2.6.32), low four bits.
fn afq_name(afq: u8) -> String {
    match afq & 0x0f {
        1 => "file_ack".to_string(),
        2 => "file_nack".to_string(),
        3 => "section_ack".to_string(),
        4 => "section_nack".to_string(),
        n => format!("afq_{n}"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::iec104::cot::Cause;

    /// Two measured floats, SQ = 0, in answer to a station interrogation.
    const TWO_FLOATS: [u8; 22] = [
        0x0d, // type 13: M_ME_NC_1
        0x02, // SQ 0, two objects
        0x14, 0x00, // cause 20 (inrogen), originator 0
        0x03, 0x00, // common address 3
        0x14, 0x05, 0x00, // IOA 1300
        0x00, 0x00, 0x48, 0x42, // 50.0
        0x00, // QDS: good
        0x15, 0x05, 0x00, // IOA 1301
        0x00, 0x00, 0x80, 0x3f, // 1.0
        0x00, // QDS
    ];

    #[test]
    fn reads_the_data_unit_identifier() {
        let a = parse(&TWO_FLOATS).unwrap();
        assert_eq!(
            a.header,
            Header {
                type_id: TypeId::M_ME_NC_1,
                sequence: false,
                count: 2,
                cot: Cot { cause: Cause::INTERROGATED, negative: false, test: false },
                originator: 0,
                common_address: 3,
            }
        );
        assert_eq!(a.first_ioa(), Some(1300));
        assert_eq!(parse(&TWO_FLOATS[..5]), Err(AsduError::ShortHeader(5)));
    }

    #[test]
    fn walks_objects_with_their_own_addresses() {
        let checked = parse(&TWO_FLOATS).unwrap().objects().unwrap().unwrap();
        assert_eq!(checked.trailing, 0);
        let ioas: Vec<u32> = checked.objects.each().map(|o| o.ioa).collect();
        assert_eq!(ioas, vec![1300, 1301]);
        assert_eq!(checked.objects.first().unwrap().element, &[0x00, 0x00, 0x48, 0x42, 0x00]);
    }

    #[test]
    fn walks_a_sequence_from_one_address() {
        let seq = [
            0x01, // M_SP_NA_1
            0x83, // SQ 1, three elements
            0x14, 0x01, // inrogen, originator 1
            0x0d, 0x91, // common address 37133
            0x1a, 0x27, 0x00, // IOA 10010
            0x01, 0x00, 0x01, // SIQ on, off, on
        ];
        let checked = parse(&seq).unwrap().objects().unwrap().unwrap();
        let ioas: Vec<u32> = checked.objects.each().map(|o| o.ioa).collect();
        assert_eq!(ioas, vec![10010, 10011, 10012]);
        assert_eq!(checked.trailing, 0);
    }

    #[test]
    fn rejects_objects_the_octets_cannot_hold_and_counts_octets_left_over() {
        // Two floats announced, one and a half present.
        let a = parse(&TWO_FLOATS[..18]).unwrap();
        assert_eq!(a.objects(), Some(Err(AsduError::Truncated { need: 16, have: 12 })));
        let a = parse(&TWO_FLOATS[..16]).unwrap();
        assert_eq!(a.objects(), Some(Err(AsduError::Truncated { need: 11, have: 10 })));
        // One object announced, two present.
        let mut one = TWO_FLOATS;
        one[1] = 0x01;
        let checked = parse(&one).unwrap().objects().unwrap().unwrap();
        assert_eq!((checked.objects.each().count(), checked.trailing), (1, 8));
        // Security types are not walked.
        let mut sec = TWO_FLOATS;
        sec[0] = 81;
        assert_eq!(parse(&sec).unwrap().objects(), None);
    }

    #[test]
    fn walks_a_segment_by_its_own_length() {
        let seg = [
            0x7d, 0x01, 0x0d, 0x00, 0x01, 0x00, // F_SG_NA_1, one object, cause file, CA 1
            0x00, 0x00, 0x00, // IOA 0
            0x02, 0x00, // NOF 2
            0x01, // NOS 1
            0x03, // LOS 3
            0xaa, 0xbb, 0xcc, // segment
        ];
        let checked = parse(&seg).unwrap().objects().unwrap().unwrap();
        assert_eq!(checked.objects.first().unwrap().element.len(), 7);
        assert_eq!(checked.trailing, 0);
        assert!(parse(&seg[..15]).unwrap().objects().unwrap().is_err());
    }

    #[test]
    fn decodes_what_commands_say() {
        // SCO 0x81: S/E select, QU 0, SCS on.
        let d = details(TypeId::C_SC_NA_1, &[0x81]).unwrap();
        assert_eq!(
            (d.value.as_deref(), d.select, d.qualifier.as_deref()),
            (Some("on"), Some(true), Some("no_pulse_defined"))
        );
        // DCO 0x0d: execute, QU 3 (persistent), DCS 1 (off).
        let d = details(TypeId::C_DC_NA_1, &[0x0d]).unwrap();
        assert_eq!(
            (d.value.as_deref(), d.select, d.qualifier.as_deref()),
            (Some("off"), Some(false), Some("persistent"))
        );
        // RCO 0x03: RCS 3 is not permitted.
        let d = details(TypeId::C_RC_NA_1, &[0x03]).unwrap();
        assert_eq!((d.value.as_deref(), d.not_permitted), (Some("not_permitted_3"), true));
        // Set point, normalized 0x4000 = 0.5, QOS 0x80: select, QL 0.
        let d = details(TypeId::C_SE_NA_1, &[0x00, 0x40, 0x80]).unwrap();
        assert_eq!((d.value.as_deref(), d.select, d.qualifier.as_deref()), (Some("0.5"), Some(true), Some("0")));
        // Set point, scaled -2.
        assert_eq!(details(TypeId::C_SE_NB_1, &[0xfe, 0xff, 0x00]).unwrap().value.as_deref(), Some("-2"));
        // Set point, float 12.5, QOS 0, time tag 30645 ms, 10:20, 13.08.09.
        let e = [0x00, 0x00, 0x48, 0x41, 0x00, 0xb5, 0x77, 0x14, 0x0a, 0x0d, 0x08, 0x09];
        let d = details(TypeId::C_SE_TC_1, &e).unwrap();
        assert_eq!(d.value.as_deref(), Some("12.5"));
        assert_eq!(d.time.unwrap().to_string(), "2009-08-13 10:20:30.645");
        // Bitstring command.
        assert_eq!(details(TypeId::C_BO_NA_1, &[0x78, 0x56, 0x34, 0x12]).unwrap().value.as_deref(), Some("0x12345678"));
        // Reset process, general reset.
        assert_eq!(details(TypeId::C_RP_NA_1, &[0x01]).unwrap().qualifier.as_deref(), Some("general_reset"));
        // Monitored data is not decoded; a short element is not either.
        assert_eq!(details(TypeId::M_SP_NA_1, &[0x01]), None);
        assert_eq!(details(TypeId::C_SE_NC_1, &[0x00, 0x00]), None);
    }

    #[test]
    fn reads_cp56time2a() {
        let t = Cp56Time::parse([
            0x39, 0x30, // 12345 ms
            0x87, // IV set, minute 7
            0x8e, // SU set, hour 14
            0x6d, // weekday 3, day 13
            0x08, // month 8
            0x09, // year 9
        ]);
        assert_eq!(
            (t.minute, t.invalid, t.hour, t.summer, t.day, t.weekday, t.month, t.year),
            (7, true, 14, true, 13, 3, 8, 9)
        );
        assert_eq!(t.to_string(), "2009-08-13 14:07:12.345 summer invalid");
        let year = |y: u8| Cp56Time { year: y, ..t }.full_year();
        assert_eq!((year(0), year(69), year(70), year(99), year(109)), (2000, 2069, 1970, 1999, 2009));
    }
}
