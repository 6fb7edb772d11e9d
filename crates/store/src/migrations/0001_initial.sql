-- 0001_initial: the first otposture schema.
--
-- Conventions (see docs/store.md):
-- * Packet times are INTEGER nanoseconds since the Unix epoch (model Timestamp);
--   wall-clock times (captures.started_at, analysis_runs.*_at) are INTEGER seconds.
-- * Addresses are stored twice: as canonical text (`ip`, for people and ad-hoc SQL)
--   and as a `*_ip_key` BLOB (a family byte 4 or 6 followed by the octets) so that
--   CIDR filters are index range scans and sort numerically, IPv4 before IPv6.
-- * Columns in a UNIQUE key never hold NULL (SQLite treats NULLs as distinct):
--   hosts use '' / -1 and messages use -1 / 0 / '' sentinels, documented per column.
-- * Enumerations are stored as the model's snake_case names.

-- Marks the file as an otposture database ("OTPS").
PRAGMA application_id = 1330925651;

-- One row per capture file, keyed by the caller's content fingerprint so that
-- analysing the same file again reuses its row.
CREATE TABLE captures (
    id          INTEGER PRIMARY KEY,
    fingerprint TEXT    NOT NULL UNIQUE,
    path        TEXT    NOT NULL,
    size_bytes  INTEGER NOT NULL,
    link_types  TEXT    NOT NULL DEFAULT '',   -- comma-separated link type names
    first_ts    INTEGER,                       -- first packet time, ns
    last_ts     INTEGER,                       -- last packet time, ns
    packets     INTEGER NOT NULL DEFAULT 0,
    bytes       INTEGER NOT NULL DEFAULT 0,
    status      TEXT    NOT NULL
                CHECK (status IN ('running', 'complete', 'failed', 'interrupted')),
    error       TEXT,
    started_at  INTEGER NOT NULL,              -- wall clock, unix seconds
    finished_at INTEGER                        -- wall clock, unix seconds
) STRICT;

-- Hosts seen sending, one row per (MAC, IP, VLAN).
CREATE TABLE hosts (
    id           INTEGER PRIMARY KEY,
    mac          TEXT    NOT NULL,   -- lower-case aa:bb:..; '' when the link layer had none
    ip           TEXT    NOT NULL,   -- canonical text; '' when the host sent no IP
    ip_key       BLOB,               -- family byte + octets; NULL when ip = ''
    vlan         INTEGER NOT NULL,   -- innermost VLAN id; -1 when untagged
    first_seen   INTEGER NOT NULL,
    last_seen    INTEGER NOT NULL,
    source       TEXT    NOT NULL,   -- evidence of the earliest sighting (ip, arp, dhcp, l2)
    host_name    TEXT,               -- learned from DHCP identity events, via host_names
    vendor_class TEXT,               -- learned from DHCP identity events, via host_names
    UNIQUE (mac, ip, vlan)
) STRICT;
CREATE INDEX hosts_by_ip ON hosts (ip_key);

-- Names learned per MAC from DHCP identity events. Kept apart from `hosts` so a
-- name learned before (or without) any sighting of the MAC is not lost; copied
-- onto every `hosts` row with the MAC.
CREATE TABLE host_names (
    mac          TEXT    PRIMARY KEY,
    host_name    TEXT,
    vendor_class TEXT,
    seen         INTEGER NOT NULL    -- time of the newest identity event applied, ns
) STRICT, WITHOUT ROWID;

