//! The digest that tells two events of one packet apart.
//!
//! Events are de-duplicated on `(ts, packet, digest)`. The digest is XXH3-64 (a
//! fixed, published algorithm, so stored digests stay valid across builds) over
//! the other identifying columns, exactly as they are stored. Before schema 2 the
//! unique index held those columns themselves, attributes JSON included: it was
//! a third of the file and most of the insert time.

use xxhash_rust::xxh3::Xxh3;

/// The identifying columns of an event besides `ts` and `packet`, as stored.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EventKey<'a> {
    pub(crate) protocol: &'a str,
    pub(crate) kind: &'a str,
    pub(crate) name: &'a str,
    pub(crate) flow_id: Option<i64>,
    pub(crate) src_ip: Option<&'a str>,
    pub(crate) dst_ip: Option<&'a str>,
    pub(crate) attributes: &'a str,
}

/// Marks an absent column; lengths are written before text so no two different
/// column lists give the same byte stream.
const NULL: u64 = u64::MAX;

impl EventKey<'_> {
    /// The digest as SQLite stores it (the 64 bits reinterpreted as signed).
    pub(crate) fn digest(&self) -> i64 {
        let mut h = Xxh3::new();
        let mut text = |t: Option<&str>| match t {
            Some(t) => {
                h.update(&(t.len() as u64).to_le_bytes());
                h.update(t.as_bytes());
            }
            None => h.update(&NULL.to_le_bytes()),
        };
        text(Some(self.protocol));
        text(Some(self.kind));
        text(Some(self.name));
        text(self.src_ip);
        text(self.dst_ip);
        text(Some(self.attributes));
        match self.flow_id {
            Some(f) => {
                h.update(&[1]);
                h.update(&f.to_le_bytes());
            }
            None => h.update(&[0]),
        }
        i64::from_le_bytes(h.digest().to_le_bytes())
    }
}

/// Registers `otposture_event_digest(protocol, kind, name, flow_id, src_ip,
/// dst_ip, attributes)` on a connection: migration 2 fills the column of
/// existing rows with it, and it lets ad-hoc SQL find an event by identity.
pub(crate) fn register(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        "otposture_event_digest",
        7,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let text = |i| ctx.get::<Option<String>>(i);
            let (protocol, kind, name) = (text(0)?, text(1)?, text(2)?);
            let (src_ip, dst_ip, attributes) = (text(4)?, text(5)?, text(6)?);
            Ok(EventKey {
                protocol: protocol.as_deref().unwrap_or_default(),
                kind: kind.as_deref().unwrap_or_default(),
                name: name.as_deref().unwrap_or_default(),
                flow_id: ctx.get::<Option<i64>>(3)?,
                src_ip: src_ip.as_deref(),
                dst_ip: dst_ip.as_deref(),
                attributes: attributes.as_deref().unwrap_or("{}"),
            }
            .digest())
        },
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn key() -> EventKey<'static> {
        EventKey {
            protocol: "modbus",
            kind: "operation",
            name: "write_single_register",
            flow_id: Some(7),
            src_ip: Some("10.0.0.1"),
            dst_ip: Some("10.0.0.2"),
            attributes: r#"{"address":"1"}"#,
        }
    }

    const PINNED: i64 = -723_438_953_841_678_345;

    #[test]
    fn every_column_counts_and_boundaries_are_not_ambiguous() {
        let base = key().digest();
        let variants = [
            EventKey { protocol: "modbu", ..key() },
            EventKey { kind: "identity", ..key() },
            EventKey { name: "write_single_registers", ..key() },
            EventKey { flow_id: None, ..key() },
            EventKey { flow_id: Some(8), ..key() },
            EventKey { src_ip: None, ..key() },
            EventKey { src_ip: Some(""), ..key() },
            EventKey { dst_ip: Some("10.0.0.3"), ..key() },
            EventKey { attributes: r#"{"address":"2"}"#, ..key() },
            // Moving a character between neighbouring columns.
            EventKey { protocol: "modbuso", kind: "peration", ..key() },
        ];
        for v in variants {
            assert_ne!(v.digest(), base, "{v:?}");
        }
        assert_eq!(key().digest(), base);
    }

    #[test]
    fn the_sql_function_agrees_with_the_write_path() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        register(&conn).unwrap();
        let k = key();
        let sql: i64 = conn
            .query_row(
                "SELECT otposture_event_digest(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                rusqlite::params![k.protocol, k.kind, k.name, k.flow_id, k.src_ip, k.dst_ip, k.attributes],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(sql, k.digest());
        // Stored digests must not change between builds.
        assert_eq!(k.digest(), PINNED, "the digest of a fixed event changed: {}", k.digest());
    }
}
