-- One audited action's record, appended in its own transaction (50 organizations).
\set o random(1, 50)
BEGIN;
INSERT INTO exp.ev (id, org_id, actor_id, action, outcome, target_id, client_addr, detail, occurred_at, addr_salt, addr_digest)
VALUES (gen_random_uuid(), ('00000000-0000-0000-0000-0000000000' || lpad(:o::text, 2, '0'))::uuid, gen_random_uuid(), 'role_changed', 'success', gen_random_uuid(), '203.0.113.7', '{"role":"admin","from":"dispatcher"}', clock_timestamp(), md5(random()::text), md5(random()::text));
COMMIT;
