//! Session-level tests: bytes in, what the dissector emits out.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use super::*;
use crate::test_support::{self, ctx, event_attr, Recorder};
use otposture_model::{Event, EventKind, OperationClass};
use proptest::prelude::*;

/// This module's views of what was recorded.
trait View {
    fn ops(&self) -> Vec<(&str, OperationClass)>;
    fn attr(&self, i: usize, k: &str) -> Option<&str>;
    fn event(&self, name: &str) -> &Event;
}

impl View for Recorder {
    /// The S7comm operations, COTP ones left out.
    fn ops(&self) -> Vec<(&str, OperationClass)> {
        self.messages.iter().filter(|m| !m.2.starts_with("cotp_")).map(|(_, _, o, c, _)| (o.as_str(), *c)).collect()
    }
    fn attr(&self, i: usize, k: &str) -> Option<&str> {
        let m = self.messages.iter().filter(|m| !m.2.starts_with("cotp_")).nth(i)?;
        m.4.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }
    fn event(&self, name: &str) -> &Event {
        self.events.iter().find(|e| e.name == name).unwrap_or_else(|| panic!("no {name} event in {:?}", self.events))
    }
}

const C2S: Direction = Direction::ToServer;
const S2C: Direction = Direction::ToClient;

/// A TPKT packet holding one COTP DT TPDU with `eot`, carrying `payload`.
fn dt(payload: &[u8], eot: bool) -> Vec<u8> {
    let mut b = vec![0x03, 0x00]; // TPKT version 3, reserved
    b.extend_from_slice(&(payload.len() as u16 + 7).to_be_bytes()); // TPKT length
    b.push(0x02); // COTP length indicator 2
    b.push(0xf0); // DT
    b.push(if eot { 0x80 } else { 0x00 }); // TPDU number 0, EOT bit
    b.extend_from_slice(payload);
    b
}

/// An S7comm PDU: header (protocol id, ROSCTR, redundancy, PDU ref, lengths,
/// error class and code for ack/ack_data), parameter, data.
fn s7(rosctr: u8, pdu_ref: u16, param: &[u8], data: &[u8]) -> Vec<u8> {
    let mut b = vec![0x32, rosctr, 0x00, 0x00]; // protocol id, ROSCTR, redundancy
    b.extend_from_slice(&pdu_ref.to_be_bytes()); // PDU reference
    b.extend_from_slice(&(param.len() as u16).to_be_bytes()); // parameter length
    b.extend_from_slice(&(data.len() as u16).to_be_bytes()); // data length
    if rosctr == 2 || rosctr == 3 {
        b.extend_from_slice(&[0x00, 0x00]); // error class, error code
    }
    b.extend_from_slice(param);
    b.extend_from_slice(data);
    b
}

/// Feeds (direction, bytes) in order to a fresh session and closes it.
fn run(input: &[(Direction, Vec<u8>)]) -> Recorder {
    test_support::run(&S7comm, input)
}

/// One job and its ack_data, each in one DT.
fn exchange(job_param: &[u8], job_data: &[u8], ack_param: &[u8], ack_data: &[u8]) -> Recorder {
    run(&[(C2S, dt(&s7(1, 0x0100, job_param, job_data), true)), (S2C, dt(&s7(3, 0x0100, ack_param, ack_data), true))])
}

const SETUP: [u8; 8] = [
    0xf0, // function: setup communication
    0x00, // reserved
    0x00, 0x01, // max AMQ calling 1
    0x00, 0x01, // max AMQ called 1
    0x01, 0xe0, // PDU length 480
];

#[test]
fn classifies_setup_communication_as_session_in_both_directions() {
    let r = exchange(&SETUP, &[], &SETUP, &[]);
    use OperationClass::Session;
    assert_eq!(r.ops(), vec![("setup_communication", Session), ("setup_communication", Session)]);
    assert!(r.malformed.is_empty());
    assert!(r.events.is_empty(), "{:?}", r.events);
}

const READ_VAR_JOB: [u8; 14] = [
    0x04, // function: read var
    0x01, // item count 1
    0x12, // variable specification
    0x0a, // length of the address specification
    0x10, // syntax id: S7ANY
    0x02, // transport size: BYTE
    0x00, 0x02, // length 2
    0x00, 0x01, // DB 1
    0x84, // area: data blocks
    0x00, 0x00, 0x00, // address 0.0
];

