//! SMB1 / CIFS (MS-CIFS, MS-SMB): the 32-byte header (MS-CIFS 2.2.3.1), the
//! parameter and data blocks, AndX chains (2.2.3.4), and the commands that
//! say who is who and what is done: NEGOTIATE (2.2.4.52), SESSION_SETUP_ANDX
//! (2.2.4.53, MS-SMB 2.2.4.6 with extended security), TREE_CONNECT_ANDX
//! (2.2.4.55), NT_CREATE_ANDX (2.2.4.64), WRITE and WRITE_ANDX (2.2.4.12,
//! 2.2.4.43), CLOSE, DELETE, RENAME, directory creation and removal,
//! TRANSACTION (mailslots and named pipes, counted). Strings are UTF-16LE,
//! aligned to two bytes from the header's start, when the header's
//! SMB_FLAGS2_UNICODE is set, else 8-bit.

use super::{ntlmssp, push, respond, tree_attrs, Attrs, NtStatus, Pending, State, PROTOCOL, TAG_SMB1};
use crate::cursor::Cursor;
use crate::intern;
use crate::{Emit, PacketCtx};
use otposture_model::{EventKind, OperationClass};
use std::borrow::Cow;

/// Length of the SMB1 header.
pub const HEADER_LEN: usize = 32;
/// Most commands of one AndX chain read.
const MAX_CHAIN: usize = 8;

/// An SMB1 command code (MS-CIFS 2.2.2.1); open, so unknown codes are reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Command(pub u8);

impl Command {
    /// The snake_case name and what the command does.
    pub fn describe(self) -> (Cow<'static, str>, OperationClass) {
        use OperationClass::{Authentication, Read, Session, Unknown, Write};
        let (name, class) = match self.0 {
            0x00 => ("create_directory", Write),
            0x01 => ("delete_directory", Write),
            0x02 => ("open", Session),
            0x03 => ("create", Session),
            0x04 => ("close", Session),
            0x05 => ("flush", Session),
            0x06 => ("delete", Write),
            0x07 => ("rename", Write),
            0x08 => ("query_information", Read),
            0x09 => ("set_information", Write),
            0x0a => ("read", Read),
            0x0b => ("write", Write),
            0x10 => ("check_directory", Read),
            0x24 => ("locking_andx", Session),
            0x25 => ("transaction", Session),
            0x26 => ("transaction_secondary", Session),
            0x2b => ("echo", Session),
            0x2d => ("open_andx", Session),
            0x2e => ("read_andx", Read),
            0x2f => ("write_andx", Write),
            0x32 => ("transaction2", Read),
            0x33 => ("transaction2_secondary", Read),
            0x34 => ("find_close2", Session),
            0x70 => ("tree_connect", Authentication),
            0x71 => ("tree_disconnect", Session),
            0x72 => ("negotiate", Session),
            0x73 => ("session_setup_andx", Authentication),
            0x74 => ("logoff_andx", Session),
            0x75 => ("tree_connect_andx", Authentication),
            0xa0 => ("nt_transact", Read),
            0xa1 => ("nt_transact_secondary", Read),
            0xa2 => ("nt_create_andx", Session),
            0xa4 => ("nt_cancel", Session),
            0xa5 => ("nt_rename", Write),
            n => return (intern::name("smb1_command", u64::from(n), || format!("unknown_{n:#04x}")), Unknown),
        };
        (Cow::Borrowed(name), class)
    }

    /// Commands whose parameters start with an AndX block.
    fn is_andx(self) -> bool {
        matches!(self.0, 0x24 | 0x2d | 0x2e | 0x2f | 0x73 | 0x74 | 0x75 | 0xa2)
    }
}

/// The parsed SMB1 header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// The first command.
    pub command: Command,
    /// The status, as an NT status (DOS errors mapped, see [`Header::status`]).
    pub raw_status: u32,
    /// Flags (0x80: reply).
    pub flags: u8,
    /// Flags2 (0x8000 Unicode, 0x4000 NT status, 0x0800 extended security).
    pub flags2: u16,
    /// Tree id.
    pub tid: u16,
    /// User id.
    pub uid: u16,
    /// Multiplex id: pairs a reply with its request.
    pub mid: u16,
}

impl Header {
    /// A reply.
    pub fn is_response(&self) -> bool {
        self.flags & 0x80 != 0
    }

    /// Strings are UTF-16LE.
    pub fn unicode(&self) -> bool {
        self.flags2 & 0x8000 != 0
    }

