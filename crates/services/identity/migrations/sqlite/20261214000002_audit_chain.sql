-- The audit trail becomes tamper-evident (SOX): each record joins a hash chain, one per
-- organization (the nil UUID chains records of no organization, such as a sign-in with an
-- unknown email). A record's hash covers its fields and the previous record's hash, so a
-- changed, deleted or reordered record breaks every hash after it.
ALTER TABLE audit_events ADD COLUMN chain_id BLOB;
ALTER TABLE audit_events ADD COLUMN chain_seq INTEGER;
ALTER TABLE audit_events ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_events ADD COLUMN hash TEXT;
CREATE UNIQUE INDEX audit_events_chain ON audit_events (chain_id, chain_seq);
-- The records from before the chains, found at start-up without reading the whole table.
CREATE INDEX audit_events_unchained ON audit_events (occurred_at) WHERE hash IS NULL;

-- Each chain's head: appending writes this row first, so records join one at a time.
CREATE TABLE audit_chains (
    chain_id    BLOB PRIMARY KEY,
    seq         INTEGER NOT NULL,
    hash        TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

-- Chain heads written down periodically (and copied to object storage): a chain rewritten
-- from some record on, or cut short, no longer matches an anchor taken before.
CREATE TABLE audit_anchors (
    id           BLOB PRIMARY KEY,
    chain_id     BLOB NOT NULL,
    seq          INTEGER NOT NULL,
    hash         TEXT NOT NULL,
    anchored_at  TEXT NOT NULL
);
CREATE INDEX audit_anchors_chain ON audit_anchors (chain_id, seq);

-- Append-only: a record is never deleted, and once chained never changed (records from
-- before this migration are chained once, at start-up).
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events WHEN OLD.hash IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
CREATE TRIGGER audit_anchors_no_delete BEFORE DELETE ON audit_anchors
BEGIN
    SELECT RAISE(ABORT, 'audit anchors are append-only');
END;
CREATE TRIGGER audit_anchors_no_update BEFORE UPDATE ON audit_anchors
BEGIN
    SELECT RAISE(ABORT, 'audit anchors are append-only');
END;
