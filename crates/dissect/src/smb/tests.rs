//! Byte-exact SMB exchanges, built field by field.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use super::*;
use crate::test_support::{event_attr, run, splits_at_every_offset, Recorder};
use proptest::prelude::*;
use Direction::{ToClient as S2C, ToServer as C2S};

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// A session message: type 0, 24-bit length, then `msg`.
fn nbss(msg: &[u8]) -> Vec<u8> {
    let n = msg.len() as u32;
    let mut m = vec![0, (n >> 16) as u8, (n >> 8) as u8, n as u8];
    m.extend(msg);
    m
}

/// An SMB2 header (MS-SMB2 2.2.1.2, sync) and `body`.
fn smb2(command: u16, response: bool, status: u32, message_id: u64, tree: u32, body: &[u8]) -> Vec<u8> {
    let mut h = vec![0xfe, b'S', b'M', b'B']; // ProtocolId
    h.extend(64u16.to_le_bytes()); // StructureSize
    h.extend(1u16.to_le_bytes()); // CreditCharge
    h.extend(status.to_le_bytes()); // Status
    h.extend(command.to_le_bytes()); // Command
    h.extend(1u16.to_le_bytes()); // CreditRequest/Response
    h.extend(u32::from(response).to_le_bytes()); // Flags: SERVER_TO_REDIR
    h.extend(0u32.to_le_bytes()); // NextCommand
    h.extend(message_id.to_le_bytes()); // MessageId
    h.extend(0u32.to_le_bytes()); // Reserved
    h.extend(tree.to_le_bytes()); // TreeId
    h.extend(0x1122_3344_5566_7788u64.to_le_bytes()); // SessionId
    h.extend([0u8; 16]); // Signature
    h.extend(body);
    h
}

/// NTLMSSP CHALLENGE (MS-NLMP 2.2.1.2) from server PLANTFS01 of domain PLANT3,
/// Windows 10.0 build 19041.
fn ntlm_challenge() -> Vec<u8> {
    let target = utf16le("PLANT3");
    let mut info = Vec::new();
    for (id, v) in [(2u16, "PLANT3"), (1, "PLANTFS01"), (4, "plant3.local"), (3, "plantfs01.plant3.local")] {
        let v = utf16le(v);
        info.extend(id.to_le_bytes()); // AvId
        info.extend((v.len() as u16).to_le_bytes()); // AvLen
        info.extend(v);
    }
    info.extend([0, 0, 0, 0]); // MsvAvEOL
    let mut m = b"NTLMSSP\0".to_vec(); // Signature
    m.extend(2u32.to_le_bytes()); // MessageType CHALLENGE
    let payload = 56u32; // header with Version is 56 bytes
    m.extend((target.len() as u16).to_le_bytes()); // TargetNameLen
    m.extend((target.len() as u16).to_le_bytes()); // TargetNameMaxLen
    m.extend(payload.to_le_bytes()); // TargetNameBufferOffset
    m.extend(0x0281_8205u32.to_le_bytes()); // NegotiateFlags: UNICODE, VERSION, TARGET_INFO ...
    m.extend([0x11; 8]); // ServerChallenge
    m.extend([0; 8]); // Reserved
    m.extend((info.len() as u16).to_le_bytes()); // TargetInfoLen
    m.extend((info.len() as u16).to_le_bytes()); // TargetInfoMaxLen
    m.extend((payload + target.len() as u32).to_le_bytes()); // TargetInfoBufferOffset
    m.extend([10, 0, 0x61, 0x4a, 0, 0, 0, 15]); // Version 10.0 build 19041 (0x4a61), revision 15
    m.extend(target);
    m.extend(info);
    m
}