    /// The status as an NT status; a DOS error (class, code) without
    /// SMB_FLAGS2_NT_STATUS is mapped for access (ERRDOS/ERRnoaccess) and
    /// logon (ERRSRV/ERRbadpw) refusals, others made an error by class and code.
    pub fn status(&self) -> NtStatus {
        if self.flags2 & 0x4000 != 0 {
            return NtStatus(self.raw_status);
        }
        let [class, _, lo, hi] = self.raw_status.to_le_bytes();
        let code = u16::from_le_bytes([lo, hi]);
        match (class, code) {
            (0, _) => NtStatus::SUCCESS,
            (1, 5) => NtStatus(0xc000_0022),
            (2, 2) => NtStatus(0xc000_006d),
            (c, n) => NtStatus(0xc000_0000 | u32::from(c) << 16 | u32::from(n)),
        }
    }
}

/// Parses the header at the start of `data`.
pub fn parse_header(data: &[u8]) -> Option<Header> {
    let mut c = Cursor::new(data);
    if c.take(4)? != [0xff, b'S', b'M', b'B'] {
        return None;
    }
    let command = Command(c.u8()?);
    let raw_status = c.le_u32()?;
    let flags = c.u8()?;
    let flags2 = c.le_u16()?;
    c.skip(12)?; // PIDHigh, SecurityFeatures, Reserved
    let tid = c.le_u16()?;
    c.skip(2)?; // PIDLow
    let uid = c.le_u16()?;
    let mid = c.le_u16()?;
    Some(Header { command, raw_status, flags, flags2, tid, uid, mid })
}

/// One command's parameter and data blocks.
#[derive(Clone, Copy, Debug)]
struct Block<'a> {
    words: &'a [u8],
    bytes: &'a [u8],
    /// Offset of `bytes` from the header's start (for string alignment).
    bytes_off: usize,
}

impl<'a> Block<'a> {
    /// The blocks at `off`; the data block may be cut by the message prefix.
    fn read(msg: &'a [u8], off: usize) -> Option<Self> {
        let mut c = Cursor::new(msg.get(off..)?);
        let wc = c.u8()?;
        let words = c.take(usize::from(wc) * 2)?;
        let bc = usize::from(c.le_u16().unwrap_or(0));
        let bytes_off = off + 1 + usize::from(wc) * 2 + 2;
        let rest = c.rest();
        Some(Block { words, bytes: rest.get(..bc).unwrap_or(rest), bytes_off })
    }
}

/// Reads NUL-terminated strings from a data block, in the header's encoding.
struct Strings<'a> {
    c: Cursor<'a>,
    /// Offset of the cursor's position from the header's start.
    at: usize,
    unicode: bool,
}

impl<'a> Strings<'a> {
    fn new(bytes: &'a [u8], bytes_off: usize, unicode: bool) -> Self {
        Strings { c: Cursor::new(bytes), at: bytes_off, unicode }
    }

    fn skip(&mut self, n: usize) -> Option<()> {
        self.c.skip(n)?;
        self.at += n;
        Some(())
    }

    /// The next string; `None` when the block ends.
    fn next_string(&mut self) -> Option<String> {
        if self.c.remaining() == 0 {
            return None;
        }
        if self.unicode {
            if self.at % 2 == 1 {
                self.skip(1)?;
            }
            let rest = self.c.rest();
            let units = rest.chunks_exact(2).position(|p| p == [0, 0]).unwrap_or(rest.len() / 2);
            let s = super::utf16(rest.get(..units * 2).unwrap_or_default());
            let n = (units * 2 + 2).min(rest.len());
            self.skip(n)?;
            Some(s)
        } else {
            let rest = self.c.rest();
            let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
            let s = super::oem(rest.get(..end).unwrap_or_default());
            self.skip((end + 1).min(rest.len()))?;
            Some(s)
        }
    }
}

fn word(words: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*words.get(at)?, *words.get(at + 1)?]))
}

fn dword(words: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(word(words, at)?) | u32::from(word(words, at + 2)?) << 16)
}

fn fid_key(fid: u16) -> u128 {
    u128::from(TAG_SMB1) | u128::from(fid)
}

fn tid_key(tid: u16) -> u64 {
    TAG_SMB1 | u64::from(tid)
}

fn mid_key(mid: u16) -> u64 {
    TAG_SMB1 | u64::from(mid)
}

