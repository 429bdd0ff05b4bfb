-- An API key's `created_by` is the member on record as its owner. Keys minted by another key
-- used to name that key; they now name its owner, so a key's authority can be capped by,
-- and revoked with, a member.
UPDATE api_keys
SET created_by = (SELECT p.created_by FROM api_keys p WHERE p.id = api_keys.created_by)
WHERE created_by IN (SELECT id FROM api_keys);

CREATE INDEX api_keys_created_by ON api_keys (org_id, created_by);
