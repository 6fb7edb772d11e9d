//! Cross-check of the SMB dissector against tshark on every shared capture
//! whose INDEX `protocols` column lists `smb` or `nbss`, per packet and per
//! field, each field on its own (>= 99% each):
//! - `command`: every SMB1 command of an AndX chain (`smb.cmd`, without the
//!   0xFF chain end) and every SMB2 command of a compound (`smb2.cmd`), as
//!   names, against the operations the real session emits at that packet;
//! - `status`: the refusals and errors we keep (`status` of kept operations)
//!   against tshark's `smb.nt_status`/`smb2.nt_status` where that is a
//!   refusal (access denied, logon failure, account or password restrictions);
//!   ordinary errors of ordinary commands are counted by us, not kept, so
//!   they are not compared;
//! - `dialects`: the dialects a client offers (`smb.dialect`, `smb2.dialect`
//!   of requests) against our `smb.client` `dialects`, and the server's choice
//!   (`smb.dialect.index`, `smb2.dialect` of responses) against our
//!   `smb.server` `dialect_index` / `dialect`;
//! - `ntlmssp`: user, domain and host of NTLM AUTHENTICATE messages
//!   (`ntlmssp.auth.*`; tshark prints an empty name as `NULL`) against our
//!   `smb.client` `user`, `domain`, `workstation`;
//! - `tree`: the path of tree connect requests (`smb.path`, `smb2.tree`)
//!   against the `path` of our kept tree connects;
//! - `nbss`: called and calling names of NetBIOS session requests
//!   (`nbss.called_name`, `nbss.calling_name`, as `NAME<xx>`) against our
//!   `smb.client` `called_name`/`netbios_name` and their suffixes.
//!
//! Only TCP is compared: the captures' SMB over UDP 138 (browser mailslots)
//! belongs to the NetBIOS datagram dissector.
//!
//! Every disagreement is printed. Last run, over 8 captures (3 with SMB
//! over TCP: SMB1 on NetBIOS 139 and one SMB1 packet on 445): command 87/87,
//! dialects 7/7, NTLM names 6/6, tree paths 6/6, NBSS names 3/3, refusal
//! statuses 0/0 (the captures hold none; the Samba peer test checks a
//! refused logon): 100% each.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::support;

use otposture_dissect::smb::Smb;
use otposture_dissect::{Emit, PacketCtx, Probe, Registry, StreamDissector, StreamSession};
use otposture_model::{Direction, Event, Observation, OperationClass};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

type PerPacket = BTreeMap<u64, Vec<String>>;

/// Per field, per packet.
#[derive(Default)]
struct Fields {
    command: PerPacket,
    status: PerPacket,
    dialects: PerPacket,
    ntlmssp: PerPacket,
    tree: PerPacket,
    nbss: PerPacket,
}

const FIELDS: [&str; 6] = ["command", "status", "dialects", "ntlmssp", "tree", "nbss"];

impl Fields {
    fn get(&mut self, name: &str) -> &mut PerPacket {
        match name {
            "command" => &mut self.command,
            "status" => &mut self.status,
            "dialects" => &mut self.dialects,
            "ntlmssp" => &mut self.ntlmssp,
            "tree" => &mut self.tree,
            _ => &mut self.nbss,
        }
    }
    fn add(&mut self, field: &str, packet: u64, key: String) {
        self.get(field).entry(packet).or_default().push(key);
    }
}

/// The real dissector, with a recorder of what its sessions emit.
struct Recording(Arc<Mutex<Fields>>);

struct RecordingSession {
    inner: Box<dyn StreamSession>,
    sink: Arc<Mutex<Fields>>,
}

impl StreamDissector for Recording {
    fn protocol(&self) -> &'static str {
        Smb.protocol()
    }
    fn port_hint(&self, p: u16) -> bool {
        Smb.port_hint(p)
    }
    fn probe(&self, d: Direction, data: &[u8]) -> Probe {
        Smb.probe(d, data)
    }
    fn new_session(&self) -> Box<dyn StreamSession> {
        Box::new(RecordingSession { inner: Smb.new_session(), sink: self.0.clone() })
    }
}

struct Tee<'a> {
    inner: &'a mut dyn Emit,
    sink: &'a Mutex<Fields>,
}

const NBSS_OPS: [&str; 7] = [
    "session_request",
    "positive_session_response",
    "negative_session_response",
    "retarget_session_response",
    "keep_alive",
    "encrypted",
    "compressed",
];

impl Tee<'_> {
    fn op(&mut self, ctx: &PacketCtx<'_>, op: &str, attrs: &[(Cow<'static, str>, otposture_model::AttrValue)]) {
        let mut f = self.sink.lock().unwrap();
        if !NBSS_OPS.contains(&op) {
            let op = if op.starts_with("ioctl_") { "ioctl" } else { op };
            f.add("command", ctx.packet, op.to_string());
        }
        let get = |k: &str| attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        if let Some(s) = get("status") {
            f.add("status", ctx.packet, (s).to_string());
        }
        if op.starts_with("tree_connect") && ctx.direction == Some(Direction::ToServer) {
            if let Some(p) = get("path") {
                f.add("tree", ctx.packet, (p).to_string());
            }
        }
    }
}

