//! Session-level tests: bytes built layer by layer as IEC 61850-8-1 lays
//! them out, in; what the dissector emits, out.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use super::*;
use crate::test_support::{self, event_attr, Recorder};
use otposture_model::OperationClass;
use proptest::prelude::*;

const C2S: Direction = Direction::ToServer;
const S2C: Direction = Direction::ToClient;

/// A BER TLV with a one- or two-byte tag.
fn tlv(tag: &[u8], content: &[u8]) -> Vec<u8> {
    let mut b = tag.to_vec();
    if content.len() < 0x80 {
        b.push(content.len() as u8);
    } else {
        b.push(0x82);
        b.extend_from_slice(&(content.len() as u16).to_be_bytes());
    }
    b.extend_from_slice(content);
    b
}

fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

/// A TPKT packet holding one COTP DT TPDU with EOT.
fn dt(payload: &[u8]) -> Vec<u8> {
    let mut b = vec![0x03, 0x00];
    b.extend_from_slice(&(payload.len() as u16 + 7).to_be_bytes());
    b.extend_from_slice(&[0x02, 0xf0, 0x80]);
    b.extend_from_slice(payload);
    b
}

/// A COTP connection request naming TSAPs 0001 / 0001, as IEC 61850 clients send.
const CR: [u8; 22] = [
    0x03, 0x00, 0x00, 0x16, 0x11, 0xe0, 0x00, 0x00, 0x00, 0x01, 0x00, 0xc0, 0x01, 0x0d, 0xc2, 0x02, 0x00, 0x01, 0xc1,
    0x02, 0x00, 0x01,
];

/// Fully-encoded presentation user data: one PDV of `context`.
fn pdv(context: u8, content: &[u8]) -> Vec<u8> {
    tlv(&[0x61], &tlv(&[0x30], &cat(&[tlv(&[0x02], &[context]), tlv(&[0xa0], content)])))
}

/// A data-phase TSDU: GIVE TOKENS, DATA TRANSFER, the MMS PDU in context 3.
fn data(mms_pdu: &[u8]) -> Vec<u8> {
    dt(&cat(&[vec![0x01, 0x00, 0x01, 0x00], pdv(3, mms_pdu)]))
}

/// A session CONNECT (or ACCEPT) whose CP (CPA) PPDU carries `acse` in context 1.
fn connect(si: u8, acse: &[u8]) -> Vec<u8> {
    let cp = tlv(
        &[0x31],
        &cat(&[tlv(&[0xa0], &tlv(&[0x80], &[1])), tlv(&[0xa2], &cat(&[tlv(&[0x81], &[0, 1]), pdv(1, acse)]))]),
    );
    let mut params = vec![0x05, 0x06, 0x13, 0x01, 0x00, 0x16, 0x01, 0x02]; // connect/accept item
    params.extend(tlv(&[0xc1], &cp)); // user data
    let mut spdu = vec![si, params.len() as u8];
    spdu.extend(params);
    dt(&spdu)
}

/// An ACSE APDU with `fields`, carrying `mms_pdu` in its user information.
fn acse(tag: u8, fields: &[u8], mms_pdu: &[u8]) -> Vec<u8> {
    let external = tlv(&[0x28], &cat(&[tlv(&[0x02], &[3]), tlv(&[0xa0], mms_pdu)]));
    tlv(&[tag], &cat(&[fields.to_vec(), tlv(&[0xbe], &external)]))
}

const MMS_CONTEXT: [u8; 7] = [0xa1, 0x05, 0x06, 0x03, 0x28, 0xca, 0x22]; // application context 1.0.9506.2.3 (short)

fn initiate(tag: u8) -> Vec<u8> {
    tlv(&[tag], &cat(&[tlv(&[0x80], &[0x00, 0xfd, 0xe8]), tlv(&[0x81], &[5]), tlv(&[0xa4], &tlv(&[0x80], &[1]))]))
}

fn request(id: u8, service: &[u8]) -> Vec<u8> {
    tlv(&[0xa0], &cat(&[tlv(&[0x02], &[id]), service.to_vec()]))
}

fn response(id: u8, service: &[u8]) -> Vec<u8> {
    tlv(&[0xa1], &cat(&[tlv(&[0x02], &[id]), service.to_vec()]))
}

