-- The carriers service's store: each carrier's declared authority and the result of its
-- last check against the registry.

CREATE TABLE carrier_authority (
    carrier_org_id        UUID PRIMARY KEY,
    usdot_number          BIGINT NOT NULL,
    mc_number             BIGINT,
    -- The carrier's own statement of when its insurance certificate expires.
    insurance_expires_on  DATE,
    -- fmcsa | self_declared
    source                TEXT NOT NULL,
    -- verified | unverified | failed
    standing              TEXT NOT NULL,
    -- Why, in words, as a JSON array.
    reasons               JSONB NOT NULL,
    -- What the registry said (FMCSA's census fields), as JSON; null when nothing was asked.
    record                JSONB,
    legal_name            TEXT,
    checked_at            TIMESTAMPTZ NOT NULL,
    -- When the sweep checks again: the re-check interval, or the day the insurance lapses.
    next_check_at         TIMESTAMPTZ NOT NULL,
    -- Compare-and-set between a declaration, a re-check asked for and the sweep.
    version               BIGINT NOT NULL,
    declared_by           UUID,
    declared_at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX carrier_authority_due ON carrier_authority (next_check_at);
-- One USDOT number belongs to one carrier organization here.
CREATE UNIQUE INDEX carrier_authority_one_org_per_dot ON carrier_authority (usdot_number);
