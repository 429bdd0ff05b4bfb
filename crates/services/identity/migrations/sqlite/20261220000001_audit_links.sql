-- The audit chain moves to a table of its own, written by inserts only: a record is written
-- once by the audited action and never rewritten to be chained; the chainer adds its link
-- (its place on its organization's chain and its hashes), a narrow row. The chainer finds
-- the records waiting for their links by rowid (writers take turns, so rowids grow in the
-- order records are committed).
CREATE TABLE audit_links (
    record_id  BLOB PRIMARY KEY,
    chain_id   BLOB NOT NULL,
    seq        INTEGER NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE UNIQUE INDEX audit_links_place ON audit_links (chain_id, seq);
INSERT INTO audit_links (record_id, chain_id, seq, prev_hash, hash)
    SELECT id, chain_id, chain_seq, prev_hash, hash FROM audit_events WHERE hash IS NOT NULL;
CREATE TRIGGER audit_links_no_delete BEFORE DELETE ON audit_links
BEGIN
    SELECT RAISE(ABORT, 'audit links are append-only');
END;
CREATE TRIGGER audit_links_no_update BEFORE UPDATE ON audit_links
BEGIN
    SELECT RAISE(ABORT, 'audit links are append-only');
END;

DROP TRIGGER audit_events_no_update;
DROP INDEX audit_events_chain;
DROP INDEX audit_events_unchained;
ALTER TABLE audit_events DROP COLUMN chain_id;
ALTER TABLE audit_events DROP COLUMN chain_seq;
ALTER TABLE audit_events DROP COLUMN prev_hash;
ALTER TABLE audit_events DROP COLUMN hash;

-- A record never changes but for the erasure of a v2 record's address: emptied, its salt
-- dropped, everything else as it was.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
WHEN NOT (
    OLD.addr_digest IS NOT NULL AND OLD.addr_salt IS NOT NULL
    AND NEW.client_addr = '' AND NEW.addr_salt IS NULL AND NEW.addr_erased_at IS NOT NULL
    AND NEW.id IS OLD.id AND NEW.org_id IS OLD.org_id AND NEW.actor_id IS OLD.actor_id
    AND NEW.action IS OLD.action AND NEW.outcome IS OLD.outcome AND NEW.target_id IS OLD.target_id
    AND NEW.detail IS OLD.detail AND NEW.occurred_at IS OLD.occurred_at
    AND NEW.addr_digest IS OLD.addr_digest
)
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
