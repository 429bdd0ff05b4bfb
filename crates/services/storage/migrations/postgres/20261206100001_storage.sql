-- The storage service's store: one row per stored object. The object's bytes are in the
-- blob store, sealed with its own data key; the data key is only here, wrapped by a
-- key-encryption key version. Deleting the row shreds the object: without its data key the
-- sealed bytes cannot be opened, even if a copy of them survives somewhere.

CREATE TABLE storage_objects (
    id            UUID PRIMARY KEY,
    org_id        UUID NOT NULL,
    -- What the uploader called it (a base name, no path).
    name          TEXT NOT NULL,
    -- Found from the bytes, never taken from the sender.
    content_type  TEXT NOT NULL,
    size_bytes    BIGINT NOT NULL,
    -- SHA-256 of the plaintext, hex: checked on every read, and what signatures name.
    sha256        TEXT NOT NULL,
    blob_key      TEXT NOT NULL,
    kek_version   INTEGER NOT NULL,
    -- The wrapped data key, base64.
    wrapped_key   TEXT NOT NULL,
    created_by    UUID NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX storage_objects_by_org ON storage_objects (org_id, id);
-- The rewrap sweep finds objects still under an older key version.
CREATE INDEX storage_objects_by_kek_version ON storage_objects (kek_version);
