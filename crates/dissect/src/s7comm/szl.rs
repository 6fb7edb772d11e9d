//! SZL (System Status List, "Systemzustandsliste") response records that
//! identify the device, as the Siemens "System Software for S7-300/400
//! System and Standard Functions" manual (chapter 34) lays them out.
//!
//! Owns the partial-list header (SZL id, index, record length, record count)
//! and the records of lists 0x0011 (module identification, 28-byte records),
//! 0x001C (component identification, 34-byte records) and 0x0424 (CPU state,
//! 20-byte records). Other lists are counted by their caller, not read.

use crate::cursor::Cursor;

/// Cap, in bytes, on any text copied into an attribute.
pub(crate) const MAX_TEXT: usize = 64;

/// The header of an SZL response's data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header<'a> {
    /// SZL id.
    pub id: u16,
    /// SZL index.
    pub index: u16,
    /// Length of one record.
    pub record_len: u16,
    /// Records announced.
    pub count: u16,
    /// The records' bytes.
    pub records: &'a [u8],
}

impl<'a> Header<'a> {
    /// The whole records present (the count is trusted only as far as the
    /// bytes go; a record length of 0 yields nothing).
    pub fn records(&self) -> impl Iterator<Item = &'a [u8]> {
        let n = usize::from(self.record_len);
        let mut c = Cursor::new(if n == 0 { &[] } else { self.records });
        let mut left = self.count;
        std::iter::from_fn(move || {
            left = left.checked_sub(1)?;
            c.take(n)
        })
    }
}

/// Reads the partial-list header of an SZL response payload.
pub fn parse(payload: &[u8]) -> Option<Header<'_>> {
    let mut c = Cursor::new(payload);
    let (id, index, record_len, count) = (c.be_u16()?, c.be_u16()?, c.be_u16()?, c.be_u16()?);
    Some(Header { id, index, record_len, count, records: c.rest() })
}

/// Text of a fixed-width field: lossy UTF-8, NULs and spaces trimmed, at most
/// [`MAX_TEXT`] bytes read.
pub(crate) fn text(value: &[u8]) -> String {
    let v = value.get(..MAX_TEXT.min(value.len())).unwrap_or_default();
    String::from_utf8_lossy(v).trim_matches(|c: char| c == '\0' || c == ' ').to_string()
}

/// The identity attributes of one SZL list, in record order.
pub fn identity(h: &Header<'_>) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    match h.id & 0x00ff {
        0x11 => {
            for r in h.records() {
                let mut c = Cursor::new(r);
                let (Some(index), Some(mlfb), Some(_bgtyp), Some(ausbg), Some(ausbe)) =
                    (c.be_u16(), c.take(20), c.be_u16(), c.array::<2>(), c.array::<2>())
                else {
                    continue;
                };
                let [a1, a2] = ausbg;
                let [e1, e2] = ausbe;
                match index {
                    // Index 1: the module, with its hardware version.
                    0x0001 => {
                        let t = text(mlfb);
                        if !t.is_empty() {
                            out.push(("order_number", t));
                        }
                        out.push(("hardware_version", u16::from_be_bytes(ausbg).to_string()));
                    }
                    // Index 6: the basic hardware.
                    0x0006 => {
                        let t = text(mlfb);
                        if !t.is_empty() {
                            out.push(("hardware_order_number", t));
                        }
                    }
                    // Index 7: basic firmware, 'V' then three version digits.
                    0x0007 if a1 == b'V' => out.push(("firmware_version", format!("V{a2}.{e1}.{e2}"))),
                    0x0081 if a1.is_ascii_alphabetic() => {
                        out.push(("boot_loader_version", format!("{}{a2}.{e1}.{e2}", char::from(a1))))
                    }
                    _ => {}
                }
            }
        }
        0x1c => {
            for r in h.records() {
                let mut c = Cursor::new(r);
                let (Some(index), Some(value)) = (c.be_u16(), c.take(32)) else { continue };
                let key = match index {
                    1 => "plc_name",
                    2 => "module_name",
                    3 => "plant_designation",
                    4 => "copyright",
                    5 => "serial",
                    7 => "module_type",
                    8 => "memory_card_serial",
                    11 => "location",
                    _ => continue,
                };
                // Names are 24 bytes plus 8 reserved, the others 32 (or 26):
                // text stops at the first NUL.
                let end = value.iter().position(|&b| b == 0).unwrap_or(value.len());
                let t = text(value.get(..end).unwrap_or_default());
                if !t.is_empty() {
                    out.push((key, t));
                }
            }
        }
        _ => {}
    }
    out
}

/// The CPU mode of an SZL 0x0424 response: the requested mode (low nibble of
/// the bzu-id byte) of the first record.
pub fn cpu_mode(h: &Header<'_>) -> Option<&'static str> {
    if h.id & 0x00ff != 0x24 {
        return None;
    }
    let r = h.records().next()?;
    let bzu = *r.get(3)?;
    Some(match bzu & 0x0f {
        0x01 => "stop_update",
        0x02 => "stop_reset",
        0x03 => "stop_init",
        0x04 => "stop",
        0x05 => "startup_warm",
        0x06 => "startup_cold",
        0x07 => "startup_hot",
        0x08 => "run",
        0x09 => "run_redundant",
        0x0a => "hold",
        0x0d => "defect",
        _ => "unknown",
    })
}
