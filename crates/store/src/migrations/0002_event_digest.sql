-- 0002_event_digest: events are told apart by (ts, packet, digest), and only
-- events outside flows are indexed by address.
--
-- The unique index of schema 1 held every identifying column, the attributes JSON
-- included: about a third of the file, and most of the cost of an insert. The
-- digest is XXH3-64 over the same columns (see crates/store/src/digest.rs);
-- existing rows get theirs from the SQL function the store registers.
ALTER TABLE events ADD COLUMN digest INTEGER NOT NULL DEFAULT 0;
UPDATE events SET digest = otposture_event_digest(protocol, kind, name, flow_id, src_ip, dst_ip, attributes);
DROP INDEX events_identity;
-- Led by ts, it also serves time filters and ordering.
CREATE UNIQUE INDEX events_identity ON events (ts, packet, digest);

-- An event in a flow has the flow's endpoints as its addresses, so an address
-- filter finds it through the flows' address indices; only events outside any
-- flow (ARP, annotations) need their own. Most events are in flows: two fewer
-- index entries per write operation kept.
DROP INDEX events_by_src_ip;
DROP INDEX events_by_dst_ip;
CREATE INDEX events_by_src_ip ON events (src_ip_key) WHERE flow_id IS NULL;
CREATE INDEX events_by_dst_ip ON events (dst_ip_key) WHERE flow_id IS NULL;