/// A domain-specific object name.
fn name(domain: &str, item: &str) -> Vec<u8> {
    tlv(&[0xa1], &cat(&[tlv(&[0x1a], domain.as_bytes()), tlv(&[0x1a], item.as_bytes())]))
}

/// A write of one Boolean to `domain/item`.
fn write(domain: &str, item: &str) -> Vec<u8> {
    let spec = tlv(&[0xa0], &tlv(&[0x30], &tlv(&[0xa0], &name(domain, item))));
    tlv(&[0xa5], &cat(&[spec, tlv(&[0xa0], &tlv(&[0x83], &[1]))]))
}

fn read(domain: &str, items: &[&str]) -> Vec<u8> {
    let list: Vec<u8> = items.iter().flat_map(|i| tlv(&[0x30], &tlv(&[0xa0], &name(domain, i)))).collect();
    tlv(&[0xa4], &tlv(&[0xa1], &tlv(&[0xa0], &list)))
}

/// Client and server streams of an association, an identify, a read, a
/// control operate, a kill refused, a report and a release.
fn exchange() -> (Vec<u8>, Vec<u8>) {
    let client = cat(&[
        CR.to_vec(),
        connect(0x0d, &acse(0x60, &MMS_CONTEXT, &initiate(0xa8))),
        data(&request(1, &tlv(&[0x82], &[]))),
        data(&request(2, &read("IED1LD0", &["MMXU1$MX$TotW", "MMXU1$MX$Hz"]))),
        data(&request(3, &write("IED1LD0", "XCBR1$CO$Pos$Oper"))),
        data(&request(4, &tlv(&[0xbf, 0x2c], &tlv(&[0x80], b"P1")))), // kill program invocation P1
        data(&request(6, &tlv(&[0xbf, 0x2e], &tlv(&[0xa1], &cat(&[tlv(&[0x19], b"cfg"), tlv(&[0x19], b"ied.cid")]))))), // obtain_file
        data(&request(5, &write("IED1LD0", "GGIO1$SP$SPCSO1$setVal"))),
        // GetNameList of the VMD's domains.
        data(&request(7, &tlv(&[0xa1], &cat(&[tlv(&[0xa0], &tlv(&[0x80], &[9])), tlv(&[0xa1], &tlv(&[0x80], &[]))])))),
        dt(&[0x09, 0x00]),
    ]);
    let identify =
        tlv(&[0xa2], &cat(&[tlv(&[0x80], b"MZ Automation"), tlv(&[0x81], b"LIBIEC61850"), tlv(&[0x82], b"1.6.1")]));
    let server = cat(&[
        vec![0x03, 0x00, 0x00, 0x0b, 0x06, 0xd0, 0x00, 0x01, 0x00, 0x01, 0x00], // CC
        connect(0x0e, &acse(0x61, &cat(&[MMS_CONTEXT.to_vec(), tlv(&[0xa2], &tlv(&[0x02], &[0]))]), &initiate(0xa9))),
        data(&response(1, &identify)),
        data(&response(2, &tlv(&[0xa4], &tlv(&[0xa1], &cat(&[tlv(&[0x87], &[0; 5]), tlv(&[0x87], &[0; 5])]))))),
        data(&response(3, &tlv(&[0xa5], &tlv(&[0x81], &[])))),
        // kill refused: confirmed error, class access (7), code 3.
        data(&tlv(&[0xa2], &cat(&[tlv(&[0x80], &[4]), tlv(&[0xa2], &tlv(&[0xa0], &tlv(&[0x87], &[3])))]))),
        // write answered with a failure [0] (object access denied 3).
        data(&response(5, &tlv(&[0xa5], &tlv(&[0x80], &[3])))),
        data(&tlv(&[0xa3], &tlv(&[0xa0], &tlv(&[0xa1], &tlv(&[0x80], b"IED1LD0/LLN0$RP$rcb01"))))),
        data(&response(7, &tlv(&[0xa1], &tlv(&[0xa0], &cat(&[tlv(&[0x1a], b"IED1LD0"), tlv(&[0x1a], b"IED1PROT")]))))),
    ]);
    (client, server)
}

