//! The EtherNet/IP encapsulation layer (CIP Volume 2, Edition 1.x, chapter 2):
//! the 24-byte header, its commands, the common packet format (CPF) items
//! that SendRRData, SendUnitData and the List* replies carry, and the
//! [`Framer`] that cuts one direction of a TCP stream into messages.
//!
//! Every field is little-endian (Vol. 2 §2-3), except the socket address
//! items, which keep network order (§2-6.3.3). The [`Framer`] is the shared
//! length-prefixed one ([`crate::framing`]) over the [`Encapsulation`] format:
//! it hands out complete messages borrowed from the caller's chunk, buffers at
//! most [`MAX_MESSAGE`] bytes of a split one, and after a bad header or a gap
//! scans for the next plausible header.
//!
//! Not here: what the CPF data items carry (CIP, see [`super::cip`]; the
//! ListIdentity item, see [`super::identity`]).

use crate::cursor::Cursor;
use crate::framing::{self, FrameFormat};
use std::borrow::Cow;
use std::fmt;

pub use crate::framing::{FramerStats, Plausible};

/// Length of the encapsulation header.
pub const HEADER_LEN: usize = 24;
/// Largest message the framer accepts and so the most it ever buffers: the
/// header and the largest length field (Vol. 2 §2-3.1: 0..=65511 data bytes;
/// some devices use the whole 16-bit range, which is accepted).
pub const MAX_MESSAGE: usize = HEADER_LEN + u16::MAX as usize;
/// Data length above which a header is not trusted while resynchronising.
pub const PLAUSIBLE_MAX_DATA: u16 = 65511;

/// An encapsulation command; open, so reserved and vendor values are reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Command(pub u16);

impl Command {
    /// 0x0000: no operation (TCP keep-alive; no reply).
    pub const NOP: Command = Command(0x0000);
    /// 0x0004: which encapsulation services the target supports.
    pub const LIST_SERVICES: Command = Command(0x0004);
    /// 0x0063: identity of the target (also broadcast over UDP).
    pub const LIST_IDENTITY: Command = Command(0x0063);
    /// 0x0064: non-CIP interfaces of the target.
    pub const LIST_INTERFACES: Command = Command(0x0064);
    /// 0x0065: opens a session.
    pub const REGISTER_SESSION: Command = Command(0x0065);
    /// 0x0066: closes a session.
    pub const UNREGISTER_SESSION: Command = Command(0x0066);
    /// 0x006F: unconnected (request/reply) CIP messaging.
    pub const SEND_RR_DATA: Command = Command(0x006f);
    /// 0x0070: connected CIP messaging.
    pub const SEND_UNIT_DATA: Command = Command(0x0070);
    /// 0x0072: indicate status (reserved for legacy use).
    pub const INDICATE_STATUS: Command = Command(0x0072);
    /// 0x0073: cancel (reserved for legacy use).
    pub const CANCEL: Command = Command(0x0073);

    /// True for the commands Vol. 2 Table 2-3.2 assigns.
    pub fn is_known(self) -> bool {
        matches!(self.0, 0x0000 | 0x0004 | 0x0063..=0x0066 | 0x006f | 0x0070 | 0x0072 | 0x0073)
    }

    /// The stable snake_case name; `command_0x....` when unassigned.
    pub fn name(self) -> Cow<'static, str> {
        Cow::Borrowed(match self.0 {
            0x0000 => "nop",
            0x0004 => "list_services",
            0x0063 => "list_identity",
            0x0064 => "list_interfaces",
            0x0065 => "register_session",
            0x0066 => "unregister_session",
            0x006f => "send_rr_data",
            0x0070 => "send_unit_data",
            0x0072 => "indicate_status",
            0x0073 => "cancel",
            n => return Cow::Owned(format!("command_{n:#06x}")),
        })
    }
}

/// An encapsulation header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// The command.
    pub command: Command,
    /// Bytes of command-specific data after the header.
    pub length: u16,
    /// Session handle (0 before RegisterSession).
    pub session: u32,
    /// Status: 0 in requests, an error code in failed replies (Table 2-3.3).
    pub status: u32,
    /// Sender context: echoed in the reply, so it pairs replies with requests.
    pub context: [u8; 8],
    /// Options: must be 0 (Vol. 2 §2-3.1).
    pub options: u32,
}

