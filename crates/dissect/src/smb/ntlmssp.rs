//! NTLMSSP messages (MS-NLMP 2.2.1): NEGOTIATE flags; CHALLENGE target name,
//! target info AV pairs (MS-NLMP 2.2.2.1) and the sender's OS version
//! (2.2.2.10); AUTHENTICATE user, domain and workstation, and the lengths of
//! the LM and NT responses, which tell NTLMv1 (24-byte NT response) from
//! NTLMv2 (longer, MS-NLMP 3.3.2) and anonymous (empty). The responses' values
//! are never read: they are password-equivalent.
//!
//! SPNEGO (RFC 4178) wraps NTLMSSP in DER; rather than walk the DER, the
//! message is found by its signature `NTLMSSP\0` inside the security blob, as
//! the mechToken's OCTET STRING holds it unchanged.

use crate::cursor::Cursor;

/// The signature every NTLMSSP message starts with.
pub const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";

/// NTLMSSP_NEGOTIATE_UNICODE: strings are UTF-16LE.
const NEGOTIATE_UNICODE: u32 = 0x0000_0001;
/// NTLMSSP_NEGOTIATE_VERSION: the Version field is present.
const NEGOTIATE_VERSION: u32 = 0x0200_0000;
/// NTLMSSP_NEGOTIATE_ANONYMOUS.
const NEGOTIATE_ANONYMOUS: u32 = 0x0000_0800;

/// The OS version a CHALLENGE or AUTHENTICATE carries (MS-NLMP 2.2.2.10).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Version {
    /// ProductMajorVersion.
    pub major: u8,
    /// ProductMinorVersion.
    pub minor: u8,
    /// ProductBuild.
    pub build: u16,
}

impl Version {
    fn read(c: &mut Cursor<'_>) -> Option<Self> {
        let [major, minor, lo, hi, _, _, _, _revision] = c.array::<8>()?;
        Some(Version { major, minor, build: u16::from_le_bytes([lo, hi]) })
    }
}

/// The names of a CHALLENGE's target info.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TargetInfo {
    /// MsvAvNbComputerName.
    pub netbios_name: Option<String>,
    /// MsvAvNbDomainName.
    pub netbios_domain: Option<String>,
    /// MsvAvDnsComputerName.
    pub dns_computer_name: Option<String>,
    /// MsvAvDnsDomainName.
    pub dns_domain_name: Option<String>,
    /// MsvAvDnsTreeName.
    pub dns_tree_name: Option<String>,
}

/// Which kind of NT response an AUTHENTICATE carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NtlmKind {
    /// No NT response and at most a 1-byte LM response: anonymous.
    Anonymous,
    /// A 24-byte NT response: NTLMv1 (or its session-security variant).
    V1,
    /// A longer NT response: NTLMv2.
    V2,
}

impl NtlmKind {
    /// `anonymous`, `v1` or `v2`.
    pub fn name(self) -> &'static str {
        match self {
            NtlmKind::Anonymous => "anonymous",
            NtlmKind::V1 => "v1",
            NtlmKind::V2 => "v2",
        }
    }
}

/// One NTLMSSP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// Type 1.
    Negotiate {
        /// NegotiateFlags.
        flags: u32,
    },
    /// Type 2.
    Challenge {
        /// NegotiateFlags.
        flags: u32,
        /// TargetName.
        target_name: String,
        /// The target info's names.
        info: TargetInfo,
        /// The server's OS version, when sent.
        version: Option<Version>,
    },
    /// Type 3.
    Authenticate {
        /// NegotiateFlags.
        flags: u32,
        /// DomainName.
        domain: String,
        /// UserName.
        user: String,
        /// Workstation.
        workstation: String,
        /// What the response lengths say.
        kind: NtlmKind,
        /// The client's OS version, when sent.
        version: Option<Version>,
    },
    /// Another type.
    Other(u32),
}

/// The NTLMSSP message inside a security blob (raw or SPNEGO-wrapped).
pub fn find(blob: &[u8]) -> Option<&[u8]> {
    let at = blob.windows(SIGNATURE.len()).position(|w| w == SIGNATURE)?;
    blob.get(at..)
}

/// A field descriptor (length, max length, offset from the message start).
fn field<'a>(msg: &'a [u8], c: &mut Cursor<'_>) -> Option<&'a [u8]> {
    let len = usize::from(c.le_u16()?);
    let _max = c.le_u16()?;
    let off = c.le_u32()? as usize;
    // An empty field may carry any offset.
    if len == 0 {
        return Some(&[]);
    }
    msg.get(off..off.checked_add(len)?)
}

fn text(b: &[u8], flags: u32) -> String {
    if flags & NEGOTIATE_UNICODE != 0 {
        super::utf16(b)
    } else {
        super::oem(b)
    }
}

