//! The NetBIOS datagram service (RFC 1002 §4.4), UDP port 138, and the
//! browser announcements Windows hosts broadcast through it: an SMB
//! Transaction (MS-CIFS §2.2.4.33) writing to the mailslot `\MAILSLOT\BROWSE`
//! (MS-MAIL), holding a browser message (MS-BRWS §2.2).
//!
//! Counts each datagram (protocol `nbdgm`, class `discovery`): browser
//! messages by their command (`host_announcement`, `local_master_announcement`,
//! `domain_announcement`, `announcement_request`, `request_election`,
//! `get_backup_list_request`, `get_backup_list_response`, `become_backup`,
//! `master_announcement`, `browser_opcode_N` for others; `reset_state`, which
//! tells a browser to stop being a master, is class `control` and kept), other
//! mailslot writes as `mailslot`, other datagrams by type (`datagram`,
//! `error`, `query_request`, `positive_query_response`,
//! `negative_query_response`, `msg_type_0xNN`, class `unknown`).
//!
//! Announcements give a `browser.announcement` identity event (protocol
//! `browser`) about the host at the datagram's source IP (attribute `address`:
//! a datagram relayed by a NetBIOS datagram server names its origin there):
//! `command`, `host_name` (host and local master announcements) or
//! `workgroup` and `master_browser` (domain announcements, whose server name
//! is the workgroup's and comment the master browser's), `workgroup` of a host
//! announcement from its destination name (`WORKGROUP<1D>`/`<1E>`),
//! `os_version` (`6.1`) and `os` (`Windows 6.1`: MS-BRWS §2.2.1 defines the
//! numbers as the Windows version; Samba announces the version it emulates),
//! `server_type` (hex) and `roles` (the server type bits, MS-RAP §2.5.5.2.1),
//! `browser_version` and `description` (the comment).
//!
//! Fragmented datagrams (RFC 1002 §4.4.3) are counted; only a first fragment
//! is read, and an SMB it holds only when it is the whole datagram.

use super::{decode_label, NbName};
use crate::cursor::Cursor;
use crate::dns::wire::{self, DnsError};
use crate::dns::Learnt;
use crate::intern;
use crate::{DatagramDissector, DatagramSession, Emit, PacketCtx, Probe};
use otposture_model::{Direction, EventKind, OperationClass};
use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr};

const PROTOCOL: &str = "nbdgm";

/// UDP port of the datagram service.
pub const PORT: u16 = 138;
/// The browser's mailslot.
pub const BROWSE: &[u8] = b"\\MAILSLOT\\BROWSE";
/// Longest comment read (MS-BRWS §2.2.1: 43 characters).
const MAX_COMMENT: usize = 256;

/// Datagram message types (RFC 1002 §4.4.1); open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsgType(pub u8);

impl MsgType {
    /// Direct unique datagram.
    pub const DIRECT_UNIQUE: MsgType = MsgType(0x10);
    /// Direct group datagram.
    pub const DIRECT_GROUP: MsgType = MsgType(0x11);
    /// Broadcast datagram.
    pub const BROADCAST: MsgType = MsgType(0x12);
    /// Datagram error.
    pub const ERROR: MsgType = MsgType(0x13);
    /// Datagram query request.
    pub const QUERY_REQUEST: MsgType = MsgType(0x14);
    /// Positive query response.
    pub const POSITIVE_QUERY_RESPONSE: MsgType = MsgType(0x15);
    /// Negative query response.
    pub const NEGATIVE_QUERY_RESPONSE: MsgType = MsgType(0x16);

    fn carries_data(self) -> bool {
        matches!(self, Self::DIRECT_UNIQUE | Self::DIRECT_GROUP | Self::BROADCAST)
    }
}

/// Browser message opcodes (MS-BRWS §2.2); open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BrowserOpcode(pub u8);

impl BrowserOpcode {
    /// A host says it is there.
    pub const HOST_ANNOUNCEMENT: BrowserOpcode = BrowserOpcode(1);
    /// A domain's master browser announces the domain.
    pub const DOMAIN_ANNOUNCEMENT: BrowserOpcode = BrowserOpcode(12);
    /// Tells a master browser to stop being one.
    pub const RESET_STATE: BrowserOpcode = BrowserOpcode(14);
    /// A local master browser says it is there.
    pub const LOCAL_MASTER_ANNOUNCEMENT: BrowserOpcode = BrowserOpcode(15);