#[test]
fn reads_a_read_var_job_and_its_ack_data() {
    let r = exchange(
        &READ_VAR_JOB,
        &[],
        &[0x04, 0x01], // function: read var, item count 1
        &[
            0xff, // return code: success
            0x04, // transport size: BYTE/WORD/DWORD
            0x00, 0x10, // length 16 bits
            0x12, 0x34, // value
        ],
    );
    use OperationClass::Read;
    assert_eq!(r.ops(), vec![("read_var", Read), ("read_var", Read)]);
    assert!(r.malformed.is_empty());
}

#[test]
fn gives_a_write_var_its_pdu_ref_and_item_count() {
    let mut param = READ_VAR_JOB;
    param[0] = 0x05; // function: write var
    let r = exchange(
        &param,
        &[
            0x00, // reserved
            0x04, // transport size
            0x00, 0x10, // length 16 bits
            0x00, 0x2a, // value 42
        ],
        &[0x05, 0x01], // function: write var, item count 1
        &[0xff],       // return code: success
    );
    use OperationClass::Write;
    assert_eq!(r.ops(), vec![("write_var", Write), ("write_var", Write)]);
    assert_eq!(r.attr(0, "pdu_ref"), Some("256"));
    assert_eq!(r.attr(0, "item_count"), Some("1"));
    assert_eq!(r.attr(0, "function"), Some("0x05"));
    assert_eq!(r.folded, vec![1], "a successful ack_data is folded into the job's record");
}

#[test]
fn keeps_a_write_var_answer_whose_item_failed() {
    let mut param = READ_VAR_JOB;
    param[0] = 0x05; // function: write var
    let r = exchange(
        &param,
        &[0x00, 0x04, 0x00, 0x10, 0x00, 0x2a], // one 16-bit item, value 42
        &[0x05, 0x01],                         // function: write var, item count 1
        &[0x0a],                               // return code: object does not exist
    );
    assert!(r.folded.is_empty());
    assert_eq!(r.attr(1, "message"), Some("ack_data"));
}

#[test]
fn reports_plc_stop_as_control_with_its_pi_service() {
    let r = exchange(
        &[
            0x29, // function: PLC stop
            0x00, 0x00, 0x00, 0x00, 0x00, // unknown
            0x09, // service name length 9
            b'P', b'_', b'P', b'R', b'O', b'G', b'R', b'A', b'M', // "P_PROGRAM"
        ],
        &[],
        &[0x29], // function: PLC stop
        &[],
    );
    use OperationClass::Control;
    assert_eq!(r.ops(), vec![("plc_stop", Control), ("plc_stop", Control)]);
    assert_eq!(r.attr(0, "pi_service"), Some("P_PROGRAM"));
}

/// PLC control job with a parameter block and PI service.
fn plc_control(block: &[u8], service: &[u8]) -> Vec<u8> {
    let mut p = vec![0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xfd]; // function, 7 unknown bytes
    p.extend_from_slice(&(block.len() as u16).to_be_bytes()); // parameter block length
    p.extend_from_slice(block);
    p.push(service.len() as u8); // service name length
    p.extend_from_slice(service);
    p
}

#[test]
fn reports_plc_control_start_as_control_and_insert_block_as_program() {
    let r = exchange(&plc_control(&[], b"P_PROGRAM"), &[], &[0x28], &[]);
    assert_eq!(r.ops()[0], ("plc_control", OperationClass::Control));
    assert_eq!(r.attr(0, "pi_service"), Some("P_PROGRAM"));
    let r = exchange(
        &plc_control(
            &[
                0x01, 0x00, // block count 1, unknown
                b'0', b'A', // block type 0x0A: DB
                b'0', b'0', b'0', b'0', b'1', // number 1
                b'P', // file system: passive
            ],
            b"_INSE",
        ),
        &[],
        &[0x28],
        &[],
    );
    assert_eq!(r.ops()[0], ("plc_control", OperationClass::Program));
    assert_eq!(r.attr(0, "pi_service"), Some("_INSE"));
    assert_eq!(r.attr(0, "block"), Some("DB1"));
}