/// Parses the NTLMSSP message at the start of `msg`.
pub fn parse(msg: &[u8]) -> Option<Message> {
    let mut c = Cursor::new(msg);
    if c.take(8)? != SIGNATURE {
        return None;
    }
    let kind = c.le_u32()?;
    Some(match kind {
        1 => Message::Negotiate { flags: c.le_u32()? },
        2 => {
            let target = field(msg, &mut c)?;
            let flags = c.le_u32()?;
            c.skip(16)?; // ServerChallenge, Reserved
            let info = field(msg, &mut c).unwrap_or_default();
            let version = if flags & NEGOTIATE_VERSION != 0 { Version::read(&mut c) } else { None };
            Message::Challenge { flags, target_name: text(target, flags), info: target_info(info), version }
        }
        3 => {
            let lm = field(msg, &mut c)?;
            let nt = field(msg, &mut c)?;
            let domain = field(msg, &mut c)?;
            let user = field(msg, &mut c)?;
            let workstation = field(msg, &mut c)?;
            let _session_key = field(msg, &mut c)?;
            let flags = c.le_u32().unwrap_or(0);
            let version = if flags & NEGOTIATE_VERSION != 0 { Version::read(&mut c) } else { None };
            let kind = match nt.len() {
                0 if lm.len() <= 1 || flags & NEGOTIATE_ANONYMOUS != 0 => NtlmKind::Anonymous,
                24 | 0 => NtlmKind::V1,
                _ => NtlmKind::V2,
            };
            Message::Authenticate {
                flags,
                domain: text(domain, flags),
                user: text(user, flags),
                workstation: text(workstation, flags),
                kind,
                version,
            }
        }
        n => Message::Other(n),
    })
}

/// AV pairs (MS-NLMP 2.2.2.1): id, length, value; strings are UTF-16LE.
fn target_info(b: &[u8]) -> TargetInfo {
    let mut out = TargetInfo::default();
    let mut c = Cursor::new(b);
    while let (Some(id), Some(len)) = (c.le_u16(), c.le_u16()) {
        let Some(v) = c.take(usize::from(len)) else { break };
        let s = || Some(super::utf16(v));
        match id {
            0 => break,
            1 => out.netbios_name = s(),
            2 => out.netbios_domain = s(),
            3 => out.dns_computer_name = s(),
            4 => out.dns_domain_name = s(),
            5 => out.dns_tree_name = s(),
            _ => {}
        }
    }
    out
}

/// Reports the NTLMSSP message of a session setup's security blob: the
/// stage (and for AUTHENTICATE who logs on from where) into `attrs` of the
/// session setup; a CHALLENGE completes the server's identity, an
/// AUTHENTICATE gives the client's (and an NTLMv1 anomaly).
pub(crate) fn report(
    ctx: &crate::PacketCtx<'_>,
    state: &mut super::State,
    blob: &[u8],
    attrs: &mut super::Attrs,
    emit: &mut dyn crate::Emit,
) {
    use super::push;
    use otposture_model::EventKind;
    let Some(m) = find(blob).and_then(parse) else {
        if !blob.is_empty() {
            push(attrs, "security_blob", "other".to_string());
        }
        return;
    };
    match m {
        Message::Negotiate { flags } => {
            push(attrs, "ntlmssp", "negotiate".to_string());
            push(attrs, "ntlm_flags", format!("{flags:#010x}"));
        }
        Message::Challenge { target_name, info, version, .. } => {
            push(attrs, "ntlmssp", "challenge".to_string());
            let e = state.server_event(ctx);
            let a = &mut e.attributes;
            let mut put = |k: &'static str, v: Option<String>| {
                if let Some(v) = v.filter(|v| !v.is_empty()) {
                    push(a, k, v);
                }
            };
            put("target_name", Some(target_name));
            put("netbios_name", info.netbios_name);
            put("netbios_domain", info.netbios_domain);
            put("dns_computer_name", info.dns_computer_name);
            put("dns_domain_name", info.dns_domain_name);
            put("dns_tree_name", info.dns_tree_name);
            put("os_version", version.map(|v| format!("{}.{}.{}", v.major, v.minor, v.build)));
            state.flush_server(emit);
        }
        Message::Authenticate { domain, user, workstation, kind, version, .. } => {
            push(attrs, "ntlmssp", "authenticate".to_string());
            let mut e = ctx.event(super::PROTOCOL, EventKind::Identity, "smb.client");
            for (k, v) in [("user", &user), ("domain", &domain), ("workstation", &workstation)] {
                if !v.is_empty() {
                    push(attrs, k, v.clone());
                    push(&mut e.attributes, k, v.clone());
                }
            }
            push(attrs, "ntlm", kind.name().to_string());
            push(&mut e.attributes, "ntlm", kind.name().to_string());
            if let Some(v) = version {
                push(&mut e.attributes, "os_version", format!("{}.{}.{}", v.major, v.minor, v.build));
            }
            emit.event(e);
            if kind == NtlmKind::V1 {
                let mut a = ctx.event(super::PROTOCOL, EventKind::Anomaly, "smb.ntlmv1");
                push(&mut a.attributes, "user", user);
                emit.event(a);
            }
        }
        Message::Other(n) => push(attrs, "ntlmssp", format!("type_{n}")),
    }
}
