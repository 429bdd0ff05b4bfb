-- GDPR erasure (art. 17). A member erased by their organization keeps a row (their id is
-- referenced by the ledger, loads, messages and the audit trail) emptied of who they were.
ALTER TABLE users ADD COLUMN erased_at TEXT;

-- The audit trail's client addresses become erasable without breaking the hash chains:
-- a record chained from now on hashes a salted digest of its address (format v2) instead
-- of the address. Erasing the address removes it and its salt; the digest stays, so the
-- record still verifies and nothing can recover the address from it.
ALTER TABLE audit_events ADD COLUMN addr_salt TEXT;
ALTER TABLE audit_events ADD COLUMN addr_digest TEXT;
ALTER TABLE audit_events ADD COLUMN addr_erased_at TEXT;
CREATE INDEX audit_events_addr_kept ON audit_events (occurred_at) WHERE addr_salt IS NOT NULL;
CREATE INDEX audit_events_by_actor ON audit_events (org_id, actor_id);
CREATE INDEX audit_events_by_target ON audit_events (org_id, target_id);

-- Still append-only: the one change a chained record accepts is that erasure — its
-- address emptied and its salt dropped, every other column as it was.
DROP TRIGGER audit_events_no_update;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
WHEN OLD.hash IS NOT NULL AND NOT (
    OLD.addr_digest IS NOT NULL AND OLD.addr_salt IS NOT NULL
    AND NEW.client_addr = '' AND NEW.addr_salt IS NULL AND NEW.addr_erased_at IS NOT NULL
    AND NEW.id IS OLD.id AND NEW.org_id IS OLD.org_id AND NEW.actor_id IS OLD.actor_id
    AND NEW.action IS OLD.action AND NEW.outcome IS OLD.outcome AND NEW.target_id IS OLD.target_id
    AND NEW.detail IS OLD.detail AND NEW.occurred_at IS OLD.occurred_at
    AND NEW.chain_id IS OLD.chain_id AND NEW.chain_seq IS OLD.chain_seq
    AND NEW.prev_hash IS OLD.prev_hash AND NEW.hash IS OLD.hash
    AND NEW.addr_digest IS OLD.addr_digest
)
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