/// A download/upload job parameter naming `_0A00001P`.
fn block_job(function: u8) -> Vec<u8> {
    let mut p = vec![
        function, // function
        0x00,     // status
        0x01, 0x00, // unknown
        0x00, 0x00, 0x00, 0x00, // upload id
        0x09, // file name length 9
    ];
    p.extend_from_slice(b"_0A00001P"); // "_", type 0A (DB), number 00001, file system P
    p
}

#[test]
fn names_the_block_of_a_download_sequence() {
    let r = run(&[
        (C2S, dt(&s7(1, 1, &block_job(0x1a), &[]), true)),
        (S2C, dt(&s7(3, 1, &[0x1a], &[]), true)),
        (S2C, dt(&s7(1, 0x200, &block_job(0x1b), &[]), true)),
        (C2S, dt(&s7(3, 0x200, &[0x1b, 0x00], &[0x00, 0x04, 0x00, 0xfb, 0x70, 0x70]), true)),
        (S2C, dt(&s7(1, 0x201, &block_job(0x1c), &[]), true)),
        (C2S, dt(&s7(3, 0x201, &[0x1c], &[]), true)),
    ]);
    use OperationClass::Program;
    assert_eq!(
        r.ops(),
        vec![
            ("request_download", Program),
            ("request_download", Program),
            ("download_block", Program),
            ("download_block", Program),
            ("download_ended", Program),
            ("download_ended", Program),
        ]
    );
    for i in [0, 2, 4] {
        assert_eq!(r.attr(i, "block"), Some("DB1"), "message {i}");
        assert_eq!(r.attr(i, "filename"), Some("_0A00001P"));
    }
    assert!(r.malformed.is_empty());
}

#[test]
fn names_a_bare_ack_refusing_a_job_after_the_job() {
    // What snap7's server (libsnap7) answers to a start_upload it does not
    // allow: an ack without parameter or data, error 0xd241 ("function not
    // authorized for current protection level").
    let refusal = [
        0x32, // protocol id
        0x02, // ROSCTR: ack
        0x00, 0x00, // redundancy
        0x03, 0x00, // PDU ref 0x0300, the job's
        0x00, 0x00, // parameter length 0
        0x00, 0x00, // data length 0
        0xd2, 0x41, // error class 0xd2, code 0x41
    ];
    let unrelated = [0x32, 0x02, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]; // ack, PDU ref 0x0700
    let r = run(&[
        (C2S, dt(&s7(1, 0x0300, &block_job(0x1d), &[]), true)),
        (S2C, dt(&refusal, true)),
        (S2C, dt(&unrelated, true)),
    ]);
    use OperationClass::{Program, Session};
    assert_eq!(r.ops(), vec![("start_upload", Program), ("start_upload", Program), ("ack", Session)]);
    assert_eq!(r.attr(1, "message"), Some("ack"));
    assert_eq!(r.attr(1, "pdu_ref"), Some("768"));
    assert_eq!(r.attr(1, "error"), Some("0xd241"));
    assert!(r.malformed.is_empty());
}

/// A userdata PDU: 8- or 12-byte parameter and the data header.
fn userdata(response: bool, group: u8, sub: u8, dur: u8, more: bool, payload: &[u8]) -> Vec<u8> {
    let mut param = vec![0x00, 0x01, 0x12]; // parameter head
    if response {
        param.extend_from_slice(&[
            0x08,           // parameter length 8
            0x12,           // method: response
            0x80 | group,   // type 8 (response), function group
            sub,            // subfunction
            0x01,           // sequence number
            dur,            // data unit reference
            u8::from(more), // last data unit: 0 yes, 1 no
            0x00,
            0x00, // error code
        ]);
    } else {
        param.extend_from_slice(&[
            0x04,         // parameter length 4
            0x11,         // method: request
            0x40 | group, // type 4 (request), function group
            sub,          // subfunction
            0x00,         // sequence number
        ]);
    }
    let mut data = vec![0xff, 0x09]; // return code success, transport size OCTET STRING
    data.extend_from_slice(&(payload.len() as u16).to_be_bytes()); // length
    data.extend_from_slice(payload);
    s7(7, 0x0400, &param, &data)
}

