-- 0016_flow_to_group: a flow one of whose ends is a group address. Every
-- frame to that end went to a broadcast or multicast MAC and it sent nothing:
-- a subnet's broadcast address (10.0.0.255, or 1.1.1.255 in a plant numbered
-- from public space) is told by the MAC, not by the IP address. Flows stored
-- before are 0: their frames' MACs were not kept.
ALTER TABLE flows ADD COLUMN to_group INTEGER NOT NULL DEFAULT 0;