    /// Name used in counts; `None` for opcodes not named here.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            1 => "host_announcement",
            2 => "announcement_request",
            8 => "request_election",
            9 => "get_backup_list_request",
            10 => "get_backup_list_response",
            11 => "become_backup",
            12 => "domain_announcement",
            13 => "master_announcement",
            14 => "reset_state",
            15 => "local_master_announcement",
            _ => return None,
        })
    }

    /// True for the three announcements that describe a server.
    pub fn announces(self) -> bool {
        matches!(self.0, 1 | 12 | 15)
    }
}

/// The server type bits (MS-RAP §2.5.5.2.1, SV_TYPE_*), by name.
const SERVER_TYPES: &[(u32, &str)] = &[
    (0x0000_0001, "workstation"),
    (0x0000_0002, "server"),
    (0x0000_0004, "sql_server"),
    (0x0000_0008, "domain_controller"),
    (0x0000_0010, "backup_domain_controller"),
    (0x0000_0020, "time_source"),
    (0x0000_0040, "apple_server"),
    (0x0000_0080, "novell_server"),
    (0x0000_0100, "domain_member"),
    (0x0000_0200, "print_server"),
    (0x0000_0400, "dialin_server"),
    (0x0000_0800, "unix_server"),
    (0x0000_1000, "nt_workstation"),
    (0x0000_2000, "wfw"),
    (0x0000_4000, "mfpn_server"),
    (0x0000_8000, "nt_server"),
    (0x0001_0000, "potential_browser"),
    (0x0002_0000, "backup_browser"),
    (0x0004_0000, "master_browser"),
    (0x0008_0000, "domain_master_browser"),
    (0x0010_0000, "osf_server"),
    (0x0020_0000, "vms_server"),
    (0x0040_0000, "windows"),
    (0x0080_0000, "dfs_server"),
    (0x0100_0000, "cluster_nt"),
    (0x0200_0000, "terminal_server"),
    (0x0400_0000, "cluster_vs_nt"),
    (0x1000_0000, "dce_server"),
    (0x2000_0000, "alternate_transport"),
    (0x4000_0000, "local_list_only"),
    (0x8000_0000, "domain_enum"),
];

/// The names of the server type bits set, comma-separated; unnamed bits as hex.
pub fn server_type_names(bits: u32) -> String {
    let mut out: Vec<Cow<'static, str>> = Vec::new();
    let mut rest = bits;
    for (bit, name) in SERVER_TYPES {
        if bits & bit != 0 {
            out.push(Cow::Borrowed(name));
            rest &= !bit;
        }
    }
    if rest != 0 {
        out.push(Cow::Owned(format!("{rest:#010x}")));
    }
    out.join(",")
}

/// Why bytes are not a datagram that can be read.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DgmError {
    /// Shorter than its header.
    Truncated,
    /// A name that is not a first-level encoded NetBIOS name.
    BadName,
    /// DGM_LENGTH runs past the datagram.
    LengthOverrun {
        /// Bytes announced after the header.
        announced: u16,
        /// Bytes there are.
        available: usize,
    },
    /// An SMB Transaction whose fields run past the datagram.
    BadSmb,
    /// A browser announcement shorter than its fixed part.
    ShortAnnouncement(usize),
}

impl DgmError {
    /// The short reason counted with a malformed datagram.
    pub fn what(self) -> &'static str {
        match self {
            DgmError::Truncated => "truncated",
            DgmError::BadName => "bad_netbios_name",
            DgmError::LengthOverrun { .. } => "length_overrun",
            DgmError::BadSmb => "bad_smb",
            DgmError::ShortAnnouncement(_) => "short_announcement",
        }
    }
}

/// A datagram, borrowing its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Datagram<'a> {
    /// Message type.
    pub msg_type: MsgType,
    /// Flags: M (more) 0x01, F (first) 0x02, node type 0x0c.
    pub flags: u8,
    /// Datagram id.
    pub id: u16,
    /// The originating node.
    pub source_ip: Ipv4Addr,
    /// Its port.
    pub source_port: u16,
    /// Offset of this fragment in the whole datagram.
    pub packet_offset: u16,
    /// Source name (data-carrying types).
    pub source_name: Option<NbName>,
    /// Destination name (all but errors).
    pub destination_name: Option<NbName>,
    /// The user data (an SMB, for mailslots).
    pub user_data: &'a [u8],
}

