//! Kept operations in compact runs.
//!
//! The dissectors keep every write, program, firmware, control, configuration
//! and authentication operation individually: on the benchmark capture 617,000
//! of them. Built as one [`Event`] each (an attribute list on the heap, moved
//! twice and freed on the store's thread), they cost a fifth of the analysis.
//! The engine instead appends each to the run of its flow, protocol, name,
//! class and addressing, in the encoding the store keeps
//! (`operation_records.records`), and the store writes a run as one row.
//!
//! The encoding is hand-written because it must be small and cheap to append
//! to, and no serialisation crate gives both without a schema per protocol.
//! Format 2, written by this build:
//!
//! ```text
//! blob   = 0x02 record*
//! record = zigzag(ts - previous ts) zigzag(packet - previous packet) varint(n) pair{n}
//! pair   = varint(key << 1 | 1)                          (the key's value in this blob is unchanged)
//!        | varint(key << 1) [varint(len) key-bytes] varint(len) value-bytes
//! key    = 0  (a key this blob has not used yet: its text follows)
//!        | i  (the i-th new key of this blob, from 1)
//! ```
//!
//! A run's operations mostly repeat their values (a firmware image's blocks
//! all say `request`, `0x4d`, `0xa1`, `1`), so a value the key last had in the
//! blob takes one byte: the benchmark capture's blobs take 10.0 MB, against
//! 22.8 MB in format 1. Format 1, written before, is read too: the same without the flag
//! (`pair = varint(key) [varint(len) key-bytes] varint(len) value-bytes`).
//!
//! Varints are unsigned LEB128; "previous" starts at 0. Reading checks every
//! length against what is left, so a damaged blob is an error with its offset.

use crate::{AttrValue, Event, EventKind, FlowId, MacAddr, OperationClass, Timestamp};
use std::borrow::Cow;
use std::collections::HashMap;
use std::net::IpAddr;

/// Blob format written by this build.
pub const RUN_FORMAT: u8 = 2;

/// The earlier format, still read.
const FORMAT_1: u8 = 1;

/// Operations in one run at most: the store numbers a row's operations in 16
/// bits, and decoding one row stays small.
pub const MAX_RUN_RECORDS: usize = 1 << 16;

/// What the operations of one run share.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RunKey {
    /// Which of the inputs analysed together the packets came from (see
    /// [`Event::source`]).
    pub source: u32,
    /// The flow.
    pub flow: FlowId,
    /// Protocol name.
    pub protocol: Cow<'static, str>,
    /// Operation name.
    pub name: Cow<'static, str>,
    /// Operation class.
    pub class: Option<OperationClass>,
    /// Sender MAC, when known.
    pub src_mac: Option<MacAddr>,
    /// Sender IP, when known.
    pub src_ip: Option<IpAddr>,
    /// Receiver IP, when known.
    pub dst_ip: Option<IpAddr>,
}

impl RunKey {
    /// The run an operation event belongs in: `None` unless it is an
    /// operation of a flow tied to a packet (the others are kept as events).
    pub fn of(e: &Event) -> Option<RunKey> {
        let flow = e.flow?;
        if e.kind != EventKind::Operation || e.packet == 0 {
            return None;
        }
        Some(RunKey {
            source: e.source,
            flow,
            protocol: e.protocol.clone(),
            name: e.name.clone(),
            class: e.class,
            src_mac: e.src_mac,
            src_ip: e.src_ip,
            dst_ip: e.dst_ip,
        })
    }
}

impl RunKey {
    /// Equality, with names compared by address first: they are nearly
    /// always the same static strings.
    fn same_as(&self, other: &RunKey) -> bool {
        let same = |a: &str, b: &str| (a.as_ptr() == b.as_ptr() && a.len() == b.len()) || a == b;
        self.flow == other.flow
            && self.source == other.source
            && self.class == other.class
            && self.src_ip == other.src_ip
            && self.dst_ip == other.dst_ip
            && self.src_mac == other.src_mac
            && same(&self.protocol, &other.protocol)
            && same(&self.name, &other.name)
    }
}

