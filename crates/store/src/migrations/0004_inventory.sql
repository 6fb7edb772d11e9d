-- 0004_inventory: the asset inventory as last built, the user's role overrides,
-- and the audit log of user changes.
--
-- The inventory is derived data (crates/inventory builds it from hosts, identity
-- events and flows): each build replaces `assets` and `edges` whole. A few
-- columns are indexed for listing and filtering; `doc` holds the rest as the
-- JSON the CLI prints. Role overrides are the user's, not derived: a build never
-- touches them. The audit log is append-only (triggers refuse UPDATE and DELETE).
CREATE TABLE assets (
    id          TEXT    PRIMARY KEY,   -- mac-<mac>, ip-<ip>[-vlan<N>]
    role        TEXT    NOT NULL,
    level       INTEGER,               -- Purdue level of the role
    rule        TEXT    NOT NULL,      -- the rule that decided the role
    vendor      TEXT,
    model       TEXT,
    firmware    TEXT,
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    doc         TEXT    NOT NULL       -- the asset, otposture.assets/1
) STRICT;
CREATE INDEX assets_by_role ON assets (role, id);  -- filtered and listed in id order
CREATE INDEX assets_by_vendor ON assets (vendor COLLATE NOCASE);

CREATE TABLE edges (
    client      TEXT    NOT NULL,      -- asset id, or ip-<address>
    server      TEXT    NOT NULL,
    protocol    TEXT    NOT NULL,
    trust       TEXT    NOT NULL,      -- space-separated: writes programs ...
    doc         TEXT    NOT NULL,      -- the edge, otposture.map/1
    PRIMARY KEY (client, server, protocol)
) STRICT, WITHOUT ROWID;
CREATE INDEX edges_by_server ON edges (server);

CREATE TABLE inventory_builds (
    id                  INTEGER PRIMARY KEY,
    built_at            INTEGER NOT NULL,   -- wall clock, unix seconds
    assets              INTEGER NOT NULL,
    edges               INTEGER NOT NULL,
    unplaced_identities INTEGER NOT NULL
) STRICT;

CREATE TABLE role_overrides (
    asset_id    TEXT    PRIMARY KEY,
    role        TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    set_by      TEXT    NOT NULL,
    set_at      INTEGER NOT NULL    -- unix seconds
) STRICT;

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,   -- unix seconds
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,   -- set_role, clear_role
    target      TEXT    NOT NULL,
    detail      TEXT    NOT NULL    -- JSON
) STRICT;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
