//! SMB2 and SMB3 (MS-SMB2): the 64-byte header (2.2.1), compound chains
//! (NextCommand, 3.2.4.1.4), and the commands that say who is who and what
//! is done: NEGOTIATE (2.2.3, 2.2.4), SESSION_SETUP (2.2.5, 2.2.6),
//! TREE_CONNECT (2.2.9, 2.2.10), CREATE (2.2.13, 2.2.14), CLOSE, READ,
//! WRITE (2.2.21), IOCTL (2.2.31) and SET_INFO (2.2.39). Offsets in the
//! bodies count from the start of the header, as the specification says.

use super::{ntlmssp, push, respond, tree_attrs, Attrs, NtStatus, Pending, State, PROTOCOL};
use crate::cursor::Cursor;
use crate::intern;
use crate::{Emit, PacketCtx};
use otposture_model::{EventKind, OperationClass};
use std::borrow::Cow;

/// Length of the SMB2 header.
pub const HEADER_LEN: usize = 64;
/// Most commands of one compound message read.
const MAX_CHAIN: usize = 32;

/// An SMB2 command code (2.2.1.2); open, so unknown codes are reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Command(pub u16);

impl Command {
    /// NEGOTIATE.
    pub const NEGOTIATE: Command = Command(0);
    /// SESSION_SETUP.
    pub const SESSION_SETUP: Command = Command(1);
    /// TREE_CONNECT.
    pub const TREE_CONNECT: Command = Command(3);
    /// CREATE.
    pub const CREATE: Command = Command(5);
    /// CLOSE.
    pub const CLOSE: Command = Command(6);
    /// READ.
    pub const READ: Command = Command(8);
    /// WRITE.
    pub const WRITE: Command = Command(9);
    /// IOCTL.
    pub const IOCTL: Command = Command(0xb);
    /// SET_INFO.
    pub const SET_INFO: Command = Command(0x11);

    /// The snake_case name and what the command does.
    pub fn describe(self) -> (Cow<'static, str>, OperationClass) {
        use OperationClass::{Authentication, Read, Session, Unknown, Write};
        let (name, class) = match self.0 {
            0 => ("negotiate", Session),
            1 => ("session_setup", Authentication),
            2 => ("logoff", Session),
            3 => ("tree_connect", Authentication),
            4 => ("tree_disconnect", Session),
            5 => ("create", Session),
            6 => ("close", Session),
            7 => ("flush", Session),
            8 => ("read", Read),
            9 => ("write", Write),
            0xa => ("lock", Session),
            0xb => ("ioctl", Session),
            0xc => ("cancel", Session),
            0xd => ("echo", Session),
            0xe => ("query_directory", Read),
            0xf => ("change_notify", Session),
            0x10 => ("query_info", Read),
            0x11 => ("set_info", Write),
            0x12 => ("oplock_break", Session),
            n => {
                return (intern::name("smb2_command", u64::from(n), || format!("unknown_{n:#06x}")), Unknown);
            }
        };
        (Cow::Borrowed(name), class)
    }
}

/// A dialect revision (2.2.3) as text: `2.0.2`, `2.1`, `3.0`, `3.0.2`,
/// `3.1.1`, `2.???` (the wildcard of a multi-protocol negotiate).
pub fn dialect_name(d: u16) -> Cow<'static, str> {
    Cow::Borrowed(match d {
        0x0202 => "2.0.2",
        0x0210 => "2.1",
        0x0222 => "2.2.2",
        0x0224 => "2.2.4",
        0x0300 => "3.0",
        0x0302 => "3.0.2",
        0x0310 => "3.1",
        0x0311 => "3.1.1",
        0x02ff => "2.???",
        n => return Cow::Owned(format!("{n:#06x}")),
    })
}