/// Kept operations sharing a [`RunKey`], encoded as they are stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperationRun {
    /// What the operations share.
    pub key: RunKey,
    records: Vec<u8>,
    count: usize,
    /// Earliest and latest time, lowest and highest packet.
    ts: (i64, i64),
    packets: (u64, u64),
    /// The previous record's time and packet (deltas are from them).
    previous: (i64, i64),
    /// Keys this blob has introduced, in order, with the value each had last.
    keys: Vec<(Cow<'static, str>, AttrValue)>,
}

impl OperationRun {
    /// An empty run.
    pub fn new(key: RunKey) -> Self {
        OperationRun {
            key,
            records: vec![RUN_FORMAT],
            count: 0,
            ts: (i64::MAX, i64::MIN),
            packets: (u64::MAX, 0),
            previous: (0, 0),
            keys: Vec::new(),
        }
    }

    /// Appends one operation; false (and nothing appended) when the run
    /// holds [`MAX_RUN_RECORDS`] already.
    pub fn push(&mut self, ts: Timestamp, packet: u64, attributes: &[(Cow<'static, str>, AttrValue)]) -> bool {
        if self.is_full() {
            return false;
        }
        let p = i64::try_from(packet).unwrap_or(i64::MAX);
        let out = &mut self.records;
        put_varint(out, zigzag(ts.0.wrapping_sub(self.previous.0)));
        put_varint(out, zigzag(p.wrapping_sub(self.previous.1)));
        self.previous = (ts.0, p);
        put_varint(out, attributes.len() as u64);
        for (n, (k, v)) in attributes.iter().enumerate() {
            // Keys are nearly always the same static strings in the same
            // order: the key at the attribute's own place is tried first, then
            // every key by address, then by text.
            let at =
                |(known, _): &(Cow<'static, str>, AttrValue)| known.as_ptr() == k.as_ptr() && known.len() == k.len();
            let i = match self.keys.get(n) {
                Some(known) if at(known) => Some(n),
                _ => self.keys.iter().position(at).or_else(|| self.keys.iter().position(|(known, _)| known == k)),
            };
            match i.and_then(|i| Some((i, self.keys.get_mut(i)?))) {
                Some((i, (_, last))) if last == v => put_varint(out, ((i as u64 + 1) << 1) | 1),
                Some((i, (_, last))) => {
                    put_varint(out, (i as u64 + 1) << 1);
                    put_bytes(out, v.as_bytes());
                    last.clone_from(v);
                }
                None => {
                    put_varint(out, 0);
                    put_bytes(out, k.as_bytes());
                    put_bytes(out, v.as_bytes());
                    self.keys.push((k.clone(), v.clone()));
                }
            }
        }
        self.count += 1;
        self.ts = (self.ts.0.min(ts.0), self.ts.1.max(ts.0));
        self.packets = (self.packets.0.min(packet), self.packets.1.max(packet));
        true
    }

    /// Operations in the run.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when the run holds no operation.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// True when the run takes no more operations.
    pub fn is_full(&self) -> bool {
        self.count >= MAX_RUN_RECORDS
    }

    /// Earliest and latest packet time (0, 0 when empty).
    pub fn ts_range(&self) -> (Timestamp, Timestamp) {
        if self.is_empty() {
            return (Timestamp(0), Timestamp(0));
        }
        (Timestamp(self.ts.0), Timestamp(self.ts.1))
    }

    /// Lowest and highest packet number (0, 0 when empty).
    pub fn packet_range(&self) -> (u64, u64) {
        if self.is_empty() {
            return (0, 0);
        }
        self.packets
    }

    /// The encoded operations, as stored.
    pub fn records(&self) -> &[u8] {
        &self.records
    }

    /// The operations as the events they stand for.
    pub fn events(&self) -> Result<Vec<Event>, DecodeError> {
        let k = &self.key;
        Ok(decode(&self.records)?
            .into_iter()
            .map(|r| Event {
                ts: Timestamp(r.ts),
                packet: u64::try_from(r.packet).unwrap_or(0),
                source: k.source,
                flow: Some(k.flow),
                protocol: k.protocol.clone(),
                kind: EventKind::Operation,
                name: k.name.clone(),
                class: k.class,
                src_mac: k.src_mac,
                src_ip: k.src_ip,
                dst_ip: k.dst_ip,
                attributes: r.attributes.into_iter().map(|(k, v)| (Cow::Owned(k), AttrValue::from(v))).collect(),
            })
            .collect())
    }
}

/// Operations gathered into runs by key, the runs in the order their keys
/// first came: the engine's between two checkpoints, a write batch's from
/// operation events.
#[derive(Debug, Default)]
pub struct Runs {
    runs: Vec<OperationRun>,
    /// Each key's open run. foldhash: the key is hashed for most operations
    /// the last run does not take, and SipHash was most of that.
    index: HashMap<RunKey, usize, foldhash::fast::RandomState>,
    /// The run the last operation went to.
    last: Option<usize>,
    operations: usize,
}

impl Runs {
    /// Appends an operation to its key's run; a key whose run is full starts
    /// another.
    pub fn push(&mut self, key: RunKey, ts: Timestamp, packet: u64, attributes: &[(Cow<'static, str>, AttrValue)]) {
        // Operations come in bursts on one flow (a firmware image sent block
        // by block): the last run is tried before the key is hashed.
        let last = self.last.filter(|&i| self.runs.get(i).is_some_and(|r| !r.is_full() && r.key.same_as(&key)));
        let slot = match last {
            Some(slot) => slot,
            None => {
                let runs = &mut self.runs;
                let slot = self.index.entry(key).or_insert_with_key(|key| {
                    runs.push(OperationRun::new(key.clone()));
                    runs.len() - 1
                });
                if let Some(full) = runs.get(*slot).filter(|r| r.is_full()) {
                    // Handed over as it is; the key's next operations go to another.
                    let key = full.key.clone();
                    runs.push(OperationRun::new(key));
                    *slot = runs.len() - 1;
                }
                *slot
            }
        };
        if let Some(run) = self.runs.get_mut(slot) {
            run.push(ts, packet, attributes);
            self.operations += 1;
            self.last = Some(slot);
        }
    }

    /// Operations held.
    pub fn operations(&self) -> usize {
        self.operations
    }

    /// The runs, in the order their keys first came.
    pub fn iter(&self) -> impl Iterator<Item = &OperationRun> {
        self.runs.iter()
    }

    /// Takes the runs out, leaving the set empty (its room kept for the next).
    pub fn drain(&mut self) -> std::vec::Drain<'_, OperationRun> {
        self.index.clear();
        self.last = None;
        self.operations = 0;
        self.runs.drain(..)
    }
}

/// One decoded operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Packet time, ns.
    pub ts: i64,
    /// Packet number.
    pub packet: i64,
    /// Attributes, in order.
    pub attributes: Vec<(String, String)>,
}

/// Why a blob could not be read, with the byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Where in the blob.
    pub offset: usize,
    /// What was wrong.
    pub what: &'static str,
}

/// Inlined: called for every number of every kept operation, and the call
/// was most of the encoding's cost.
#[inline(always)]
fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    if v < 0x80 {
        out.push(v as u8);
        return;
    }
    let mut buf = [0u8; 10];
    let mut n = 0;
    for b in buf.iter_mut() {
        n += 1;
        if v < 0x80 {
            *b = v as u8;
            break;
        }
        *b = (v as u8) | 0x80;
        v >>= 7;
    }
    out.extend_from_slice(buf.get(..n).unwrap_or(&buf));
}

#[inline]
fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

#[inline(always)]
fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn fail(&self, what: &'static str) -> DecodeError {
        DecodeError { offset: self.at, what }
    }

    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.data.get(self.at).ok_or_else(|| self.fail("varint past the end"))?;
            self.at += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.fail("varint longer than 10 bytes"))
    }

    fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = usize::try_from(self.varint()?).map_err(|_| self.fail("length too large"))?;
        let end = self.at.checked_add(len).filter(|&end| end <= self.data.len());
        let end = end.ok_or_else(|| self.fail("length past the end"))?;
        let b = self.data.get(self.at..end).ok_or_else(|| self.fail("length past the end"))?;
        self.at = end;
        Ok(b)
    }

    fn text(&mut self) -> Result<&'a str, DecodeError> {
        let start = self.at;
        let b = self.bytes()?;
        std::str::from_utf8(b).map_err(|_| DecodeError { offset: start, what: "text is not UTF-8" })
    }
}

