//! Kept operations in compact batches (`operation_records`, migration 6).
//!
//! The dissectors keep every write, program, firmware, control, configuration and
//! authentication operation individually: on the benchmark capture 238,000 of
//! them. As `events` rows they cost more than everything else the store writes
//! (about 2.8 us each inside SQLite). A write batch now groups a flow's operations
//! by protocol, name, class and addressing, and stores each group as one row whose
//! `records` blob holds every operation's time, packet and attributes. Listing
//! events decodes them back into the rows `events` would have given.
//!
//! The blob (format 1) is hand-encoded because it must be small and cheap to
//! write, and no serialisation crate gives both without a schema per protocol:
//!
//! ```text
//! blob   = 0x01 record*
//! record = zigzag(ts - previous ts) zigzag(packet - previous packet) varint(n) pair{n}
//! pair   = key varint(len) value-bytes
//! key    = varint(0) varint(len) key-bytes   (a key this blob has not used yet)
//!        | varint(i)                          (the i-th new key of this blob, from 1)
//! ```
//!
//! Varints are unsigned LEB128; "previous" starts at 0. Reading checks every
//! length against what is left, so a damaged blob is an error naming its row.

use crate::digest::EventKey;
use crate::error::{sql, StoreError};
use crate::text::ip_string;
use otposture_model::{Event, EventKind, MacAddr, OperationClass};
use rusqlite::{params, Connection};
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

/// Blob format written by this build.
const FORMAT: u8 = 1;

/// Operations per row at most: a flow writing more within one batch gets more
/// rows, so decoding one row stays small.
const MAX_RECORDS_PER_ROW: usize = 1 << 16;

/// Event ids of decoded operations start here (stored `events` rows count from 1):
/// `RECORD_ID_BASE + row id * 2^16 + position in the row`.
pub(crate) const RECORD_ID_BASE: i64 = 1 << 40;

/// One decoded operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) ts: i64,
    pub(crate) packet: i64,
    pub(crate) attributes: Vec<(String, String)>,
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// Encodes the records of one row into `out` (cleared first).
pub(crate) fn encode<'e>(out: &mut Vec<u8>, records: impl IntoIterator<Item = &'e Event>) {
    out.clear();
    out.push(FORMAT);
    let mut keys: Vec<&str> = Vec::new();
    let (mut ts, mut packet) = (0i64, 0i64);
    for e in records {
        let p = i64::try_from(e.packet).unwrap_or(i64::MAX);
        put_varint(out, zigzag(e.ts.0.wrapping_sub(ts)));
        put_varint(out, zigzag(p.wrapping_sub(packet)));
        (ts, packet) = (e.ts.0, p);
        put_varint(out, e.attributes.len() as u64);
        for (k, v) in &e.attributes {
            match keys.iter().position(|known| *known == k.as_ref()) {
                Some(i) => put_varint(out, i as u64 + 1),
                None => {
                    put_varint(out, 0);
                    put_bytes(out, k.as_bytes());
                    keys.push(k.as_ref());
                }
            }
            put_bytes(out, v.as_bytes());
        }
    }
}

/// Why a blob could not be read, with the byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodeError {
    pub(crate) offset: usize,
    pub(crate) what: &'static str,
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

/// Decodes a blob written by [`encode`].
pub(crate) fn decode(data: &[u8]) -> Result<Vec<Record>, DecodeError> {
    let mut r = Reader { data, at: 0 };
    match data.first() {
        Some(&FORMAT) => r.at = 1,
        Some(_) => return Err(r.fail("unknown format")),
        None => return Err(r.fail("empty")),
    }
    let mut keys: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    let (mut ts, mut packet) = (0i64, 0i64);
    while r.at < data.len() {
        ts = ts.wrapping_add(unzigzag(r.varint()?));
        packet = packet.wrapping_add(unzigzag(r.varint()?));
        let n = r.varint()?;
        // Each pair takes at least two bytes: a count beyond that is damage.
        if n > (data.len() - r.at) as u64 / 2 {
            return Err(r.fail("attribute count past the end"));
        }
        let mut attributes = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let key = match r.varint()? {
                0 => {
                    let k = r.text()?;
                    keys.push(k);
                    k
                }
                i => *usize::try_from(i - 1)
                    .ok()
                    .and_then(|i| keys.get(i))
                    .ok_or_else(|| r.fail("unknown key number"))?,
            };
            attributes.push((key.to_owned(), r.text()?.to_owned()));
        }
        out.push(Record { ts, packet, attributes });
    }
    Ok(out)
}

/// What the operations of one row share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct GroupKey<'e> {
    /// The capture the operation's packet is in.
    capture: i64,
    flow: i64,
    protocol: &'e str,
    name: &'e str,
    class: Option<OperationClass>,
    src_mac: Option<MacAddr>,
    src_ip: Option<IpAddr>,
    dst_ip: Option<IpAddr>,
}