-- One row per flow; records written at checkpoints and at the end are merged
-- (largest counters, widest time span), see docs/store.md.
-- FlowIds are hashes: as the rowid they would scatter every insert across the
-- whole table (measured 3x slower at 400k flows); rows are kept in arrival order
-- instead and found through the narrow unique index on flow_id.
CREATE TABLE flows (
    id                   INTEGER PRIMARY KEY,
    flow_id              INTEGER NOT NULL UNIQUE,  -- model FlowId
    capture_id           INTEGER NOT NULL REFERENCES captures (id),  -- first capture to write it
    vlan                 INTEGER,               -- NULL when untagged
    transport            TEXT    NOT NULL,      -- tcp, udp, icmp, icmpv6, ip-N
    client_ip            TEXT    NOT NULL,
    client_ip_key        BLOB    NOT NULL,
    client_port          INTEGER NOT NULL,
    server_ip            TEXT    NOT NULL,
    server_ip_key        BLOB    NOT NULL,
    server_port          INTEGER NOT NULL,
    initiator            TEXT    NOT NULL,      -- handshake, port_heuristic, first_packet
    first_seen           INTEGER NOT NULL,
    last_seen            INTEGER NOT NULL,
    packets_to_server    INTEGER NOT NULL,
    bytes_to_server      INTEGER NOT NULL,
    packets_to_client    INTEGER NOT NULL,
    bytes_to_client      INTEGER NOT NULL,
    payload_to_server    INTEGER NOT NULL,
    payload_to_client    INTEGER NOT NULL,
    tcp_state            TEXT,
    app_protocol         TEXT,
    gap_bytes            INTEGER NOT NULL,
    gaps                 INTEGER NOT NULL,
    retransmissions      INTEGER NOT NULL,
    overlaps             INTEGER NOT NULL,
    conflicting_overlaps INTEGER NOT NULL,
    out_of_order         INTEGER NOT NULL,
    buffer_cap_hits      INTEGER NOT NULL,
    malformed            INTEGER NOT NULL,
    end_reason           TEXT    NOT NULL       -- open, closed, idle_timeout, max_age, evicted
) STRICT;
CREATE INDEX flows_by_first_seen ON flows (first_seen);
CREATE INDEX flows_by_client_ip ON flows (client_ip_key);
CREATE INDEX flows_by_server_ip ON flows (server_ip_key);
CREATE INDEX flows_by_client_port ON flows (client_port);
CREATE INDEX flows_by_server_port ON flows (server_port);
CREATE INDEX flows_by_app_protocol ON flows (app_protocol);

-- Cumulative counts of one protocol operation per flow and direction.
CREATE TABLE messages (
    id            INTEGER PRIMARY KEY,
    flow_id       INTEGER NOT NULL,  -- model FlowId; -1 for messages outside any flow
    capture_scope INTEGER NOT NULL,  -- 0 on a flow (the flow scopes it); else the capture id
    protocol      TEXT    NOT NULL,
    operation     TEXT    NOT NULL,
    direction     TEXT    NOT NULL,  -- to_server, to_client; '' when not in a flow direction
    class         TEXT    NOT NULL,
    count         INTEGER NOT NULL,
    first_seen    INTEGER NOT NULL,
    last_seen     INTEGER NOT NULL,
    UNIQUE (flow_id, capture_scope, protocol, operation, direction)
) STRICT;
CREATE INDEX messages_by_protocol ON messages (protocol, operation);

-- Notable events, kept individually with their provenance.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    capture_id  INTEGER NOT NULL REFERENCES captures (id),  -- where `packet` points
    ts          INTEGER NOT NULL,
    packet      INTEGER NOT NULL,   -- 1-based record number in the capture
    flow_id     INTEGER,
    protocol    TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('identity', 'operation', 'anomaly', 'annotation')),
    name        TEXT    NOT NULL,
    class       TEXT,
    src_mac     TEXT,
    src_ip      TEXT,
    src_ip_key  BLOB,
    dst_ip      TEXT,
    dst_ip_key  BLOB,
    attributes  TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(attributes))  -- keys in given order
) STRICT;
-- The same event written twice (re-analysis, overlapping batches) is ignored.
-- The attributes tell apart two events of one name in one packet (two PDUs in a segment).
-- Led by ts, it also serves time filters and ordering.
CREATE UNIQUE INDEX events_identity ON events (
    ts, packet, protocol, kind, name, IFNULL(flow_id, -1), IFNULL(src_ip, ''), IFNULL(dst_ip, ''), attributes
);
CREATE INDEX events_by_flow ON events (flow_id);
CREATE INDEX events_by_protocol ON events (protocol, name);
CREATE INDEX events_by_src_ip ON events (src_ip_key);
CREATE INDEX events_by_dst_ip ON events (dst_ip_key);

-- One invocation of the analyser over one or more captures.
CREATE TABLE analysis_runs (
    id          INTEGER PRIMARY KEY,
    started_at  INTEGER NOT NULL,   -- wall clock, unix seconds
    finished_at INTEGER,
    status      TEXT    NOT NULL
                CHECK (status IN ('running', 'complete', 'failed', 'interrupted')),
    summary     TEXT    CHECK (summary IS NULL OR json_valid(summary))  -- caller's JSON
) STRICT;

CREATE TABLE run_captures (
    run_id     INTEGER NOT NULL REFERENCES analysis_runs (id),
    capture_id INTEGER NOT NULL REFERENCES captures (id),
    PRIMARY KEY (run_id, capture_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX run_captures_by_capture ON run_captures (capture_id);
