-- 0010_users: who may change what. Each user (the operating-system user name
-- the CLI runs as) has one role; while the table is empty every user may do
-- everything (a new database has no users until an administrator adds the
-- first). Adding, changing and removing a user is logged in audit_log.
CREATE TABLE users (
    name        TEXT    PRIMARY KEY,
    role        TEXT    NOT NULL,   -- viewer, analyst, engineer, admin
    added_by    TEXT    NOT NULL,
    added_at    INTEGER NOT NULL    -- unix seconds
) STRICT, WITHOUT ROWID;
