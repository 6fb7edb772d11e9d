//! SMB over TCP: direct hosting on port 445 (a 4-byte header: zero, then a
//! 24-bit length; MS-SMB2 2.1) and the NetBIOS session service on port 139
//! (RFC 1002 §4.3: session request with the called and calling NetBIOS names
//! in clear, positive/negative response, retarget, keep-alive, session
//! messages). Inside: SMB1 (`0xFF 'SMB'`, MS-CIFS/MS-SMB) and SMB2/3
//! (`0xFE 'SMB'`, MS-SMB2), with NTLMSSP (MS-NLMP) found inside SPNEGO or raw.
//! Encrypted SMB3 messages (transform header `0xFD 'SMB'`) and compressed
//! ones (`0xFC 'SMB'`) are counted, not read.
//!
//! Layers, one module each: this one frames the stream and decodes NetBIOS
//! names; [`smb1`] and [`smb2`] read their headers and the commands that say
//! who is who and what is done; [`ntlmssp`] reads NTLM messages (never the
//! LM/NT responses' values: only their lengths, to tell NTLMv1 from v2).
//!
//! Bounded: a message is read up to its first [`MAX_PREFIX`] bytes (headers,
//! negotiation, security blobs and names fit); the rest of a larger message
//! (file data of reads and writes, which can be gigabytes) is skipped without
//! being buffered. Trees, open files and outstanding requests are remembered
//! per flow up to [`MAX_TRACKED`] each, oldest forgotten first.
//!
//! Reports (protocol `smb`), operation names are the command's snake_case
//! name (`negotiate`, `session_setup_andx`, `tree_connect`, `create`,
//! `write`, `ioctl_pipe_transceive` ...) or `unknown_0x..`:
//! - class Authentication, kept: session setup requests (`ntlmssp` stage,
//!   `user`, `domain`, `workstation`, `ntlm` v1/v2/anonymous, SMB1 `account`,
//!   `native_os`, `native_lanman`, password lengths only) and tree connects
//!   (`path`, `share`, `admin_share` for `ADMIN$` and drive shares `C$`,
//!   `ipc` for `IPC$`); responses granting guest or anonymous access are kept
//!   (`guest`/`anonymous`); responses refusing access (`STATUS_ACCESS_DENIED`,
//!   `STATUS_LOGON_FAILURE`, account and password restrictions) are kept as
//!   refusals with `status` whatever the command;
//! - class Write, kept: the first write to each open file (`path`, `share`,
//!   `admin_share`, `offset`, `length`; later writes to the same file are
//!   counted as answers, not kept again), set-info (rename, delete, attributes)
//!   and SMB1 delete/rename/mkdir/rmdir, copy-chunk and reparse-point FSCTLs;
//!   class Program instead of Write when an executable (`.exe`, `.dll`,
//!   `.sys`, `.bat`, `.cmd`, `.ps1`, `.vbs`, `.scr`, `.msi`, `.com`) is written
//!   to an administrative share: how PsExec-style lateral movement looks;
//! - class Read: reads, directory listings, queries; class Session:
//!   negotiate, create/open (the name is kept for the file's later writes),
//!   close, echo, transactions and mailslots, logoff, tree disconnect,
//!   NetBIOS session service messages (`session_request`,
//!   `positive_session_response`, `keep_alive`), `encrypted`, `compressed`;
//! - `smb.client` (identity of the client): `netbios_name` (the calling name
//!   of a NetBIOS session request: the client's host name) and `called_name`;
//!   `dialects` offered in a negotiate request; `native_os`, `native_lanman`
//!   (SMB1 session setup); `workstation`, `domain`, `user`, `ntlm` (NTLM
//!   AUTHENTICATE);
//! - `smb.server` (identity of the server): `dialect`, `signing`
//!   (`required`/`enabled`/`disabled`), `server_guid`, `capabilities`; from
//!   the NTLM CHALLENGE `netbios_name`, `netbios_domain`,
//!   `dns_computer_name`, `dns_domain_name`, `dns_tree_name`, `os_version`
//!   (major.minor.build); SMB1 `native_os`, `native_lanman`,
//!   `primary_domain`;
//! - anomalies `smb.smb1` (SMB1 in use on the flow: a server answering in
//!   SMB1), `smb.ntlmv1` (an NTLMv1 response: crackable, relayable),
//!   `smb.signing_not_required` (a server that does not require signing:
//!   open to NTLM relay).

