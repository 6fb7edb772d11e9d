-- 0007_intel: vulnerability intelligence (issue 6): where each imported
-- document came from, and what it says.
--
-- Provenance first: every document imported is one `intel_sources` row (its
-- kind, file, SHA-256, the date it is current as of, when it was imported),
-- so every report can say "intel as of ...". The SHA-256 is unique:
-- importing the same content again is a no-op.
--
-- Then what is in force. An advisory (by tracking id) is the newest revision
-- imported; every revision stays listed in `advisory_revisions` with its
-- revision history, but only the one in force keeps products,
-- vulnerabilities, statuses, scores and remediations. The KEV catalog, the
-- EPSS scores and the ATT&CK bundle are each replaced whole by a newer one
-- (`intel_current` names the source in force); a CVE record by a newer
-- update of the same CVE. Version strings are kept raw. JSON columns hold
-- arrays of text unless said otherwise.
CREATE TABLE intel_sources (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL,   -- csaf, kev, epss, cve, attack
    name        TEXT    NOT NULL,   -- the file as found, `file!member` inside a bundle
    sha256      TEXT    NOT NULL UNIQUE,   -- of the document's bytes, decompressed
    subject     TEXT,               -- what it is about: tracking id, CVE id, catalog version, bundle id
    as_of       TEXT,               -- the date it is current as of (RFC 3339 or YYYY-MM-DD)
    imported_at INTEGER NOT NULL,   -- wall clock, unix seconds
    bytes       INTEGER NOT NULL,
    records     INTEGER NOT NULL,   -- vulnerabilities, entries, scores, records, techniques in it
    outcome     TEXT    NOT NULL    -- loaded, replaced (now in force), older (history only)
) STRICT;
CREATE INDEX intel_sources_kind ON intel_sources (kind, as_of);

-- The catalog-like sources in force: kev, epss, attack.
CREATE TABLE intel_current (
    kind      TEXT    PRIMARY KEY,
    source_id INTEGER NOT NULL REFERENCES intel_sources (id),
    as_of     TEXT
) STRICT, WITHOUT ROWID;

CREATE TABLE advisories (
    tracking_id          TEXT    PRIMARY KEY,
    version              TEXT    NOT NULL,   -- /document/tracking/version
    status               TEXT    NOT NULL,   -- draft, interim, final
    category             TEXT    NOT NULL,
    csaf_version         TEXT    NOT NULL,
    title                TEXT    NOT NULL,
    publisher            TEXT    NOT NULL,
    publisher_namespace  TEXT    NOT NULL,
    initial_release_date TEXT    NOT NULL,
    current_release_date TEXT    NOT NULL,
    severity             TEXT,               -- aggregate severity text
    source_id            INTEGER NOT NULL REFERENCES intel_sources (id)
) STRICT, WITHOUT ROWID;

