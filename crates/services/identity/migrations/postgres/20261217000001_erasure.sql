-- GDPR erasure (art. 17). A member erased by their organization keeps a row (their id is
-- referenced by the ledger, loads, messages and the audit trail) emptied of who they were.
ALTER TABLE users ADD COLUMN erased_at TIMESTAMPTZ;

-- The audit trail's client addresses become erasable without breaking the hash chains:
-- a record chained from now on hashes a salted digest of its address (format v2) instead
-- of the address. Erasing the address removes it and its salt; the digest stays, so the
-- record still verifies and nothing can recover the address from it.
ALTER TABLE audit_events ADD COLUMN addr_salt TEXT;
ALTER TABLE audit_events ADD COLUMN addr_digest TEXT;
ALTER TABLE audit_events ADD COLUMN addr_erased_at TIMESTAMPTZ;
CREATE INDEX audit_events_addr_kept ON audit_events (occurred_at) WHERE addr_salt IS NOT NULL;
CREATE INDEX audit_events_by_actor ON audit_events (org_id, actor_id);
CREATE INDEX audit_events_by_target ON audit_events (org_id, target_id);

-- Still append-only: the one change a chained record accepts is that erasure — its
-- address emptied and its salt dropped, every other column as it was.
CREATE FUNCTION audit_events_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.hash IS NOT NULL AND NOT (
        OLD.addr_digest IS NOT NULL AND OLD.addr_salt IS NOT NULL
        AND NEW.client_addr = '' AND NEW.addr_salt IS NULL AND NEW.addr_erased_at IS NOT NULL
        AND ROW(NEW.id, NEW.org_id, NEW.actor_id, NEW.action, NEW.outcome, NEW.target_id,
                NEW.detail, NEW.occurred_at, NEW.chain_id, NEW.chain_seq, NEW.prev_hash,
                NEW.hash, NEW.addr_digest)
            IS NOT DISTINCT FROM
            ROW(OLD.id, OLD.org_id, OLD.actor_id, OLD.action, OLD.outcome, OLD.target_id,
                OLD.detail, OLD.occurred_at, OLD.chain_id, OLD.chain_seq, OLD.prev_hash,
                OLD.hash, OLD.addr_digest)
    ) THEN
        RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER audit_events_append_only ON audit_events;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_guard();