pub mod ntlmssp;
pub mod smb1;
pub mod smb2;

use crate::{Emit, PacketCtx, Probe, StreamDissector, StreamSession};
use otposture_model::{Direction, Event, EventKind, OperationClass};
use std::borrow::Cow;
use std::collections::VecDeque;

pub(crate) const PROTOCOL: &str = "smb";

/// Most bytes of one message read; the rest is skipped unbuffered.
pub const MAX_PREFIX: usize = 32 * 1024;
/// Trees, files and outstanding requests remembered per flow, each.
pub const MAX_TRACKED: usize = 64;

/// SMB over TCP (direct hosting).
pub const PORT_DIRECT: u16 = 445;
/// The NetBIOS session service.
pub const PORT_NETBIOS: u16 = 139;

type Attrs = Vec<(Cow<'static, str>, otposture_model::AttrValue)>;

pub(crate) fn push(a: &mut Attrs, key: &'static str, value: String) {
    a.push((Cow::Borrowed(key), value.into()));
}

/// The four magic bytes a session message's SMB payload starts with.
fn smb_magic(b: &[u8]) -> bool {
    matches!(b, [0xfc..=0xff, b'S', b'M', b'B', ..])
}

/// The SMB stream dissector.
#[derive(Clone, Copy, Debug, Default)]
pub struct Smb;

impl StreamDissector for Smb {
    fn protocol(&self) -> &'static str {
        PROTOCOL
    }

    fn port_hint(&self, server_port: u16) -> bool {
        matches!(server_port, PORT_DIRECT | PORT_NETBIOS)
    }

    /// A session message holding an SMB header; a NetBIOS session request
    /// with an encoded called name from the client; a positive or negative
    /// session response from the server.
    fn probe(&self, direction: Direction, data: &[u8]) -> Probe {
        match (data, direction) {
            ([], _) => Probe::NeedMore,
            ([0x00, ..], _) => match data.get(4..8) {
                None => Probe::NeedMore,
                Some(m) if smb_magic(m) => Probe::Match,
                Some(_) => Probe::NoMatch,
            },
            ([0x81, ..], Direction::ToServer) => match data.get(4..37) {
                Some([0x20, name @ ..]) if name.iter().all(|b| (b'A'..=b'P').contains(b)) => Probe::Match,
                Some(_) => Probe::NoMatch,
                None if data.len() >= 5 && data.get(4) != Some(&0x20) => Probe::NoMatch,
                None => Probe::NeedMore,
            },
            ([0x82, ..], Direction::ToClient) => match data.get(..4) {
                Some([0x82, 0, 0, 0]) => Probe::Match,
                Some(_) => Probe::NoMatch,
                None => Probe::NeedMore,
            },
            ([0x83, ..], Direction::ToClient) => match data.get(..5) {
                Some([0x83, 0, 0, 1, 0x80..=0x8f]) => Probe::Match,
                Some(_) => Probe::NoMatch,
                None => Probe::NeedMore,
            },
            _ => Probe::NoMatch,
        }
    }

    fn new_session(&self) -> Box<dyn StreamSession> {
        Box::<Session>::default()
    }
}

/// A bounded map, oldest entry forgotten first.
#[derive(Debug)]
pub(crate) struct Tracked<K, V> {
    items: VecDeque<(K, V)>,
}

impl<K, V> Default for Tracked<K, V> {
    fn default() -> Self {
        Tracked { items: VecDeque::new() }
    }
}

