-- The chain with audit_links: passes take turns, records past the horizon without a link get one
-- (one narrow insert each), and the horizon moves to the snapshot's xmin taken before reading.
BEGIN;
SELECT pg_advisory_xact_lock(42);
SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS nx \gset
WITH p AS (SELECT e.id, e.org_id, e.occurred_at, e.detail FROM exp.ev e WHERE e.txid >= (SELECT h FROM exp.horizon WHERE one = 1)
   AND NOT EXISTS (SELECT 1 FROM exp.links l WHERE l.record_id = e.id) ORDER BY e.occurred_at, e.id LIMIT 1000),
n AS (SELECT id, org_id AS chain_id, (extract(epoch from clock_timestamp())*1000000)::bigint * 1000 + row_number() over () AS seq FROM p)
INSERT INTO exp.links SELECT id, chain_id, seq, md5(id::text), md5(id::text || 'h') FROM n;
UPDATE exp.horizon SET h = (:nx)::text::xid8 WHERE one = 1;
COMMIT;
