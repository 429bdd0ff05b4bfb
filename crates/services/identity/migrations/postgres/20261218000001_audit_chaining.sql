-- Audit records are appended unchained, as one plain insert in the audited action's
-- transaction, and chained in batches off the request's path (the identity store's
-- `chain_pending`): their places on the chain and their hashes. Until it is chained a record is
-- as append-only as after it. What a record says never changes; besides its chaining, the one
-- change it accepts is the erasure of its address.
CREATE OR REPLACE FUNCTION audit_events_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF ROW(NEW.id, NEW.org_id, NEW.actor_id, NEW.action, NEW.outcome, NEW.target_id,
           NEW.detail, NEW.occurred_at)
        IS DISTINCT FROM
        ROW(OLD.id, OLD.org_id, OLD.actor_id, OLD.action, OLD.outcome, OLD.target_id,
            OLD.detail, OLD.occurred_at) THEN
        RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.hash IS NULL AND NEW.hash IS NOT NULL THEN
        -- Chaining: a place and the hashes; the address as it was; the digest kept, or
        -- given (with its salt) to a record from before the digests.
        IF NEW.chain_id IS NULL OR NEW.chain_seq IS NULL OR NEW.prev_hash IS NULL
            OR NEW.client_addr IS DISTINCT FROM OLD.client_addr
            OR NEW.addr_erased_at IS DISTINCT FROM OLD.addr_erased_at
            OR NEW.addr_digest IS NULL
            OR (OLD.addr_digest IS NOT NULL AND ROW(NEW.addr_digest, NEW.addr_salt)
                IS DISTINCT FROM ROW(OLD.addr_digest, OLD.addr_salt)) THEN
            RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
    END IF;
    -- The erasure of a v2 record's address: emptied, its salt dropped, chained or not,
    -- everything else as it was.
    IF NOT (
        OLD.addr_digest IS NOT NULL AND OLD.addr_salt IS NOT NULL
        AND NEW.client_addr = '' AND NEW.addr_salt IS NULL AND NEW.addr_erased_at IS NOT NULL
        AND ROW(NEW.chain_id, NEW.chain_seq, NEW.prev_hash, NEW.hash, NEW.addr_digest)
            IS NOT DISTINCT FROM
            ROW(OLD.chain_id, OLD.chain_seq, OLD.prev_hash, OLD.hash, OLD.addr_digest)
    ) THEN
        RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
