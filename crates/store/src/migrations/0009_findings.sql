-- 0009_findings: posture findings and their lifecycle, the assessments that
-- found them, and the site files applied.
--
-- A finding's id is a hash of its check and key (crates/posture), so an
-- assessment that finds the same problem again updates the same row. State:
-- open -> acknowledged | accepted (reason, who, until) -> resolved when no
-- assessment finds it any more; found again after that, it is open again
-- (`reopened` counts how often). `doc` is the finding as `otposture findings
-- --format json` prints it, without the lifecycle columns.
CREATE TABLE findings (
    id              TEXT    PRIMARY KEY,
    check_id        TEXT    NOT NULL,
    severity        TEXT    NOT NULL,   -- low, medium, high, critical
    state           TEXT    NOT NULL,   -- open, acknowledged, accepted, resolved
    title           TEXT    NOT NULL,
    first_seen      INTEGER NOT NULL,   -- ns since the epoch, earliest evidence
    last_seen       INTEGER NOT NULL,   -- ns, latest evidence
    opened_at       INTEGER NOT NULL,   -- unix seconds, first found
    updated_at      INTEGER NOT NULL,   -- unix seconds, last found or changed
    resolved_at     INTEGER,            -- unix seconds, when resolved
    reopened        INTEGER NOT NULL DEFAULT 0,
    state_by        TEXT,               -- who acknowledged or accepted it
    state_reason    TEXT,
    accepted_until  INTEGER,            -- unix seconds: the acceptance expires then
    doc             TEXT    NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX findings_by_state ON findings (state, severity);

-- Which assets each finding concerns, for `findings --asset`.
CREATE TABLE finding_assets (
    asset   TEXT NOT NULL,
    finding TEXT NOT NULL,
    PRIMARY KEY (asset, finding)
) STRICT, WITHOUT ROWID;

CREATE TABLE assessments (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,   -- unix seconds
    actor       TEXT    NOT NULL,
    site        TEXT,               -- the site file's name, when one was in force
    site_sha256 TEXT,
    findings    INTEGER NOT NULL,   -- found by this assessment
    opened      INTEGER NOT NULL,
    reopened    INTEGER NOT NULL,
    resolved    INTEGER NOT NULL
) STRICT;

-- Site files applied, newest last; the newest is in force. Applying one is
-- logged in audit_log (`apply_site`).
CREATE TABLE sites (
    id          INTEGER PRIMARY KEY,
    applied_at  INTEGER NOT NULL,   -- unix seconds
    actor       TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    sha256      TEXT    NOT NULL,
    path        TEXT    NOT NULL,   -- where it was read from
    text        TEXT    NOT NULL    -- the file as applied
) STRICT;