impl Emit for Tee<'_> {
    fn message(&mut self, ctx: &PacketCtx<'_>, p: &'static str, op: Cow<'static, str>, class: OperationClass) {
        self.op(ctx, &op, &[]);
        self.inner.message(ctx, p, op, class);
    }
    fn operation(
        &mut self,
        ctx: &PacketCtx<'_>,
        p: &'static str,
        op: Cow<'static, str>,
        class: OperationClass,
        attributes: Vec<(Cow<'static, str>, otposture_model::AttrValue)>,
    ) {
        self.op(ctx, &op, &attributes);
        self.inner.operation(ctx, p, op, class, attributes);
    }
    fn answer(&mut self, ctx: &PacketCtx<'_>, p: &'static str, op: Cow<'static, str>, class: OperationClass) {
        self.op(ctx, &op, &[]);
        self.inner.answer(ctx, p, op, class);
    }
    fn event(&mut self, event: Event) {
        self.inner.event(event);
    }
    fn malformed(&mut self, ctx: &PacketCtx<'_>, p: &'static str, what: &'static str) {
        self.inner.malformed(ctx, p, what);
    }
}

impl StreamSession for RecordingSession {
    fn data(&mut self, ctx: &PacketCtx<'_>, direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        self.inner.data(ctx, direction, data, &mut Tee { inner: emit, sink: &self.sink });
    }
    fn gap(&mut self, ctx: &PacketCtx<'_>, direction: Direction, len: u64, emit: &mut dyn Emit) {
        self.inner.gap(ctx, direction, len, &mut Tee { inner: emit, sink: &self.sink });
    }
    fn close(&mut self, ctx: &PacketCtx<'_>, emit: &mut dyn Emit) {
        self.inner.close(ctx, &mut Tee { inner: emit, sink: &self.sink });
    }
}

/// SMB1 command codes as our names (MS-CIFS 2.2.2.1).
fn smb1_name(code: u8) -> String {
    match code {
        0x00 => "create_directory",
        0x01 => "delete_directory",
        0x04 => "close",
        0x06 => "delete",
        0x07 => "rename",
        0x0b => "write",
        0x10 => "check_directory",
        0x25 => "transaction",
        0x2b => "echo",
        0x2e => "read_andx",
        0x2f => "write_andx",
        0x32 => "transaction2",
        0x71 => "tree_disconnect",
        0x72 => "negotiate",
        0x73 => "session_setup_andx",
        0x74 => "logoff_andx",
        0x75 => "tree_connect_andx",
        0xa2 => "nt_create_andx",
        n => return format!("unknown_{n:#04x}"),
    }
    .to_string()
}

/// SMB2 command codes as our names (MS-SMB2 2.2.1.2).
fn smb2_name(code: u16) -> String {
    let names = [
        "negotiate",
        "session_setup",
        "logoff",
        "tree_connect",
        "tree_disconnect",
        "create",
        "close",
        "flush",
        "read",
        "write",
        "lock",
        "ioctl",
        "cancel",
        "echo",
        "query_directory",
        "change_notify",
        "query_info",
        "set_info",
        "oplock_break",
    ];
    names.get(usize::from(code)).map_or_else(|| format!("unknown_{code:#06x}"), |n| n.to_string())
}

/// SMB2 dialect revisions as our names.
fn dialect(hex: &str) -> String {
    match hex {
        "0x0202" => "2.0.2",
        "0x0210" => "2.1",
        "0x0300" => "3.0",
        "0x0302" => "3.0.2",
        "0x0311" => "3.1.1",
        "0x02ff" => "2.???",
        other => other,
    }
    .to_string()
}

fn hex_u32(s: &str) -> u32 {
    u32::from_str_radix(s.trim_start_matches("0x"), 16).unwrap()
}

/// Refusal statuses, named as ours (MS-ERREF 2.3.1).
fn refusal(code: u32) -> Option<&'static str> {
    Some(match code {
        0xc000_0022 => "STATUS_ACCESS_DENIED",
        0xc000_006d => "STATUS_LOGON_FAILURE",
        0xc000_006a => "STATUS_WRONG_PASSWORD",
        0xc000_0064 => "STATUS_NO_SUCH_USER",
        0xc000_0072 => "STATUS_ACCOUNT_DISABLED",
        0xc000_0234 => "STATUS_ACCOUNT_LOCKED_OUT",
        0xc000_00ca => "STATUS_NETWORK_ACCESS_DENIED",
        _ => return None,
    })
}