impl Datagram<'_> {
    /// True when this is the whole datagram, not a fragment.
    pub fn whole(&self) -> bool {
        self.flags & 0x01 == 0 && self.packet_offset == 0
    }
}

fn nb_name_at(data: &[u8], at: usize) -> Result<(NbName, usize), DgmError> {
    let (name, next) = wire::name_at(data, at).map_err(|e| match e {
        DnsError::Truncated { .. } => DgmError::Truncated,
        _ => DgmError::BadName,
    })?;
    let nb = name.label_iter().next().and_then(decode_label).ok_or(DgmError::BadName)?;
    Ok((nb, next))
}

/// Reads the header and names (RFC 1002 §4.4.1-§4.4.5).
pub fn parse(data: &[u8]) -> Result<Datagram<'_>, DgmError> {
    let mut c = Cursor::new(data);
    let (Some(t), Some(flags), Some(id), Some(ip), Some(source_port)) =
        (c.u8(), c.u8(), c.be_u16(), c.array::<4>(), c.be_u16())
    else {
        return Err(DgmError::Truncated);
    };
    let msg_type = MsgType(t);
    let mut d = Datagram {
        msg_type,
        flags,
        id,
        source_ip: Ipv4Addr::from(ip),
        source_port,
        packet_offset: 0,
        source_name: None,
        destination_name: None,
        user_data: &[],
    };
    if msg_type.carries_data() {
        let (Some(len), Some(offset)) = (c.be_u16(), c.be_u16()) else { return Err(DgmError::Truncated) };
        // DGM_LENGTH counts the names and the user data (§4.4.2).
        let available = c.remaining();
        if usize::from(len) > available {
            return Err(DgmError::LengthOverrun { announced: len, available });
        }
        d.packet_offset = offset;
        let (src, next) = nb_name_at(data, 14)?;
        let (dst, next) = nb_name_at(data, next)?;
        d.source_name = Some(src);
        d.destination_name = Some(dst);
        d.user_data = data.get(next..14 + usize::from(len)).ok_or(DgmError::Truncated)?;
    } else if msg_type == MsgType::ERROR {
        c.u8().ok_or(DgmError::Truncated)?; // error code
    } else {
        let (dst, _) = nb_name_at(data, 10)?;
        d.destination_name = Some(dst);
    }
    Ok(d)
}

/// A mailslot write: the mailslot's name and the data written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mailslot<'a> {
    /// `\MAILSLOT\BROWSE`, without the NUL.
    pub name: &'a [u8],
    /// The data.
    pub data: &'a [u8],
}

/// The mailslot write an SMB Transaction request carries (MS-CIFS
/// §2.2.4.33.1 with MS-MAIL's setup words); `Ok(None)` when the user data is
/// no SMB Transaction at all.
pub fn mailslot(smb: &[u8]) -> Result<Option<Mailslot<'_>>, DgmError> {
    const SMB_COM_TRANSACTION: u8 = 0x25;
    let Some(header) = smb.get(..32) else { return Ok(None) };
    if header.get(..4) != Some(b"\xffSMB") || header.get(4) != Some(&SMB_COM_TRANSACTION) {
        return Ok(None);
    }
    // SMB is little-endian.
    let le = |at: usize| smb.get(at..at + 2).and_then(|b| <[u8; 2]>::try_from(b).ok()).map(u16::from_le_bytes);
    let word_count = usize::from(*smb.get(32).ok_or(DgmError::BadSmb)?);
    // Parameter words start at 33; DataCount is word 12, DataOffset word 13,
    // SetupCount the low byte of word 14.
    let words = 33;
    let (Some(data_count), Some(data_offset), Some(&setup_count)) =
        (le(words + 2 * 11), le(words + 2 * 12), smb.get(words + 2 * 13))
    else {
        return Err(DgmError::BadSmb);
    };
    if word_count != 14 + usize::from(setup_count) {
        return Err(DgmError::BadSmb);
    }
    let bytes_at = words + 2 * word_count + 2; // past ByteCount
    let tail = smb.get(bytes_at..).ok_or(DgmError::BadSmb)?;
    let name_len = tail.iter().position(|b| *b == 0).ok_or(DgmError::BadSmb)?;
    let name = tail.get(..name_len).ok_or(DgmError::BadSmb)?;
    let start = usize::from(data_offset);
    let data = smb.get(start..start + usize::from(data_count)).ok_or(DgmError::BadSmb)?;
    Ok(Some(Mailslot { name, data }))
}