impl<K: PartialEq + Copy, V> Tracked<K, V> {
    pub(crate) fn insert(&mut self, k: K, v: V) {
        self.items.retain(|(x, _)| *x != k);
        if self.items.len() >= MAX_TRACKED {
            self.items.pop_front();
        }
        self.items.push_back((k, v));
    }
    pub(crate) fn get(&self, k: K) -> Option<&V> {
        self.items.iter().find(|(x, _)| *x == k).map(|(_, v)| v)
    }
    pub(crate) fn get_mut(&mut self, k: K) -> Option<&mut V> {
        self.items.iter_mut().find(|(x, _)| *x == k).map(|(_, v)| v)
    }
    pub(crate) fn remove(&mut self, k: K) -> Option<V> {
        let i = self.items.iter().position(|(x, _)| *x == k)?;
        self.items.remove(i).map(|(_, v)| v)
    }
}

/// What a request left for its response.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    /// Tree path (tree connect) or file name (create).
    pub(crate) path: Option<String>,
    /// The tree the request was sent on.
    pub(crate) tree: Option<u64>,
    /// Desired access of a create.
    pub(crate) access: u32,
}

/// An open file.
#[derive(Debug, Default)]
pub(crate) struct File {
    pub(crate) name: String,
    pub(crate) tree: Option<u64>,
    /// The desired access it was opened with (0 when not seen).
    pub(crate) access: u32,
    /// A write to it has been kept already.
    pub(crate) written: bool,
}

/// What the SMB1 and SMB2 readers share per flow.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// Tree id (tagged per version) → `\\server\share`.
    pub(crate) trees: Tracked<u64, String>,
    /// Request id (tagged per version) → what its response needs.
    pub(crate) pending: Tracked<u64, Pending>,
    /// File id (tagged per version) → name.
    pub(crate) files: Tracked<u128, File>,
    /// The server's identity, completed by the NTLM CHALLENGE and emitted then
    /// (or at the flow's end).
    pub(crate) server: Option<Event>,
    /// `smb.smb1` reported.
    pub(crate) smb1_reported: bool,
    /// The SMB1 dialects the client offered, to name the server's choice.
    pub(crate) smb1_dialects: Vec<String>,
}

/// Tags keeping SMB1 and SMB2 ids apart in [`State`].
pub(crate) const TAG_SMB1: u64 = 1 << 63;

impl State {
    /// The server event in progress, started at `ctx` if none is.
    pub(crate) fn server_event(&mut self, ctx: &PacketCtx<'_>) -> &mut Event {
        self.server.get_or_insert_with(|| ctx.event(PROTOCOL, EventKind::Identity, "smb.server"))
    }

    /// Emits the server event in progress.
    pub(crate) fn flush_server(&mut self, emit: &mut dyn Emit) {
        if let Some(e) = self.server.take() {
            emit.event(e);
        }
    }

    /// The path of a tree, when known.
    pub(crate) fn tree_path(&self, tree: Option<u64>) -> Option<&str> {
        tree.and_then(|t| self.trees.get(t)).map(String::as_str)
    }

    /// Reports SMB1 in use, once per flow.
    pub(crate) fn smb1_in_use(&mut self, ctx: &PacketCtx<'_>, emit: &mut dyn Emit) {
        if !self.smb1_reported {
            self.smb1_reported = true;
            emit.event(ctx.event(PROTOCOL, EventKind::Anomaly, "smb.smb1"));
        }
    }
}

/// The share name of a tree path (`\\host\C$` → `C$`).
pub(crate) fn share_of(path: &str) -> &str {
    path.rsplit('\\').next().unwrap_or(path)
}

/// Hidden administrative shares: `ADMIN$` and drive shares (`C$`).
pub(crate) fn is_admin_share(share: &str) -> bool {
    let s = share.as_bytes();
    share.eq_ignore_ascii_case("ADMIN$") || matches!(s, [d, b'$'] if d.is_ascii_alphabetic())
}

/// The attributes of a tree path.
pub(crate) fn tree_attrs(a: &mut Attrs, path: &str) {
    let share = share_of(path);
    push(a, "path", path.to_string());
    push(a, "share", share.to_string());
    if is_admin_share(share) {
        push(a, "admin_share", "true".to_string());
    }
    if share.eq_ignore_ascii_case("IPC$") {
        push(a, "ipc", "true".to_string());
    }
}

/// Extensions of files that run: written to an administrative share, they
/// are a program transfer.
const EXECUTABLE: &[&str] = &[".exe", ".dll", ".sys", ".bat", ".cmd", ".ps1", ".vbs", ".scr", ".msi", ".com"];

