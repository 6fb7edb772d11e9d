//! The DNS message format (RFC 1035 §4.1), shared by unicast DNS, mDNS
//! (RFC 6762), LLMNR (RFC 4795) and the NetBIOS name service (RFC 1002 §4.2),
//! which all use the same header, question and resource record layout.
//!
//! Owns the header, the sections read in order, and domain names with
//! compression (§4.1.4). Names are decoded into a fixed 255-byte buffer, never
//! a heap allocation: the wire limit of a name is 255 bytes (§2.3.4), and a
//! compression pointer must point strictly before itself, so a pointer loop is
//! impossible and a name is read in at most 255 bytes of labels and 128
//! pointers. Record data is borrowed; [`rdata_name`] reads the names inside
//! PTR, CNAME, NS and SRV data, which may point back into the message.
//!
//! Not here: what the records mean to the inventory (see the parent module),
//! EDNS(0) option contents, DNSSEC.

use crate::cursor::Cursor;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Length of the fixed header.
pub const HEADER_LEN: usize = 12;
/// Longest name on the wire, length bytes included (RFC 1035 §2.3.4).
pub const MAX_NAME: usize = 255;
/// Compression pointers followed in one name: each points strictly backwards,
/// so this bound is never the one reached on an honest message.
const MAX_POINTERS: usize = 128;

/// A header opcode (RFC 1035 §4.1.1, RFC 1996, RFC 2136, RFC 8490); open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Opcode(pub u8);

impl Opcode {
    /// A standard query.
    pub const QUERY: Opcode = Opcode(0);
    /// An inverse query (obsolete, RFC 3425).
    pub const IQUERY: Opcode = Opcode(1);
    /// A server status request.
    pub const STATUS: Opcode = Opcode(2);
    /// Zone change notification (RFC 1996).
    pub const NOTIFY: Opcode = Opcode(4);
    /// Dynamic update (RFC 2136).
    pub const UPDATE: Opcode = Opcode(5);
    /// DNS stateful operations (RFC 8490).
    pub const DSO: Opcode = Opcode(6);
}

/// A response code (RFC 1035 §4.1.1, RFC 2136 §2.2); open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rcode(pub u8);

impl Rcode {
    /// No error.
    pub const NOERROR: Rcode = Rcode(0);
    /// The server could not read the query.
    pub const FORMERR: Rcode = Rcode(1);
    /// Server failure.
    pub const SERVFAIL: Rcode = Rcode(2);
    /// The name does not exist: a normal answer.
    pub const NXDOMAIN: Rcode = Rcode(3);
    /// Not implemented.
    pub const NOTIMP: Rcode = Rcode(4);
    /// Refused by policy.
    pub const REFUSED: Rcode = Rcode(5);

    /// Lower-case name; `rcode_N` for codes not named here.
    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "noerror",
            1 => "formerr",
            2 => "servfail",
            3 => "nxdomain",
            4 => "notimp",
            5 => "refused",
            6 => "yxdomain",
            7 => "yxrrset",
            8 => "nxrrset",
            9 => "notauth",
            10 => "notzone",
            11 => "dsotypeni",
            _ => "other",
        }
    }
}

/// A record or query type (RFC 1035 §3.2.2 and later); open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RrType(pub u16);

impl RrType {
    /// IPv4 address.
    pub const A: RrType = RrType(1);
    /// Name server.
    pub const NS: RrType = RrType(2);
    /// Canonical name.
    pub const CNAME: RrType = RrType(5);
    /// Start of authority.
    pub const SOA: RrType = RrType(6);
    /// Domain name pointer (reverse lookups).
    pub const PTR: RrType = RrType(12);
    /// Mail exchange.
    pub const MX: RrType = RrType(15);
    /// Text.
    pub const TXT: RrType = RrType(16);
    /// IPv6 address (RFC 3596).
    pub const AAAA: RrType = RrType(28);
    /// Service location (RFC 2782).
    pub const SRV: RrType = RrType(33);
    /// EDNS(0) pseudo-record (RFC 6891).
    pub const OPT: RrType = RrType(41);
    /// Incremental zone transfer (RFC 1995).
    pub const IXFR: RrType = RrType(251);
    /// Whole zone transfer (RFC 5936).
    pub const AXFR: RrType = RrType(252);
    /// Any type.
    pub const ANY: RrType = RrType(255);