/// NTLMSSP AUTHENTICATE (2.2.1.3) of PLANT3\operator from HMI-LINE2 with an
/// NT response of `nt_len` bytes (24: NTLMv1; longer: NTLMv2).
fn ntlm_authenticate(nt_len: usize) -> Vec<u8> {
    let (domain, user, ws) = (utf16le("PLANT3"), utf16le("operator"), utf16le("HMI-LINE2"));
    let (lm, nt) = (vec![0xaa; 24], vec![0xbb; nt_len]);
    let mut off = 64u32; // after the fixed part (no Version, no MIC)
    let mut fixed = b"NTLMSSP\0".to_vec();
    fixed.extend(3u32.to_le_bytes()); // MessageType AUTHENTICATE
    let mut payload: Vec<u8> = Vec::new();
    for f in [&lm, &nt, &domain, &user, &ws, &Vec::new()] {
        fixed.extend((f.len() as u16).to_le_bytes()); // Len
        fixed.extend((f.len() as u16).to_le_bytes()); // MaxLen
        fixed.extend(off.to_le_bytes()); // BufferOffset
        off += f.len() as u32;
        payload.extend(f.iter());
    }
    fixed.extend(0x0008_8205u32.to_le_bytes()); // NegotiateFlags: UNICODE ... (no VERSION)
    fixed.extend(payload);
    fixed
}

/// A SESSION_SETUP request (2.2.5) with `blob` as its security buffer.
fn session_setup_request(blob: &[u8]) -> Vec<u8> {
    let mut b = vec![25, 0]; // StructureSize
    b.push(0); // Flags
    b.push(1); // SecurityMode: signing enabled
    b.extend(0u32.to_le_bytes()); // Capabilities
    b.extend(0u32.to_le_bytes()); // Channel
    b.extend((64u16 + 24).to_le_bytes()); // SecurityBufferOffset
    b.extend((blob.len() as u16).to_le_bytes()); // SecurityBufferLength
    b.extend(0u64.to_le_bytes()); // PreviousSessionId
    b.extend(blob);
    b
}

/// A SESSION_SETUP response (2.2.6) with `flags` and `blob`.
fn session_setup_response(flags: u16, blob: &[u8]) -> Vec<u8> {
    let mut b = vec![9, 0]; // StructureSize
    b.extend(flags.to_le_bytes()); // SessionFlags
    b.extend(72u16.to_le_bytes()); // SecurityBufferOffset
    b.extend((blob.len() as u16).to_le_bytes()); // SecurityBufferLength
    b.extend(blob);
    b
}

/// A TREE_CONNECT request (2.2.9) for `path`.
fn tree_connect(path: &str) -> Vec<u8> {
    let p = utf16le(path);
    let mut b = vec![9, 0, 0, 0]; // StructureSize, Flags
    b.extend(72u16.to_le_bytes()); // PathOffset
    b.extend((p.len() as u16).to_le_bytes()); // PathLength
    b.extend(p);
    b
}

/// A CREATE request (2.2.13) for `name` with `access`.
fn create(name: &str, access: u32) -> Vec<u8> {
    let n = utf16le(name);
    let mut b = vec![57, 0, 0, 0]; // StructureSize, SecurityFlags, RequestedOplockLevel
    b.extend(2u32.to_le_bytes()); // ImpersonationLevel
    b.extend([0; 16]); // SmbCreateFlags, Reserved
    b.extend(access.to_le_bytes()); // DesiredAccess
    b.extend(0x80u32.to_le_bytes()); // FileAttributes
    b.extend(7u32.to_le_bytes()); // ShareAccess
    b.extend(5u32.to_le_bytes()); // CreateDisposition: OVERWRITE_IF
    b.extend(0x40u32.to_le_bytes()); // CreateOptions: NON_DIRECTORY_FILE
    b.extend(120u16.to_le_bytes()); // NameOffset
    b.extend((n.len() as u16).to_le_bytes()); // NameLength
    b.extend([0; 8]); // CreateContextsOffset, Length
    b.extend(n);
    b
}

/// A CREATE response (2.2.14) giving `file_id`.
fn create_response(file_id: [u8; 16]) -> Vec<u8> {
    let mut b = vec![89, 0, 0, 0]; // StructureSize, OplockLevel, Flags
    b.extend(2u32.to_le_bytes()); // CreateAction: created
    b.extend([0; 48]); // times, AllocationSize, EndofFile
    b.extend(0x80u32.to_le_bytes()); // FileAttributes
    b.extend([0; 4]); // Reserved2
    b.extend(file_id); // FileId
    b.extend([0; 8]); // CreateContextsOffset, Length
    b
}

/// A WRITE request (2.2.21) of `data` at `offset`.
fn write_request(file_id: [u8; 16], offset: u64, data: &[u8]) -> Vec<u8> {
    let mut b = vec![49, 0]; // StructureSize
    b.extend(112u16.to_le_bytes()); // DataOffset
    b.extend((data.len() as u32).to_le_bytes()); // Length
    b.extend(offset.to_le_bytes()); // Offset
    b.extend(file_id); // FileId
    b.extend([0; 16]); // Channel, RemainingBytes, WriteChannelInfo, Flags
    b.extend(data);
    b
}

