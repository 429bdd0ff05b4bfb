-- The audit trail as LaneRunner stores it (audit_events: its columns, indexes and append-only
-- trigger, as they were before audit_links, plus the writer's transaction id), the links
-- table, and the chainer's horizon. Run by run.sh.
DROP SCHEMA IF EXISTS exp CASCADE;
CREATE SCHEMA exp;
SET search_path = exp;
CREATE TABLE ev (id uuid PRIMARY KEY, org_id uuid, actor_id uuid, action text NOT NULL, outcome text NOT NULL, target_id uuid,
  client_addr text NOT NULL, addr_salt text, addr_digest text, addr_erased_at timestamptz, detail jsonb NOT NULL,
  occurred_at timestamptz NOT NULL, chain_id uuid, chain_seq bigint, prev_hash text, hash text,
  txid xid8 NOT NULL DEFAULT pg_current_xact_id());
CREATE INDEX ev_org ON ev (org_id, id);
CREATE UNIQUE INDEX ev_chain ON ev (chain_id, chain_seq);
CREATE INDEX ev_unchained ON ev (occurred_at) WHERE hash IS NULL;
CREATE INDEX ev_addr ON ev (occurred_at) WHERE addr_salt IS NOT NULL;
CREATE INDEX ev_actor ON ev (org_id, actor_id);
CREATE INDEX ev_target ON ev (org_id, target_id);
CREATE INDEX ev_txid ON ev (txid);
CREATE TABLE links (record_id uuid PRIMARY KEY, chain_id uuid NOT NULL, seq bigint NOT NULL, prev_hash text NOT NULL, hash text NOT NULL);
CREATE UNIQUE INDEX links_chain ON links (chain_id, seq);
CREATE OR REPLACE FUNCTION ev_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'x'; END IF;
    IF ROW(NEW.id, NEW.org_id, NEW.actor_id, NEW.action, NEW.outcome, NEW.target_id, NEW.detail, NEW.occurred_at)
        IS DISTINCT FROM ROW(OLD.id, OLD.org_id, OLD.actor_id, OLD.action, OLD.outcome, OLD.target_id, OLD.detail, OLD.occurred_at) THEN
        RAISE EXCEPTION 'x';
    END IF;
    IF OLD.hash IS NULL AND NEW.hash IS NOT NULL THEN
        IF NEW.chain_id IS NULL OR NEW.chain_seq IS NULL OR NEW.prev_hash IS NULL
            OR NEW.client_addr IS DISTINCT FROM OLD.client_addr OR NEW.addr_digest IS NULL THEN RAISE EXCEPTION 'x'; END IF;
        RETURN NEW;
    END IF;
    RETURN NEW;
END; $$ LANGUAGE plpgsql;
CREATE TRIGGER ev_guard BEFORE UPDATE OR DELETE ON ev FOR EACH ROW EXECUTE FUNCTION ev_guard();
CREATE TABLE heads (chain_id uuid PRIMARY KEY, seq bigint NOT NULL, hash text NOT NULL);
CREATE TABLE horizon (one int PRIMARY KEY, h xid8 NOT NULL);
INSERT INTO horizon VALUES (1, '0');