/// Reports a write to an open file: the first one kept (Program for an
/// executable on an administrative share, else Write), later ones counted.
pub(crate) fn write(
    ctx: &PacketCtx<'_>,
    state: &mut State,
    op: Cow<'static, str>,
    file: u128,
    offset: u64,
    length: u64,
    emit: &mut dyn Emit,
) {
    let known = state.files.get(file).is_some();
    if !known {
        state.files.insert(file, File::default());
    }
    let Some(f) = state.files.get(file) else { return };
    let tree = state.tree_path(f.tree).map(str::to_string);
    let admin = tree.as_deref().is_some_and(|t| is_admin_share(share_of(t)));
    let lower = f.name.to_ascii_lowercase();
    let class = if admin && EXECUTABLE.iter().any(|x| lower.ends_with(x)) {
        OperationClass::Program
    } else {
        OperationClass::Write
    };
    if f.written {
        emit.answer(ctx, PROTOCOL, op, class);
        return;
    }
    let mut a = Attrs::new();
    if let Some(t) = tree.as_deref() {
        tree_attrs(&mut a, t);
        a.retain(|(k, _)| k != "path");
    }
    let name = if f.name.is_empty() { "(unknown)".to_string() } else { f.name.clone() };
    let full = match tree.as_deref() {
        Some(t) => format!("{t}\\{}", name.trim_start_matches('\\')),
        None => name,
    };
    push(&mut a, "path", full);
    if f.access != 0 {
        push(&mut a, "desired_access", format!("{:#010x}", f.access));
    }
    push(&mut a, "offset", offset.to_string());
    push(&mut a, "length", length.to_string());
    emit.operation(ctx, PROTOCOL, op, class, a);
    if let Some(f) = state.files.get_mut(file) {
        f.written = true;
    }
}

/// An NT status code (MS-ERREF 2.3); open, named where it matters here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NtStatus(pub u32);

impl NtStatus {
    /// Success.
    pub const SUCCESS: NtStatus = NtStatus(0);
    /// An interim answer: the final one follows (MS-SMB2 3.3.4.2).
    pub const PENDING: NtStatus = NtStatus(0x0000_0103);
    /// More SPNEGO/NTLM legs to come.
    pub const MORE_PROCESSING_REQUIRED: NtStatus = NtStatus(0xc000_0016);