    /// Mnemonic for the common types; `None` for others (reported by number).
    pub fn mnemonic(self) -> Option<&'static str> {
        Some(match self.0 {
            1 => "a",
            2 => "ns",
            5 => "cname",
            6 => "soa",
            12 => "ptr",
            13 => "hinfo",
            15 => "mx",
            16 => "txt",
            28 => "aaaa",
            33 => "srv",
            41 => "opt",
            47 => "nsec",
            251 => "ixfr",
            252 => "axfr",
            255 => "any",
            _ => return None,
        })
    }
}

/// Why bytes are not a DNS message that can be read.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DnsError {
    /// Shorter than the 12-byte header.
    ShortHeader(usize),
    /// A question or record runs past the message.
    Truncated {
        /// Offset of the item.
        at: usize,
    },
    /// A label type other than 0 (length) or 3 (pointer) (RFC 6891 §5).
    BadLabelType(u8),
    /// A compression pointer that does not point strictly backwards.
    BadPointer {
        /// Where the pointer is.
        at: usize,
        /// Where it points.
        to: usize,
    },
    /// A name longer than 255 bytes.
    NameTooLong,
}

impl DnsError {
    /// The short reason counted with a malformed message.
    pub fn what(self) -> &'static str {
        match self {
            DnsError::ShortHeader(_) => "short_header",
            DnsError::Truncated { .. } => "truncated",
            DnsError::BadLabelType(_) => "bad_label_type",
            DnsError::BadPointer { .. } => "bad_pointer",
            DnsError::NameTooLong => "name_too_long",
        }
    }
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DnsError::ShortHeader(n) => write!(f, "DNS message of {n} bytes, the header needs {HEADER_LEN}"),
            DnsError::Truncated { at } => write!(f, "DNS item at offset {at} runs past the message"),
            DnsError::BadLabelType(b) => {
                write!(f, "DNS label type {:#04x} is neither a length nor a pointer", b & 0xc0)
            }
            DnsError::BadPointer { at, to } => {
                write!(f, "DNS compression pointer at {at} points to {to}, not strictly before itself")
            }
            DnsError::NameTooLong => write!(f, "DNS name longer than {MAX_NAME} bytes"),
        }
    }
}

impl std::error::Error for DnsError {}

/// The fixed header (RFC 1035 §4.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Transaction id.
    pub id: u16,
    /// The flags word: QR, opcode, AA, TC, RD, RA, Z, AD, CD, rcode.
    pub flags: u16,
    /// Questions (zones, in an UPDATE).
    pub qdcount: u16,
    /// Answers (prerequisites, in an UPDATE).
    pub ancount: u16,
    /// Authority records (updates, in an UPDATE).
    pub nscount: u16,
    /// Additional records.
    pub arcount: u16,
}

impl Header {
    /// True for a response.
    pub fn qr(&self) -> bool {
        self.flags & 0x8000 != 0
    }
    /// The opcode (4 bits).
    pub fn opcode(&self) -> Opcode {
        Opcode(((self.flags >> 11) & 0x0f) as u8)
    }
    /// Authoritative answer.
    pub fn aa(&self) -> bool {
        self.flags & 0x0400 != 0
    }
    /// Truncated.
    pub fn tc(&self) -> bool {
        self.flags & 0x0200 != 0
    }
    /// Recursion desired.
    pub fn rd(&self) -> bool {
        self.flags & 0x0100 != 0
    }
    /// Recursion available.
    pub fn ra(&self) -> bool {
        self.flags & 0x0080 != 0
    }
    /// The response code (4 bits; EDNS extends it, not read here).
    pub fn rcode(&self) -> Rcode {
        Rcode((self.flags & 0x000f) as u8)
    }
    /// Questions and records together.
    pub fn items(&self) -> usize {
        usize::from(self.qdcount) + usize::from(self.ancount) + usize::from(self.nscount) + usize::from(self.arcount)
    }
}