/// An SZL answer's payload: id, index, record length, count, records.
fn szl_payload(id: u16, record_len: u16, records: &[Vec<u8>]) -> Vec<u8> {
    let mut b = id.to_be_bytes().to_vec(); // SZL id
    b.extend_from_slice(&[0x00, 0x00]); // index
    b.extend_from_slice(&record_len.to_be_bytes()); // record length
    b.extend_from_slice(&(records.len() as u16).to_be_bytes()); // record count
    for r in records {
        b.extend_from_slice(r);
    }
    b
}

/// A 0x0011 record: index, 20-byte order number, module type, Ausbg, Ausbe.
fn module_record(index: u16, mlfb: &str, ausbg: [u8; 2], ausbe: [u8; 2]) -> Vec<u8> {
    let mut r = index.to_be_bytes().to_vec();
    let mut m = mlfb.as_bytes().to_vec();
    m.resize(20, b' ');
    r.extend_from_slice(&m); // MlfB, space padded
    r.extend_from_slice(&[0x00, 0xc0]); // BGTyp
    r.extend_from_slice(&ausbg);
    r.extend_from_slice(&ausbe);
    r
}

/// A 0x001C record: index and 32 bytes of NUL-padded text.
fn component_record(index: u16, text: &str) -> Vec<u8> {
    let mut r = index.to_be_bytes().to_vec();
    let mut t = text.as_bytes().to_vec();
    t.resize(32, 0);
    r.extend_from_slice(&t);
    r
}

#[test]
fn reads_module_identification_into_an_identity_event() {
    let request = userdata(false, 4, 1, 0, false, &[0x00, 0x11, 0x00, 0x00]); // SZL id 0x0011, index 0
    let answer = szl_payload(
        0x0011,
        28,
        &[
            module_record(0x0001, "6ES7 151-8AB01-0AB0", [0x00, 0x03], [0x00, 0x01]),
            module_record(0x0007, "", [b'V', 3], [2, 6]), // firmware V3.2.6
        ],
    );
    let r = run(&[(C2S, dt(&request, true)), (S2C, dt(&userdata(true, 4, 1, 0, false, &answer), true))]);
    use OperationClass::Discovery;
    assert_eq!(r.ops(), vec![("szl_read", Discovery), ("szl_read", Discovery)]);
    let e = r.event("s7comm.szl_identity");
    assert_eq!(e.kind, EventKind::Identity);
    assert_eq!(event_attr(e, "szl_id"), Some("0x0011"));
    assert_eq!(event_attr(e, "order_number"), Some("6ES7 151-8AB01-0AB0"));
    assert_eq!(event_attr(e, "firmware_version"), Some("V3.2.6"));
    assert_eq!(event_attr(e, "hardware_version"), Some("3"));
}

#[test]
fn joins_component_identification_split_over_two_data_units() {
    let answer = szl_payload(
        0x001c,
        34,
        &[
            component_record(1, "IM151-8-CPU"),
            component_record(2, "IM151-8 PN/DP CPU"),
            component_record(5, "S C-C6TW74882012"),
            component_record(7, "IM151-8 PN/DP CPU"),
        ],
    );
    let (first, second) = answer.split_at(60);
    let r = run(&[
        (S2C, dt(&userdata(true, 4, 1, 6, true, first), true)),
        (S2C, dt(&userdata(true, 4, 1, 6, false, second), true)),
    ]);
    let e = r.event("s7comm.szl_identity");
    assert_eq!(event_attr(e, "szl_id"), Some("0x001c"));
    assert_eq!(event_attr(e, "plc_name"), Some("IM151-8-CPU"));
    assert_eq!(event_attr(e, "module_name"), Some("IM151-8 PN/DP CPU"));
    assert_eq!(event_attr(e, "serial"), Some("S C-C6TW74882012"));
    assert_eq!(event_attr(e, "module_type"), Some("IM151-8 PN/DP CPU"));
    assert_eq!(r.events.iter().filter(|e| e.kind == EventKind::Identity).count(), 1);
}