impl Header {
    /// Header and data.
    pub fn message_len(&self) -> usize {
        HEADER_LEN + usize::from(self.length)
    }
}

/// Parses the header at the start of `data`; `None` when fewer than
/// [`HEADER_LEN`] bytes are there. Every 24 bytes form a header: plausibility
/// is judged by [`plausible`].
pub fn parse_header(data: &[u8]) -> Option<Header> {
    let mut c = Cursor::new(data);
    Some(Header {
        command: Command(c.le_u16()?),
        length: c.le_u16()?,
        session: c.le_u32()?,
        status: c.le_u32()?,
        context: c.array()?,
        options: c.le_u32()?,
    })
}

/// True when `length` is a data length `command` can have: the session
/// commands have fixed lengths (Vol. 2 §2-4), NOP and the List* requests none
/// or little.
fn length_fits(command: Command, length: u16) -> bool {
    match command {
        Command::REGISTER_SESSION => length == 4,
        Command::UNREGISTER_SESSION => length == 0,
        // SendRRData/SendUnitData: interface handle, timeout and an item count.
        Command::SEND_RR_DATA | Command::SEND_UNIT_DATA => (8..=PLAUSIBLE_MAX_DATA).contains(&length),
        _ => length <= PLAUSIBLE_MAX_DATA,
    }
}

/// Judges whether `data` starts with a plausible message: an assigned command
/// (first two bytes), a length that fits it, a status below 0x100 and options 0.
pub fn plausible(data: &[u8]) -> Plausible {
    let command = match data {
        [lo, hi, ..] => Command(u16::from_le_bytes([*lo, *hi])),
        _ => return Plausible::NeedMore,
    };
    if !command.is_known() {
        return Plausible::No;
    }
    let Some(h) = parse_header(data) else { return Plausible::NeedMore };
    // Table 2-3.3 assigns status codes below 0x100.
    if h.options != 0 || h.status > 0xff || !length_fits(h.command, h.length) {
        return Plausible::No;
    }
    Plausible::Yes
}

/// Why bytes at a message boundary are not a usable header.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncapError {
    /// An unassigned command with non-zero options: not a header at all.
    BadHeader(u16),
}

impl EncapError {
    /// The short reason counted with a malformed message.
    pub fn what(self) -> &'static str {
        match self {
            EncapError::BadHeader(_) => "bad_encapsulation_header",
        }
    }
}

impl fmt::Display for EncapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            EncapError::BadHeader(c) => write!(f, "encapsulation command {c:#06x} with non-zero options"),
        }
    }
}

impl std::error::Error for EncapError {}

/// The encapsulation as a [`FrameFormat`]: a frame is a message, its body the
/// command-specific data.
#[derive(Clone, Copy, Debug)]
pub struct Encapsulation;

impl FrameFormat for Encapsulation {
    const HEADER_LEN: usize = HEADER_LEN;
    const PLAUSIBLE_LEN: usize = HEADER_LEN;
    const MAX_FRAME: usize = MAX_MESSAGE;
    type Header = Header;
    type Error = EncapError;
    fn header(data: &[u8]) -> Result<Option<Header>, EncapError> {
        let Some(h) = parse_header(data) else { return Ok(None) };
        // An unassigned command is reported as such; with options set as well
        // (Vol. 2 §2-3.1 requires 0) the bytes are not a header and its length
        // cannot be trusted.
        if !h.command.is_known() && h.options != 0 {
            return Err(EncapError::BadHeader(h.command.0));
        }
        Ok(Some(h))
    }
    fn frame_len(header: &Header) -> usize {
        header.message_len()
    }
    fn plausible(data: &[u8]) -> Plausible {
        plausible(data)
    }
}

/// What the framer found: a message (header and command-specific data) or a
/// bad header.
pub type Framed<'a> = framing::Framed<'a, Header, EncapError>;

/// Cuts one direction of a stream into encapsulation messages, whatever the
/// chunking.
pub type Framer = framing::Framer<Encapsulation>;

/// A common packet format item type (Vol. 2 Table 2-6.3); open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ItemType(pub u16);

