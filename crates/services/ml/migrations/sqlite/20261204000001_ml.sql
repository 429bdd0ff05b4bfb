-- The rate model service's store: the market history it trains on and rebuilds its lane
-- state from (normalized records analytics publishes, keyed by source id), the model
-- versions and which one is active, and the model's error on every load booked since.

CREATE TABLE market_bookings (
    load_id    BLOB PRIMARY KEY,
    booked_at  TEXT NOT NULL,
    record     TEXT NOT NULL
);
CREATE INDEX market_bookings_booked_at ON market_bookings (booked_at);

CREATE TABLE market_postings (
    posting_id BLOB PRIMARY KEY,
    posted_at  TEXT NOT NULL,
    record     TEXT NOT NULL
);
CREATE INDEX market_postings_posted_at ON market_postings (posted_at);

-- Every published model file, checked before it was stored.
CREATE TABLE rate_models (
    version      TEXT PRIMARY KEY,
    published_at TEXT NOT NULL,
    provenance   TEXT NOT NULL,
    artifact     BLOB NOT NULL
);

-- The latest row names the active version; a rollback is a new row naming an older one.
CREATE TABLE rate_model_activations (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    version      TEXT NOT NULL REFERENCES rate_models (version),
    activated_at TEXT NOT NULL
);

-- What the active model said for a load before its booking was known, and what it booked at.
CREATE TABLE rate_outcomes (
    load_id         BLOB NOT NULL,
    model_version   TEXT NOT NULL,
    booked_at       TEXT NOT NULL,
    log_rpm         REAL NOT NULL,
    actual_cents    INTEGER NOT NULL,
    predicted_cents INTEGER NOT NULL,
    low_cents       INTEGER NOT NULL,
    high_cents      INTEGER NOT NULL,
    PRIMARY KEY (load_id, model_version)
);
CREATE INDEX rate_outcomes_booked_at ON rate_outcomes (booked_at);
