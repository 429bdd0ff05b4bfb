-- The audit trail becomes tamper-evident (SOX): each record joins a hash chain, one per
-- organization (the nil UUID chains records of no organization, such as a sign-in with an
-- unknown email). A record's hash covers its fields and the previous record's hash, so a
-- changed, deleted or reordered record breaks every hash after it.
ALTER TABLE audit_events ADD COLUMN chain_id UUID;
ALTER TABLE audit_events ADD COLUMN chain_seq BIGINT;
ALTER TABLE audit_events ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_events ADD COLUMN hash TEXT;
CREATE UNIQUE INDEX audit_events_chain ON audit_events (chain_id, chain_seq);
-- The records from before the chains, found at start-up without reading the whole table.
CREATE INDEX audit_events_unchained ON audit_events (occurred_at) WHERE hash IS NULL;

-- Each chain's head: appending takes this row's lock, so records join one at a time.
CREATE TABLE audit_chains (
    chain_id    UUID PRIMARY KEY,
    seq         BIGINT NOT NULL,
    hash        TEXT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

-- Chain heads written down periodically (and copied to object storage): a chain rewritten
-- from some record on, or cut short, no longer matches an anchor taken before.
CREATE TABLE audit_anchors (
    id           UUID PRIMARY KEY,
    chain_id     UUID NOT NULL,
    seq          BIGINT NOT NULL,
    hash         TEXT NOT NULL,
    anchored_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX audit_anchors_chain ON audit_anchors (chain_id, seq);

-- Append-only: a record is never deleted, and once chained never changed (records from
-- before this migration are chained once, at start-up).
CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' OR OLD.hash IS NOT NULL THEN
        RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_anchors_append_only BEFORE UPDATE OR DELETE ON audit_anchors
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