    /// The status name (`STATUS_ACCESS_DENIED`), or `0x........`.
    pub fn name(self) -> Cow<'static, str> {
        Cow::Borrowed(match self.0 {
            0 => "STATUS_SUCCESS",
            0x0000_0103 => "STATUS_PENDING",
            0x8000_0005 => "STATUS_BUFFER_OVERFLOW",
            0x8000_0006 => "STATUS_NO_MORE_FILES",
            0xc000_000d => "STATUS_INVALID_PARAMETER",
            0xc000_000f => "STATUS_NO_SUCH_FILE",
            0xc000_0016 => "STATUS_MORE_PROCESSING_REQUIRED",
            0xc000_0022 => "STATUS_ACCESS_DENIED",
            0xc000_0034 => "STATUS_OBJECT_NAME_NOT_FOUND",
            0xc000_0035 => "STATUS_OBJECT_NAME_COLLISION",
            0xc000_003a => "STATUS_OBJECT_PATH_NOT_FOUND",
            0xc000_0043 => "STATUS_SHARING_VIOLATION",
            0xc000_0061 => "STATUS_PRIVILEGE_NOT_HELD",
            0xc000_0064 => "STATUS_NO_SUCH_USER",
            0xc000_006a => "STATUS_WRONG_PASSWORD",
            0xc000_006d => "STATUS_LOGON_FAILURE",
            0xc000_006e => "STATUS_ACCOUNT_RESTRICTION",
            0xc000_006f => "STATUS_INVALID_LOGON_HOURS",
            0xc000_0070 => "STATUS_INVALID_WORKSTATION",
            0xc000_0071 => "STATUS_PASSWORD_EXPIRED",
            0xc000_0072 => "STATUS_ACCOUNT_DISABLED",
            0xc000_00ba => "STATUS_FILE_IS_A_DIRECTORY",
            0xc000_00bb => "STATUS_NOT_SUPPORTED",
            0xc000_00ca => "STATUS_NETWORK_ACCESS_DENIED",
            0xc000_00cc => "STATUS_BAD_NETWORK_NAME",
            0xc000_0101 => "STATUS_DIRECTORY_NOT_EMPTY",
            0xc000_0103 => "STATUS_NOT_A_DIRECTORY",
            0xc000_0120 => "STATUS_CANCELLED",
            0xc000_015b => "STATUS_LOGON_TYPE_NOT_GRANTED",
            0xc000_0193 => "STATUS_ACCOUNT_EXPIRED",
            0xc000_0203 => "STATUS_USER_SESSION_DELETED",
            0xc000_0224 => "STATUS_PASSWORD_MUST_CHANGE",
            0xc000_0234 => "STATUS_ACCOUNT_LOCKED_OUT",
            n => return Cow::Owned(format!("{n:#010x}")),
        })
    }

    /// An error (severity 3) other than "more processing required".
    pub fn is_error(self) -> bool {
        self.0 >> 30 == 3 && self != Self::MORE_PROCESSING_REQUIRED
    }

    /// A refusal of access or of a logon.
    pub fn is_refusal(self) -> bool {
        matches!(
            self.0,
            0xc000_0022 | 0xc000_0061 | 0xc000_0064 | 0xc000_006a | 0xc000_006d
                ..=0xc000_0072 | 0xc000_00ca | 0xc000_015b | 0xc000_0193 | 0xc000_0224 | 0xc000_0234
        )
    }
}

/// Reports a response: a refusal is kept (class Authentication) with its
/// status, another error of a notable request kept with its class, a success
/// of a notable request counted as an answer, anything else counted.
pub(crate) fn respond(
    ctx: &PacketCtx<'_>,
    op: Cow<'static, str>,
    class: OperationClass,
    status: NtStatus,
    mut attrs: Attrs,
    emit: &mut dyn Emit,
) {
    if status.is_refusal() || (status.is_error() && class.is_notable()) {
        push(&mut attrs, "status", status.name().into_owned());
        let class = if status.is_refusal() { OperationClass::Authentication } else { class };
        emit.operation(ctx, PROTOCOL, op, class, attrs);
    } else if class.is_notable() {
        emit.answer(ctx, PROTOCOL, op, class);
    } else {
        emit.message(ctx, PROTOCOL, op, class);
    }
}

/// A UTF-16LE string (up to a NUL).
pub(crate) fn utf16(b: &[u8]) -> String {
    let units = b.chunks_exact(2).map(|p| match *p {
        [lo, hi] => u16::from_le_bytes([lo, hi]),
        _ => 0,
    });
    char::decode_utf16(units.take_while(|&u| u != 0))
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .take(1024)
        .collect()
}

/// An 8-bit string (up to a NUL).
pub(crate) fn oem(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(b.get(..end.min(1024)).unwrap_or_default()).into_owned()
}

/// A NetBIOS name in first-level encoding (RFC 1001 §14.1): a length byte
/// (32), 32 bytes `A`-`P` holding the 16 name bytes as nibbles, then the
/// scope labels up to a zero. Returns the name (trailing spaces trimmed),
/// its 16th byte (the suffix: 0x20 file server, 0x00 workstation) and the
/// bytes after it.
pub fn netbios_name(data: &[u8]) -> Option<(String, u8, &[u8])> {
    let (&len, rest) = data.split_first()?;
    if len != 32 {
        return None;
    }
    let (enc, mut rest) = rest.split_at_checked(32)?;
    let mut raw = [0u8; 16];
    for (out, pair) in raw.iter_mut().zip(enc.chunks_exact(2)) {
        let [hi, lo] = *pair else { return None };
        if !(b'A'..=b'P').contains(&hi) || !(b'A'..=b'P').contains(&lo) {
            return None;
        }
        *out = (hi - b'A') << 4 | (lo - b'A');
    }
    // Scope labels, up to the root label.
    loop {
        let (&l, tail) = rest.split_first()?;
        if l == 0 {
            rest = tail;
            break;
        }
        rest = tail.get(usize::from(l)..)?;
    }
    let [name @ .., suffix] = raw;
    let text: String = name.iter().map(|&b| char::from(b)).collect();
    Some((text.trim_end().to_string(), suffix, rest))
}

