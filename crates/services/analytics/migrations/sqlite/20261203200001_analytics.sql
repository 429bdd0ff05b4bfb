-- The analytics service's ingested history. The lane index is rebuilt from these tables at
-- start-up; each row is one accepted record, keyed by its source id, so a redelivered event
-- is a no-op.

-- Booked loads (`load.booked.v1`), as `lanerunner_core::market::BookingRecord` JSON.
CREATE TABLE bookings (
    load_id        BLOB PRIMARY KEY,
    broker_org_id  BLOB NOT NULL,
    booked_at      TEXT NOT NULL,
    record         TEXT NOT NULL
);

-- Load and truck postings (`load.posted.v1`, `truck.posted.v1`) as `PostingRecord` JSON.
CREATE TABLE postings (
    posting_id     BLOB PRIMARY KEY,
    org_id         BLOB NOT NULL,
    posted_at      TEXT NOT NULL,
    record         TEXT NOT NULL
);

-- Events refused on ingestion, with why: never dropped silently.
CREATE TABLE quarantine (
    event_id       BLOB PRIMARY KEY,
    org_id         BLOB,
    event_type     TEXT NOT NULL,
    reason_code    TEXT NOT NULL,
    reason         TEXT NOT NULL,
    payload        TEXT NOT NULL,
    received_at    TEXT NOT NULL
);
CREATE INDEX quarantine_by_org ON quarantine (org_id, received_at);

-- Each broker's own posted loads, for the broker's KPIs (cover rate, time to cover, booked
-- against posted rate, on-time delivery). Read only by the broker's own organization.
CREATE TABLE broker_loads (
    load_id            BLOB PRIMARY KEY,
    org_id             BLOB NOT NULL,
    posted_at          TEXT NOT NULL,
    posted_rate_cents  INTEGER,
    delivery_due       TEXT,
    booked_at          TEXT,
    booked_rate_cents  INTEGER,
    delivered_at       TEXT,
    outcome            TEXT
);
CREATE INDEX broker_loads_by_org ON broker_loads (org_id, posted_at);