/// The kept operations of one write batch, grouped into rows.
#[derive(Debug, Default)]
pub(crate) struct OperationBatches<'e> {
    /// foldhash: the key is hashed once per kept operation, and SipHash was
    /// the most of that.
    index: HashMap<GroupKey<'e>, usize, foldhash::fast::RandomState>,
    groups: Vec<(GroupKey<'e>, Vec<&'e Event>)>,
}

const SAME_KEY_RANGES: &str = "SELECT first_packet, last_packet FROM operation_records
     WHERE flow_id = ?1 AND protocol = ?2 AND name = ?3 AND first_packet <= ?4 AND last_packet >= ?5
       AND capture_id = ?6 AND class IS ?7 AND src_mac IS ?8 AND src_ip IS ?9 AND dst_ip IS ?10";

const LEGACY_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM events INDEXED BY events_legacy_operations
     WHERE kind = 'operation' AND flow_id IS NOT NULL AND packet > 0)";

const LEGACY_ROW: &str = "SELECT EXISTS (SELECT 1 FROM events WHERE ts = ?1 AND packet = ?2 AND digest = ?3)";

const INSERT_ROW: &str = "INSERT INTO operation_records (capture_id, flow_id, protocol, name, class, src_mac,
        src_ip, dst_ip, first_ts, last_ts, first_packet, last_packet, count, records)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";

impl<'e> OperationBatches<'e> {
    /// Takes `e`, of `capture`, when it is an operation of a flow tied to a
    /// packet; the others stay `events` rows.
    pub(crate) fn take(&mut self, e: &'e Event, capture: i64) -> bool {
        let Some(flow) = e.flow else { return false };
        if e.kind != EventKind::Operation || e.packet == 0 {
            return false;
        }
        let key = GroupKey {
            capture,
            flow: flow.0,
            protocol: e.protocol.as_ref(),
            name: e.name.as_ref(),
            class: e.class,
            src_mac: e.src_mac,
            src_ip: e.src_ip,
            dst_ip: e.dst_ip,
        };
        let groups = &mut self.groups;
        let i = *self.index.entry(key).or_insert_with(|| {
            groups.push((key, Vec::new()));
            groups.len() - 1
        });
        if let Some((_, events)) = self.groups.get_mut(i) {
            events.push(e);
        }
        true
    }

