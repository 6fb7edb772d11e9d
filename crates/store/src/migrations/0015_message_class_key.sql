-- 0015_message_class_key: a message count is kept per operation class too.
-- One operation name can do different things by what it targets (a CIP
-- Get_Attribute_List of the Identity object is discovery, of another object a
-- read; a DNP3 read of group 0 is discovery, of a file program transfer; an
-- S7 PLC control that copies RAM to ROM is a program change). Keyed without
-- the class, a flow's counts of both were merged into one row whose class was
-- the last one written. Rows from before keep the one class they have.
CREATE TABLE messages_by_class (
    flow_id       INTEGER NOT NULL,  -- model FlowId; -1 for messages outside any flow
    capture_scope INTEGER NOT NULL,  -- 0 on a flow (the flow scopes it); else the capture id
    protocol      TEXT    NOT NULL,
    operation     TEXT    NOT NULL,
    direction     TEXT    NOT NULL,  -- to_server, to_client; '' when not in a flow direction
    class         TEXT    NOT NULL,
    count         INTEGER NOT NULL,
    first_seen    INTEGER NOT NULL,
    last_seen     INTEGER NOT NULL,
    PRIMARY KEY (flow_id, capture_scope, protocol, operation, direction, class)
) STRICT, WITHOUT ROWID;

INSERT INTO messages_by_class (flow_id, capture_scope, protocol, operation, direction, class, count,
                               first_seen, last_seen)
SELECT flow_id, capture_scope, protocol, operation, direction, class, count, first_seen, last_seen
FROM messages;

DROP TABLE messages;
ALTER TABLE messages_by_class RENAME TO messages;
