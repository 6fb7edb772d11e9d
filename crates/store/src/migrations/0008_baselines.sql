-- 0008_baselines: baselines the user accepted (`otposture baseline accept`).
--
-- A baseline is the user's statement that the inventory as it stood is the
-- expected state; later inventories are compared with the newest one. Every
-- baseline stays, as history; each acceptance is also written to the audit
-- log in the same transaction.
CREATE TABLE baselines (
    id            INTEGER PRIMARY KEY,
    accepted_at   INTEGER NOT NULL,   -- wall clock, unix seconds
    actor         TEXT    NOT NULL,   -- who accepted it (the operating-system user)
    note          TEXT,               -- why, as the user wrote it
    assets        INTEGER NOT NULL,   -- assets in the snapshot
    conversations INTEGER NOT NULL,   -- conversations in the snapshot
    doc           TEXT    NOT NULL CHECK (json_valid(doc))   -- the snapshot (otposture.baseline/1)
) STRICT;