fn ops(r: &Recorder) -> Vec<(Direction, &str, OperationClass)> {
    r.messages.iter().filter(|m| !m.2.starts_with("cotp_")).map(|m| (m.1, m.2.as_str(), m.3)).collect()
}

fn attr<'a>(r: &'a Recorder, op: &str, k: &str) -> Option<&'a str> {
    let m = r.messages.iter().find(|m| m.2 == op && !m.4.is_empty())?;
    m.4.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

#[test]
fn reads_an_association_its_services_and_the_answers() {
    let (c, s) = exchange();
    // Requests first, then the answers: pairing does not depend on interleaving.
    let r = test_support::run(&Mms, &[(C2S, c), (S2C, s)]);
    assert!(r.malformed.is_empty(), "{:?}", r.malformed);
    use OperationClass::*;
    assert_eq!(
        ops(&r),
        [
            (C2S, "associate_request", Session),
            (C2S, "initiate", Session),
            (C2S, "identify", Discovery),
            (C2S, "read", Read),
            (C2S, "control_operate", Control),
            (C2S, "kill", Control),
            (C2S, "obtain_file", Program),
            (C2S, "write", Write),
            (C2S, "get_name_list", Discovery),
            (C2S, "session_finish", Session),
            (S2C, "associate_response", Session),
            (S2C, "initiate", Session),
            (S2C, "identify", Discovery),
            (S2C, "read", Read),
            (S2C, "control_operate", Control),
            (S2C, "kill", Control),
            (S2C, "write", Write),
            (S2C, "information_report", Read),
            (S2C, "get_name_list", Discovery),
        ]
    );
    // The operate answered with success folds into its request; the refused
    // kill and the failed write are kept with why.
    let folded: Vec<&str> = r.folded.iter().map(|&i| r.messages[i].2.as_str()).collect();
    assert_eq!(folded, ["identify", "read", "control_operate", "get_name_list"]);
    let domains = r.events.iter().find(|e| e.name == "mms.domains").expect("the server's logical devices");
    assert_eq!(event_attr(domains, "domains"), Some("IED1LD0, IED1PROT"));
    assert_eq!(event_attr(domains, "count"), Some("2"));
    assert_eq!(attr(&r, "control_operate", "variables"), Some("IED1LD0/XCBR1$CO$Pos$Oper"));
    assert_eq!(attr(&r, "control_operate", "invoke_id"), Some("3"));
    assert_eq!(attr(&r, "kill", "program_invocation"), Some("P1"));
    assert_eq!(attr(&r, "obtain_file", "file"), Some("cfg/ied.cid"));
    let kill_error = r.messages.iter().filter(|m| m.2 == "kill").nth(1).unwrap();
    assert!(kill_error.4.contains(&("error_class".into(), "access".into())), "{:?}", kill_error.4);
    assert!(kill_error.4.contains(&("error_code".into(), "3".into())));
    let write_answer = r.messages.iter().filter(|m| m.2 == "write").nth(1).unwrap();
    assert!(write_answer.4.contains(&("failed".into(), "1 of 1".into())), "{:?}", write_answer.4);
    let id = r.events.iter().find(|e| e.name == "mms.identify").expect("identity event");
    assert_eq!(event_attr(id, "vendor"), Some("MZ Automation"));
    assert_eq!(event_attr(id, "model"), Some("LIBIEC61850"));
    assert_eq!(event_attr(id, "revision"), Some("1.6.1"));
}

#[test]
fn reads_name_the_variables_they_read_only_when_kept() {
    // A read is not notable: counted, no record, no variable text built.
    let (c, _) = exchange();
    let r = test_support::run(&Mms, &[(C2S, c)]);
    let read = r.messages.iter().find(|m| m.2 == "read").unwrap();
    assert!(read.4.is_empty());
}

/// A VMD-specific object name.
fn vmd_name(item: &str) -> Vec<u8> {
    tlv(&[0x80], item.as_bytes())
}

