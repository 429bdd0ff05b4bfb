-- The rate model service's store: the market history it trains on and rebuilds its lane
-- state from (normalized records analytics publishes, keyed by source id), the model
-- versions and which one is active, and the model's error on every load booked since.

CREATE TABLE market_bookings (
    load_id    UUID PRIMARY KEY,
    booked_at  TIMESTAMPTZ NOT NULL,
    record     JSONB NOT NULL
);
CREATE INDEX market_bookings_booked_at ON market_bookings (booked_at);

CREATE TABLE market_postings (
    posting_id UUID PRIMARY KEY,
    posted_at  TIMESTAMPTZ NOT NULL,
    record     JSONB NOT NULL
);
CREATE INDEX market_postings_posted_at ON market_postings (posted_at);

-- Every published model file, checked before it was stored.
CREATE TABLE rate_models (
    version      TEXT PRIMARY KEY,
    published_at TIMESTAMPTZ NOT NULL,
    provenance   JSONB NOT NULL,
    artifact     BYTEA NOT NULL
);

-- The latest row names the active version; a rollback is a new row naming an older one.
CREATE TABLE rate_model_activations (
    seq          BIGSERIAL PRIMARY KEY,
    version      TEXT NOT NULL REFERENCES rate_models (version),
    activated_at TIMESTAMPTZ NOT NULL
);

-- What the active model said for a load before its booking was known, and what it booked at.
CREATE TABLE rate_outcomes (
    load_id         UUID NOT NULL,
    model_version   TEXT NOT NULL,
    booked_at       TIMESTAMPTZ NOT NULL,
    log_rpm         DOUBLE PRECISION NOT NULL,
    actual_cents    BIGINT NOT NULL,
    predicted_cents BIGINT NOT NULL,
    low_cents       BIGINT NOT NULL,
    high_cents      BIGINT NOT NULL,
    PRIMARY KEY (load_id, model_version)
);
CREATE INDEX rate_outcomes_booked_at ON rate_outcomes (booked_at);