#[derive(Debug, Default)]
struct Side {
    /// The start of the current message (header and prefix), when split.
    buf: Vec<u8>,
    /// Bytes of the current message past its prefix still to skip.
    skip: u64,
    /// Alignment lost: looking for a session message header.
    hunting: bool,
}

#[derive(Debug, Default)]
struct Session {
    sides: [Side; 2],
    state: State,
}

/// Bytes of the message starting at `header` that are read: its header and
/// up to [`MAX_PREFIX`] of its body; and its whole length.
fn lengths(header: &[u8]) -> Option<(usize, u64)> {
    let [_, a, b, c, ..] = *header else { return None };
    let body = u64::from(a) << 16 | u64::from(b) << 8 | u64::from(c);
    let want = 4 + usize::try_from(body).unwrap_or(usize::MAX).min(MAX_PREFIX);
    Some((want, body))
}

/// Whether `data` starts with a plausible session message: type 0, then an
/// SMB header. Asked at every byte while hunting.
fn plausible_start(data: &[u8]) -> Option<bool> {
    match data {
        [0, _, _, _, m @ ..] if m.len() >= 4 => Some(smb_magic(m)),
        [0, ..] | [] => None,
        _ => Some(false),
    }
}

impl StreamSession for Session {
    fn data(&mut self, ctx: &PacketCtx<'_>, direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        let Some(side) = self.sides.get_mut(direction.index()) else { return };
        let state = &mut self.state;
        let mut rest = data;
        while !rest.is_empty() {
            if side.skip > 0 {
                let k = usize::try_from(side.skip).unwrap_or(usize::MAX).min(rest.len());
                side.skip -= k as u64;
                rest = rest.get(k..).unwrap_or_default();
                continue;
            }
            if side.hunting {
                // A held tail (under 8 bytes) that may start a header, then this chunk.
                let held = std::mem::take(&mut side.buf);
                let mut joined = held.clone();
                joined.extend_from_slice(rest.get(..rest.len().min(8)).unwrap_or_default());
                let mut resumed = false;
                for i in 0..held.len() {
                    match plausible_start(joined.get(i..).unwrap_or_default()) {
                        Some(true) => {
                            side.hunting = false;
                            side.buf = held.get(i..).unwrap_or_default().to_vec();
                            resumed = true;
                            break;
                        }
                        Some(false) => {}
                        None => {
                            // Too short to tell: hold it with this chunk.
                            side.buf = joined.get(i..).unwrap_or_default().to_vec();
                            return;
                        }
                    }
                }
                if !resumed {
                    let mut at = None;
                    for i in 0..rest.len() {
                        match plausible_start(rest.get(i..).unwrap_or_default()) {
                            Some(false) => {}
                            found => {
                                at = Some((i, found.is_some()));
                                break;
                            }
                        }
                    }
                    match at {
                        Some((i, true)) => {
                            side.hunting = false;
                            rest = rest.get(i..).unwrap_or_default();
                        }
                        Some((i, false)) => {
                            side.buf = rest.get(i..).unwrap_or_default().to_vec();
                            return;
                        }
                        None => return,
                    }
                    continue;
                }
            }
            if side.buf.is_empty() {
                if let Some((want, body)) = lengths(rest) {
                    if let Some((msg, tail)) = rest.split_at_checked(want) {
                        side.skip = body - (want - 4) as u64;
                        message(ctx, msg, body, state, side, emit);
                        rest = tail;
                        continue;
                    }
                }
                side.buf.extend_from_slice(rest);
                return;
            }
            // Complete the held message start from this chunk.
            let want = lengths(&side.buf).map_or(4, |(w, _)| w);
            let n = want.saturating_sub(side.buf.len()).min(rest.len());
            side.buf.extend_from_slice(rest.get(..n).unwrap_or_default());
            rest = rest.get(n..).unwrap_or_default();
            let Some((want, body)) = lengths(&side.buf) else { continue };
            if side.buf.len() >= want {
                let msg = std::mem::take(&mut side.buf);
                side.skip = body - (want - 4) as u64;
                message(ctx, &msg, body, state, side, emit);
                // Keep the allocation for the next split message.
                if side.buf.is_empty() {
                    side.buf = msg;
                    side.buf.clear();
                }
            }
        }
    }

