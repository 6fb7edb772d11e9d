#!/usr/bin/env bash
# What SQLite alone needs to store an analysis's rows: copies the flows,
# message counts, kept-operation batches and events of an analysed database
# into an empty one with the same schema, page size and pragmas (WAL,
# synchronous=NORMAL, 64 MiB page cache), one table at a time inside one
# transaction, and prints SQLite's timer for each statement and the commit.
# The rows are first staged in temporary tables in about the order the store
# wrote them (flows by row id; message counts by their flow's row id, though the
# writer also writes an open flow's counts at checkpoints), so the timer counts
# inserting them and not sorting them. PAGE_SIZE=N overrides the page
# size of the empty database.
# No binding, no Rust: the floor under the store writer's time for those rows
# (docs/performance.md). Needs the sqlite3 shell (apt-get install sqlite3).
#
#   scripts/store-floor.sh ANALYSED.db [ROUNDS]
#
# For the benchmark capture:
#   ./target/release/otposture --db /tmp/bench.db analyze --quiet bench-data/ics-1g.pcapng
#   scripts/store-floor.sh /tmp/bench.db 3
set -euo pipefail
src=${1:?usage: scripts/store-floor.sh ANALYSED.db [ROUNDS]}
rounds=${2:-3}
[ -f "$src" ] || { echo "no such database: $src" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "sqlite3 not found: apt-get install sqlite3" >&2; exit 1; }
src=$(realpath "$src")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
page_size=${PAGE_SIZE:-$(sqlite3 "$src" "PRAGMA page_size")}
{ echo "PRAGMA page_size = $page_size;"; sqlite3 "$src" .schema | grep -v sqlite_sequence; } | sqlite3 "$tmp/empty.db"
echo "page size: $page_size bytes"
echo "rows: $(sqlite3 "$src" "SELECT (SELECT count(*) FROM flows) || ' flows, ' || (SELECT count(*) FROM messages) || ' message counts, ' || (SELECT count(*) FROM operation_records) || ' kept-operation batches, ' || (SELECT count(*) FROM events) || ' events'")"
for r in $(seq "$rounds"); do
  cp "$tmp/empty.db" "$tmp/floor.db"
  rm -f "$tmp/floor.db-wal" "$tmp/floor.db-shm"
  sqlite3 "$tmp/floor.db" <<SQL | grep "^Run Time" | awk -v r="$r" '
    BEGIN { split("flows,message counts,kept-operation batches,events,commit", what, ",") }
    { i++; sum += $6 + $8; printf "round %d %-24s user %s s sys %s s\n", r, what[i], $6, $8 }
    END { printf "round %d %-24s %.3f s CPU\n", r, "total", sum }'
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA cache_size = -65536;
ATTACH '$src' AS s;
CREATE TEMP TABLE f AS SELECT * FROM s.flows ORDER BY id;
CREATE TEMP TABLE m AS SELECT m.* FROM s.messages AS m LEFT JOIN s.flows AS f ON f.flow_id = m.flow_id
    ORDER BY f.id, m.flow_id, m.protocol, m.operation, m.direction;
CREATE TEMP TABLE o AS SELECT * FROM s.operation_records ORDER BY id;
CREATE TEMP TABLE e AS SELECT * FROM s.events ORDER BY id;
BEGIN;
.timer on
INSERT INTO main.flows SELECT * FROM temp.f;
INSERT INTO main.messages SELECT * FROM temp.m;
INSERT INTO main.operation_records SELECT * FROM temp.o;
INSERT INTO main.events SELECT * FROM temp.e;
COMMIT;
SQL
done
