-- 0012_lean_indices: the flow and message indices that cost the write path
-- most and served the fewest queries. Measured inside SQLite on the benchmark
-- capture's rows (43,000 flows, 77,500 message counts): inserting the flows
-- took 0.29 s with the six flow indices and 0.18 s with the two kept; the
-- message counts 0.34 s with `(protocol, operation)` and 0.18 s without.
-- Listing flows by port, application protocol or first packet, and message
-- totals by protocol, now read the table in order instead of an index
-- (docs/store.md, "Queries").
DROP INDEX IF EXISTS flows_by_first_seen;
DROP INDEX IF EXISTS flows_by_client_port;
DROP INDEX IF EXISTS flows_by_server_port;
DROP INDEX IF EXISTS flows_by_app_protocol;
DROP INDEX IF EXISTS messages_by_protocol;
