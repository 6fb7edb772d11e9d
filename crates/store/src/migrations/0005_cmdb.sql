-- 0005_cmdb: the asset register (CMDB) imported by the user.
--
-- A register is the user's statement of what should be on the network, not
-- derived data: an import replaces the current register whole. The newest
-- import is the register; every import stays listed in `register_imports`
-- (the history of what was imported, when, from which file), but only the
-- newest one keeps its entries. Each import is also written to the audit log.
CREATE TABLE register_imports (
    id          INTEGER PRIMARY KEY,
    file        TEXT    NOT NULL,   -- the path as given, or - for standard input
    format      TEXT    NOT NULL,   -- csv, json
    preset      TEXT,               -- servicenow, netbox, or NULL
    mapping     TEXT    NOT NULL,   -- JSON: field -> the source columns read
    imported_at INTEGER NOT NULL,   -- wall clock, unix seconds
    rows        INTEGER NOT NULL,   -- entries imported
    skipped     INTEGER NOT NULL    -- bad rows left out (--skip-bad-rows)
) STRICT;

CREATE TABLE register_entries (
    import_id   INTEGER NOT NULL REFERENCES register_imports (id),
    row         INTEGER NOT NULL,   -- row in the file (header = 1) or index in a JSON array (from 1)
    name        TEXT,
    macs        TEXT    NOT NULL,   -- space-separated, aa:bb:cc:dd:ee:ff
    ips         TEXT    NOT NULL,   -- space-separated, canonical text
    serial      TEXT,
    vendor      TEXT,               -- normalised (crates/inventory vendor names)
    vendor_raw  TEXT,               -- as the register wrote it
    model       TEXT,
    firmware    TEXT,
    role        TEXT,               -- an inventory role name
    site        TEXT,
    location    TEXT,
    owner       TEXT,
    asset_tag   TEXT,
    criticality TEXT,
    notes       TEXT,
    extra       TEXT    NOT NULL,   -- JSON object: columns no field maps, in file order
    flags       TEXT    NOT NULL,   -- JSON array: values kept raw and flagged
    PRIMARY KEY (import_id, row)
) STRICT, WITHOUT ROWID;