/// A host, local master or domain announcement (MS-BRWS §2.2.1, §2.2.6, §2.2.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Announcement<'a> {
    /// Which.
    pub opcode: BrowserOpcode,
    /// Times the announcement changed.
    pub update_count: u8,
    /// Announcement period, ms.
    pub periodicity: u32,
    /// The server's (or, for a domain announcement, the workgroup's) name,
    /// NUL-padded to 16 bytes.
    pub server_name: &'a [u8],
    /// OS major version.
    pub os_major: u8,
    /// OS minor version.
    pub os_minor: u8,
    /// SV_TYPE bits.
    pub server_type: u32,
    /// Browser protocol major version.
    pub browser_major: u8,
    /// Browser protocol minor version.
    pub browser_minor: u8,
    /// The comment (a domain announcement: the master browser's name).
    pub comment: &'a [u8],
}

/// Reads an announcement from browser message data; `Ok(None)` for other
/// browser messages.
pub fn announcement(data: &[u8]) -> Result<Option<Announcement<'_>>, DgmError> {
    let mut c = Cursor::new(data);
    let Some(opcode) = c.u8().map(BrowserOpcode) else { return Err(DgmError::ShortAnnouncement(0)) };
    if !opcode.announces() {
        return Ok(None);
    }
    let short = DgmError::ShortAnnouncement(data.len());
    let (Some(update_count), Some(periodicity), Some(name), Some(os_major), Some(os_minor), Some(server_type)) =
        (c.u8(), c.array::<4>(), c.take(16), c.u8(), c.u8(), c.array::<4>())
    else {
        return Err(short);
    };
    let (Some(browser_major), Some(browser_minor), Some(_signature)) = (c.u8(), c.u8(), c.take(2)) else {
        return Err(short);
    };
    let rest = c.rest();
    let comment =
        rest.get(..rest.iter().position(|b| *b == 0).unwrap_or(rest.len()).min(MAX_COMMENT)).unwrap_or_default();
    Ok(Some(Announcement {
        opcode,
        update_count,
        periodicity: u32::from_le_bytes(periodicity),
        server_name: name.get(..name.iter().position(|b| *b == 0).unwrap_or(name.len())).unwrap_or_default(),
        os_major,
        os_minor,
        server_type: u32::from_le_bytes(server_type),
        browser_major,
        browser_minor,
        comment,
    }))
}

/// The datagram service dissector.
#[derive(Clone, Copy, Debug, Default)]
pub struct Nbdgm;

impl DatagramDissector for Nbdgm {
    fn protocol(&self) -> &'static str {
        PROTOCOL
    }

    fn port_hint(&self, src_port: u16, dst_port: u16) -> bool {
        src_port == PORT || dst_port == PORT
    }

    /// A known message type whose names are NetBIOS names.
    fn probe(&self, data: &[u8]) -> Probe {
        match parse(data) {
            Ok(d) if (0x10..=0x16).contains(&d.msg_type.0) && d.msg_type != MsgType::ERROR => Probe::Match,
            _ => Probe::NoMatch,
        }
    }

    fn new_session(&self) -> Box<dyn DatagramSession> {
        Box::new(Session::default())
    }
}

#[derive(Debug, Default)]
struct Session {
    learnt: Learnt,
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).trim_end().to_string()
}