/// A module status record (SZL 0xXX91): adr1, adr2, logadr, expected and
/// actual type, reserved, I/O status, area and width.
fn status_record(adr1: u16, adr2: u16, logadr: u16, soll: u16, ist: u16, eastat: u16) -> Vec<u8> {
    [adr1, adr2, logadr, soll, ist, 0, eastat, 0x0011].iter().flat_map(|w| w.to_be_bytes()).collect()
}

#[test]
fn files_each_module_of_a_rack_by_its_slot() {
    let answer = szl_payload(
        0x0d91,
        16,
        &[
            status_record(0, 0x0200, 0x7fff, 0x00c0, 0x00c0, 0xb402), // rack 0 slot 2: the CPU, present
            status_record(0, 0x0400, 256, 0x0008, 0x0000, 0xb400),    // slot 4: configured, not plugged
            status_record(0x0103, 0x0201, 512, 0x0010, 0x0011, 0xb403), // DP 1 station 3, slot 2.1: error, wrong type
        ],
    );
    let r = run(&[(S2C, dt(&userdata(true, 4, 1, 0, false, &answer), true))]);
    let modules: Vec<_> = r.events.iter().filter(|e| e.name == "s7comm.module_status").collect();
    assert_eq!(modules.len(), 3);
    let at = |i: usize, k: &str| event_attr(modules[i], k).map(str::to_string);
    assert_eq!(at(0, "route").as_deref(), Some("rack 0 slot 2"));
    assert_eq!(at(0, "type_code").as_deref(), Some("0x00c0"));
    assert_eq!(at(0, "status").as_deref(), Some("ok"));
    assert_eq!(at(0, "type_mismatch"), None);
    assert_eq!(at(1, "route").as_deref(), Some("rack 0 slot 4"));
    assert_eq!(at(1, "status").as_deref(), Some("missing"));
    assert_eq!(at(1, "logical_address").as_deref(), Some("256"));
    assert_eq!(at(2, "route").as_deref(), Some("dp 1 station 3 slot 2.1"));
    assert_eq!(at(2, "status").as_deref(), Some("error"));
    assert_eq!(at(2, "type_mismatch").as_deref(), Some("true"));
    // Records cut short are skipped, not misread.
    let short = szl_payload(0x0d91, 16, &[vec![0; 10]]);
    let r = run(&[(S2C, dt(&userdata(true, 4, 1, 0, false, &short), true))]);
    assert!(r.events.iter().all(|e| e.name != "s7comm.module_status"));
}

#[test]
fn reports_the_cpu_mode_of_szl_0424() {
    let mut record = vec![0x51, 0x44, 0xff, 0x08]; // ereig, ae, bzu-id: requested mode RUN
    record.extend_from_slice(&[0; 16]); // reserved, anlinfo, time
    let r = run(&[(S2C, dt(&userdata(true, 4, 1, 0, false, &szl_payload(0x0424, 20, &[record])), true))]);
    assert_eq!(r.ops(), vec![("szl_read", OperationClass::Diagnostic)]);
    assert_eq!(event_attr(r.event("s7comm.szl_cpu_mode"), "cpu_mode"), Some("run"));
}

#[test]
fn classifies_clock_and_security_userdata() {
    use OperationClass::*;
    let r = run(&[
        (C2S, dt(&userdata(false, 7, 1, 0, false, &[]), true)),
        (C2S, dt(&userdata(false, 7, 2, 0, false, &[0; 10]), true)),
        (C2S, dt(&userdata(false, 5, 1, 0, false, &[0; 8]), true)),
        (C2S, dt(&userdata(false, 9, 9, 0, false, &[]), true)),
    ]);
    assert_eq!(
        r.ops(),
        vec![
            ("read_clock", Read),
            ("set_clock", Configuration),
            ("plc_password", Authentication),
            ("userdata_g9_s9", Unknown)
        ]
    );
}

#[test]
fn reassembles_an_s7_pdu_split_over_cotp_data_tpdus() {
    let pdu = s7(1, 5, &READ_VAR_JOB, &[]);
    let (a, b) = pdu.split_at(9);
    let r = run(&[(C2S, dt(a, false)), (C2S, dt(b, true))]);
    assert_eq!(r.ops(), vec![("read_var", OperationClass::Read)]);
}

