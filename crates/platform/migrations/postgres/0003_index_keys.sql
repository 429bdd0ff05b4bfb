-- The key of this store's blind indexes (crate::sealing::FieldSealer::blind_index): the
-- keyed hashes by which a sealed value is found by equality (the phone a text came from)
-- without the value being readable. Made once per store and kept only wrapped by the
-- key-encryption key, like the data keys, and rewrapped with them; it is not rotated with
-- the data keys (every index made with it would have to be made again).
CREATE TABLE index_keys (
    name        TEXT PRIMARY KEY,
    kek         TEXT NOT NULL,
    wrapped     TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
