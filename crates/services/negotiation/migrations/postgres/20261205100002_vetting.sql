-- Carrier vetting as the negotiation service applies it: each load's visibility (private
-- loads are negotiated only by the broker's preferred carriers), each carrier's standing
-- (a projection of the carriers service's carrier.standing.v1), and each broker's rule
-- for unverified carriers.

ALTER TABLE loads ADD COLUMN visibility TEXT NOT NULL DEFAULT 'public';

CREATE TABLE carrier_standing (
    carrier_org_id  UUID PRIMARY KEY,
    -- verified | unverified | failed
    standing        TEXT NOT NULL,
    reasons         JSONB NOT NULL,
    -- The check it reports; an older check never overwrites a newer one.
    checked_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE vetting_policies (
    broker_org_id              UUID PRIMARY KEY,
    -- Whether carriers whose authority is self-declared (not checked with FMCSA) may book.
    allow_unverified           BOOLEAN NOT NULL,
    -- Whether private loads are shown and negotiated only with verified carriers.
    private_loads_vetted_only  BOOLEAN NOT NULL,
    updated_by                 UUID,
    updated_at                 TIMESTAMPTZ NOT NULL
);
