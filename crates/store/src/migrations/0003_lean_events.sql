-- 0003_lean_events: the events table without per-row work that cost more than
-- the row.
--
-- `kind IN (...)` made SQLite build and drop a temporary b-tree on every insert,
-- and `json_valid(attributes)` parsed every attributes object again: together
-- about a tenth of the store's write time on an operation-dense capture. The kind
-- is now checked by plain comparisons; the attributes are written by the store
-- itself (serde_json), so they are valid by construction.
--
-- The (protocol, name) index goes: it cost more than any other part of an event
-- insert (text keys, inserted at as many places as there are operation names),
-- about 0.6 s per GB of the benchmark capture. Per-protocol totals come from the
-- messages table (indexed by protocol); an event listing filtered by protocol
-- alone reads the events in time order, as a filter by kind always has.
--
-- SQLite cannot change a table's checks in place: the table is rebuilt with the
-- same columns, rows and ids, and its other indices re-created as schema 2 left
-- them.
CREATE TABLE events_new (
    id          INTEGER PRIMARY KEY,
    capture_id  INTEGER NOT NULL REFERENCES captures (id),  -- where `packet` points
    ts          INTEGER NOT NULL,
    packet      INTEGER NOT NULL,   -- 1-based record number in the capture
    flow_id     INTEGER,
    protocol    TEXT    NOT NULL,
    kind        TEXT    NOT NULL
                CHECK (kind = 'identity' OR kind = 'operation' OR kind = 'anomaly' OR kind = 'annotation'),
    name        TEXT    NOT NULL,
    class       TEXT,
    src_mac     TEXT,
    src_ip      TEXT,
    src_ip_key  BLOB,
    dst_ip      TEXT,
    dst_ip_key  BLOB,
    attributes  TEXT    NOT NULL DEFAULT '{}',  -- JSON object, keys in given order
    digest      INTEGER NOT NULL DEFAULT 0      -- XXH3-64 of the identifying columns
) STRICT;
INSERT INTO events_new (id, capture_id, ts, packet, flow_id, protocol, kind, name, class, src_mac,
        src_ip, src_ip_key, dst_ip, dst_ip_key, attributes, digest)
    SELECT id, capture_id, ts, packet, flow_id, protocol, kind, name, class, src_mac,
        src_ip, src_ip_key, dst_ip, dst_ip_key, attributes, digest
    FROM events;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
CREATE UNIQUE INDEX events_identity ON events (ts, packet, digest);
CREATE INDEX events_by_flow ON events (flow_id);
CREATE INDEX events_by_src_ip ON events (src_ip_key) WHERE flow_id IS NULL;
CREATE INDEX events_by_dst_ip ON events (dst_ip_key) WHERE flow_id IS NULL;
