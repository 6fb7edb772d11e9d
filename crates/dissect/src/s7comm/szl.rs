//! SZL (System Status List, "Systemzustandsliste") response records that
//! identify the device, as the Siemens "System Software for S7-300/400
//! System and Standard Functions" manual (chapter 34) lays them out.
//!
//! Owns the partial-list header (SZL id, index, record length, record count)
//! and the records of lists 0x0011 (module identification, 28-byte records),
//! 0x001C (component identification, 34-byte records), 0x0424 (CPU state,
//! 20-byte records) and the 0xXX91 family (module status information, 16-byte
//! records: which module sits in which rack and slot). Other lists are counted
//! by their caller, not read.

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

/// One record of a module status list (SZL 0xXX91: 0x0091 all modules,
/// 0x0C91 one module by logical address, 0x0D91 all modules of a rack or
/// station, ...), chapter 34 of the same manual.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleStatus {
    /// Where the module sits: `rack 0 slot 2` in a central rack, `dp 1
    /// station 3 slot 2` / `pnio 100 station 3 slot 2` in a distributed one;
    /// `.N` appends a submodule slot.
    pub position: String,
    /// The first logical address of the module (`logadr`).
    pub logical_address: u16,
    /// The module type the configuration expects (`solltyp`).
    pub expected_type: u16,
    /// The module type actually plugged (`isttyp`).
    pub actual_type: u16,
    /// The I/O status word's verdict: `ok`, `error`, `not_available`, `disabled`, `missing`.
    pub status: &'static str,
}

/// The records of a module status list; empty for any other list, and for
/// records shorter than the 16 bytes the list defines.
pub fn modules(h: &Header<'_>) -> Vec<ModuleStatus> {
    if h.id & 0x00ff != 0x91 || h.record_len < 16 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for r in h.records() {
        let mut c = Cursor::new(r);
        let (Some(adr1), Some(adr2), Some(logadr), Some(soll), Some(ist), Some(_reserved), Some(eastat)) =
            (c.be_u16(), c.be_u16(), c.be_u16(), c.be_u16(), c.be_u16(), c.be_u16(), c.be_u16())
        else {
            continue;
        };
        let [slot, sub] = adr2.to_be_bytes();
        // adr1: a rack number in a central configuration; else bit 15 tells
        // PROFINET IO from PROFIBUS DP, bits 8-14 the IO/master system and
        // bits 0-7 the station.
        let mut position = if adr1 < 0x100 {
            format!("rack {adr1} slot {slot}")
        } else {
            let system = if adr1 & 0x8000 != 0 { "pnio" } else { "dp" };
            format!("{system} {} station {} slot {slot}", (adr1 >> 8) & 0x7f, adr1 & 0xff)
        };
        if sub != 0 {
            position.push_str(&format!(".{sub}"));
        }
        // eastat bits: 0 module error, 1 module exists, 2 not available, 3 disabled.
        let status = match eastat {
            s if s & 0x0002 == 0 => "missing",
            s if s & 0x0001 != 0 => "error",
            s if s & 0x0004 != 0 => "not_available",
            s if s & 0x0008 != 0 => "disabled",
            _ => "ok",
        };
        out.push(ModuleStatus { position, logical_address: logadr, expected_type: soll, actual_type: ist, status });
    }
    out
}
