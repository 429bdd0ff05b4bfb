-- Audit records are appended unchained, as one plain insert in the audited action's
-- transaction, and chained in batches off the request's path (the identity store's
-- `chain_pending`): their places on the chain and their hashes. Until it is chained a record is
-- as append-only as after it. What a record says never changes; besides its chaining, the one
-- change it accepts is the erasure of its address.
DROP TRIGGER audit_events_no_update;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
WHEN NOT (
    NEW.id IS OLD.id AND NEW.org_id IS OLD.org_id AND NEW.actor_id IS OLD.actor_id
    AND NEW.action IS OLD.action AND NEW.outcome IS OLD.outcome AND NEW.target_id IS OLD.target_id
    AND NEW.detail IS OLD.detail AND NEW.occurred_at IS OLD.occurred_at
    AND (
        -- Chaining: a place and the hashes; the address as it was; the digest kept, or
        -- given (with its salt) to a record from before the digests.
        (OLD.hash IS NULL AND NEW.hash IS NOT NULL
            AND NEW.chain_id IS NOT NULL AND NEW.chain_seq IS NOT NULL AND NEW.prev_hash IS NOT NULL
            AND NEW.client_addr IS OLD.client_addr AND NEW.addr_erased_at IS OLD.addr_erased_at
            AND NEW.addr_digest IS NOT NULL
            AND (OLD.addr_digest IS NULL
                OR (NEW.addr_digest IS OLD.addr_digest AND NEW.addr_salt IS OLD.addr_salt)))
        -- The erasure of a v2 record's address: emptied, its salt dropped, chained or not,
        -- everything else as it was.
        OR (OLD.addr_digest IS NOT NULL AND OLD.addr_salt IS NOT NULL
            AND NEW.client_addr = '' AND NEW.addr_salt IS NULL AND NEW.addr_erased_at IS NOT NULL
            AND NEW.chain_id IS OLD.chain_id AND NEW.chain_seq IS OLD.chain_seq
            AND NEW.prev_hash IS OLD.prev_hash AND NEW.hash IS OLD.hash
            AND NEW.addr_digest IS OLD.addr_digest)
    )
)
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