const FILE: [u8; 16] = [7, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0];

/// A client's SMB3 session on `\\plantfs01\<share>` writing `name` twice,
/// as (direction, session message) steps in wire order.
fn session(share: &str, name: &str, nt_len: usize) -> Vec<(Direction, Vec<u8>)> {
    let mut neg = vec![36, 0, 5, 0, 1, 0, 0, 0]; // StructureSize, DialectCount 5, SecurityMode, Reserved
    neg.extend(0x7fu32.to_le_bytes()); // Capabilities
    neg.extend([0x42; 16]); // ClientGuid
    neg.extend([0; 8]); // NegotiateContextOffset/Count
    for d in [0x0202u16, 0x0210, 0x0300, 0x0302, 0x0311] {
        neg.extend(d.to_le_bytes()); // Dialects
    }
    let mut r = vec![65, 0, 3, 0]; // StructureSize, SecurityMode: signing enabled and required
    r.extend(0x0311u16.to_le_bytes()); // DialectRevision
    r.extend(0u16.to_le_bytes()); // NegotiateContextCount
    r.extend([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]); // ServerGuid
    r.extend(0x2fu32.to_le_bytes()); // Capabilities
    r.extend([0; 28]); // MaxTransact/Read/WriteSize, SystemTime, ServerStartTime
    r.extend([0; 8]); // SecurityBufferOffset/Length 0, NegotiateContextOffset
    let written = [17, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]; // WRITE response: Count 4
    vec![
        (C2S, smb2(0, false, 0, 0, 0, &neg)),
        (S2C, smb2(0, true, 0, 0, 0, &r)),
        (C2S, smb2(1, false, 0, 1, 0, &session_setup_request(b"NTLMSSP\0\x01\0\0\0\x15\x82\x08\x62"))),
        (S2C, smb2(1, true, 0xc000_0016, 1, 0, &session_setup_response(0, &ntlm_challenge()))),
        (C2S, smb2(1, false, 0, 2, 0, &session_setup_request(&ntlm_authenticate(nt_len)))),
        (S2C, smb2(1, true, 0, 2, 0, &session_setup_response(0, &[]))),
        (C2S, smb2(3, false, 0, 3, 0, &tree_connect(&format!("\\\\plantfs01\\{share}")))),
        (S2C, smb2(3, true, 0, 3, 5, &[16, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0x01, 0x1f, 0])),
        (C2S, smb2(5, false, 0, 4, 5, &create(name, 0x0012_019f))),
        (S2C, smb2(5, true, 0, 4, 5, &create_response(FILE))),
        (C2S, smb2(9, false, 0, 5, 5, &write_request(FILE, 0, b"MZ\x90\0"))),
        (S2C, smb2(9, true, 0, 5, 5, &written)),
        (C2S, smb2(9, false, 0, 6, 5, &write_request(FILE, 4, b"\x03\0\0\0"))),
        (S2C, smb2(9, true, 0, 6, 5, &written)),
    ]
    .into_iter()
    .map(|(d, m)| (d, nbss(&m)))
    .collect()
}

/// Feeds `steps` whole, then with each step cut at every offset; every run
/// yields the same messages and events, and nothing malformed.
fn splits_every_step(steps: &[(Direction, Vec<u8>)]) -> Recorder {
    let whole = run(&Smb, steps);
    assert!(whole.malformed.is_empty(), "{:?}", whole.malformed);
    for (i, (d, bytes)) in steps.iter().enumerate() {
        for cut in 0..=bytes.len() {
            let mut cut_steps = steps[..i].to_vec();
            cut_steps.push((*d, bytes[..cut].to_vec()));
            cut_steps.push((*d, bytes[cut..].to_vec()));
            cut_steps.extend(steps[i + 1..].iter().cloned());
            let r = run(&Smb, &cut_steps);
            assert_eq!(r.messages, whole.messages, "step {i} cut at {cut}");
            assert_eq!(r.events, whole.events, "step {i} cut at {cut}");
            assert!(r.malformed.is_empty());
        }
    }
    whole
}