/// Decodes a blob of [`OperationRun::records`], of either format.
pub fn decode(data: &[u8]) -> Result<Vec<Record>, DecodeError> {
    let mut r = Reader { data, at: 0 };
    let flagged = match data.first() {
        Some(&RUN_FORMAT) => true,
        Some(&FORMAT_1) => false,
        Some(_) => return Err(r.fail("unknown format")),
        None => return Err(r.fail("empty")),
    };
    r.at = 1;
    // Each key of the blob, with the value it had last.
    let mut keys: Vec<(&str, &str)> = Vec::new();
    let mut out = Vec::new();
    let (mut ts, mut packet) = (0i64, 0i64);
    while r.at < data.len() {
        ts = ts.wrapping_add(unzigzag(r.varint()?));
        packet = packet.wrapping_add(unzigzag(r.varint()?));
        let n = r.varint()?;
        // Each pair takes at least one byte: a count beyond that is damage.
        if n > (data.len() - r.at) as u64 {
            return Err(r.fail("attribute count past the end"));
        }
        let mut attributes = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let at = r.at;
            let word = r.varint()?;
            let (key, same) = if flagged { (word >> 1, word & 1 == 1) } else { (word, false) };
            let (k, v) = match (key, same) {
                (0, true) => return Err(DecodeError { offset: at, what: "an unchanged value of a new key" }),
                (0, false) => {
                    let k = r.text()?;
                    let v = r.text()?;
                    keys.push((k, v));
                    (k, v)
                }
                (i, same) => {
                    let i = usize::try_from(i - 1).unwrap_or(usize::MAX);
                    let v = if same { None } else { Some(r.text()?) };
                    let (k, last) = keys.get_mut(i).ok_or(DecodeError { offset: at, what: "unknown key number" })?;
                    if let Some(v) = v {
                        *last = v;
                    }
                    (*k, *last)
                }
            };
            attributes.push((k.to_owned(), v.to_owned()));
        }
        out.push(Record { ts, packet, attributes });
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key() -> RunKey {
        RunKey {
            source: 0,
            flow: FlowId(7),
            protocol: Cow::Borrowed("modbus"),
            name: Cow::Borrowed("write_single_register"),
            class: Some(OperationClass::Write),
            src_mac: None,
            src_ip: None,
            dst_ip: None,
        }
    }

    fn pairs(attributes: &[(&'static str, &str)]) -> Vec<(Cow<'static, str>, AttrValue)> {
        attributes.iter().map(|(k, v)| (Cow::Borrowed(*k), AttrValue::from(*v))).collect()
    }

    #[test]
    fn a_blob_is_byte_exact_and_reads_back() {
        let mut run = OperationRun::new(key());
        assert!(run.push(Timestamp(1_000), 5, &pairs(&[("unit_id", "1"), ("address", "40")])));
        // A key equal in text but another allocation is the same key.
        assert!(run.push(Timestamp(900), 7, &[(Cow::Owned("address".into()), AttrValue::from("41"))]));
        assert!(run.push(Timestamp(950), 8, &pairs(&[("unit_id", "1"), ("address", "41")])));
        #[rustfmt::skip]
        let expected: &[u8] = &[
            2,                                  // format
            0xd0, 0x0f, 10, 2,                  // ts +1000, packet +5, two pairs
            0, 7, b'u', b'n', b'i', b't', b'_', b'i', b'd', 1, b'1',  // new key "unit_id" = "1"
            0, 7, b'a', b'd', b'd', b'r', b'e', b's', b's', 2, b'4', b'0',  // new key "address" = "40"
            0xc7, 0x01, 4, 1,                   // ts -100, packet +2, one pair
            2 << 1, 2, b'4', b'1',              // key 2 ("address") = "41"
            100, 2, 2,                          // ts +50, packet +1, two pairs
            1 << 1 | 1, 2 << 1 | 1,             // both keys unchanged
        ];
        assert_eq!(run.records(), expected);
        assert_eq!((run.len(), run.ts_range(), run.packet_range()), (3, (Timestamp(900), Timestamp(1_000)), (5, 8)));
        let back = decode(run.records()).unwrap();
        assert_eq!(back.len(), 3);
        assert_eq!((back[0].ts, back[0].packet), (1_000, 5));
        assert_eq!(back[0].attributes, [("unit_id".into(), "1".into()), ("address".into(), "40".into())]);
        assert_eq!((back[1].ts, back[1].packet), (900, 7));
        assert_eq!(back[1].attributes, [("address".into(), "41".into())]);
        assert_eq!((back[2].ts, back[2].packet), (950, 8));
        assert_eq!(back[2].attributes, [("unit_id".into(), "1".into()), ("address".into(), "41".into())]);
        let events = run.events().unwrap();
        assert_eq!(events[1].name, "write_single_register");
        assert_eq!((events[1].flow, events[1].kind, events[1].packet), (Some(FlowId(7)), EventKind::Operation, 7));
        assert_eq!(events[1].attributes, [(Cow::Borrowed("address"), AttrValue::from("41"))]);
    }

    #[test]
    fn format_1_blobs_written_before_still_read() {
        #[rustfmt::skip]
        let blob: &[u8] = &[
            1,                                  // format
            0xd0, 0x0f, 10, 2,                  // ts +1000, packet +5, two pairs
            0, 7, b'u', b'n', b'i', b't', b'_', b'i', b'd', 1, b'1',  // new key "unit_id" = "1"
            0, 7, b'a', b'd', b'd', b'r', b'e', b's', b's', 2, b'4', b'0',  // new key "address" = "40"
            0xc7, 0x01, 4, 1,                   // ts -100, packet +2, one pair
            2, 2, b'4', b'1',                   // key 2 ("address") = "41"
        ];
        let back = decode(blob).unwrap();
        let attributes: Vec<Vec<(String, String)>> = back.iter().map(|r| r.attributes.clone()).collect();
        assert_eq!(back.iter().map(|r| (r.ts, r.packet)).collect::<Vec<_>>(), [(1_000, 5), (900, 7)]);
        assert_eq!(
            attributes,
            [
                vec![("unit_id".to_string(), "1".to_string()), ("address".to_string(), "40".to_string())],
                vec![("address".to_string(), "41".to_string())],
            ]
        );
    }

    #[test]
    fn an_empty_run_is_the_format_byte_and_a_full_one_takes_no_more() {
        let mut run = OperationRun::new(key());
        assert_eq!(
            (run.records(), run.ts_range(), run.packet_range()),
            (&[RUN_FORMAT][..], (Timestamp(0), Timestamp(0)), (0, 0))
        );
        assert!(decode(run.records()).unwrap().is_empty());
        for p in 0..MAX_RUN_RECORDS as u64 {
            assert!(run.push(Timestamp(0), p + 1, &[]));
        }
        assert!(run.is_full());
        let before = run.records().len();
        assert!(!run.push(Timestamp(0), 1, &[]));
        assert_eq!((run.len(), run.records().len()), (MAX_RUN_RECORDS, before));
    }

    #[test]
    fn runs_gather_operations_by_key_in_the_order_keys_first_came() {
        let mut runs = Runs::default();
        let other = RunKey { name: Cow::Borrowed("write_multiple_coils"), ..key() };
        let moved = RunKey { dst_ip: Some("10.0.0.9".parse().unwrap()), ..key() };
        for (i, k) in [key(), key(), other.clone(), key(), moved.clone(), other.clone()].into_iter().enumerate() {
            runs.push(k, Timestamp(i as i64), i as u64 + 1, &[]);
        }
        assert_eq!(runs.operations(), 6);
        let got: Vec<(RunKey, Vec<i64>)> = runs
            .iter()
            .map(|r| (r.key.clone(), decode(r.records()).unwrap().iter().map(|x| x.packet).collect()))
            .collect();
        assert_eq!(got, [(key(), vec![1, 2, 4]), (other, vec![3, 6]), (moved, vec![5])]);
        assert_eq!(runs.drain().count(), 3);
        assert_eq!((runs.operations(), runs.iter().count()), (0, 0));
        runs.push(key(), Timestamp(9), 9, &[]);
        assert_eq!(runs.iter().map(|r| r.len()).collect::<Vec<_>>(), [1], "a drained set starts afresh");
    }

    #[test]
    fn only_operations_of_a_flow_tied_to_a_packet_have_a_run() {
        let mut e = OperationRun::new(key()).events().unwrap().pop();
        assert!(e.is_none());
        let mut run = OperationRun::new(key());
        run.push(Timestamp(1), 3, &[]);
        e = run.events().unwrap().pop();
        let e = e.unwrap();
        assert_eq!(RunKey::of(&e), Some(key()));
        assert_eq!(RunKey::of(&Event { packet: 0, ..e.clone() }), None);
        assert_eq!(RunKey::of(&Event { flow: None, ..e.clone() }), None);
        assert_eq!(RunKey::of(&Event { kind: EventKind::Identity, ..e }), None);
    }

    #[test]
    fn damaged_blobs_are_errors_with_their_offset() {
        assert_eq!(decode(&[]).unwrap_err().what, "empty");
        assert_eq!(decode(&[3]).unwrap_err().what, "unknown format");
        assert!(decode(&[2]).unwrap().is_empty() && decode(&[1]).unwrap().is_empty());
        // Format 2: "unchanged" for a key never introduced, or for a new key.
        assert_eq!(decode(&[2, 0, 2, 1, 3]).unwrap_err(), DecodeError { offset: 4, what: "unknown key number" });
        assert_eq!(
            decode(&[2, 0, 2, 1, 1]).unwrap_err(),
            DecodeError { offset: 4, what: "an unchanged value of a new key" }
        );
        // A key number never introduced.
        assert_eq!(decode(&[1, 0, 2, 1, 5, 0]).unwrap_err(), DecodeError { offset: 4, what: "unknown key number" });
        // A value longer than what is left.
        assert_eq!(decode(&[1, 0, 2, 1, 0, 1, b'k', 9, b'v']).unwrap_err().what, "length past the end");
        assert_eq!(decode(&[1, 0, 2, 100]).unwrap_err().what, "attribute count past the end");
        assert_eq!(decode(&[1, 0x80]).unwrap_err().what, "varint past the end");
    }

    proptest! {
        #[test]
        fn any_records_read_back(records in prop::collection::vec(
            (any::<i64>(), 1u64..u64::from(u32::MAX), prop::collection::vec((0usize..8, prop_oneof!["\\PC{0,6}", "[xy]{0,1}"]), 0..5)),
            0..20,
        )) {
            let keys: [&'static str; 7] = ["", "a", "b", "c", "aa", "ab", "abc"];
            let mut run = OperationRun::new(key());
            let mut expected = Vec::new();
            for (ts, packet, pairs) in &records {
                let attributes: Vec<(Cow<'static, str>, AttrValue)> = pairs
                    .iter()
                    .map(|(k, v)| match keys.get(*k) {
                        Some(k) => (Cow::Borrowed(*k), AttrValue::from(v.as_str())),
                        None => (Cow::Owned(format!("owned{}", v.len() % 2)), AttrValue::from(v.as_str())),
                    })
                    .collect();
                prop_assert!(run.push(Timestamp(*ts), *packet, &attributes));
                let pairs = attributes.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
                expected.push(Record { ts: *ts, packet: *packet as i64, attributes: pairs });
            }
            prop_assert_eq!(decode(run.records()).unwrap(), expected);
        }

        #[test]
        fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode(&data);
        }
    }
}