impl ItemType {
    /// 0x0000: null address (unconnected messages).
    pub const NULL_ADDRESS: ItemType = ItemType(0x0000);
    /// 0x000C: ListIdentity reply item.
    pub const LIST_IDENTITY: ItemType = ItemType(0x000c);
    /// 0x0100: ListServices reply item (communications).
    pub const LIST_SERVICES: ItemType = ItemType(0x0100);
    /// 0x00A1: connected address (a connection id).
    pub const CONNECTED_ADDRESS: ItemType = ItemType(0x00a1);
    /// 0x00B1: connected data (sequence count, then the message).
    pub const CONNECTED_DATA: ItemType = ItemType(0x00b1);
    /// 0x00B2: unconnected data (a CIP message).
    pub const UNCONNECTED_DATA: ItemType = ItemType(0x00b2);
    /// 0x8000: socket address, originator to target.
    pub const SOCKADDR_O2T: ItemType = ItemType(0x8000);
    /// 0x8001: socket address, target to originator.
    pub const SOCKADDR_T2O: ItemType = ItemType(0x8001);
    /// 0x8002: sequenced address (connection id and sequence; class 0/1 I/O).
    pub const SEQUENCED_ADDRESS: ItemType = ItemType(0x8002);
}

/// One CPF item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Item<'a> {
    /// Its type.
    pub kind: ItemType,
    /// Its data.
    pub data: &'a [u8],
}

/// Why a CPF list does not parse.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpfError {
    /// Fewer bytes than the item count.
    Truncated,
    /// An item's length runs past the data (type, length, bytes left).
    ItemTooLong(u16, u16, usize),
}

impl CpfError {
    /// The short reason counted with a malformed message.
    pub fn what(self) -> &'static str {
        match self {
            CpfError::Truncated => "cpf_truncated",
            CpfError::ItemTooLong(..) => "cpf_item_too_long",
        }
    }
}

/// The items of a CPF list, walked lazily.
#[derive(Clone, Copy, Debug)]
pub struct Items<'a> {
    left: u16,
    cursor: Cursor<'a>,
}

impl<'a> Items<'a> {
    /// The list at the start of `data` (item count, then items).
    pub fn parse(data: &'a [u8]) -> Result<Self, CpfError> {
        let mut cursor = Cursor::new(data);
        let left = cursor.le_u16().ok_or(CpfError::Truncated)?;
        Ok(Items { left, cursor })
    }

    /// Items declared and not yet read.
    pub fn left(&self) -> u16 {
        self.left
    }
}

impl<'a> Iterator for Items<'a> {
    type Item = Result<Item<'a>, CpfError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let mut c = self.cursor;
        let (Some(kind), Some(len)) = (c.le_u16(), c.le_u16()) else {
            self.left = 0;
            return Some(Err(CpfError::Truncated));
        };
        let Some(data) = c.take(usize::from(len)) else {
            self.left = 0;
            return Some(Err(CpfError::ItemTooLong(kind, len, c.remaining())));
        };
        self.cursor = c;
        Some(Ok(Item { kind: ItemType(kind), data }))
    }
}