fn ops<'a>(r: &'a Recorder, name: &str) -> Vec<&'a crate::test_support::Message> {
    r.messages.iter().filter(|m| m.2 == name).collect()
}

fn attr<'a>(m: &'a crate::test_support::Message, k: &str) -> Option<&'a str> {
    m.4.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

#[test]
fn decodes_netbios_names_as_rfc_1001_says() {
    // "FRED" padded with spaces, suffix 0x20: each byte as two letters 'A'+nibble.
    let mut encoded = vec![0x20];
    encoded.extend(b"EGFCEFEECACACACACACACACACACACACA");
    encoded.push(0); // root scope label
    let (name, suffix, rest) = netbios_name(&encoded).unwrap();
    assert_eq!((name.as_str(), suffix, rest.len()), ("FRED", 0x20, 0));
    assert!(netbios_name(&encoded[..20]).is_none());
    let mut bad = encoded.clone();
    bad[3] = b'Z';
    assert!(netbios_name(&bad).is_none());
}

#[test]
fn probes_session_messages_and_session_requests() {
    let steps = session("data", "x.txt", 100);
    assert_eq!(Smb.probe(C2S, &steps[0].1), Probe::Match);
    assert_eq!(Smb.probe(S2C, &steps[1].1), Probe::Match);
    assert_eq!(Smb.probe(C2S, &steps[0].1[..6]), Probe::NeedMore);
    assert_eq!(Smb.probe(S2C, &[0x82, 0, 0, 0]), Probe::Match);
    assert_eq!(Smb.probe(C2S, &[0x82, 0, 0, 0]), Probe::NoMatch);
    assert_eq!(Smb.probe(C2S, &[0x00, 0x00, 0x00, 0x06, 0x00, 0x01]), Probe::NeedMore);
    assert_eq!(Smb.probe(C2S, &[0x00, 0x00, 0x00, 0x06, 0x00, 0x01, 0x00, 0x00]), Probe::NoMatch);
    // A TPKT packet (S7, RDP) is not SMB.
    assert_eq!(Smb.probe(C2S, &[0x03, 0x00, 0x00, 0x16, 0x11, 0xe0]), Probe::NoMatch);
}

#[test]
fn follows_an_smb3_session_at_every_split() {
    let r = splits_every_step(&session("data", "recipe.csv", 100));
    let names = |n: &str| r.events.iter().filter(|e| e.name == n).collect::<Vec<_>>();
    let client = names("smb.client");
    assert_eq!(event_attr(client[0], "dialects"), Some("2.0.2,2.1,3.0,3.0.2,3.1.1"));
    assert_eq!(event_attr(client[0], "client_guid"), Some("42424242-4242-4242-4242-424242424242"));
    assert_eq!(event_attr(client[1], "user"), Some("operator"));
    assert_eq!(event_attr(client[1], "domain"), Some("PLANT3"));
    assert_eq!(event_attr(client[1], "workstation"), Some("HMI-LINE2"));
    assert_eq!(event_attr(client[1], "ntlm"), Some("v2"));
    let server = names("smb.server");
    assert_eq!(server.len(), 1);
    for (k, v) in [
        ("dialect", "3.1.1"),
        ("signing", "required"),
        ("server_guid", "04030201-0605-0807-090a-0b0c0d0e0f10"),
        ("capabilities", "dfs,leasing,large_mtu,multi_channel,directory_leasing"),
        ("netbios_name", "PLANTFS01"),
        ("netbios_domain", "PLANT3"),
        ("dns_computer_name", "plantfs01.plant3.local"),
        ("dns_domain_name", "plant3.local"),
        ("os_version", "10.0.19041"),
    ] {
        assert_eq!(event_attr(server[0], k), Some(v), "{k}");
    }
    assert!(r.events.iter().all(|e| e.kind != EventKind::Anomaly), "signing required, NTLMv2, SMB2");
    // Session setup requests kept with the NTLM stage and who logs on.
    let setups = ops(&r, "session_setup");
    assert_eq!(attr(setups[0], "ntlmssp"), Some("negotiate"));
    assert_eq!(attr(setups[2], "user"), Some("operator"));
    let tree = ops(&r, "tree_connect");
    assert_eq!(attr(tree[0], "path"), Some("\\\\plantfs01\\data"));
    // The first write is kept with its path, the second counted with it.
    let writes = ops(&r, "write");
    assert_eq!(writes.len(), 4, "two requests, two responses");
    assert_eq!(attr(writes[0], "path"), Some("\\\\plantfs01\\data\\recipe.csv"));
    assert_eq!(attr(writes[0], "length"), Some("4"));
    assert_eq!(writes[0].3, OperationClass::Write);
    let folded: Vec<&str> = r.folded.iter().map(|&i| r.messages[i].2.as_str()).collect();
    assert_eq!(folded.iter().filter(|n| **n == "write").count(), 3, "{folded:?}");
    // No response value, no password-equivalent byte pattern in any output.
    let all = format!("{:?}{:?}", r.messages, r.events);
    assert!(!all.contains("aaaa") && !all.contains("bbbb") && !all.contains("170, 170"));
}