impl DatagramSession for Session {
    fn datagram(&mut self, ctx: &PacketCtx<'_>, _direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        let d = match parse(data) {
            Ok(d) => d,
            Err(e) => {
                emit.malformed(ctx, PROTOCOL, e.what());
                return;
            }
        };
        if !d.msg_type.carries_data() {
            let op = match d.msg_type {
                MsgType::ERROR => Cow::Borrowed("error"),
                MsgType::QUERY_REQUEST => Cow::Borrowed("query_request"),
                MsgType::POSITIVE_QUERY_RESPONSE => Cow::Borrowed("positive_query_response"),
                MsgType::NEGATIVE_QUERY_RESPONSE => Cow::Borrowed("negative_query_response"),
                MsgType(t) => {
                    let op = intern::name("nbdgm_type", u64::from(t), || format!("msg_type_{t:#04x}"));
                    emit.message(ctx, PROTOCOL, op, OperationClass::Unknown);
                    return;
                }
            };
            emit.message(ctx, PROTOCOL, op, OperationClass::Discovery);
            return;
        }
        let slot = if d.whole() { mailslot(d.user_data) } else { Ok(None) };
        let slot = match slot {
            Ok(s) => s,
            Err(e) => {
                emit.malformed(ctx, PROTOCOL, e.what());
                return;
            }
        };
        let Some(slot) = slot else {
            emit.message(ctx, PROTOCOL, Cow::Borrowed("datagram"), OperationClass::Discovery);
            return;
        };
        if !slot.name.eq_ignore_ascii_case(BROWSE) {
            emit.message(ctx, PROTOCOL, Cow::Borrowed("mailslot"), OperationClass::Discovery);
            return;
        }
        let Some(&code) = slot.data.first() else {
            emit.malformed(ctx, PROTOCOL, "short_announcement");
            return;
        };
        let opcode = BrowserOpcode(code);
        let ann = match announcement(slot.data) {
            Ok(a) => a,
            Err(e) => {
                emit.malformed(ctx, PROTOCOL, e.what());
                return;
            }
        };
        match opcode.name() {
            Some("reset_state") => {
                let target = d.destination_name.map(|n| n.with_suffix()).unwrap_or_default();
                let a = vec![(Cow::Borrowed("destination"), target.into())];
                emit.operation(ctx, PROTOCOL, Cow::Borrowed("reset_state"), OperationClass::Control, a);
            }
            Some(name) => emit.message(ctx, PROTOCOL, Cow::Borrowed(name), OperationClass::Discovery),
            None => {
                let op = intern::name("browser_opcode", u64::from(code), || format!("browser_opcode_{code}"));
                emit.message(ctx, PROTOCOL, op, OperationClass::Unknown);
            }
        }
        if let Some(a) = ann {
            self.announce(ctx, &d, &a, emit);
        }
    }
}