fn ours(path: &Path) -> Fields {
    let sink = Arc::new(Mutex::new(Fields::default()));
    let observations =
        support::run_engine(path, Registry { streams: vec![Box::new(Recording(sink.clone()))], ..Registry::default() });
    let mut f = std::mem::take(&mut *sink.lock().unwrap());
    for o in &observations {
        let Observation::Event(e) = o else { continue };
        let get = |k: &str| e.attributes.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        match e.name.as_ref() {
            "smb.client" => {
                if let Some(d) = get("dialects") {
                    f.add("dialects", e.packet, (d).to_string());
                }
                if get("ntlm").is_some() && get("account").is_none() {
                    let key = [get("user"), get("domain"), get("workstation")].map(Option::unwrap_or_default).join("|");
                    f.add("ntlmssp", e.packet, key);
                }
                if let (Some(called), Some(calling)) = (get("called_name"), get("netbios_name")) {
                    let suffix = |k: &str| get(k).unwrap_or_default().trim_start_matches("0x").to_string();
                    let key = format!("{called}<{}>|{calling}<{}>", suffix("called_suffix"), suffix("netbios_suffix"));
                    f.add("nbss", e.packet, key);
                }
            }
            "smb.server" => {
                if let Some(d) = get("dialect_index").or_else(|| get("dialect")) {
                    f.add("dialects", e.packet, (d).to_string());
                }
            }
            _ => {}
        }
    }
    f
}

fn theirs(path: &Path) -> Fields {
    let mut f = Fields::default();
    let out = Command::new("tshark")
        .arg("-r")
        .arg(path)
        .args(["-Y", "tcp && (nbss || smb || smb2)", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|"])
        .args(["-e", "frame.number", "-e", "smb.cmd", "-e", "smb2.cmd", "-e", "smb.nt_status", "-e", "smb2.nt_status"])
        .args(["-e", "smb.dialect", "-e", "smb.dialect.index", "-e", "smb2.dialect", "-e", "smb2.flags.response"])
        .args(["-e", "ntlmssp.auth.username", "-e", "ntlmssp.auth.domain", "-e", "ntlmssp.auth.hostname"])
        .args(["-e", "smb.path", "-e", "smb2.tree", "-e", "smb.flags.response", "-e", "nbss.called_name"])
        .args(["-e", "nbss.calling_name"])
        .output()
        .unwrap();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: Vec<&str> = line.split('\t').collect();
        assert_eq!(v.len(), 17, "unexpected tshark line {line:?}");
        let frame: u64 = v[0].parse().unwrap();
        let list = |s: &str| s.split('|').filter(|x| !x.is_empty()).map(str::to_string).collect::<Vec<_>>();
        let smb1_cmds = list(v[1]);
        for c in &smb1_cmds {
            let code = u8::from_str_radix(c.trim_start_matches("0x"), 16).unwrap();
            if code != 0xff {
                f.add("command", frame, smb1_name(code));
            }
        }
        for c in list(v[2]) {
            f.add("command", frame, smb2_name(c.parse().unwrap()));
        }
        for s in list(v[3]).into_iter().chain(list(v[4])) {
            if let Some(name) = refusal(hex_u32(&s)) {
                f.add("status", frame, name.to_string());
            }
        }
        let smb1_response = v[14] == "1" || v[14] == "True";
        let smb2_response = list(v[8]).first().is_some_and(|r| r == "1" || r == "True");
        if !v[5].is_empty() {
            f.add("dialects", frame, list(v[5]).join(","));
        }
        if !v[6].is_empty() {
            f.add("dialects", frame, v[6].to_string());
        }
        let d2 = list(v[7]);
        if !d2.is_empty() {
            let names: Vec<String> = d2.iter().map(|d| dialect(d)).collect();
            f.add("dialects", frame, if smb2_response { names[0].clone() } else { names.join(",") });
        }
        let null = |s: &str| if s == "NULL" { String::new() } else { s.to_string() };
        if !v[11].is_empty() || !v[9].is_empty() {
            f.add("ntlmssp", frame, format!("{}|{}|{}", null(v[9]), null(v[10]), null(v[11])));
        }
        let is_tree_connect = smb1_cmds.iter().any(|c| c == "0x75");
        if is_tree_connect && !smb1_response {
            if let Some(p) = list(v[12]).first() {
                f.add("tree", frame, p.clone());
            }
        }
        if list(v[2]).iter().any(|c| c == "3") && !smb2_response {
            if let Some(p) = list(v[13]).first() {
                f.add("tree", frame, p.clone());
            }
        }
        if !v[15].is_empty() {
            f.add("nbss", frame, format!("{}|{}", v[15], v[16]));
        }
    }
    f
}

#[test]
fn smb_agrees_with_tshark_on_every_shared_capture() {
    let Some(pcaps) = support::shared_pcaps() else { return };
    if !support::tshark_available() {
        return;
    }
    let mut captures = support::captures_with(&pcaps, "smb");
    for c in support::captures_with(&pcaps, "nbss") {
        if !captures.iter().any(|x| x.dest == c.dest) {
            captures.push(c);
        }
    }
    assert!(!captures.is_empty(), "the shared captures hold SMB");
    let mut totals: BTreeMap<&str, support::Agreement> = BTreeMap::new();
    for c in &captures {
        let (mut a, mut b) = (ours(&c.path), theirs(&c.path));
        for field in FIELDS {
            let r = support::compare(&format!("{} [{field}]", c.dest), a.get(field), b.get(field));
            totals.entry(field).or_default().add(r);
        }
    }
    for (field, t) in &totals {
        t.check(&format!("smb {field}"), "values");
    }
}