/// One SMB1 message, of which `msg` holds up to the first
/// [`super::MAX_PREFIX`] bytes.
pub(crate) fn message(ctx: &PacketCtx<'_>, msg: &[u8], state: &mut State, emit: &mut dyn Emit) {
    let Some(h) = parse_header(msg) else {
        emit.malformed(ctx, PROTOCOL, "smb1_short_header");
        return;
    };
    // A client's multi-protocol negotiate is sent in SMB1 by current clients
    // too; anything else in SMB1 means the flow uses it.
    if h.command.0 != 0x72 || h.is_response() {
        state.smb1_in_use(ctx, emit);
    }
    let mut cmd = h.command;
    let mut off = HEADER_LEN;
    for _ in 0..MAX_CHAIN {
        let Some(block) = Block::read(msg, off) else {
            emit.malformed(ctx, PROTOCOL, "smb1_short_parameters");
            return;
        };
        command(ctx, &h, cmd, &block, state, emit);
        if !cmd.is_andx() || block.words.len() < 4 {
            return;
        }
        let (Some(&next), Some(next_off)) = (block.words.first(), word(block.words, 2)) else { return };
        let next_off = usize::from(next_off);
        if next == 0xff || next_off <= off {
            return;
        }
        cmd = Command(next);
        off = next_off;
    }
}