/// An FSCTL/IOCTL code's name (MS-FSCC 2.3, MS-SMB2 2.2.31), and whether it
/// changes a file.
fn fsctl(code: u32) -> (Cow<'static, str>, bool) {
    let (name, writes) = match code {
        0x0006_0194 => ("ioctl_dfs_get_referrals", false),
        0x0006_01b0 => ("ioctl_dfs_get_referrals_ex", false),
        0x0011_400c => ("ioctl_pipe_peek", false),
        0x0011_0018 => ("ioctl_pipe_wait", false),
        0x0011_c017 => ("ioctl_pipe_transceive", false),
        0x0014_40f2 => ("ioctl_srv_copychunk", true),
        0x0014_80f2 => ("ioctl_srv_copychunk_write", true),
        0x0014_4064 => ("ioctl_srv_enumerate_snapshots", false),
        0x0014_0078 => ("ioctl_srv_request_resume_key", false),
        0x0014_41bb => ("ioctl_srv_read_hash", false),
        0x0014_01d4 => ("ioctl_lmr_request_resiliency", false),
        0x0014_01fc => ("ioctl_query_network_interface_info", false),
        0x0014_0204 => ("ioctl_validate_negotiate_info", false),
        0x0009_00a4 => ("ioctl_set_reparse_point", true),
        0x0009_00a8 => ("ioctl_get_reparse_point", false),
        0x0009_00c0 => ("ioctl_create_or_get_object_id", false),
        0x0009_00c4 => ("ioctl_set_sparse", true),
        0x0009_40cf => ("ioctl_query_allocated_ranges", false),
        0x0009_80c8 => ("ioctl_set_zero_data", true),
        n => return (intern::name("smb2_fsctl", u64::from(n), || format!("ioctl_{n:#010x}")), false),
    };
    (Cow::Borrowed(name), writes)
}

/// The parsed SMB2 header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Status (responses) or channel sequence (requests).
    pub status: NtStatus,
    /// The command.
    pub command: Command,
    /// Flags (2.2.1.2).
    pub flags: u32,
    /// Offset of the next command of a compound message, or 0.
    pub next_command: u32,
    /// MessageId.
    pub message_id: u64,
    /// TreeId (sync messages).
    pub tree_id: Option<u32>,
}

impl Header {
    /// SMB2_FLAGS_SERVER_TO_REDIR.
    pub fn is_response(&self) -> bool {
        self.flags & 0x1 != 0
    }
}

/// Parses the header at the start of `data`.
pub fn parse_header(data: &[u8]) -> Option<Header> {
    let mut c = Cursor::new(data);
    if c.take(4)? != [0xfe, b'S', b'M', b'B'] {
        return None;
    }
    let size = c.le_u16()?;
    if usize::from(size) != HEADER_LEN {
        return None;
    }
    c.skip(2)?; // CreditCharge
    let status = NtStatus(c.le_u32()?);
    let command = Command(c.le_u16()?);
    c.skip(2)?; // CreditRequest/Response
    let flags = c.le_u32()?;
    let next_command = c.le_u32()?;
    let message_id = c.le_u64()?;
    // SMB2_FLAGS_ASYNC_COMMAND: AsyncId instead of Reserved and TreeId.
    let tree_id = if flags & 0x2 != 0 {
        None
    } else {
        c.skip(4)?;
        Some(c.le_u32()?)
    };
    Some(Header { status, command, flags, next_command, message_id, tree_id })
}

/// A buffer given by an offset from the header start and a length.
fn buffer(hdr: &[u8], offset: u32, len: u32) -> &[u8] {
    let (o, l) = (offset as usize, len as usize);
    let end = o.saturating_add(l).min(hdr.len());
    hdr.get(o..end).unwrap_or_default()
}

fn tree_key(t: u32) -> u64 {
    u64::from(t)
}

fn file_key(id: [u8; 16]) -> u128 {
    u128::from_le_bytes(id)
}

/// Desired-access bits that let a handle change a file (MS-SMB2 2.2.13.1):
/// write data, append, write EA/attributes, delete, write DAC/owner,
/// generic write/all, maximum allowed.
pub const WRITE_ACCESS: u32 = 0x0000_0002
    | 0x0000_0004
    | 0x0000_0010
    | 0x0000_0100
    | 0x0001_0000
    | 0x0004_0000
    | 0x0008_0000
    | 0x4000_0000
    | 0x1000_0000
    | 0x0200_0000;

