-- 0006_operation_records: kept operations in compact batches.
--
-- Every write, program, firmware, control, configuration and authentication
-- operation is kept individually, and a busy plant has hundreds of thousands of
-- them per gigabyte of traffic (the benchmark capture: 238,000). As `events` rows
-- each cost about 2.8 us inside SQLite (a row and two index entries), the store's
-- biggest share of the end-to-end time. Now each write batch stores, per flow,
-- protocol, operation name, class and addressing, one row whose `records` blob
-- holds every operation's time, packet and attributes (format: docs/store.md).
-- `Store::events` decodes them into the same event rows as before.
--
-- De-duplication is by packet range: a batch drops the operations whose packet
-- lies inside a stored row of the same key (the same packet dissected again gives
-- the same operations), so re-analysing a capture adds nothing.
CREATE TABLE operation_records (
    id           INTEGER PRIMARY KEY,
    capture_id   INTEGER NOT NULL REFERENCES captures (id),  -- where the packets point
    flow_id      INTEGER NOT NULL,
    protocol     TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    class        TEXT,
    src_mac      TEXT,
    src_ip       TEXT,
    dst_ip       TEXT,
    first_ts     INTEGER NOT NULL,  -- earliest and latest operation time in `records`
    last_ts      INTEGER NOT NULL,
    first_packet INTEGER NOT NULL,  -- lowest and highest packet number in `records`
    last_packet  INTEGER NOT NULL,
    count        INTEGER NOT NULL,  -- operations in `records`
    records      BLOB    NOT NULL
) STRICT;
CREATE INDEX operation_records_by_key ON operation_records (flow_id, protocol, name, first_packet);
CREATE INDEX operation_records_by_ts ON operation_records (first_ts);

-- Operations stored as `events` rows by an earlier build stay there. A batch
-- checks them (by digest, as before) only while any exist: this index is empty
-- for a database created at schema 6, since such operations are no longer
-- written as rows, so the check costs one index probe per batch.
CREATE INDEX events_legacy_operations ON events (flow_id)
    WHERE kind = 'operation' AND flow_id IS NOT NULL AND packet > 0;