/// One command of a chain.
fn command(ctx: &PacketCtx<'_>, h: &Header, cmd: Command, b: &Block<'_>, state: &mut State, emit: &mut dyn Emit) {
    let (name, class) = cmd.describe();
    let unicode = h.unicode();
    let w = b.words;
    let mut strings = Strings::new(b.bytes, b.bytes_off, unicode);
    if !h.is_response() {
        match cmd.0 {
            // Dialect strings, each after a buffer format byte 0x02.
            0x72 => {
                emit.message(ctx, PROTOCOL, name, class);
                let mut dialects = Vec::new();
                let mut c = Cursor::new(b.bytes);
                while c.u8() == Some(0x02) && dialects.len() < 32 {
                    let rest = c.rest();
                    let end = rest.iter().position(|&x| x == 0).unwrap_or(rest.len());
                    dialects.push(super::oem(rest.get(..end).unwrap_or_default()));
                    c = Cursor::new(rest.get(end + 1..).unwrap_or_default());
                }
                let mut e = ctx.event(PROTOCOL, EventKind::Identity, "smb.client");
                push(&mut e.attributes, "dialects", dialects.join(","));
                emit.event(e);
                state.smb1_dialects = dialects;
            }
            0x73 => {
                let mut a = Attrs::new();
                session_setup_request(ctx, h, b, state, &mut a, emit);
                emit.operation(ctx, PROTOCOL, name, class, a);
            }
            // AndX (4), Flags, PasswordLength; Password, Path, Service.
            0x75 => {
                let pw = usize::from(word(w, 6).unwrap_or(0));
                let path = strings.skip(pw).and_then(|_| strings.next_string());
                let mut a = Attrs::new();
                if let Some(p) = path.as_deref() {
                    tree_attrs(&mut a, p);
                }
                if pw > 1 {
                    push(&mut a, "password_length", pw.to_string());
                }
                state.pending.insert(mid_key(h.mid), Pending { path, tree: None, access: 0 });
                emit.operation(ctx, PROTOCOL, name, class, a);
            }
            // AndX (4), Reserved, NameLength, Flags, RootDirectoryFID, DesiredAccess; FileName.
            0xa2 => {
                let access = dword(w, 15).unwrap_or(0);
                let file = strings.next_string();
                let p = Pending { path: file, tree: Some(tid_key(h.tid)), access };
                state.pending.insert(mid_key(h.mid), p);
                emit.message(ctx, PROTOCOL, name, class);
            }
            // AndX (4), FID, Offset, Timeout, WriteMode, Remaining, DataLengthHigh, DataLength, DataOffset, OffsetHigh.
            0x2f => {
                let (Some(fid), Some(lo)) = (word(w, 4), dword(w, 6)) else {
                    emit.malformed(ctx, PROTOCOL, "smb1_short_write");
                    return;
                };
                let len = u64::from(word(w, 18).unwrap_or(0)) << 16 | u64::from(word(w, 20).unwrap_or(0));
                let offset = u64::from(dword(w, 24).unwrap_or(0)) << 32 | u64::from(lo);
                note_tree(state, fid, h.tid);
                super::write(ctx, state, name, fid_key(fid), offset, len, emit);
            }
            // FID, CountOfBytesToWrite, WriteOffsetInBytes.
            0x0b => {
                let (Some(fid), Some(n), Some(offset)) = (word(w, 0), word(w, 2), dword(w, 4)) else {
                    emit.malformed(ctx, PROTOCOL, "smb1_short_write");
                    return;
                };
                note_tree(state, fid, h.tid);
                super::write(ctx, state, name, fid_key(fid), u64::from(offset), u64::from(n), emit);
            }
            0x04 => {
                if let Some(fid) = word(w, 0) {
                    state.files.remove(fid_key(fid));
                }
                emit.message(ctx, PROTOCOL, name, class);
            }
            // Delete, rename, directories: buffer format 0x04, then names.
            0x00 | 0x01 | 0x06 | 0x07 => {
                let mut a = Attrs::new();
                let tree = state.tree_path(Some(tid_key(h.tid))).map(str::to_string);
                if strings.skip(1).is_some() {
                    if let Some(n) = strings.next_string() {
                        let full = match tree.as_deref() {
                            Some(t) => format!("{t}\\{}", n.trim_start_matches('\\')),
                            None => n,
                        };
                        push(&mut a, "path", full);
                    }
                }
                emit.operation(ctx, PROTOCOL, name, class, a);
            }
            _ if class.is_notable() => emit.operation(ctx, PROTOCOL, name, class, Attrs::new()),
            _ => emit.message(ctx, PROTOCOL, name, class),
        }
        return;
    }
    let status = h.status();
    let pending = state.pending.remove(mid_key(h.mid));
    let mut a = Attrs::new();
    match cmd.0 {
        0x72 if !status.is_error() => negotiate_response(ctx, h, b, state),
        0x73 => {
            // Extended security (4 words): AndX, Action, SecurityBlobLength; else (3): AndX, Action.
            let action = word(w, 4).unwrap_or(0);
            let mut stage = Attrs::new();
            if w.len() == 8 {
                let blob_len = usize::from(word(w, 6).unwrap_or(0));
                ntlmssp::report(ctx, state, b.bytes.get(..blob_len).unwrap_or(b.bytes), &mut stage, emit);
                let _ = strings.skip(blob_len);
            }
            if w.len() >= 6 {
                let (os, lanman, domain) = (strings.next_string(), strings.next_string(), strings.next_string());
                let e = state.server_event(ctx);
                for (k, v) in [("native_os", os), ("native_lanman", lanman), ("primary_domain", domain)] {
                    if let Some(v) = v.filter(|v| !v.is_empty()) {
                        push(&mut e.attributes, k, v);
                    }
                }
                if status == NtStatus::SUCCESS {
                    state.flush_server(emit);
                }
            }
            // Action bit 0: logged on as guest.
            if status == NtStatus::SUCCESS && action & 0x1 != 0 {
                push(&mut a, "guest", "true".to_string());
                emit.operation(ctx, PROTOCOL, name, class, a);
                return;
            }
        }
        0x75 => {
            if let Some(p) = pending.as_ref().and_then(|p| p.path.as_deref()) {
                if status == NtStatus::SUCCESS {
                    state.trees.insert(tid_key(h.tid), p.to_string());
                }
                tree_attrs(&mut a, p);
            }
        }
        // AndX (4), OplockLevel, FID.
        0xa2 => {
            let name_of = pending.as_ref().and_then(|p| p.path.clone()).unwrap_or_default();
            if status == NtStatus::SUCCESS {
                if let Some(fid) = word(w, 5) {
                    let access = pending.as_ref().map_or(0, |p| p.access);
                    let file =
                        super::File { name: name_of.clone(), tree: Some(tid_key(h.tid)), access, written: false };
                    state.files.insert(fid_key(fid), file);
                }
            }
            push(&mut a, "path", name_of);
        }
        _ => {}
    }
    respond(ctx, name, class, status, a, emit);
}

/// Remembers the tree of a file first seen in a write (its open not seen).
fn note_tree(state: &mut State, fid: u16, tid: u16) {
    if state.files.get(fid_key(fid)).is_none() {
        let file = super::File { tree: Some(tid_key(tid)), ..super::File::default() };
        state.files.insert(fid_key(fid), file);
    }
}

