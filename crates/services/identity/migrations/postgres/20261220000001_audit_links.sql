-- The audit chain moves to a table of its own, written by inserts only: a record is written
-- once by the audited action and never rewritten to be chained; the chainer adds its link
-- (its place on its organization's chain and its hashes), a narrow row. Chaining no longer
-- makes a second version of the record and of every index over it.
CREATE TABLE audit_links (
    record_id  UUID PRIMARY KEY,
    chain_id   UUID NOT NULL,
    seq        BIGINT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE UNIQUE INDEX audit_links_place ON audit_links (chain_id, seq);
INSERT INTO audit_links (record_id, chain_id, seq, prev_hash, hash)
    SELECT id, chain_id, chain_seq, prev_hash, hash FROM audit_events WHERE hash IS NOT NULL;

CREATE FUNCTION audit_links_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit links are append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_links_append_only BEFORE UPDATE OR DELETE ON audit_links
    FOR EACH ROW EXECUTE FUNCTION audit_links_append_only();

-- Where the chainer finds the records waiting for their links: each record keeps the id of
-- the transaction that wrote it; once every transaction older than a snapshot's xmin has
-- ended, no record can still appear below it. Records from before this migration take 0,
-- so the first pass looks at them all.
ALTER TABLE audit_events ADD COLUMN xact_id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_events ALTER COLUMN xact_id SET DEFAULT (pg_current_xact_id()::text::bigint);
CREATE INDEX audit_events_xact ON audit_events (xact_id);

-- A record never changes but for the erasure of a v2 record's address: emptied, its salt
-- dropped, everything else as it was.
CREATE OR REPLACE FUNCTION audit_events_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT (
        OLD.addr_digest IS NOT NULL AND OLD.addr_salt IS NOT NULL
        AND NEW.client_addr = '' AND NEW.addr_salt IS NULL AND NEW.addr_erased_at IS NOT NULL
        AND ROW(NEW.id, NEW.org_id, NEW.actor_id, NEW.action, NEW.outcome, NEW.target_id,
                NEW.detail, NEW.occurred_at, NEW.addr_digest, NEW.xact_id)
            IS NOT DISTINCT FROM
            ROW(OLD.id, OLD.org_id, OLD.actor_id, OLD.action, OLD.outcome, OLD.target_id,
                OLD.detail, OLD.occurred_at, OLD.addr_digest, OLD.xact_id)
    ) THEN
        RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

DROP INDEX audit_events_chain;
DROP INDEX audit_events_unchained;
ALTER TABLE audit_events DROP COLUMN chain_id, DROP COLUMN chain_seq, DROP COLUMN prev_hash,
    DROP COLUMN hash;
