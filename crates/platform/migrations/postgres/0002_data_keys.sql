-- The data keys that seal this store's sensitive fields (crate::sealing), each kept only
-- wrapped by a key-encryption key. One is active (new writes); replaced ones drain while
-- the sweep re-seals their records, and are retired (the wrapped copy erased) once
-- nothing uses them.
CREATE TABLE data_keys (
    version      BIGINT PRIMARY KEY,
    kek          TEXT NOT NULL,
    wrapped      TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('active', 'draining', 'retired')),
    created_at   TIMESTAMPTZ NOT NULL,
    replaced_at  TIMESTAMPTZ,
    retired_at   TIMESTAMPTZ
);
CREATE UNIQUE INDEX data_keys_one_active ON data_keys (state) WHERE state = 'active';