#[test]
fn an_executable_written_to_an_admin_share_is_a_program_transfer() {
    let r = run(&Smb, &session("ADMIN$", "PSEXESVC.exe", 100));
    let w = ops(&r, "write");
    assert_eq!(w[0].3, OperationClass::Program);
    assert_eq!(attr(w[0], "admin_share"), Some("true"));
    assert_eq!(attr(w[0], "path"), Some("\\\\plantfs01\\ADMIN$\\PSEXESVC.exe"));
    assert!(is_admin_share("C$") && is_admin_share("admin$") && !is_admin_share("IPC$") && !is_admin_share("data"));
}

#[test]
fn ntlmv1_is_an_anomaly() {
    let r = run(&Smb, &session("data", "a.txt", 24));
    assert!(r.events.iter().any(|e| e.name == "smb.ntlmv1"));
}

#[test]
fn a_refused_logon_is_kept_with_its_status() {
    let c = nbss(&smb2(1, false, 0, 2, 0, &session_setup_request(&ntlm_authenticate(100))));
    let s = nbss(&smb2(1, true, 0xc000_006d, 2, 0, &[9, 0, 0, 0, 0, 0, 0, 0, 0]));
    let r = run(&Smb, &[(C2S, c), (S2C, s)]);
    let setups = ops(&r, "session_setup");
    assert_eq!(setups.len(), 2);
    assert_eq!(attr(setups[1], "status"), Some("STATUS_LOGON_FAILURE"));
    assert_eq!(setups[1].3, OperationClass::Authentication);
    assert!(r.folded.is_empty());
}

#[test]
fn a_large_write_is_skipped_unbuffered_and_the_next_message_read() {
    let mut c = nbss(&smb2(9, false, 0, 5, 5, &write_request(FILE, 0, &vec![0x5a; 3 * MAX_PREFIX])));
    c.extend(nbss(&smb2(0xd, false, 0, 6, 0, &[4, 0, 0, 0]))); // ECHO
    let mut s = Smb.new_session();
    let mut r = Recorder::default();
    let ctx = crate::test_support::ctx(C2S);
    for chunk in c.chunks(1000) {
        s.data(&ctx, C2S, chunk, &mut r);
    }
    assert_eq!(r.messages.iter().map(|m| m.2.as_str()).collect::<Vec<_>>(), vec!["write", "echo"]);
    assert_eq!(attr(&r.messages[0], "length"), Some(&*(3 * MAX_PREFIX).to_string()));
}

#[test]
fn resynchronises_on_the_next_message_after_a_gap() {
    let c: Vec<u8> =
        session("data", "a.txt", 100).into_iter().filter(|(d, _)| *d == C2S).flat_map(|(_, b)| b).collect();
    let mut s = Smb.new_session();
    let mut r = Recorder::default();
    let ctx = crate::test_support::ctx(C2S);
    s.data(&ctx, C2S, &c[..30], &mut r);
    s.gap(&ctx, C2S, 50, &mut r);
    // Garbage, then the rest of the stream from an arbitrary point.
    s.data(&ctx, C2S, &c[200..], &mut r);
    assert!(r.messages.iter().any(|m| m.2 == "write"), "{:?}", r.messages);
    assert!(r.malformed.is_empty());
}

