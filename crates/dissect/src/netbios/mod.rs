//! NetBIOS over TCP/IP (RFC 1001/1002) on UDP: the name service on port 137
//! ([`ns`]) and the datagram service on port 138 with the browser
//! announcements it carries ([`dgm`]). Both name hosts: what a Windows host
//! calls itself, its workgroup or domain, and whether it serves files, is a
//! domain controller or a master browser.
//!
//! Owns the first-level encoding of NetBIOS names (RFC 1001 §14.1, RFC 1002
//! §4.1): 16 bytes, each split in two nibbles written as `'A' + nibble`, so a
//! 32-character label; the 16th byte is the suffix that says what the name is
//! for (<00> workstation or workgroup, <20> file server, <1B> domain master
//! browser, <1C> domain controllers, <1D> master browser, <1E> browser
//! elections). The session service (TCP 139) is not here: SMB over it is
//! another dissector's.

pub mod dgm;
pub mod ns;

use std::fmt;

/// A decoded NetBIOS name: up to 15 bytes (trailing spaces removed) and its
/// suffix, with the scope id if there was one (not kept: rare, and not a host
/// fact).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct NbName {
    bytes: [u8; 15],
    len: u8,
    /// The 16th byte: what the name is for.
    pub suffix: u8,
}

impl NbName {
    /// The name without its padding.
    pub fn name(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }
    /// The name as text, bytes outside printable ASCII as `\xNN`.
    pub fn text(&self) -> String {
        let mut s = String::with_capacity(usize::from(self.len));
        for &b in self.name() {
            if b.is_ascii_graphic() || b == b' ' {
                s.push(char::from(b));
            } else {
                s.push_str(&format!("\\x{b:02x}"));
            }
        }
        s
    }
    /// `NAME<1C>`: the name and its suffix, as Windows tools show it.
    pub fn with_suffix(&self) -> String {
        format!("{}<{:02X}>", self.text(), self.suffix)
    }
    /// Decodes 16 raw bytes (15 of name, padded with spaces, and the suffix).
    pub fn from_raw(raw: &[u8; 16]) -> Self {
        let mut bytes = [0u8; 15];
        let (name, suffix) = raw.split_at(15);
        bytes.copy_from_slice(name);
        let len = name.iter().rposition(|b| *b != b' ' && *b != 0).map_or(0, |i| i + 1);
        NbName { bytes, len: len as u8, suffix: suffix.first().copied().unwrap_or(0) }
    }
}

impl fmt::Debug for NbName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NbName({})", self.with_suffix())
    }
}

/// Decodes a first-level encoded label: exactly 32 bytes in `A`..=`P`.
pub fn decode_label(label: &[u8]) -> Option<NbName> {
    if label.len() != 32 {
        return None;
    }
    let mut raw = [0u8; 16];
    let nib = |c: u8| c.checked_sub(b'A').filter(|n| *n < 16);
    for (out, pair) in raw.iter_mut().zip(label.chunks_exact(2)) {
        let &[hi, lo] = pair else { return None };
        *out = nib(hi)? << 4 | nib(lo)?;
    }
    Some(NbName::from_raw(&raw))
}

/// What a name with this suffix says its owner is, for unique (`group`
/// false) and group names (the suffixes of MS-BRWS §1.3 and MS-WINSRA §1.3,
/// as `nbtstat` lists them): `(host name, workgroup or domain, role)`.
pub fn meaning(suffix: u8, group: bool) -> (bool, bool, Option<&'static str>) {
    match (suffix, group) {
        (0x00, false) => (true, false, None),
        (0x00, true) => (false, true, None),
        (0x20, false) => (true, false, Some("file_server")),
        (0x1b, false) => (false, true, Some("domain_master_browser")),
        (0x1c, true) => (false, true, Some("domain_controller")),
        (0x1d, false) => (false, true, Some("master_browser")),
        (0x1e, true) => (false, true, Some("browser_election")),
        _ => (false, false, None),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// Encodes a name the way RFC 1001 §14.1 does.
    pub(crate) fn encode(name: &str, suffix: u8) -> Vec<u8> {
        let mut raw = [b' '; 16];
        raw[..name.len()].copy_from_slice(name.as_bytes());
        raw[15] = suffix;
        raw.iter().flat_map(|b| [b'A' + (b >> 4), b'A' + (b & 0x0f)]).collect()
    }

    #[test]
    fn decodes_the_rfc_example_and_suffixes() {
        // RFC 1001 §14.1: "FRED" padded with spaces, suffix 0x20 (a space).
        let n = decode_label(b"EGFCEFEECACACACACACACACACACACACA").unwrap();
        assert_eq!((n.text(), n.suffix), ("FRED".to_string(), 0x20));
        assert_eq!(n.with_suffix(), "FRED<20>");
        let w = decode_label(&encode("WORKGROUP", 0x1c)).unwrap();
        assert_eq!(w.with_suffix(), "WORKGROUP<1C>");
    }

    #[test]
    fn refuses_labels_that_are_not_first_level_encoded() {
        assert!(decode_label(b"EGFCEFEECACACACACACACACACACACAC").is_none()); // 31 bytes
        assert!(decode_label(b"EGFCEFEECACACACACACACACACACACACQ").is_none()); // Q is not a nibble
        assert!(decode_label(b"egfcefeecacacacacacacacacacacaca").is_none()); // lower case
    }

    #[test]
    fn shows_unprintable_bytes_in_hex() {
        let mut raw = *b"\x01\x02__MSBROWSE__\x02\x01";
        raw[15] = 0x01;
        assert_eq!(NbName::from_raw(&raw).with_suffix(), "\\x01\\x02__MSBROWSE__\\x02<01>");
    }
}