/// SESSION_SETUP_ANDX request: with extended security (12 words) a
/// security blob, then NativeOS and NativeLanMan; without (13 words, NT LM
/// 0.12; 10 words, LANMAN) the OEM and Unicode password lengths, then
/// AccountName, PrimaryDomain, NativeOS, NativeLanMan. Passwords are
/// reported by length only.
fn session_setup_request(
    ctx: &PacketCtx<'_>,
    h: &Header,
    b: &Block<'_>,
    state: &mut State,
    a: &mut Attrs,
    emit: &mut dyn Emit,
) {
    let w = b.words;
    let mut s = Strings::new(b.bytes, b.bytes_off, h.unicode());
    let mut client = ctx.event(PROTOCOL, EventKind::Identity, "smb.client");
    match w.len() {
        24 => {
            let blob_len = usize::from(word(w, 14).unwrap_or(0));
            ntlmssp::report(ctx, state, b.bytes.get(..blob_len).unwrap_or(b.bytes), a, emit);
            if s.skip(blob_len).is_none() {
                return;
            }
        }
        26 | 20 => {
            let (oem, uni) = if w.len() == 26 {
                (usize::from(word(w, 14).unwrap_or(0)), usize::from(word(w, 16).unwrap_or(0)))
            } else {
                (usize::from(word(w, 14).unwrap_or(0)), 0)
            };
            if oem > 0 {
                push(a, "lm_password_length", oem.to_string());
            }
            if uni > 0 {
                push(a, "nt_password_length", uni.to_string());
            }
            // A 24-byte NT response is NTLMv1; none with an LM one is LM only.
            let ntlm = match (oem, uni) {
                (0 | 1, 0) => "anonymous",
                (_, 24) | (24, 0) => "v1",
                (_, 0) => "plaintext",
                _ => "v2",
            };
            push(a, "ntlm", ntlm.to_string());
            if s.skip(oem + uni).is_none() {
                return;
            }
            let (account, domain) = (s.next_string().unwrap_or_default(), s.next_string().unwrap_or_default());
            for (k, v) in [("account", account), ("domain", domain)] {
                if !v.is_empty() {
                    push(a, k, v.clone());
                    push(&mut client.attributes, k, v);
                }
            }
            if ntlm == "v1" {
                emit.event(ctx.event(PROTOCOL, EventKind::Anomaly, "smb.ntlmv1"));
            }
        }
        _ => return,
    }
    let (os, lanman) = (s.next_string().unwrap_or_default(), s.next_string().unwrap_or_default());
    for (k, v) in [("native_os", os), ("native_lanman", lanman)] {
        if !v.is_empty() {
            push(a, k, v.clone());
            push(&mut client.attributes, k, v);
        }
    }
    if !client.attributes.is_empty() {
        emit.event(client);
    }
}

/// NEGOTIATE response (NT LM 0.12, 17 words): DialectIndex, SecurityMode,
/// MaxMpxCount, MaxNumberVcs, MaxBufferSize, MaxRawSize, SessionKey,
/// Capabilities, SystemTime, ServerTimeZone, ChallengeLength; then the
/// server GUID and blob (extended security) or the challenge, domain and
/// server names. One word: the dialect index alone (core protocol).
fn negotiate_response(ctx: &PacketCtx<'_>, h: &Header, b: &Block<'_>, state: &mut State) {
    let w = b.words;
    let Some(index) = word(w, 0) else { return };
    let dialect = match state.smb1_dialects.get(usize::from(index)) {
        Some(d) => d.clone(),
        None if index == 0xffff => "none".to_string(),
        None => format!("index {index}"),
    };
    let e = state.server_event(ctx);
    push(&mut e.attributes, "dialect", dialect);
    push(&mut e.attributes, "dialect_index", index.to_string());
    if w.len() < 34 {
        return;
    }
    let mode = w.get(2).copied().unwrap_or(0);
    // NEGOTIATE_SECURITY_SIGNATURES_ENABLED 0x04, _REQUIRED 0x08.
    push(&mut e.attributes, "signing", super::smb2::signing_name(mode & 0x08 != 0, mode & 0x04 != 0).to_string());
    let caps = dword(w, 19).unwrap_or(0);
    push(&mut e.attributes, "capabilities", format!("{caps:#010x}"));
    let challenge_len = usize::from(w.get(33).copied().unwrap_or(0));
    // CAP_EXTENDED_SECURITY: a GUID and a security blob follow, not names.
    if caps & 0x8000_0000 != 0 {
        if let Some(g) = b.bytes.get(..16).and_then(|g| <[u8; 16]>::try_from(g).ok()) {
            push(&mut e.attributes, "server_guid", super::smb2::guid_text(g));
        }
        return;
    }
    let mut s = Strings::new(b.bytes, b.bytes_off, h.unicode());
    if s.skip(challenge_len).is_none() {
        return;
    }
    for k in ["netbios_domain", "netbios_name"] {
        if let Some(v) = s.next_string().filter(|v| !v.is_empty()) {
            push(&mut e.attributes, k, v);
        }
    }
}
