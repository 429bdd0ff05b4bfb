-- The chain before audit_links: the waiting records locked and rewritten with a place and hashes.
BEGIN;
WITH p AS (SELECT id, org_id, occurred_at FROM exp.ev WHERE hash IS NULL ORDER BY occurred_at, id LIMIT 1000 FOR UPDATE),
n AS (SELECT id, org_id AS chain_id, (extract(epoch from clock_timestamp())*1000000)::bigint * 1000 + row_number() over () AS seq FROM p)
UPDATE exp.ev SET chain_id = n.chain_id, chain_seq = n.seq, prev_hash = md5(n.id::text), hash = md5(n.id::text || 'h') FROM n WHERE ev.id = n.id;
COMMIT;
