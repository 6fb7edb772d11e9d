//! Versioned schema migrations.
//!
//! The schema version is SQLite's `PRAGMA user_version`: 0 for a new file, N after
//! migration N. Migrations are an ordered list of SQL scripts compiled into the
//! binary; each pending one runs in its own `BEGIN IMMEDIATE` transaction together
//! with the version bump, so a crash or an error leaves the database at the last
//! complete version. Applied migrations are never edited: a schema change is a new
//! script at the end of the list. A file whose version is newer than the list is
//! refused rather than guessed at. The file is marked with `PRAGMA application_id`
//! so that another program's SQLite file is refused instead of written into.

use crate::error::{sql, StoreError};
use rusqlite::{Connection, TransactionBehavior};
use std::path::Path;

/// One schema step.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Migration {
    /// The `user_version` after this migration; the list is 1, 2, 3, ...
    pub(crate) version: i64,
    /// Short name, as in the file name.
    pub(crate) name: &'static str,
    /// The script.
    pub(crate) sql: &'static str,
}

/// Every migration this build knows, in order.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "initial", sql: include_str!("migrations/0001_initial.sql") },
    Migration { version: 2, name: "event_digest", sql: include_str!("migrations/0002_event_digest.sql") },
    Migration { version: 3, name: "lean_events", sql: include_str!("migrations/0003_lean_events.sql") },
    Migration { version: 4, name: "inventory", sql: include_str!("migrations/0004_inventory.sql") },
    Migration { version: 5, name: "cmdb", sql: include_str!("migrations/0005_cmdb.sql") },
    Migration { version: 6, name: "operation_records", sql: include_str!("migrations/0006_operation_records.sql") },
    Migration { version: 7, name: "intel", sql: include_str!("migrations/0007_intel.sql") },
    Migration { version: 8, name: "baselines", sql: include_str!("migrations/0008_baselines.sql") },
    Migration { version: 9, name: "findings", sql: include_str!("migrations/0009_findings.sql") },
    Migration { version: 10, name: "users", sql: include_str!("migrations/0010_users.sql") },
    Migration { version: 11, name: "csaf_exploitation", sql: include_str!("migrations/0011_csaf_exploitation.sql") },
    Migration { version: 12, name: "lean_indices", sql: include_str!("migrations/0012_lean_indices.sql") },
    Migration { version: 13, name: "networks", sql: include_str!("migrations/0013_networks.sql") },
    Migration {
        version: 14,
        name: "messages_without_rowid",
        sql: include_str!("migrations/0014_messages_without_rowid.sql"),
    },
    Migration { version: 15, name: "message_class_key", sql: include_str!("migrations/0015_message_class_key.sql") },
    Migration { version: 16, name: "flow_to_group", sql: include_str!("migrations/0016_flow_to_group.sql") },
];

/// `PRAGMA application_id` of otposture databases: "OTPS".
pub(crate) const APPLICATION_ID: i64 = 0x4F54_5053;

/// The newest schema version in `migrations`.
pub(crate) fn latest(migrations: &[Migration]) -> i64 {
    migrations.last().map_or(0, |m| m.version)
}

/// Brings the database up to the newest version in `migrations`.
pub(crate) fn migrate(conn: &mut Connection, path: &Path, migrations: &[Migration]) -> Result<(), StoreError> {
    let known = latest(migrations);
    check_ownership(conn, path, known)?;
    for migration in migrations {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql(path, "starting a migration transaction"))?;
        // Read the version under the write lock: another process may have migrated meanwhile.
        let current = user_version(&tx, path)?;
        if current > known {
            return Err(StoreError::TooNew { path: path.to_path_buf(), found: current, known });
        }
        if current >= migration.version {
            continue;
        }
        let failed = |source| StoreError::Migration {
            path: path.to_path_buf(),
            version: migration.version,
            name: migration.name,
            source,
        };
        tx.execute_batch(migration.sql).map_err(failed)?;
        tx.pragma_update(None, "user_version", migration.version).map_err(failed)?;
        tx.commit().map_err(failed)?;
    }
    Ok(())
}

/// Reads `PRAGMA user_version`.
pub(crate) fn user_version(conn: &Connection, path: &Path) -> Result<i64, StoreError> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0)).map_err(sql(path, "reading the schema version"))
}