#[test]
fn splitting_the_stream_at_every_offset_yields_the_same_messages() {
    let mut stream = dt(&s7(1, 1, &SETUP, &[]), true);
    let pdu = s7(1, 5, &READ_VAR_JOB, &[]);
    stream.extend_from_slice(&dt(&pdu[..9], false));
    stream.extend_from_slice(&dt(&pdu[9..], true));
    stream.extend_from_slice(&dt(&s7(1, 6, &plc_control(&[], b"P_PROGRAM"), &[]), true));
    let whole = run(&[(C2S, stream.clone())]).messages;
    assert_eq!(whole.len(), 3);
    for i in 0..=stream.len() {
        let r = run(&[(C2S, stream[..i].to_vec()), (C2S, stream[i..].to_vec())]);
        assert_eq!(r.messages, whole, "split at {i}");
    }
}

const CR: [u8; 22] = [
    0x03, 0x00, 0x00, 0x16, // TPKT version 3, length 22
    0x11, // COTP length indicator 17
    0xe0, // CR
    0x00, 0x00, // destination reference
    0x00, 0x01, // source reference
    0x00, // class 0
    0xc0, 0x01, 0x0a, // TPDU size 1024
    0xc1, 0x02, 0x01, 0x00, // calling TSAP 0x0100
    0xc2, 0x02, 0x01, 0x02, // called TSAP 0x0102: rack 0, slot 2
];

#[test]
fn probes_a_connection_request_and_reports_its_tsaps() {
    // Called TSAP 0x0102 (PG, rack 0 slot 2) is S7's alone.
    assert_eq!(S7comm.probe(C2S, &CR), Probe::Match);
    assert_eq!(S7comm.probe(C2S, &CR[..10]), Probe::NeedMore);
    // TSAP 0x0001 names no slot (MMS stacks call it): the first data decides.
    let mut plain = CR;
    plain[20..22].copy_from_slice(&[0x00, 0x01]);
    assert_eq!(S7comm.probe(C2S, &plain), Probe::NeedMore);
    let setup = [&plain[..], &dt(&s7(1, 1, &SETUP, &[]), true)].concat();
    assert_eq!(S7comm.probe(C2S, &setup), Probe::Match);
    assert_eq!(S7comm.probe(C2S, &setup[..CR.len() + 9]), Probe::Match, "a data TPDU is judged on its first bytes");
    // MMS opens the same way; its first data is an ISO session CONNECT SPDU.
    let mms = [&plain[..], &dt(&[0x0d, 0x05, 0x06, 0x01, 0x00, 0x16, 0x01, 0x02], true)].concat();
    assert_eq!(S7comm.probe(C2S, &mms), Probe::NoMatch);
    let mut plus = plain.to_vec();
    plus.truncate(18);
    plus.extend_from_slice(&[0xc2, 0x10]);
    plus.extend_from_slice(b"SIMATIC-ROOT-HMI");
    plus[3] = plus.len() as u8;
    plus[4] = plus.len() as u8 - 5;
    assert_eq!(S7comm.probe(C2S, &plus), Probe::Match, "S7-1200/1500 call SIMATIC-ROOT-...");
    let mut rdp = CR;
    rdp[14] = 0x01; // not a TSAP parameter: RDP-style CR
    rdp[18] = 0x01;
    assert_eq!(S7comm.probe(C2S, &rdp), Probe::NoMatch);
    let r = run(&[(C2S, CR.to_vec())]);
    assert_eq!(r.messages[0].2, "cotp_connection_request");
    let e = r.event("s7comm.cotp_connect");
    assert_eq!(event_attr(e, "dst_tsap"), Some("0x0102"));
    assert_eq!(event_attr(e, "rack"), Some("0"));
    assert_eq!(event_attr(e, "slot"), Some("2"));
    assert_eq!(event_attr(e, "tpdu_size"), Some("1024"));
}