/// Reads the header.
pub fn header(msg: &[u8]) -> Result<Header, DnsError> {
    let mut c = Cursor::new(msg);
    match (c.be_u16(), c.be_u16(), c.be_u16(), c.be_u16(), c.be_u16(), c.be_u16()) {
        (Some(id), Some(flags), Some(qdcount), Some(ancount), Some(nscount), Some(arcount)) => {
            Ok(Header { id, flags, qdcount, ancount, nscount, arcount })
        }
        _ => Err(DnsError::ShortHeader(msg.len())),
    }
}

/// A decoded domain name: labels joined by dots, in a fixed buffer.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Name {
    buf: [u8; MAX_NAME],
    len: u8,
    labels: u8,
}

impl Default for Name {
    fn default() -> Self {
        Name { buf: [0; MAX_NAME], len: 0, labels: 0 }
    }
}

impl Name {
    /// The name's bytes: labels joined by `.`, no trailing dot; empty for the root.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..usize::from(self.len)).unwrap_or_default()
    }
    /// Number of labels.
    pub fn labels(&self) -> usize {
        usize::from(self.labels)
    }
    /// The labels in order.
    pub fn label_iter(&self) -> impl Iterator<Item = &[u8]> {
        self.as_bytes().split(|b| *b == b'.').filter(|l| !l.is_empty())
    }
    /// True for the root name.
    pub fn is_root(&self) -> bool {
        self.len == 0
    }
    /// Lossy text, bytes outside printable ASCII as `\DDD` (RFC 1035 §5.1), at most 1020 chars.
    pub fn text(&self) -> String {
        self.to_string()
    }
    fn push_label(&mut self, label: &[u8]) -> Result<(), DnsError> {
        let dot = usize::from(self.labels > 0);
        let at = usize::from(self.len);
        let end = at + dot + label.len();
        let dst = self.buf.get_mut(at..end).ok_or(DnsError::NameTooLong)?;
        if let Some((first, rest)) = dst.split_first_mut().filter(|_| dot == 1) {
            *first = b'.';
            rest.copy_from_slice(label);
        } else {
            dst.copy_from_slice(label);
        }
        self.len = u8::try_from(end).map_err(|_| DnsError::NameTooLong)?;
        self.labels = self.labels.saturating_add(1);
        Ok(())
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &b in self.as_bytes() {
            if b.is_ascii_graphic() || b == b' ' {
                fmt::Write::write_char(f, char::from(b))?;
            } else {
                write!(f, "\\{b:03}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({self})")
    }
}

/// Reads the name at `at` in `msg`; returns it and the offset just past it in
/// place (after its first pointer, if any).
pub fn name_at(msg: &[u8], at: usize) -> Result<(Name, usize), DnsError> {
    let mut name = Name::default();
    let end = walk_name(msg, at, |label| name.push_label(label))?;
    Ok((name, end))
}

/// What [`name_at`] checks, without keeping the name: the offset just past
/// it. A name within the wire limit always fits a [`Name`], so the two
/// accept and refuse the same bytes.
fn skip_name(msg: &[u8], at: usize) -> Result<usize, DnsError> {
    walk_name(msg, at, |_| Ok(()))
}

/// Follows the name at `at` label by label (pointers included), handing
/// each label to `label`; returns the offset just past the name in place.
#[inline]
fn walk_name(msg: &[u8], at: usize, mut label: impl FnMut(&[u8]) -> Result<(), DnsError>) -> Result<usize, DnsError> {
    let mut pos = at;
    let mut end = None;
    let mut pointers = 0usize;
    // Wire length (label lengths + bytes + the final zero) against §2.3.4's limit.
    let mut wire = 1usize;
    loop {
        let len = *msg.get(pos).ok_or(DnsError::Truncated { at })?;
        match len & 0xc0 {
            0x00 if len == 0 => {
                return Ok(end.unwrap_or(pos + 1));
            }
            0x00 => {
                let bytes = msg.get(pos + 1..pos + 1 + usize::from(len)).ok_or(DnsError::Truncated { at })?;
                wire += 1 + bytes.len();
                if wire > MAX_NAME {
                    return Err(DnsError::NameTooLong);
                }
                label(bytes)?;
                pos += 1 + usize::from(len);
            }
            0xc0 => {
                let low = *msg.get(pos + 1).ok_or(DnsError::Truncated { at })?;
                let to = usize::from(u16::from_be_bytes([len & 0x3f, low]));
                // A pointer must point strictly before itself: no loops, ever.
                pointers += 1;
                if to >= pos || pointers > MAX_POINTERS {
                    return Err(DnsError::BadPointer { at: pos, to });
                }
                end.get_or_insert(pos + 2);
                pos = to;
            }
            _ => return Err(DnsError::BadLabelType(len)),
        }
    }
}

/// Which section an item is in (RFC 1035 §4.1; RFC 2136 §2 renames them in an UPDATE).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// Questions (zones, in an UPDATE).
    Question,
    /// Answers (prerequisites).
    Answer,
    /// Authority records (updates).
    Authority,
    /// Additional records.
    Additional,
}