/// Refuses files written by something else or by a newer otposture.
fn check_ownership(conn: &Connection, path: &Path, known: i64) -> Result<(), StoreError> {
    let version = user_version(conn, path)?;
    let app_id: i64 = conn
        .pragma_query_value(None, "application_id", |row| row.get(0))
        .map_err(sql(path, "reading the application id"))?;
    if app_id != 0 && app_id != APPLICATION_ID {
        return Err(StoreError::Foreign {
            path: path.to_path_buf(),
            reason: format!("its application id is {app_id:#x}, not otposture's {APPLICATION_ID:#x}"),
        });
    }
    if version > known {
        return Err(StoreError::TooNew { path: path.to_path_buf(), found: version, known });
    }
    if version == 0 && app_id == 0 {
        let objects: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))
            .map_err(sql(path, "reading the schema"))?;
        if objects > 0 {
            return Err(StoreError::Foreign {
                path: path.to_path_buf(),
                reason: format!("it already holds {objects} tables or indices but no otposture schema version"),
            });
        }
    }
    Ok(())
}

/// A database file at `path` brought to schema `version` only, for tests of
/// what a later migration does to an older file.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) fn file_at(path: &Path, version: usize) -> Connection {
    let mut conn = Connection::open(path).unwrap();
    crate::digest::register(&conn).unwrap();
    migrate(&mut conn, path, MIGRATIONS.get(..version).unwrap()).unwrap();
    conn
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    const PATH: &str = ":memory:";

    fn table_exists(conn: &Connection, name: &str) -> bool {
        conn.query_row("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?1", [name], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap()
            == 1
    }

    #[test]
    fn the_shipped_list_is_numbered_one_by_one() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i64::try_from(i).unwrap() + 1, "migration {} is out of order", m.name);
        }
    }

    #[test]
    fn applies_pending_migrations_in_order_and_skips_applied_ones() {
        let mut conn = Connection::open_in_memory().unwrap();
        let first = [Migration { version: 1, name: "a", sql: "CREATE TABLE a (x INTEGER);" }];
        migrate(&mut conn, Path::new(PATH), &first).unwrap();
        assert_eq!(user_version(&conn, Path::new(PATH)).unwrap(), 1);

        // Re-running the first script would fail ("table a already exists"): it must be skipped.
        let both = [first[0], Migration { version: 2, name: "b", sql: "CREATE TABLE b (y INTEGER);" }];
        migrate(&mut conn, Path::new(PATH), &both).unwrap();
        assert_eq!(user_version(&conn, Path::new(PATH)).unwrap(), 2);
        assert!(table_exists(&conn, "a") && table_exists(&conn, "b"));
    }

    #[test]
    fn a_failing_migration_rolls_back_and_keeps_the_previous_version() {
        let mut conn = Connection::open_in_memory().unwrap();
        let list = [
            Migration { version: 1, name: "a", sql: "CREATE TABLE a (x INTEGER);" },
            Migration { version: 2, name: "broken", sql: "CREATE TABLE half (y INTEGER); SELECT * FROM nowhere;" },
        ];
        let err = migrate(&mut conn, Path::new(PATH), &list).expect_err("the second script is broken");
        assert!(matches!(err, StoreError::Migration { version: 2, name: "broken", .. }), "{err:?}");
        assert_eq!(user_version(&conn, Path::new(PATH)).unwrap(), 1);
        assert!(table_exists(&conn, "a"));
        assert!(!table_exists(&conn, "half"), "the failed script's first statement was rolled back");
    }

    /// A schema 12 file, before networks: its captures and hosts are in the
    /// unnamed network after migration, and the rebuilt hosts table keeps its
    /// rows and ids, and merges new sightings of them as before.
    #[test]
    fn a_file_from_before_networks_keeps_every_row_in_the_unnamed_network() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v12.db");
        {
            let conn = crate::migrate::file_at(&path, 12);
            conn.execute_batch(
                "INSERT INTO captures (id, fingerprint, path, size_bytes, status, started_at)
                     VALUES (1, 'f', 'p', 0, 'complete', 0);
                 INSERT INTO hosts (id, mac, ip, ip_key, vlan, first_seen, last_seen, source, host_name)
                     VALUES (7, '00:00:bc:00:00:01', '10.0.0.5', x'040a000005', 10, 5, 6, 'ip', 'plc-1'),
                            (8, '', '10.0.0.6', x'040a000006', -1, 5, 6, 'ip', NULL);",
            )
            .unwrap();
        }
        let mut store = crate::Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), crate::SCHEMA_VERSION);
        let hosts = store.hosts(&crate::HostFilter::default()).unwrap();
        let rows: Vec<(i64, Option<&str>, Option<&str>)> =
            hosts.iter().map(|h| (h.id, h.network.as_deref(), h.host_name.as_deref())).collect();
        assert_eq!(rows, [(7, None, Some("plc-1")), (8, None, None)]);
        assert_eq!(store.captures().unwrap()[0].network, None);
        // A new sighting of a migrated host merges into its row.
        let capture = store.begin_capture("f", Path::new("p"), 0, 1).unwrap();
        let sighting = otposture_model::HostSighting {
            mac: Some("00:00:bc:00:00:01".parse().unwrap()),
            ip: Some("10.0.0.5".parse().unwrap()),
            vlan: Some(10),
            first_seen: otposture_model::Timestamp(1),
            last_seen: otposture_model::Timestamp(9),
            source: otposture_model::HostSource::Arp,
        };
        store.write_batch(capture, &[otposture_model::Observation::Host(sighting)]).unwrap();
        let hosts = store.hosts(&crate::HostFilter::default()).unwrap();
        assert_eq!(hosts.len(), 2);
        assert_eq!((hosts[0].id, hosts[0].first_seen_ns, hosts[0].last_seen_ns), (7, 1, 9));
        let indices: i64 = store
            .conn
            .query_row("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = 'hosts_by_ip'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(indices, 1, "the address index is rebuilt");
    }

    /// A schema 13 file's message counts survive the move to a table without
    /// rowids, and a later count of the same key merges into them.
    #[test]
    fn message_counts_from_before_the_keyed_table_are_kept_and_merged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v13.db");
        {
            let conn = crate::migrate::file_at(&path, 13);
            conn.execute_batch(
                "INSERT INTO captures (id, fingerprint, path, size_bytes, status, started_at)
                     VALUES (1, 'f', 'p', 0, 'complete', 0);
                 INSERT INTO messages (id, flow_id, capture_scope, protocol, operation, direction, class,
                                       count, first_seen, last_seen)
                     VALUES (5, 42, 0, 'modbus', 'read_holding_registers', 'to_server', 'read', 10, 100, 200),
                            (6, -1, 1, 'arp', 'request', '', 'discovery', 3, 50, 60);",
            )
            .unwrap();
        }
        let mut store = crate::Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), crate::SCHEMA_VERSION);
        let capture = store.begin_capture("f", Path::new("p"), 0, 1).unwrap();
        let stat = otposture_model::MessageStat {
            source: 0,
            flow: Some(otposture_model::FlowId(42)),
            protocol: "modbus".into(),
            operation: "read_holding_registers".into(),
            class: otposture_model::OperationClass::Read,
            direction: Some(otposture_model::Direction::ToServer),
            count: 12,
            first_seen: otposture_model::Timestamp(150),
            last_seen: otposture_model::Timestamp(300),
        };
        store.write_batch(capture, &[otposture_model::Observation::Message(stat)]).unwrap();
        let rows = store.messages(&crate::MessageFilter::default()).unwrap();
        let got: Vec<(&str, &str, u64, i64, i64)> = rows
            .iter()
            .map(|m| (m.protocol.as_str(), m.operation.as_str(), m.count, m.first_seen_ns, m.last_seen_ns))
            .collect();
        assert_eq!(got, [("arp", "request", 3, 50, 60), ("modbus", "read_holding_registers", 12, 100, 300)]);
        let without_rowid: String =
            store.conn.query_row("SELECT sql FROM sqlite_schema WHERE name = 'messages'", [], |r| r.get(0)).unwrap();
        assert!(without_rowid.contains("WITHOUT ROWID"), "{without_rowid}");
    }

    /// A schema 14 file's counts keep their one class; a later count of the
    /// same operation in another class is a row of its own, one of the same
    /// class merges.
    #[test]
    fn message_counts_are_kept_per_class_from_schema_15() {
        use otposture_model::{Direction, FlowId, MessageStat, Observation, OperationClass, Timestamp};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v14.db");
        {
            let conn = crate::migrate::file_at(&path, 14);
            conn.execute_batch(
                "INSERT INTO captures (id, fingerprint, path, size_bytes, status, started_at)
                     VALUES (1, 'f', 'p', 0, 'complete', 0);
                 INSERT INTO messages (flow_id, capture_scope, protocol, operation, direction, class,
                                       count, first_seen, last_seen)
                     VALUES (42, 0, 'cip', 'get_attribute_list', 'to_server', 'read', 10, 100, 200);",
            )
            .unwrap();
        }
        let mut store = crate::Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), crate::SCHEMA_VERSION);
        let capture = store.begin_capture("f", Path::new("p"), 0, 1).unwrap();
        let stat = |class, count, at| {
            Observation::Message(MessageStat {
                source: 0,
                flow: Some(FlowId(42)),
                protocol: "cip".into(),
                operation: "get_attribute_list".into(),
                class,
                direction: Some(Direction::ToServer),
                count,
                first_seen: Timestamp(at),
                last_seen: Timestamp(at),
            })
        };
        // The Identity object's attributes (discovery), then more reads.
        store
            .write_batch(capture, &[stat(OperationClass::Discovery, 2, 250), stat(OperationClass::Read, 12, 300)])
            .unwrap();
        let rows = store.messages(&crate::MessageFilter::default()).unwrap();
        let got: Vec<(OperationClass, u64, i64, i64)> =
            rows.iter().map(|m| (m.class, m.count, m.first_seen_ns, m.last_seen_ns)).collect();
        assert_eq!(got, [(OperationClass::Read, 12, 100, 300), (OperationClass::Discovery, 2, 250, 250)]);
        let totals = store.operations(&crate::MessageFilter::default()).unwrap();
        let totals: Vec<(&str, OperationClass, u64)> =
            totals.iter().map(|t| (t.operation.as_str(), t.class, t.messages)).collect();
        assert_eq!(
            totals,
            [("get_attribute_list", OperationClass::Read, 12), ("get_attribute_list", OperationClass::Discovery, 2)]
        );
    }

    /// A schema 15 file's flows have no group end; a flow written after the
    /// migration keeps what its record says, and a later record of a stored
    /// flow replaces it (the group end answered: a device after all).
    #[test]
    fn flows_say_whether_an_end_is_a_group_address_from_schema_16() {
        use otposture_model::{
            FlowEnd, FlowId, FlowKey, FlowRecord, InitiatorBasis, Observation, StreamAnomalies, Timestamp, Transport,
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v15.db");
        {
            let conn = crate::migrate::file_at(&path, 15);
            conn.execute_batch(
                "INSERT INTO captures (id, fingerprint, path, size_bytes, status, started_at)
                     VALUES (1, 'f', 'p', 0, 'complete', 0);
                 INSERT INTO flows (flow_id, capture_id, transport, client_ip, client_ip_key, client_port,
                     server_ip, server_ip_key, server_port, initiator, first_seen, last_seen,
                     packets_to_server, bytes_to_server, packets_to_client, bytes_to_client,
                     payload_to_server, payload_to_client, gap_bytes, gaps, retransmissions, overlaps,
                     conflicting_overlaps, out_of_order, buffer_cap_hits, malformed, end_reason)
                     VALUES (7, 1, 'udp', '10.0.0.1', x'040a000001', 138, '10.0.0.255', x'040a0000ff', 138,
                     'first_packet', 100, 200, 2, 200, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'idle_timeout');",
            )
            .unwrap();
        }
        let mut store = crate::Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), crate::SCHEMA_VERSION);
        assert!(!store.flow(FlowId(7)).unwrap().unwrap().to_group, "stored before: unknown, so no");
        let capture = store.begin_capture("f", Path::new("p"), 0, 1).unwrap();
        let record = |packets_to_client, to_group| {
            Observation::Flow(FlowRecord {
                id: FlowId(8),
                key: FlowKey {
                    vlan: None,
                    transport: Transport::Udp,
                    client_ip: "10.0.0.1".parse().unwrap(),
                    client_port: 40_000,
                    server_ip: "10.0.0.9".parse().unwrap(),
                    server_port: 7778,
                },
                initiator: InitiatorBasis::FirstPacket,
                first_seen: Timestamp(300),
                last_seen: Timestamp(300 + i64::try_from(packets_to_client).unwrap()),
                packets_to_server: 1,
                bytes_to_server: 60,
                packets_to_client,
                bytes_to_client: 60 * packets_to_client,
                payload_to_server: 2,
                payload_to_client: 2 * packets_to_client,
                tcp_state: None,
                app_protocol: None,
                anomalies: StreamAnomalies::default(),
                end: FlowEnd::Open,
                source: 0,
                to_group,
            })
        };
        store.write_batch(capture, &[record(0, true)]).unwrap();
        assert!(store.flow(FlowId(8)).unwrap().unwrap().to_group);
        store.write_batch(capture, &[record(1, false)]).unwrap();
        assert!(!store.flow(FlowId(8)).unwrap().unwrap().to_group, "it answered");
    }

    #[test]
    fn refuses_an_sqlite_file_that_belongs_to_something_else() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE theirs (x INTEGER);").unwrap();
        let err = migrate(&mut conn, Path::new(PATH), MIGRATIONS).expect_err("foreign tables");
        assert!(matches!(err, StoreError::Foreign { .. }), "{err:?}");

        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "application_id", 42).unwrap();
        let err = migrate(&mut conn, Path::new(PATH), MIGRATIONS).expect_err("foreign application id");
        assert!(err.to_string().contains("0x2a"), "{err}");
    }
}