/// An ICCP client's first read: the bilateral table id in its domain, then
/// the TASE.2 version and supported features of the VMD (IEC 60870-6-503).
fn tase2_read(id: u8) -> Vec<u8> {
    let list: Vec<u8> =
        [name("KIRKLAND", "Bilateral_Table_ID"), vmd_name("TASE2_Version"), vmd_name("Supported_Features")]
            .iter()
            .flat_map(|n| tlv(&[0x30], &tlv(&[0xa0], n)))
            .collect();
    request(id, &tlv(&[0xa4], &tlv(&[0xa1], &tlv(&[0xa0], &list))))
}

#[test]
fn iccp_association_objects_name_client_and_server() {
    // Answered as an ICCP server does: "1.0", { 1996, 8 }, blocks 1-5, 7, 8.
    let results = cat(&[
        tlv(&[0x8a], b"1.0"),
        tlv(&[0xa2], &cat(&[tlv(&[0x85], &[0x07, 0xcc]), tlv(&[0x85], &[0x08])])),
        tlv(&[0x84], &[0x04, 0xfb, 0x00]),
    ]);
    let answer = response(9, &tlv(&[0xa4], &tlv(&[0xa1], &results)));
    let r = test_support::run(
        &Mms,
        &[(C2S, cat(&[CR.to_vec(), data(&tase2_read(9)), data(&tase2_read(10))])), (S2C, data(&answer))],
    );
    assert!(r.malformed.is_empty(), "{:?}", r.malformed);
    let clients: Vec<_> = r.events.iter().filter(|e| e.name == "mms.tase2_client").collect();
    assert_eq!(clients.len(), 1, "named once per direction");
    assert_eq!(event_attr(clients[0], "services"), Some("iccp_client"));
    assert_eq!(event_attr(clients[0], "objects"), Some("Bilateral_Table_ID, TASE2_Version, Supported_Features"));
    assert_eq!(event_attr(clients[0], "bilateral_table"), Some("KIRKLAND"));
    let server = r.events.iter().find(|e| e.name == "mms.tase2").expect("the server answered as ICCP");
    assert_eq!(event_attr(server, "services"), Some("iccp_server"));
    assert_eq!(event_attr(server, "bilateral_table"), Some("KIRKLAND"));
    assert_eq!(event_attr(server, "bilateral_table_id"), Some("1.0"));
    assert_eq!(event_attr(server, "tase2_version"), Some("1996.8"));
    assert_eq!(event_attr(server, "supported_blocks"), Some("1,2,3,4,5,7,8"));
    // The reads are still counted as reads, the answer folded into its request.
    assert_eq!(ops(&r).iter().filter(|o| o.1 == "read").count(), 3);

    // An IEC 61850 server has no such objects: it refuses them all
    // (failure [0], object-non-existent 10), and is not named.
    let refused = cat(&[tlv(&[0x80], &[10]), tlv(&[0x80], &[10]), tlv(&[0x80], &[10])]);
    let r = test_support::run(
        &Mms,
        &[
            (C2S, cat(&[CR.to_vec(), data(&tase2_read(9))])),
            (S2C, data(&response(9, &tlv(&[0xa4], &tlv(&[0xa1], &refused))))),
        ],
    );
    assert!(r.events.iter().any(|e| e.name == "mms.tase2_client"));
    assert!(!r.events.iter().any(|e| e.name == "mms.tase2"));
    // Ordinary reads name nothing.
    let (c, s) = exchange();
    let r = test_support::run(&Mms, &[(C2S, c), (S2C, s)]);
    assert!(!r.events.iter().any(|e| e.name.starts_with("mms.tase2")));
}

/// An ICCP object name as data: { scope, domain, name }.
fn name_data(domain: &str, name: &str) -> Vec<u8> {
    tlv(&[0xa2], &cat(&[tlv(&[0x86], &[1]), tlv(&[0x8a], domain.as_bytes()), tlv(&[0x8a], name.as_bytes())]))
}

/// A write of a DSTransferSet structure (data set name, interval 30) to `domain/item`.
fn transfer_set_write(id: u8, domain: &str, item: &str) -> Vec<u8> {
    let spec = tlv(&[0xa0], &tlv(&[0x30], &tlv(&[0xa0], &name(domain, item))));
    let value = tlv(&[0xa2], &cat(&[name_data("KIRKLAND", "EMS_ANALOG_ICCP_IN"), tlv(&[0x85], &[30])]));
    request(id, &tlv(&[0xa5], &cat(&[spec, tlv(&[0xa0], &value)])))
}