    fn gap(&mut self, _ctx: &PacketCtx<'_>, direction: Direction, len: u64, _emit: &mut dyn Emit) {
        let Some(side) = self.sides.get_mut(direction.index()) else { return };
        // A gap inside the skipped part of a known message keeps alignment.
        if side.buf.is_empty() && !side.hunting && side.skip >= len {
            side.skip -= len;
            return;
        }
        side.buf.clear();
        side.skip = 0;
        side.hunting = true;
    }

    fn close(&mut self, _ctx: &PacketCtx<'_>, emit: &mut dyn Emit) {
        self.state.flush_server(emit);
    }
}

/// One NetBIOS session service message: its 4-byte header and up to
/// [`MAX_PREFIX`] bytes of its body (`body_len` in all).
fn message(ctx: &PacketCtx<'_>, msg: &[u8], body_len: u64, state: &mut State, side: &mut Side, emit: &mut dyn Emit) {
    let Some((&kind, _)) = msg.split_first() else { return };
    let body = msg.get(4..).unwrap_or_default();
    let count = |name: &'static str, emit: &mut dyn Emit| {
        emit.message(ctx, PROTOCOL, Cow::Borrowed(name), OperationClass::Session);
    };
    match kind {
        // RFC 1002 §4.3.1: session message.
        0x00 => match body.get(..4) {
            Some([0xff, b'S', b'M', b'B']) => smb1::message(ctx, body, state, emit),
            Some([0xfe, b'S', b'M', b'B']) => smb2::message(ctx, body, state, emit),
            // MS-SMB2 2.2.41: transform header, the message is encrypted.
            Some([0xfd, b'S', b'M', b'B']) => count("encrypted", emit),
            // MS-SMB2 2.2.42: compression transform header.
            Some([0xfc, b'S', b'M', b'B']) => count("compressed", emit),
            _ if body_len == 0 => count("empty_message", emit),
            _ => {
                emit.malformed(ctx, PROTOCOL, "smb_bad_protocol_id");
                side.skip = 0;
                side.hunting = true;
            }
        },
        // RFC 1002 §4.3.2: session request, called then calling name.
        0x81 => {
            count("session_request", emit);
            let Some((called, called_suffix, rest)) = netbios_name(body) else {
                emit.malformed(ctx, PROTOCOL, "nbss_bad_name");
                return;
            };
            let Some((calling, calling_suffix, _)) = netbios_name(rest) else {
                emit.malformed(ctx, PROTOCOL, "nbss_bad_name");
                return;
            };
            let mut e = ctx.event(PROTOCOL, EventKind::Identity, "smb.client");
            push(&mut e.attributes, "netbios_name", calling);
            push(&mut e.attributes, "netbios_suffix", format!("{calling_suffix:#04x}"));
            push(&mut e.attributes, "called_name", called);
            push(&mut e.attributes, "called_suffix", format!("{called_suffix:#04x}"));
            emit.event(e);
        }
        0x82 => count("positive_session_response", emit),
        0x83 => {
            let mut a = Attrs::new();
            let code = body.first().copied().unwrap_or(0);
            push(&mut a, "error", format!("{code:#04x}"));
            emit.operation(
                ctx,
                PROTOCOL,
                Cow::Borrowed("negative_session_response"),
                OperationClass::Authentication,
                a,
            );
        }
        0x84 => count("retarget_session_response", emit),
        0x85 => count("keep_alive", emit),
        _ => {
            emit.malformed(ctx, PROTOCOL, "nbss_bad_type");
            side.skip = 0;
            side.hunting = true;
        }
    }
}

#[cfg(test)]
mod tests;