/// One question or resource record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Item<'a> {
    /// Its section.
    pub section: Section,
    /// The owner name (the queried name, for a question).
    pub name: Name,
    /// Type.
    pub rtype: RrType,
    /// Class, with mDNS's top bit (unicast response / cache flush) as sent.
    pub class: u16,
    /// TTL (0 for a question).
    pub ttl: u32,
    /// The record's data (empty for a question).
    pub rdata: &'a [u8],
    /// Offset of `rdata` in the message, for names inside it.
    pub rdata_at: usize,
}

impl Item<'_> {
    /// mDNS: the question asks for a unicast response, or the record flushes
    /// caches (RFC 6762 §5.4, §10.2): the top bit of the class.
    pub fn mdns_top_bit(&self) -> bool {
        self.class & 0x8000 != 0
    }
    /// The IPv4 address of an A record of the right length.
    pub fn ipv4(&self) -> Option<Ipv4Addr> {
        (self.rtype == RrType::A).then(|| <[u8; 4]>::try_from(self.rdata).ok().map(Ipv4Addr::from)).flatten()
    }
    /// The IPv6 address of an AAAA record of the right length.
    pub fn ipv6(&self) -> Option<Ipv6Addr> {
        (self.rtype == RrType::AAAA).then(|| <[u8; 16]>::try_from(self.rdata).ok().map(Ipv6Addr::from)).flatten()
    }
}

/// The questions and records of a message, in order; an error ends them.
#[derive(Clone, Debug)]
pub struct Items<'a> {
    msg: &'a [u8],
    pos: usize,
    left: [u16; 4],
    failed: bool,
}

/// The items after the header. The header must have been read from `msg`.
pub fn items<'a>(msg: &'a [u8], h: &Header) -> Items<'a> {
    Items { msg, pos: HEADER_LEN, left: [h.qdcount, h.ancount, h.nscount, h.arcount], failed: false }
}

impl Items<'_> {
    /// Offset just past the last item read.
    pub fn position(&self) -> usize {
        self.pos
    }
}