/// The command-specific data of SendRRData and SendUnitData (Vol. 2
/// §2-4.7): interface handle (0 = CIP), timeout, then the CPF list.
pub fn rr_items(data: &[u8]) -> Result<(u32, Items<'_>), CpfError> {
    let mut c = Cursor::new(data);
    let (Some(interface), Some(_timeout)) = (c.le_u32(), c.le_u16()) else { return Err(CpfError::Truncated) };
    Ok((interface, Items::parse(c.rest())?))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::framing::tests::{frame_all, splits_at_every_pair_of_offsets, stays_bounded};
    use proptest::prelude::*;

    const REGISTER: [u8; 28] = [
        0x65, 0x00, // command: RegisterSession
        0x04, 0x00, // length 4
        0x00, 0x00, 0x00, 0x00, // session handle 0
        0x00, 0x00, 0x00, 0x00, // status 0
        1, 2, 3, 4, 5, 6, 7, 8, // sender context
        0x00, 0x00, 0x00, 0x00, // options 0
        0x01, 0x00, // protocol version 1
        0x00, 0x00, // option flags 0
    ];

    #[test]
    fn parses_a_little_endian_header() {
        let h = parse_header(&REGISTER).unwrap();
        assert_eq!(h.command, Command::REGISTER_SESSION);
        assert_eq!(h.length, 4);
        assert_eq!(h.context, [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(h.message_len(), 28);
        assert_eq!(parse_header(&REGISTER[..23]), None);
    }

    #[test]
    fn judges_plausibility_from_command_length_status_and_options() {
        assert_eq!(plausible(&REGISTER), Plausible::Yes);
        assert_eq!(plausible(&REGISTER[..10]), Plausible::NeedMore);
        let mut b = REGISTER;
        b[0] = 0x61; // unassigned command
        assert_eq!(plausible(&b), Plausible::No);
        let mut b = REGISTER;
        b[2] = 0x05; // RegisterSession with 5 data bytes
        assert_eq!(plausible(&b), Plausible::No);
        let mut b = REGISTER;
        b[20] = 0x01; // options not zero
        assert_eq!(plausible(&b), Plausible::No);
    }

    #[test]
    fn splitting_the_stream_at_every_offset_yields_the_same_messages() {
        splits_at_every_pair_of_offsets::<Encapsulation>(&[REGISTER, REGISTER, REGISTER].concat(), 3);
    }

    #[test]
    fn resynchronises_after_a_bad_header() {
        let mut bad = REGISTER;
        bad[0] = 0x99; // unassigned command
        bad[20] = 0x01; // and options set
        let mut stream = bad.to_vec();
        stream.extend_from_slice(&REGISTER);
        let mut f = Framer::new();
        let got = frame_all(&mut f, &[&stream]);
        assert_eq!(got[0], Err(EncapError::BadHeader(0x99)));
        assert_eq!(got.len(), 2);
        assert!(got[1].is_ok());
        assert_eq!(f.stats.skipped_bytes, 27);
    }

    #[test]
    fn reports_an_unassigned_command_with_clean_options_as_a_message() {
        let mut b = REGISTER;
        b[0] = 0x01; // command 0x0001, reserved
        let got = frame_all(&mut Framer::new(), &[&b]);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].as_ref().unwrap().0.command, Command(1));
    }

    #[test]
    fn skips_exactly_the_rest_of_a_message_cut_by_a_gap() {
        let mut f = Framer::new();
        assert!(frame_all(&mut f, &[&REGISTER[..10]]).is_empty());
        f.gap(10); // bytes 10..20 lost; 20..28 still belong to the message
        let mut rest = REGISTER[20..].to_vec();
        rest.extend_from_slice(&REGISTER);
        let got = frame_all(&mut f, &[&rest]);
        assert_eq!(got.len(), 1);
        assert!(got[0].is_ok());
    }

    #[test]
    fn hunts_for_a_header_after_a_gap_of_unknown_alignment() {
        let mut f = Framer::new();
        f.gap(1000);
        let mut rest = vec![0xb1, 0x00, 0x06]; // tail of some earlier message
        rest.extend_from_slice(&REGISTER);
        let got = frame_all(&mut f, &[&rest[..4], &rest[4..20], &rest[20..]]);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].as_ref().unwrap().1, REGISTER[24..].to_vec());
    }

    #[test]
    fn walks_cpf_items_and_refuses_items_past_the_end() {
        let data = [
            0x02, 0x00, // item count 2
            0x00, 0x00, 0x00, 0x00, // null address, length 0
            0xb2, 0x00, 0x02, 0x00, 0x01, 0x02, // unconnected data, length 2
        ];
        let items: Vec<_> = Items::parse(&data).unwrap().collect::<Result<_, _>>().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1], Item { kind: ItemType::UNCONNECTED_DATA, data: &[1, 2] });
        let short = [0x01, 0x00, 0xb2, 0x00, 0x09, 0x00, 0x01];
        let got: Vec<_> = Items::parse(&short).unwrap().collect();
        assert_eq!(got, vec![Err(CpfError::ItemTooLong(0xb2, 9, 1))]);
    }

    proptest! {
        #[test]
        fn never_buffers_more_than_a_message(input in proptest::collection::vec(
            (proptest::collection::vec(any::<u8>(), 0..600), proptest::option::of(any::<u16>())), 0..8)
        ) {
            stays_bounded::<Encapsulation>(&input)?;
        }
    }
}