#[test]
fn reads_an_smb1_logon_with_passwords_by_length_only() {
    // NetBIOS session request: called PLANTFS01<20>, calling HMI-2<00>.
    let name = |n: &str, suffix: u8| {
        let mut raw = format!("{n:<15}").into_bytes();
        raw.push(suffix);
        let mut e = vec![0x20];
        for b in raw {
            e.extend([b'A' + (b >> 4), b'A' + (b & 0xf)]);
        }
        e.push(0);
        e
    };
    let mut req = vec![0x81, 0, 0, 68];
    req.extend(name("PLANTFS01", 0x20));
    req.extend(name("HMI-2", 0x00));
    // SMB1 header: SESSION_SETUP_ANDX, flags2 NT status | long names, no Unicode.
    let mut m = vec![0xff, b'S', b'M', b'B', 0x73]; // Protocol, Command
    m.extend([0; 4]); // Status
    m.push(0x18); // Flags: case-insensitive, canonical
    m.extend(0x4001u16.to_le_bytes()); // Flags2: NT status, long names
    m.extend([0; 12]); // PIDHigh, SecurityFeatures, Reserved
    m.extend([0, 0, 0x10, 0, 0, 0, 0x01, 0]); // TID, PIDLow, UID, MID 1
    m.push(13); // WordCount (NT LM 0.12 without extended security)
    m.extend([0xff, 0, 0, 0]); // AndXCommand none, reserved, offset
    m.extend([0x04, 0x11, 0x32, 0, 0, 0]); // MaxBufferSize, MaxMpxCount, VcNumber
    m.extend([0; 4]); // SessionKey
    m.extend(24u16.to_le_bytes()); // OEMPasswordLen
    m.extend(24u16.to_le_bytes()); // UnicodePasswordLen
    m.extend([0; 4]); // Reserved
    m.extend(0xd4u32.to_le_bytes()); // Capabilities
    let mut bytes = vec![0xcc; 48]; // OEMPassword, UnicodePassword (responses)
    bytes.extend(b"operator\0PLANT3\0Windows 5.1\0Windows 2000 LAN Manager\0");
    m.extend((bytes.len() as u16).to_le_bytes()); // ByteCount
    m.extend(bytes);
    let mut c = req;
    c.extend(nbss(&m));
    let r = splits_at_every_offset(&Smb, &c, &[0x82, 0, 0, 0]);
    let nb = r.events.iter().find(|e| event_attr(e, "called_name").is_some()).unwrap();
    assert_eq!(event_attr(nb, "netbios_name"), Some("HMI-2"));
    assert_eq!(event_attr(nb, "called_name"), Some("PLANTFS01"));
    assert_eq!(event_attr(nb, "called_suffix"), Some("0x20"));
    let setup = ops(&r, "session_setup_andx")[0];
    assert_eq!(attr(setup, "account"), Some("operator"));
    assert_eq!(attr(setup, "domain"), Some("PLANT3"));
    assert_eq!(attr(setup, "native_os"), Some("Windows 5.1"));
    assert_eq!(attr(setup, "nt_password_length"), Some("24"));
    assert_eq!(attr(setup, "ntlm"), Some("v1"));
    let names: Vec<&str> = r.events.iter().map(|e| e.name.as_ref()).collect();
    assert!(names.contains(&"smb.smb1") && names.contains(&"smb.ntlmv1"), "{names:?}");
    assert!(!format!("{:?}{:?}", r.messages, r.events).contains("204, 204"));
}

proptest! {
    #[test]
    fn never_panics(a in proptest::collection::vec(any::<u8>(), 0..600), b in proptest::collection::vec(any::<u8>(), 0..600), gap in 0u64..100) {
        let mut c = nbss(&smb2(1, false, 0, 1, 0, &a));
        c.extend(nbss(&a));
        let mut m1 = vec![0xff, b'S', b'M', b'B'];
        m1.extend(&b);
        let mut s = nbss(&smb2(3, true, 0, 1, 0, &b));
        s.extend(nbss(&m1));
        let mut session = Smb.new_session();
        let mut r = Recorder::default();
        let ctx = crate::test_support::ctx(C2S);
        session.data(&ctx, C2S, &c, &mut r);
        session.data(&ctx, S2C, &s, &mut r);
        session.gap(&ctx, C2S, gap, &mut r);
        session.data(&ctx, C2S, &a, &mut r);
        session.close(&ctx, &mut r);
        let _ = ntlmssp::parse(&a);
        let _ = netbios_name(&b);
    }
}