#[test]
fn probes_s7_data_and_rejects_other_bytes() {
    assert_eq!(S7comm.probe(C2S, &dt(&s7(1, 1, &SETUP, &[]), true)), Probe::Match);
    assert_eq!(S7comm.probe(C2S, &[0x03, 0x00]), Probe::NeedMore);
    assert_eq!(S7comm.probe(C2S, b"GET / HTTP/1.1\r\n"), Probe::NoMatch);
    assert_eq!(S7comm.probe(C2S, &dt(&[0x99, 0x01], true)), Probe::NoMatch);
}

#[test]
fn detects_s7comm_plus_and_reports_it_under_its_own_protocol() {
    let mut plus = vec![0x72, 0x03, 0x00, 0x30, 0x20]; // id, version 3, length, digest length 32
    plus.extend_from_slice(&[0x5a; 32]); // integrity digest
    plus.extend_from_slice(&[0x31, 0x00, 0x00, 0x04, 0xf2, 0x00, 0x00]); // request, reserved, SetVariable, reserved
    assert_eq!(S7comm.probe(C2S, &dt(&plus, true)), Probe::Match);
    let keep_alive = [0x72, 0xfe, 0x00, 0x00]; // id, version 0xfe: keep-alive, length 0
    let r = run(&[(C2S, dt(&plus, true)), (C2S, dt(&keep_alive, true))]);
    assert_eq!(r.messages[0].0, "s7comm-plus");
    assert_eq!(
        r.ops(),
        vec![("s7comm_plus_set_variable", OperationClass::Write), ("s7comm_plus_keep_alive", OperationClass::Session)]
    );
    assert_eq!(r.attr(0, "function"), Some("0x04f2"));
    assert!(r.malformed.is_empty());
}

#[test]
fn counts_a_truncated_s7_pdu_as_malformed() {
    let mut pdu = s7(1, 1, &SETUP, &[]);
    pdu.truncate(12);
    let r = run(&[(C2S, dt(&pdu, true))]);
    assert_eq!(r.malformed, vec!["s7_bad_length"]);
    assert!(r.ops().is_empty());
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_chunks_and_gaps(
        chunks in proptest::collection::vec((any::<bool>(), any::<u8>(), proptest::collection::vec(any::<u8>(), 0..80)), 0..24)
    ) {
        let mut r = Recorder::default();
        let mut s = S7comm.new_session();
        for (to_server, gap, bytes) in &chunks {
            let d = if *to_server { C2S } else { S2C };
            if *gap < 16 {
                s.gap(&ctx(d), d, u64::from(*gap), &mut r);
            }
            s.data(&ctx(d), d, bytes, &mut r);
            let _ = S7comm.probe(d, bytes);
        }
        s.close(&ctx(C2S), &mut r);
    }

    #[test]
    fn never_panics_on_well_framed_arbitrary_payloads(
        payloads in proptest::collection::vec((any::<bool>(), proptest::collection::vec(any::<u8>(), 0..120)), 0..16)
    ) {
        let mut r = Recorder::default();
        let mut s = S7comm.new_session();
        for (eot, p) in &payloads {
            let mut b = p.clone();
            if let Some(first) = b.first_mut() {
                *first = 0x32; // an S7comm PDU with arbitrary fields
            }
            s.data(&ctx(S2C), S2C, &dt(&b, *eot), &mut r);
        }
        s.close(&ctx(C2S), &mut r);
    }
}

#[test]
fn tells_the_client_of_a_connection_picked_up_mid_stream() {
    let read_job = [0xf0, 0x00, 0x00, 0x01, 0x00, 0x01, 0x01, 0xe0]; // setup communication
    assert_eq!(sent_by_client(&dt(&s7(1, 1, &read_job, &[]), true)), Some(true));
    assert_eq!(sent_by_client(&dt(&s7(3, 1, &read_job, &[]), true)), Some(false));
    // S7comm-plus: a request and a response (version 1, opcode, reserved, function).
    assert_eq!(sent_by_client(&dt(&[0x72, 0x01, 0x00, 0x08, 0x31, 0x00, 0x00, 0x04, 0xbb], true)), Some(true));
    assert_eq!(sent_by_client(&dt(&[0x72, 0x01, 0x00, 0x08, 0x32, 0x00, 0x00, 0x04, 0xbb], true)), Some(false));
    assert_eq!(sent_by_client(&dt(&[0x61, 0x02], true)), None, "not S7");
}