impl<'a> Iterator for Items<'a> {
    type Item = Result<Item<'a>, DnsError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let (i, left) = self.left.iter_mut().enumerate().find(|(_, n)| **n > 0)?;
        *left -= 1;
        let section = match i {
            0 => Section::Question,
            1 => Section::Answer,
            2 => Section::Authority,
            _ => Section::Additional,
        };
        let r = read_item(self.msg, self.pos, section);
        match r {
            Ok((item, next)) => {
                self.pos = next;
                Some(Ok(item))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

fn read_item(msg: &[u8], at: usize, section: Section) -> Result<(Item<'_>, usize), DnsError> {
    let (name, pos) = name_at(msg, at)?;
    let f = fields(msg, at, pos, section)?;
    let item = Item { section, name, rtype: f.rtype, class: f.class, ttl: f.ttl, rdata: f.rdata, rdata_at: f.rdata_at };
    Ok((item, f.next))
}

/// An item's fixed fields and data, after its owner name.
struct Fields<'a> {
    rtype: RrType,
    class: u16,
    ttl: u32,
    rdata: &'a [u8],
    rdata_at: usize,
    /// Offset just past the item.
    next: usize,
}

/// Reads the fields of the item at `at` whose owner name ends at `pos`.
#[inline]
fn fields(msg: &[u8], at: usize, pos: usize, section: Section) -> Result<Fields<'_>, DnsError> {
    let mut c = Cursor::new(msg.get(pos..).ok_or(DnsError::Truncated { at })?);
    let (Some(rtype), Some(class)) = (c.be_u16(), c.be_u16()) else {
        return Err(DnsError::Truncated { at });
    };
    if section == Section::Question {
        return Ok(Fields { rtype: RrType(rtype), class, ttl: 0, rdata: &[], rdata_at: pos + 4, next: pos + 4 });
    }
    let (Some(ttl), Some(rdlen)) = (c.be_u32(), c.be_u16()) else {
        return Err(DnsError::Truncated { at });
    };
    let rdata = c.take(usize::from(rdlen)).ok_or(DnsError::Truncated { at })?;
    let rdata_at = pos + 10;
    Ok(Fields { rtype: RrType(rtype), class, ttl, rdata, rdata_at, next: rdata_at + rdata.len() })
}

/// The name that PTR, CNAME and NS data hold, or that SRV data holds after
/// priority, weight and port (returned too); `None` for other types or bad data.
pub fn rdata_name(msg: &[u8], item: &Item<'_>) -> Option<(Name, Option<u16>)> {
    let (skip, port) = match item.rtype {
        RrType::PTR | RrType::CNAME | RrType::NS => (0, None),
        RrType::SRV => (6, Some(u16::from_be_bytes([*item.rdata.get(4)?, *item.rdata.get(5)?]))),
        _ => return None,
    };
    // The name must lie inside the record's data, though it may point back.
    let end = item.rdata_at + item.rdata.len();
    let scope = msg.get(..end)?;
    let (name, next) = name_at(scope, item.rdata_at + skip).ok()?;
    (next <= end).then_some((name, port))
}

/// Reads a whole message: its header and every item, and where reading
/// stopped (the length of the message when nothing trails it).
///
/// The same walk as [`items`], without building the names: probes run this on
/// every datagram they are offered, and copying each owner name out was most of
/// their time.
pub fn check(msg: &[u8]) -> Result<(Header, usize), DnsError> {
    let h = header(msg)?;
    let mut pos = HEADER_LEN;
    let sections = [
        (h.qdcount, Section::Question),
        (h.ancount, Section::Answer),
        (h.nscount, Section::Authority),
        (h.arcount, Section::Additional),
    ];
    for (count, section) in sections {
        for _ in 0..count {
            let end = skip_name(msg, pos)?;
            pos = fields(msg, pos, end, section)?.next;
        }
    }
    Ok((h, pos))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A response for `mail.plant` A 10.0.0.7, its answer name compressed.
    pub(crate) const RESPONSE: &[u8] = &[
        0x12, 0x34, // id
        0x85, 0x80, // QR, opcode 0, AA, RD, RA, rcode 0
        0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, // 1 question, 1 answer
        4, b'm', b'a', b'i', b'l', 5, b'p', b'l', b'a', b'n', b't', 0, // mail.plant (offset 12)
        0x00, 0x01, 0x00, 0x01, // type A, class IN
        0xc0, 0x0c, // name: pointer to offset 12
        0x00, 0x01, 0x00, 0x01, // type A, class IN
        0x00, 0x00, 0x0e, 0x10, // TTL 3600
        0x00, 0x04, 10, 0, 0, 7, // rdlength 4, 10.0.0.7
    ];

    #[test]
    fn reads_a_response_with_a_compressed_answer() {
        let h = header(RESPONSE).unwrap();
        assert_eq!(
            (h.id, h.qr(), h.opcode(), h.aa(), h.tc(), h.rd(), h.ra()),
            (0x1234, true, Opcode::QUERY, true, false, true, true)
        );
        assert_eq!(h.rcode(), Rcode::NOERROR);
        let items: Vec<_> = items(RESPONSE, &h).map(Result::unwrap).collect();
        assert_eq!(items.len(), 2);
        assert_eq!(
            (items[0].section, items[0].name.text(), items[0].rtype),
            (Section::Question, "mail.plant".into(), RrType::A)
        );
        assert_eq!(
            (items[1].section, items[1].name.text(), items[1].ttl),
            (Section::Answer, "mail.plant".into(), 3600)
        );
        assert_eq!(items[1].ipv4(), Some(Ipv4Addr::new(10, 0, 0, 7)));
        assert_eq!(check(RESPONSE).unwrap().1, RESPONSE.len());
    }

    #[test]
    fn refuses_pointers_that_do_not_point_backwards() {
        // A name that is a pointer to itself, and one pointing forwards.
        let looping = [0xc0, 0x00];
        assert_eq!(name_at(&looping, 0), Err(DnsError::BadPointer { at: 0, to: 0 }));
        let forward = [0xc0, 0x02, 0x00];
        assert_eq!(name_at(&forward, 0), Err(DnsError::BadPointer { at: 0, to: 2 }));
        // Two pointers pointing at each other: the second is caught.
        let pair = [0x00, 0xc0, 0x03, 0xc0, 0x01];
        assert!(matches!(name_at(&pair, 3), Err(DnsError::BadPointer { .. })));
    }

    #[test]
    fn bounds_names_to_255_bytes() {
        let mut long = Vec::new();
        for _ in 0..5 {
            long.push(63);
            long.extend_from_slice(&[b'a'; 63]);
        }
        long.push(0);
        assert_eq!(name_at(&long, 0), Err(DnsError::NameTooLong));
        // 3 labels of 63 and one of 61: 1+63 *3 + 1+61 + 1 = 255 bytes exactly.
        let mut max = Vec::new();
        for n in [63, 63, 63, 61] {
            max.push(n);
            max.extend(std::iter::repeat_n(b'b', usize::from(n)));
        }
        max.push(0);
        let (n, next) = name_at(&max, 0).unwrap();
        assert_eq!((n.as_bytes().len(), n.labels(), next), (253, 4, 255));
    }

    #[test]
    fn refuses_reserved_label_types_and_truncation() {
        assert_eq!(name_at(&[0x40, 0], 0), Err(DnsError::BadLabelType(0x40)));
        assert_eq!(name_at(&[3, b'a', b'b'], 0), Err(DnsError::Truncated { at: 0 }));
        assert_eq!(header(&[0; 11]), Err(DnsError::ShortHeader(11)));
        assert!(matches!(check(&RESPONSE[..RESPONSE.len() - 1]), Err(DnsError::Truncated { .. })));
    }

    #[test]
    fn escapes_unprintable_bytes_in_names() {
        let (n, _) = name_at(&[2, 0x01, b'x', 0], 0).unwrap();
        assert_eq!(n.text(), "\\001x");
    }

    /// `check` as it was: reading every item, names and all.
    fn check_by_items(msg: &[u8]) -> Result<(Header, usize), DnsError> {
        let h = header(msg)?;
        let mut it = items(msg, &h);
        for item in it.by_ref() {
            item?;
        }
        Ok((h, it.position()))
    }

    proptest! {
        /// Checking without building names accepts and refuses exactly what
        /// reading every item does, and ends at the same place.
        #[test]
        fn checking_without_names_agrees_with_reading_every_item(
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
            cut in any::<prop::sample::Index>(),
            noise in proptest::collection::vec(any::<u8>(), 0..300),
            whole in any::<bool>(),
        ) {
            let mut msg = RESPONSE.to_vec();
            for (at, b) in flips {
                let i = at.index(msg.len());
                msg[i] = b;
            }
            let msg = if whole { msg.clone() } else { msg[..cut.index(msg.len() + 1)].to_vec() };
            prop_assert_eq!(check(&msg), check_by_items(&msg));
            prop_assert_eq!(check(&noise), check_by_items(&noise));
        }

        #[test]
        fn never_panics_and_never_reads_past_the_message(data in proptest::collection::vec(any::<u8>(), 0..400)) {
            if let Ok((_, end)) = check(&data) {
                prop_assert!(end <= data.len());
            }
            for at in 0..data.len() {
                if let Ok((n, next)) = name_at(&data, at) {
                    prop_assert!(next <= data.len());
                    prop_assert!(n.as_bytes().len() < MAX_NAME);
                }
            }
        }
    }
}