    /// Writes the groups, leaving out operations already stored (same key, packet
    /// inside a stored row's range).
    pub(crate) fn write(&self, tx: &Connection, path: &Path) -> Result<(), StoreError> {
        let fail = || sql(path, "writing kept operations");
        let mut ranges_stmt = tx.prepare_cached(SAME_KEY_RANGES).map_err(fail())?;
        let mut insert = tx.prepare_cached(INSERT_ROW).map_err(fail())?;
        let legacy: bool = tx.query_row(LEGACY_EXISTS, [], |row| row.get(0)).map_err(fail())?;
        let mut legacy_row = tx.prepare_cached(LEGACY_ROW).map_err(fail())?;
        let mut attributes = Vec::new();
        let mut blob = Vec::new();
        for (key, events) in &self.groups {
            // One group per row written: owned texts cost nothing worth a buffer here.
            let src_mac = key.src_mac.map(|m| m.to_string());
            let src_ip = key.src_ip.map(ip_string);
            let dst_ip = key.dst_ip.map(ip_string);
            let class = key.class.map(|c| c.name());
            let packet = |e: &&Event| i64::try_from(e.packet).unwrap_or(i64::MAX);
            let lo = events.iter().map(packet).min().unwrap_or(0);
            let hi = events.iter().map(packet).max().unwrap_or(0);
            let stored: Vec<(i64, i64)> = ranges_stmt
                .query_map(
                    params![key.flow, key.protocol, key.name, hi, lo, key.capture, class, src_mac, src_ip, dst_ip],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .and_then(|rows| rows.collect())
                .map_err(fail())?;
            let mut new = Vec::with_capacity(events.len());
            for &e in events {
                let p = packet(&e);
                if stored.iter().any(|&(a, b)| a <= p && p <= b) {
                    continue;
                }
                if legacy {
                    let key = EventKey {
                        protocol: key.protocol,
                        kind: "operation",
                        name: key.name,
                        flow_id: Some(key.flow),
                        src_ip: src_ip.as_deref(),
                        dst_ip: dst_ip.as_deref(),
                        attributes: crate::write::attributes_json(&mut attributes, e),
                    };
                    let known: bool =
                        legacy_row.query_row(params![e.ts.0, p, key.digest()], |row| row.get(0)).map_err(fail())?;
                    if known {
                        continue;
                    }
                }
                new.push(e);
            }
            for chunk in new.chunks(MAX_RECORDS_PER_ROW) {
                encode(&mut blob, chunk.iter().copied());
                let first_ts = chunk.iter().map(|e| e.ts.0).min().unwrap_or(0);
                let last_ts = chunk.iter().map(|e| e.ts.0).max().unwrap_or(0);
                insert
                    .execute(params![
                        key.capture,
                        key.flow,
                        key.protocol,
                        key.name,
                        class,
                        src_mac,
                        src_ip,
                        dst_ip,
                        first_ts,
                        last_ts,
                        chunk.iter().map(packet).min().unwrap_or(0),
                        chunk.iter().map(packet).max().unwrap_or(0),
                        chunk.len() as i64,
                        blob,
                    ])
                    .map_err(fail())?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use otposture_model::{FlowId, Timestamp};
    use proptest::prelude::*;
    use std::borrow::Cow;

    fn op(ts: i64, packet: u64, attributes: &[(&'static str, &str)]) -> Event {
        Event {
            source: 0,
            ts: Timestamp(ts),
            packet,
            flow: Some(FlowId(7)),
            protocol: Cow::Borrowed("modbus"),
            kind: EventKind::Operation,
            name: Cow::Borrowed("write_single_register"),
            class: Some(OperationClass::Write),
            src_mac: None,
            src_ip: None,
            dst_ip: None,
            attributes: attributes.iter().map(|(k, v)| (Cow::Borrowed(*k), (*v).into())).collect(),
        }
    }

    #[test]
    fn a_blob_is_byte_exact_and_reads_back() {
        let events = [op(1_000, 5, &[("unit_id", "1"), ("address", "40")]), op(900, 7, &[("address", "41")])];
        let mut blob = Vec::new();
        encode(&mut blob, events.iter());
        #[rustfmt::skip]
        let expected: &[u8] = &[
            1,                                  // format
            0xd0, 0x0f, 10, 2,                  // ts +1000, packet +5, two pairs
            0, 7, b'u', b'n', b'i', b't', b'_', b'i', b'd', 1, b'1',  // new key "unit_id" = "1"
            0, 7, b'a', b'd', b'd', b'r', b'e', b's', b's', 2, b'4', b'0',  // new key "address" = "40"
            0xc7, 0x01, 4, 1,                   // ts -100, packet +2, one pair
            2, 2, b'4', b'1',                   // key 2 ("address") = "41"
        ];
        assert_eq!(blob, expected);
        let back = decode(&blob).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!((back[0].ts, back[0].packet), (1_000, 5));
        assert_eq!(back[0].attributes, [("unit_id".into(), "1".into()), ("address".into(), "40".into())]);
        assert_eq!((back[1].ts, back[1].packet), (900, 7));
        assert_eq!(back[1].attributes, [("address".into(), "41".into())]);
    }

    #[test]
    fn damaged_blobs_are_errors_with_their_offset() {
        assert_eq!(decode(&[]).unwrap_err().what, "empty");
        assert_eq!(decode(&[2]).unwrap_err().what, "unknown format");
        // A key number never introduced.
        assert_eq!(decode(&[1, 0, 2, 1, 5, 0]).unwrap_err(), DecodeError { offset: 5, what: "unknown key number" });
        // A value longer than what is left.
        assert_eq!(decode(&[1, 0, 2, 1, 0, 1, b'k', 9, b'v']).unwrap_err().what, "length past the end");
        assert_eq!(decode(&[1, 0, 2, 100]).unwrap_err().what, "attribute count past the end");
        assert_eq!(decode(&[1, 0x80]).unwrap_err().what, "varint past the end");
    }

    proptest! {
        #[test]
        fn any_records_read_back(records in prop::collection::vec(
            (any::<i64>(), 1u64..u64::from(u32::MAX), prop::collection::vec(("[a-c]{0,3}", "\\PC{0,6}"), 0..5)),
            0..20,
        )) {
            let keys: Vec<&'static str> = vec!["", "a", "b", "c", "aa", "ab", "abc"];
            let events: Vec<Event> = records.iter().map(|(ts, packet, pairs)| {
                let mut e = op(*ts, *packet, &[]);
                e.attributes = pairs.iter().map(|(k, v)| {
                    let k = keys.iter().find(|x| **x == k.as_str()).copied().unwrap_or("other");
                    (Cow::Borrowed(k), v.as_str().into())
                }).collect();
                e
            }).collect();
            let mut blob = Vec::new();
            encode(&mut blob, events.iter());
            let back = decode(&blob).unwrap();
            prop_assert_eq!(back.len(), events.len());
            for (b, e) in back.iter().zip(&events) {
                prop_assert_eq!(b.ts, e.ts.0);
                prop_assert_eq!(b.packet as u64, e.packet);
                let pairs: Vec<(String, String)> = e.attributes.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
                prop_assert_eq!(&b.attributes, &pairs);
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode(&data);
        }
    }
}