impl Session {
    fn announce(&mut self, ctx: &PacketCtx<'_>, d: &Datagram<'_>, a: &Announcement<'_>, emit: &mut dyn Emit) {
        let address = d.source_ip;
        // Once per flow for what the announcement says (a host announces every
        // 12 minutes; a change of roles or comment is new).
        let (kind, server_type, os) = ([a.opcode.0], a.server_type.to_le_bytes(), [a.os_major, a.os_minor]);
        let key: [&[u8]; 5] = [&kind, a.server_name, &server_type, &os, a.comment];
        if !self.learnt.first_of(4, &key, Some(IpAddr::V4(address))) {
            return;
        }
        let name = text(a.server_name);
        let mut e = ctx.event("browser", EventKind::Identity, "browser.announcement");
        let mut put = |k: &'static str, v: String| e.attributes.push((Cow::Borrowed(k), v.into()));
        put("command", a.opcode.name().unwrap_or_default().to_string());
        if a.opcode == BrowserOpcode::DOMAIN_ANNOUNCEMENT {
            put("workgroup", name);
            put("master_browser", text(a.comment));
            put("roles", "master_browser".to_string());
        } else {
            put("host_name", name);
            // Host announcements go to WORKGROUP<1D>, local master ones to WORKGROUP<1E>.
            if let Some(w) = d.destination_name.filter(|n| matches!(n.suffix, 0x1d | 0x1e)) {
                put("workgroup", w.text());
            }
            let roles = server_type_names(a.server_type);
            if !roles.is_empty() {
                put("roles", roles);
            }
            let comment = text(a.comment);
            if !comment.is_empty() {
                put("description", comment);
            }
        }
        put("os_version", format!("{}.{}", a.os_major, a.os_minor));
        put("os", format!("Windows {}.{}", a.os_major, a.os_minor));
        put("server_type", format!("{:#010x}", a.server_type));
        put("browser_version", format!("{}.{}", a.browser_major, a.browser_minor));
        if !address.is_unspecified() {
            put("address", address.to_string());
        }
        emit.event(e);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::super::tests::encode;
    use super::*;
    use crate::test_support::{ctx, event_attr, Recorder};
    use proptest::prelude::*;

    /// A browser message in an SMB Transaction to `\MAILSLOT\BROWSE`, in a
    /// broadcast datagram from `src` to `dst`, as Windows sends it.
    fn datagram(src: (&str, u8), dst: (&str, u8), browser: &[u8]) -> Vec<u8> {
        let mut smb = vec![0xff, b'S', b'M', b'B', 0x25]; // SMB, Transaction
        smb.extend_from_slice(&[0; 27]); // status, flags, ..., MID: all zero
        let name = b"\\MAILSLOT\\BROWSE\0";
        let data_offset = 32 + 1 + 17 * 2 + 2 + name.len();
        smb.push(17); // word count: 14 + 3 setup words
        let words: [u16; 17] = [
            0,                    // total parameter count
            browser.len() as u16, // total data count
            0,
            0, // max parameter, max data
            0, // max setup count, reserved
            0, // flags
            0,
            0,                    // timeout
            0,                    // reserved
            0,                    // parameter count
            data_offset as u16,   // parameter offset
            browser.len() as u16, // data count
            data_offset as u16,   // data offset
            3,                    // setup count 3, reserved
            1,                    // setup: opcode 1 (mailslot write)
            1,                    // priority
            2,                    // class 2 (unreliable)
        ];
        for w in words {
            smb.extend_from_slice(&w.to_le_bytes());
        }
        smb.extend_from_slice(&((name.len() + browser.len()) as u16).to_le_bytes()); // byte count
        smb.extend_from_slice(name);
        assert_eq!(smb.len(), data_offset);
        smb.extend_from_slice(browser);
        let mut names = vec![0x20];
        names.extend(encode(src.0, src.1));
        names.extend_from_slice(&[0, 0x20]);
        names.extend(encode(dst.0, dst.1));
        names.push(0);
        let mut d = vec![
            0x11, // direct group datagram
            0x02, // F: first fragment, B node
            0x80, 0x01, // id
            192, 168, 10, 22, // source IP
            0x00, 0x8a, // source port 138
        ];
        d.extend_from_slice(&((names.len() + smb.len()) as u16).to_be_bytes()); // DGM length
        d.extend_from_slice(&[0, 0]); // packet offset
        d.extend(names);
        d.extend(smb);
        d
    }

    /// A host announcement: WIN2K3LAB022, Windows 5.2, workstation, server,
    /// NT workstation, NT server, backup browser, DFS (0x00829003), comment "lab".
    fn host_announcement() -> Vec<u8> {
        let mut b = vec![
            0x01, // HostAnnouncement
            0x05, // update count
            0x60, 0xea, 0x00, 0x00, // periodicity 60000 ms
        ];
        b.extend_from_slice(b"WIN2K3LAB022\0\0\0\0"); // server name, 16 bytes
        b.extend_from_slice(&[5, 2]); // OS 5.2
        b.extend_from_slice(&0x0082_9003u32.to_le_bytes()); // server type
        b.extend_from_slice(&[15, 1, 0x55, 0xaa]); // browser 15.1, signature
        b.extend_from_slice(b"lab\0"); // comment
        b
    }

    fn run(grams: &[&[u8]]) -> Recorder {
        let mut r = Recorder::default();
        let mut s = Nbdgm.new_session();
        for g in grams {
            s.datagram(&ctx(Direction::ToServer), Direction::ToServer, g, &mut r);
        }
        r
    }

    #[test]
    fn reads_a_host_announcement() {
        let d = datagram(("WIN2K3LAB022", 0x00), ("PLANT", 0x1d), &host_announcement());
        assert_eq!(Nbdgm.probe(&d), Probe::Match);
        let p = parse(&d).unwrap();
        assert_eq!(p.source_name.unwrap().with_suffix(), "WIN2K3LAB022<00>");
        let slot = mailslot(p.user_data).unwrap().unwrap();
        assert_eq!(slot.name, BROWSE);
        let a = announcement(slot.data).unwrap().unwrap();
        assert_eq!((a.server_name, a.os_major, a.os_minor, a.server_type), (&b"WIN2K3LAB022"[..], 5, 2, 0x0082_9003));
        let r = run(&[&d, &d]);
        assert_eq!(r.messages.len(), 2);
        assert_eq!(r.messages[0].2, "host_announcement");
        assert_eq!(r.events.len(), 1, "once per flow");
        let attrs: Vec<(&str, &str)> = r.events[0].attributes.iter().map(|(k, v)| (k.as_ref(), v.as_str())).collect();
        assert_eq!(
            attrs,
            [
                ("command", "host_announcement"),
                ("host_name", "WIN2K3LAB022"),
                ("workgroup", "PLANT"),
                ("roles", "workstation,server,nt_workstation,nt_server,backup_browser,dfs_server"),
                ("description", "lab"),
                ("os_version", "5.2"),
                ("os", "Windows 5.2"),
                ("server_type", "0x00829003"),
                ("browser_version", "15.1"),
                ("address", "192.168.10.22"),
            ]
        );
        assert_eq!(r.events[0].protocol, "browser");
    }

    #[test]
    fn reads_a_domain_announcement_as_naming_the_workgroup() {
        let mut b = host_announcement();
        b[0] = 12; // DomainAnnouncement
        b[6..22].copy_from_slice(b"WORKGROUP\0\0\0\0\0\0\0");
        let n = b.len();
        b[n - 4..].copy_from_slice(b"EWS\0"); // comment: the master browser
        let d = datagram(("EWS", 0x00), ("\x01\x02__MSBROWSE__\x02", 0x01), &b);
        let r = run(&[&d]);
        assert_eq!(r.messages[0].2, "domain_announcement");
        let e = &r.events[0];
        assert_eq!(event_attr(e, "workgroup"), Some("WORKGROUP"));
        assert_eq!(event_attr(e, "master_browser"), Some("EWS"));
        assert_eq!(event_attr(e, "host_name"), None);
    }

    #[test]
    fn names_other_browser_messages_and_keeps_reset_state() {
        let election = datagram(("A", 0), ("PLANT", 0x1e), &[8, 1, 0, 0, 0, 0]);
        let reset = datagram(("A", 0), ("PLANT", 0x1d), &[14, 0]);
        let odd = datagram(("A", 0), ("PLANT", 0x1d), &[0x7f]);
        let r = run(&[&election, &reset, &odd]);
        let ops: Vec<(&str, OperationClass)> = r.messages.iter().map(|m| (m.2.as_str(), m.3)).collect();
        assert_eq!(
            ops,
            [
                ("request_election", OperationClass::Discovery),
                ("reset_state", OperationClass::Control),
                ("browser_opcode_127", OperationClass::Unknown)
            ]
        );
        assert_eq!(r.messages[1].4, [("destination".to_string(), "PLANT<1D>".to_string())]);
        assert!(r.events.is_empty());
    }

    #[test]
    fn counts_other_mailslots_and_plain_datagrams() {
        let mut lanman = datagram(("A", 0), ("PLANT", 0x1d), &[1, 2, 3]);
        let at = lanman.windows(7).position(|w| w == b"MAILSLO").unwrap();
        lanman[at + 9..at + 15].copy_from_slice(b"LANMAN");
        let mut plain = datagram(("A", 0), ("B", 0x03), &[]);
        let smb = plain.windows(4).position(|w| w == b"\xffSMB").unwrap();
        plain[smb] = 0; // not an SMB
        let r = run(&[&lanman, &plain]);
        let ops: Vec<&str> = r.messages.iter().map(|m| m.2.as_str()).collect();
        assert_eq!(ops, ["mailslot", "datagram"]);
    }

    #[test]
    fn reports_short_and_broken_datagrams_as_malformed() {
        let d = datagram(("A", 0), ("B", 0x1d), &host_announcement());
        let mut overrun = d.clone();
        overrun[10] = 0xff; // DGM length past the end
        let short_ann = datagram(("A", 0), ("B", 0x1d), &host_announcement()[..10]);
        let r = run(&[&d[..8], &overrun, &short_ann]);
        assert_eq!(r.malformed, ["truncated", "length_overrun", "short_announcement"]);
        assert!(r.messages.is_empty());
    }

    #[test]
    fn names_server_type_bits_and_unnamed_ones() {
        assert_eq!(server_type_names(0x0000_0009), "workstation,domain_controller");
        assert_eq!(server_type_names(0x0800_0001), "workstation,0x08000000");
        assert_eq!(server_type_names(0), "");
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..300), i in 0usize..400, b in any::<u8>()) {
            let _ = Nbdgm.probe(&data);
            let r = run(&[&data]);
            prop_assert_eq!(r.messages.len() + r.malformed.len(), 1);
            let mut d = datagram(("A", 0), ("B", 0x1d), &host_announcement());
            let n = d.len();
            d[i % n] = b;
            let r = run(&[&d]);
            prop_assert_eq!(r.messages.len() + r.malformed.len(), 1);
        }
    }
}