-- Every revision of an advisory ever imported, in force or not.
CREATE TABLE advisory_revisions (
    tracking_id          TEXT    NOT NULL,
    source_id            INTEGER NOT NULL REFERENCES intel_sources (id),
    version              TEXT    NOT NULL,
    current_release_date TEXT    NOT NULL,
    revision_history     TEXT    NOT NULL,   -- JSON [{number, date, summary}] as the document wrote it
    PRIMARY KEY (tracking_id, source_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE advisory_products (
    tracking_id    TEXT NOT NULL,
    product_id     TEXT NOT NULL,   -- advisory-local, e.g. CSAFPID-0001
    name           TEXT NOT NULL,   -- full_product_name.name
    vendor         TEXT,            -- the branch path's steps, raw
    family         TEXT,            -- product_family steps joined with " / "
    product        TEXT,
    version        TEXT,            -- product_version
    version_range  TEXT,            -- product_version_range (vers or free text)
    path           TEXT NOT NULL,   -- JSON [{category, name}] from the root: the full branch path
    cpe            TEXT,
    purl           TEXT,
    model_numbers  TEXT NOT NULL,
    skus           TEXT NOT NULL,
    serial_numbers TEXT NOT NULL,
    relationship   TEXT,            -- JSON [category, product_reference, relates_to_product_reference]
    PRIMARY KEY (tracking_id, product_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX advisory_products_vendor ON advisory_products (vendor, product);

CREATE TABLE advisory_vulnerabilities (
    tracking_id   TEXT    NOT NULL,
    ordinal       INTEGER NOT NULL,   -- index in /vulnerabilities
    cve           TEXT,
    cwe           TEXT,
    cwe_name      TEXT,
    title         TEXT,
    cvss_version  TEXT,               -- the highest base score given, for listings;
    cvss_score    REAL,               -- every score is in advisory_scores
    cvss_vector   TEXT,
    PRIMARY KEY (tracking_id, ordinal)
) STRICT, WITHOUT ROWID;
CREATE INDEX advisory_vulnerabilities_cve ON advisory_vulnerabilities (cve);

CREATE TABLE advisory_scores (
    tracking_id TEXT    NOT NULL,
    ordinal     INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    version     TEXT    NOT NULL,   -- CVSS 2.0, 3.0, 3.1
    base_score  REAL    NOT NULL,
    severity    TEXT,
    vector      TEXT,
    products    TEXT    NOT NULL,   -- JSON product ids
    PRIMARY KEY (tracking_id, ordinal, n)
) STRICT, WITHOUT ROWID;

CREATE TABLE product_status (
    tracking_id TEXT    NOT NULL,
    ordinal     INTEGER NOT NULL,
    status      TEXT    NOT NULL,   -- known_affected, fixed, known_not_affected, first_affected, ...
    product_id  TEXT    NOT NULL,
    PRIMARY KEY (tracking_id, ordinal, status, product_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE remediations (
    tracking_id TEXT    NOT NULL,
    ordinal     INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    category    TEXT    NOT NULL,   -- vendor_fix, workaround, mitigation, none_available, no_fix_planned
    details     TEXT    NOT NULL,
    url         TEXT,
    date        TEXT,
    product_ids TEXT    NOT NULL,   -- JSON
    group_ids   TEXT    NOT NULL,   -- JSON
    PRIMARY KEY (tracking_id, ordinal, n)
) STRICT, WITHOUT ROWID;

CREATE TABLE kev_entries (
    cve             TEXT    PRIMARY KEY,
    vendor          TEXT    NOT NULL,
    product         TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    date_added      TEXT    NOT NULL,
    due_date        TEXT,
    ransomware      TEXT,               -- Known, Unknown
    required_action TEXT,
    description     TEXT,
    notes           TEXT,
    cwes            TEXT    NOT NULL,
    source_id       INTEGER NOT NULL REFERENCES intel_sources (id)
) STRICT, WITHOUT ROWID;

CREATE TABLE epss_scores (
    cve        TEXT    PRIMARY KEY,
    epss       REAL    NOT NULL,
    percentile REAL    NOT NULL,
    source_id  INTEGER NOT NULL REFERENCES intel_sources (id)
) STRICT, WITHOUT ROWID;

CREATE TABLE cve_records (
    cve                   TEXT    PRIMARY KEY,
    state                 TEXT    NOT NULL,   -- PUBLISHED, REJECTED
    data_version          TEXT    NOT NULL,
    assigner              TEXT,
    date_published        TEXT,
    date_updated          TEXT,
    title                 TEXT,
    description           TEXT,
    cwes                  TEXT    NOT NULL,
    ssvc_exploitation     TEXT,               -- none, poc, active
    ssvc_automatable      TEXT,               -- yes, no
    ssvc_technical_impact TEXT,               -- partial, total
    ssvc_version          TEXT,
    ssvc_timestamp        TEXT,
    ssvc_role             TEXT,
    kev_date_added        TEXT,               -- CISA ADP's KEV mark
    source_id             INTEGER NOT NULL REFERENCES intel_sources (id)
) STRICT, WITHOUT ROWID;

CREATE TABLE cve_scores (
    cve        TEXT    NOT NULL,
    n          INTEGER NOT NULL,
    provider   TEXT    NOT NULL,   -- cna, or the ADP's short name (CISA-ADP)
    version    TEXT    NOT NULL,   -- CVSS 2.0, 3.0, 3.1, 4.0
    base_score REAL    NOT NULL,
    severity   TEXT,
    vector     TEXT,
    PRIMARY KEY (cve, n)
) STRICT, WITHOUT ROWID;

CREATE TABLE attack_techniques (
    id         TEXT    PRIMARY KEY,   -- T0803
    stix_id    TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    tactics    TEXT    NOT NULL,      -- JSON kill chain phase names
    platforms  TEXT    NOT NULL,
    url        TEXT,
    modified   TEXT,
    deprecated INTEGER NOT NULL,      -- 0 or 1
    revoked    INTEGER NOT NULL,
    source_id  INTEGER NOT NULL REFERENCES intel_sources (id)
) STRICT, WITHOUT ROWID;