#[test]
fn a_write_to_a_lent_iccp_transfer_set_is_configuration_with_its_data_set() {
    let lend = response(11, &tlv(&[0xa4], &tlv(&[0xa1], &name_data("KIRKLAND", "CITEC_TS0"))));
    let client = cat(&[
        CR.to_vec(),
        data(&transfer_set_write(10, "KIRKLAND", "CITEC_TS0")), // not lent yet: a plain write
        data(&request(11, &read("KIRKLAND", &["Next_DSTransfer_Set"]))),
    ]);
    let later = data(&transfer_set_write(12, "KIRKLAND", "CITEC_TS0"));
    let r = test_support::run(&Mms, &[(C2S, client), (S2C, data(&lend)), (C2S, later)]);
    assert!(r.malformed.is_empty(), "{:?}", r.malformed);
    let writes: Vec<_> = ops(&r).into_iter().filter(|o| o.0 == C2S && o.1 != "read").collect();
    assert_eq!(
        writes,
        [(C2S, "write", OperationClass::Write), (C2S, "transfer_set_write", OperationClass::Configuration)]
    );
    assert_eq!(attr(&r, "transfer_set_write", "data_set"), Some("KIRKLAND/EMS_ANALOG_ICCP_IN"));
    assert_eq!(attr(&r, "transfer_set_write", "variables"), Some("KIRKLAND/CITEC_TS0"));
    let server = r.events.iter().find(|e| e.name == "mms.tase2").expect("the lending server is ICCP");
    assert_eq!(event_attr(server, "transfer_set"), Some("KIRKLAND/CITEC_TS0"));
    let client = r.events.iter().find(|e| e.name == "mms.tase2_client").unwrap();
    assert_eq!(event_attr(client, "objects"), Some("Next_DSTransfer_Set"));
}

#[test]
fn odd_tase2_answers_name_only_what_reads_cleanly() {
    // A bit string claiming more unused bits than it holds, a version that is
    // not a structure of two integers, an id of the wrong type: no values,
    // so no server is named; a clean value among them still counts.
    let answer = |results: &[Vec<u8>]| data(&response(9, &tlv(&[0xa4], &tlv(&[0xa1], &cat(results)))));
    let odd = [tlv(&[0x85], &[1]), tlv(&[0xa2], &tlv(&[0x85], &[0x07])), tlv(&[0x84], &[0x09, 0xff])];
    let r = test_support::run(&Mms, &[(C2S, cat(&[CR.to_vec(), data(&tase2_read(9))])), (S2C, answer(&odd))]);
    assert!(!r.events.iter().any(|e| e.name == "mms.tase2"), "{:?}", r.events);
    assert!(r.malformed.is_empty());
    let mixed = [tlv(&[0x80], &[10]), tlv(&[0x80], &[10]), tlv(&[0x84], &[0x07, 0x80])];
    let r = test_support::run(&Mms, &[(C2S, cat(&[CR.to_vec(), data(&tase2_read(9))])), (S2C, answer(&mixed))]);
    let server = r.events.iter().find(|e| e.name == "mms.tase2").unwrap();
    assert_eq!(event_attr(server, "supported_blocks"), Some("1"));
    assert_eq!(event_attr(server, "tase2_version"), None);
}

#[test]
fn splits_at_every_offset() {
    let (c, s) = exchange();
    let r = test_support::splits_at_every_offset(&Mms, &c, &s);
    assert_eq!(r.events.iter().filter(|e| e.name == "mms.identify").count(), 1);
}