/// One SMB2 message (a compound chain), of which `msg` holds up to the
/// first [`super::MAX_PREFIX`] bytes.
pub(crate) fn message(ctx: &PacketCtx<'_>, msg: &[u8], state: &mut State, emit: &mut dyn Emit) {
    let mut off = 0usize;
    for _ in 0..MAX_CHAIN {
        let Some(hdr) = msg.get(off..) else { return };
        let Some(h) = parse_header(hdr) else {
            emit.malformed(ctx, PROTOCOL, "smb2_bad_header");
            return;
        };
        let end = if h.next_command == 0 { hdr.len() } else { (h.next_command as usize).min(hdr.len()) };
        let one = hdr.get(..end).unwrap_or(hdr);
        command(ctx, &h, one, state, emit);
        if h.next_command == 0 || (h.next_command as usize) < HEADER_LEN {
            return;
        }
        off += h.next_command as usize;
    }
}

/// One command: `hdr` is its header and body.
fn command(ctx: &PacketCtx<'_>, h: &Header, hdr: &[u8], state: &mut State, emit: &mut dyn Emit) {
    let body = hdr.get(HEADER_LEN..).unwrap_or_default();
    let mut c = Cursor::new(body);
    let (name, class) = h.command.describe();
    let key = h.message_id;
    let tree = h.tree_id.map(tree_key);
    if !h.is_response() {
        match h.command {
            Command::NEGOTIATE => {
                emit.message(ctx, PROTOCOL, name, class);
                // StructureSize, DialectCount, SecurityMode, Reserved, Capabilities, ClientGuid, 8 bytes.
                let (Some(_), Some(n)) = (c.le_u16(), c.le_u16()) else { return };
                let guid = c.skip(8).and_then(|_| c.array::<16>());
                if c.skip(8).is_none() {
                    return;
                }
                let dialects: Vec<String> =
                    (0..n.min(64)).map_while(|_| c.le_u16()).map(|d| dialect_name(d).into_owned()).collect();
                let mut e = ctx.event(PROTOCOL, EventKind::Identity, "smb.client");
                push(&mut e.attributes, "dialects", dialects.join(","));
                if let Some(g) = guid {
                    push(&mut e.attributes, "client_guid", guid_text(g));
                }
                emit.event(e);
            }
            Command::SESSION_SETUP => {
                // StructureSize, Flags, SecurityMode, Capabilities, Channel, SecurityBufferOffset/Length.
                let blob = c.skip(12).and_then(|_| Some((c.le_u16()?, c.le_u16()?)));
                let mut a = Attrs::new();
                if let Some((o, l)) = blob {
                    ntlmssp::report(ctx, state, buffer(hdr, u32::from(o), u32::from(l)), &mut a, emit);
                }
                emit.operation(ctx, PROTOCOL, name, class, a);
            }
            Command::TREE_CONNECT => {
                // StructureSize, Flags, PathOffset, PathLength.
                let path = c.skip(4).and_then(|_| Some((c.le_u16()?, c.le_u16()?)));
                let path = path.map(|(o, l)| super::utf16(buffer(hdr, u32::from(o), u32::from(l))));
                let mut a = Attrs::new();
                if let Some(p) = path.as_deref() {
                    tree_attrs(&mut a, p);
                }
                state.pending.insert(key, Pending { path, tree, access: 0 });
                emit.operation(ctx, PROTOCOL, name, class, a);
            }
            Command::CREATE => {
                // DesiredAccess at 24; NameOffset, NameLength at 44.
                let access = c.skip(24).and_then(|_| c.le_u32()).unwrap_or(0);
                let file = c.skip(16).and_then(|_| Some((c.le_u16()?, c.le_u16()?)));
                let file = file.map(|(o, l)| super::utf16(buffer(hdr, u32::from(o), u32::from(l))));
                state.pending.insert(key, Pending { path: file, tree, access });
                emit.message(ctx, PROTOCOL, name, class);
            }
            Command::CLOSE => {
                // StructureSize, Flags, Reserved, FileId.
                if let Some(id) = c.skip(8).and_then(|_| c.array::<16>()) {
                    state.files.remove(file_key(id));
                }
                emit.message(ctx, PROTOCOL, name, class);
            }
            Command::WRITE => {
                // StructureSize, DataOffset, Length, Offset, FileId.
                let f = c.skip(4).and_then(|_| Some((c.le_u32()?, c.le_u64()?, c.array::<16>()?)));
                match f {
                    Some((len, offset, id)) => {
                        super::write(ctx, state, name, file_key(id), offset, u64::from(len), emit);
                    }
                    None => emit.malformed(ctx, PROTOCOL, "smb2_short_write"),
                }
            }
            Command::IOCTL => {
                // StructureSize, Reserved, CtlCode, FileId.
                let code = c.skip(4).and_then(|_| c.le_u32()).unwrap_or(0);
                let (op, writes) = fsctl(code);
                if writes {
                    let mut a = Attrs::new();
                    if let Some(id) = c.array::<16>() {
                        file_attrs(&mut a, state, file_key(id));
                    }
                    emit.operation(ctx, PROTOCOL, op, OperationClass::Write, a);
                } else {
                    emit.message(ctx, PROTOCOL, op, class);
                }
            }
            Command::SET_INFO => {
                // StructureSize, InfoType, FileInfoClass, BufferLength, BufferOffset, Reserved, AdditionalInformation, FileId.
                let mut a = Attrs::new();
                let (Some(_), Some(info_type), Some(info_class)) = (c.le_u16(), c.u8(), c.u8()) else {
                    emit.operation(ctx, PROTOCOL, name, class, a);
                    return;
                };
                push(&mut a, "info", set_info_name(info_type, info_class));
                if let Some(id) = c.skip(12).and_then(|_| c.array::<16>()) {
                    file_attrs(&mut a, state, file_key(id));
                }
                emit.operation(ctx, PROTOCOL, name, class, a);
            }
            _ if class.is_notable() => emit.operation(ctx, PROTOCOL, name, class, Attrs::new()),
            _ => emit.message(ctx, PROTOCOL, name, class),
        }
        return;
    }
    // Responses.
    let status = h.status;
    // An interim STATUS_PENDING answer (async) leaves the request waiting for its final one.
    if status == NtStatus::PENDING {
        respond(ctx, name, class, status, Attrs::new(), emit);
        return;
    }
    let pending = state.pending.remove(key);
    let mut a = Attrs::new();
    match h.command {
        Command::NEGOTIATE if !status.is_error() => {
            // StructureSize, SecurityMode, DialectRevision, NegotiateContextCount, ServerGuid, Capabilities.
            let f = c.skip(2).and_then(|_| Some((c.le_u16()?, c.le_u16()?, c.skip(2)?, c.array::<16>()?, c.le_u32()?)));
            let Some((mode, dialect, _, guid, caps)) = f else {
                emit.malformed(ctx, PROTOCOL, "smb2_short_negotiate_response");
                return;
            };
            let blob = c.skip(28).and_then(|_| Some((c.le_u16()?, c.le_u16()?)));
            let signing = signing_name(mode & 0x2 != 0, mode & 0x1 != 0);
            let e = state.server_event(ctx);
            push(&mut e.attributes, "dialect", dialect_name(dialect).into_owned());
            push(&mut e.attributes, "signing", signing.to_string());
            push(&mut e.attributes, "server_guid", guid_text(guid));
            push(&mut e.attributes, "capabilities", capability_names(caps));
            if mode & 0x2 == 0 {
                emit.event(ctx.event(PROTOCOL, EventKind::Anomaly, "smb.signing_not_required"));
            }
            if let Some((o, l)) = blob {
                let mut ignored = Attrs::new();
                ntlmssp::report(ctx, state, buffer(hdr, u32::from(o), u32::from(l)), &mut ignored, emit);
            }
        }
        Command::SESSION_SETUP => {
            // StructureSize, SessionFlags, SecurityBufferOffset/Length.
            let f = c.skip(2).and_then(|_| Some((c.le_u16()?, c.le_u16()?, c.le_u16()?)));
            if let Some((flags, o, l)) = f {
                let mut stage = Attrs::new();
                ntlmssp::report(ctx, state, buffer(hdr, u32::from(o), u32::from(l)), &mut stage, emit);
                // SMB2_SESSION_FLAG_IS_GUEST, IS_NULL: access granted without a real account.
                if status == NtStatus::SUCCESS && flags & 0x3 != 0 {
                    push(&mut a, if flags & 0x1 != 0 { "guest" } else { "anonymous" }, "true".to_string());
                    emit.operation(ctx, PROTOCOL, name, class, a);
                    return;
                }
            }
        }
        Command::TREE_CONNECT => {
            if let Some(p) = pending.as_ref().and_then(|p| p.path.as_deref()) {
                if status == NtStatus::SUCCESS {
                    if let Some(t) = h.tree_id {
                        state.trees.insert(tree_key(t), p.to_string());
                    }
                }
                tree_attrs(&mut a, p);
            }
        }
        Command::CREATE => {
            let name_of = pending.as_ref().and_then(|p| p.path.clone()).unwrap_or_default();
            let tree_of = pending.as_ref().and_then(|p| p.tree);
            let access = pending.as_ref().map_or(0, |p| p.access);
            if status == NtStatus::SUCCESS {
                // FileId at 64.
                if let Some(id) = c.skip(64).and_then(|_| c.array::<16>()) {
                    let file = super::File { name: name_of.clone(), tree: tree_of, access, written: false };
                    state.files.insert(file_key(id), file);
                }
            }
            if let Some(t) = state.tree_path(tree_of) {
                tree_attrs(&mut a, t);
                a.retain(|(k, _)| k != "path");
            }
            push(&mut a, "path", name_of);
        }
        Command::IOCTL => {
            let code = c.skip(4).and_then(|_| c.le_u32()).unwrap_or(0);
            let (op, writes) = fsctl(code);
            let class = if writes { OperationClass::Write } else { class };
            respond(ctx, op, class, status, a, emit);
            return;
        }
        _ => {}
    }
    respond(ctx, name, class, status, a, emit);
}

