-- 0013_networks: networks, so captures of separately addressed plants (both
-- on 10.0.0.0/24, say) can share one database without their addresses merging.
--
-- A capture carries the network it was analysed under (`analyze --network`);
-- '' is the unnamed network, where every capture stored before this schema
-- stays. Flows, messages, events and kept operations already name their
-- capture, so their network is read through it rather than written on every
-- row: the write path of the busiest tables does no extra work.
ALTER TABLE captures ADD COLUMN network TEXT NOT NULL DEFAULT '';

-- Host sightings are keyed by network too: the same (MAC, IP, VLAN) seen in two
-- networks is two rows. The network comes last in the key so the key still
-- serves lookups by MAC (DHCP identities). SQLite cannot change a UNIQUE
-- constraint in place: the table is rebuilt with its rows and ids, every row in
-- the unnamed network.
CREATE TABLE hosts_new (
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
    network      TEXT    NOT NULL DEFAULT '',  -- the capture's network; '' unnamed
    UNIQUE (mac, ip, vlan, network)
) STRICT;
INSERT INTO hosts_new (id, mac, ip, ip_key, vlan, first_seen, last_seen, source, host_name, vendor_class)
    SELECT id, mac, ip, ip_key, vlan, first_seen, last_seen, source, host_name, vendor_class FROM hosts;
DROP TABLE hosts;
ALTER TABLE hosts_new RENAME TO hosts;
CREATE INDEX hosts_by_ip ON hosts (ip_key);

-- A register entry may name the network its addresses are in (docs/cmdb.md):
-- matching it by IP then looks in that network only. NULL: any network.
ALTER TABLE register_entries ADD COLUMN network TEXT;