#[test]
fn an_authenticated_association_is_kept_without_its_credentials() {
    let fields = cat(&[
        MMS_CONTEXT.to_vec(),
        tlv(&[0x8a], &[0x07, 0x80]),       // sender requirements: authentication
        tlv(&[0x8b], &[0x52, 0x03, 0x01]), // mechanism 2.2.3.1 (password)
        tlv(&[0xac], &tlv(&[0x80], b"secret-password")), // calling authentication value
    ]);
    let r =
        test_support::run(&Mms, &[(C2S, cat(&[CR.to_vec(), connect(0x0d, &acse(0x60, &fields, &initiate(0xa8)))]))]);
    let auth = r.messages.iter().find(|m| m.2 == "associate_request").unwrap();
    assert_eq!(auth.3, OperationClass::Authentication);
    assert!(auth.4.contains(&("credentials".into(), "present".into())));
    assert!(auth.4.contains(&("mechanism".into(), "2.2.3.1".into())), "{:?}", auth.4);
    assert!(!format!("{r:?}").contains("secret"), "the password is never kept");

    // A rejected association is kept too.
    let aare = acse(0x61, &cat(&[MMS_CONTEXT.to_vec(), tlv(&[0xa2], &tlv(&[0x02], &[1]))]), &initiate(0xaa));
    let r = test_support::run(&Mms, &[(S2C, connect(0x0e, &aare))]);
    let rejected = r.messages.iter().find(|m| m.2 == "associate_rejected").unwrap();
    assert_eq!(rejected.4, [("result".to_string(), "1".to_string())]);
}

#[test]
fn probes_mms_apart_from_s7comm_on_port_102() {
    let (c, _) = exchange();
    let s7 = crate::s7comm::S7comm;
    assert_eq!(Mms.probe(C2S, &CR), Probe::NeedMore, "a CR alone does not tell");
    assert_eq!(Mms.probe(C2S, &c), Probe::Match);
    assert_eq!(s7.probe(C2S, &c), Probe::NoMatch);
    // Picked up in the data phase, and MMS straight in COTP.
    assert_eq!(Mms.probe(C2S, &data(&request(9, &tlv(&[0x82], &[])))), Probe::Match);
    assert_eq!(Mms.probe(C2S, &dt(&request(9, &tlv(&[0x82], &[])))), Probe::Match);
    // S7comm's setup communication is not MMS; nor is HTTP.
    let setup = dt(&[0x32, 0x01, 0, 0, 0, 1, 0, 8, 0, 0, 0xf0, 0, 0, 1, 0, 1, 1, 0xe0]);
    assert_eq!(Mms.probe(C2S, &cat(&[CR.to_vec(), setup])), Probe::NoMatch);
    assert_eq!(Mms.probe(C2S, b"GET / HTTP/1.1\r\n"), Probe::NoMatch);
}

#[test]
fn mms_straight_in_cotp_is_read_like_the_full_stack() {
    let r = test_support::run(&Mms, &[(C2S, dt(&request(4, &tlv(&[0xbf, 0x29], &tlv(&[0x80], b"P1")))))]);
    assert_eq!(ops(&r), [(C2S, "stop", OperationClass::Control)]);
    assert!(r.malformed.is_empty());
}

#[test]
fn broken_layers_are_counted_not_fatal() {
    let (c, _) = exchange();
    let broken = cat(&[
        dt(&[0x01, 0x00, 0x01, 0x00, 0x61, 0x20, 0x30]), // presentation runs past its TSDU
        dt(&[0x0d, 0x40, 0x05]),                         // session length past the TSDU
        data(&tlv(&[0xae], &[])),                        // no such MMS PDU
        c,
    ]);
    let r = test_support::run(&Mms, &[(C2S, broken)]);
    assert_eq!(r.malformed, ["presentation_truncated", "session_bad_length", "mms_unknown_pdu"]);
    assert!(ops(&r).contains(&(C2S, "control_operate", OperationClass::Control)), "the rest of the stream is read");
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..6)) {
        let input: Vec<_> = chunks.into_iter().enumerate().map(|(i, b)| (if i % 2 == 0 { C2S } else { S2C }, b)).collect();
        let _ = test_support::run(&Mms, &input);
    }

    #[test]
    fn mutated_streams_never_panic(at in 0usize..2000, byte: u8, cut in 0usize..2000) {
        let (mut c, s) = exchange();
        let len = c.len();
        if let Some(b) = c.get_mut(at % len) {
            *b = byte;
        }
        let cut = cut % (c.len() + 1);
        let _ = test_support::run(&Mms, &[(C2S, c[..cut].to_vec()), (C2S, c[cut..].to_vec()), (S2C, s)]);
    }
}