/// The attributes naming an open file: its tree's share and its path.
fn file_attrs(a: &mut Attrs, state: &State, file: u128) {
    let Some(f) = state.files.get(file) else { return };
    match state.tree_path(f.tree) {
        Some(t) => {
            tree_attrs(a, t);
            a.retain(|(k, _)| k != "path");
            push(a, "path", format!("{t}\\{}", f.name.trim_start_matches('\\')));
        }
        None => push(a, "path", f.name.clone()),
    }
}

/// What a SET_INFO changes (MS-SMB2 2.2.39, MS-FSCC 2.4).
fn set_info_name(info_type: u8, class: u8) -> String {
    match (info_type, class) {
        (1, 4) => "basic_information".to_string(),
        (1, 10) => "rename".to_string(),
        (1, 11) => "link".to_string(),
        (1, 13) => "delete".to_string(),
        (1, 19) => "allocation".to_string(),
        (1, 20) => "end_of_file".to_string(),
        (1, 64) => "delete_ex".to_string(),
        (1, 65) => "rename_ex".to_string(),
        (3, _) => "security".to_string(),
        (2, _) => "filesystem".to_string(),
        (4, _) => "quota".to_string(),
        (t, c) => format!("type_{t}_class_{c}"),
    }
}

/// `required`, `enabled` or `disabled`.
pub(crate) fn signing_name(required: bool, enabled: bool) -> &'static str {
    if required {
        "required"
    } else if enabled {
        "enabled"
    } else {
        "disabled"
    }
}

/// SMB2 global capabilities (2.2.4) by name.
fn capability_names(caps: u32) -> String {
    const NAMES: [(u32, &str); 7] = [
        (0x01, "dfs"),
        (0x02, "leasing"),
        (0x04, "large_mtu"),
        (0x08, "multi_channel"),
        (0x10, "persistent_handles"),
        (0x20, "directory_leasing"),
        (0x40, "encryption"),
    ];
    let mut out: Vec<String> = NAMES.iter().filter(|(b, _)| caps & b != 0).map(|(_, n)| (*n).to_string()).collect();
    if caps & !0x7f != 0 {
        out.push(format!("{:#x}", caps & !0x7f));
    }
    out.join(",")
}

/// A GUID in its registry form (the first three fields little-endian).
pub(crate) fn guid_text(g: [u8; 16]) -> String {
    let [a0, a1, a2, a3, b0, b1, c0, c1, d @ ..] = g;
    let d: String = d.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{:08x}-{:04x}-{:04x}-{}-{}",
        u32::from_le_bytes([a0, a1, a2, a3]),
        u16::from_le_bytes([b0, b1]),
        u16::from_le_bytes([c0, c1]),
        d.get(..4).unwrap_or_default(),
        d.get(4..).unwrap_or_default()
    )
}
