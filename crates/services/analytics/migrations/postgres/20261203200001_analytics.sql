-- The analytics service's ingested history. The lane index is rebuilt from these tables at
-- start-up; each row is one accepted record, keyed by its source id, so a redelivered event
-- is a no-op.

-- Booked loads (`load.booked.v1`), as `lanerunner_core::market::BookingRecord` JSON.
CREATE TABLE bookings (
    load_id        UUID PRIMARY KEY,
    broker_org_id  UUID NOT NULL,
    booked_at      TIMESTAMPTZ NOT NULL,
    record         JSONB NOT NULL
);

-- Load and truck postings (`load.posted.v1`, `truck.posted.v1`) as `PostingRecord` JSON.
CREATE TABLE postings (
    posting_id     UUID PRIMARY KEY,
    org_id         UUID NOT NULL,
    posted_at      TIMESTAMPTZ NOT NULL,
    record         JSONB NOT NULL
);

-- Events refused on ingestion, with why: never dropped silently.
CREATE TABLE quarantine (
    event_id       UUID PRIMARY KEY,
    org_id         UUID,
    event_type     TEXT NOT NULL,
    reason_code    TEXT NOT NULL,
    reason         TEXT NOT NULL,
    payload        JSONB NOT NULL,
    received_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX quarantine_by_org ON quarantine (org_id, received_at);

-- Each broker's own posted loads, for the broker's KPIs (cover rate, time to cover, booked
-- against posted rate, on-time delivery). Read only by the broker's own organization.
CREATE TABLE broker_loads (
    load_id            UUID PRIMARY KEY,
    org_id             UUID NOT NULL,
    posted_at          TIMESTAMPTZ NOT NULL,
    posted_rate_cents  BIGINT,
    delivery_due       TIMESTAMPTZ,
    booked_at          TIMESTAMPTZ,
    booked_rate_cents  BIGINT,
    delivered_at       TIMESTAMPTZ,
    outcome            TEXT
);
CREATE INDEX broker_loads_by_org ON broker_loads (org_id, posted_at);
