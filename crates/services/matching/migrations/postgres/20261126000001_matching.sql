-- The matching service's projection of the loads service's events. Nothing here is the
-- source of truth: it is rebuilt by replaying load.* and truck.* events.

-- Every load matching has heard of. `terms` is the public view (never the broker's target
-- or maximum rate: the events do not carry them). Status and terms each keep the version
-- of the event that set them, so an older event arriving late changes nothing.
CREATE TABLE loads (
    load_id         UUID PRIMARY KEY,
    broker_org_id   UUID NOT NULL,
    status          TEXT,
    status_version  BIGINT NOT NULL,
    terms           JSONB,
    terms_version   BIGINT NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX loads_open ON loads (broker_org_id) WHERE status = 'posted';

-- Truck postings. A removed truck stays as a tombstone (`removed`, no posting) so that a
-- late truck.posted cannot bring it back: the loads service never reuses a truck id.
CREATE TABLE trucks (
    truck_id         UUID PRIMARY KEY,
    carrier_org_id   UUID NOT NULL,
    posting          JSONB,
    posting_updated_at TIMESTAMPTZ,
    removed          BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at       TIMESTAMPTZ NOT NULL
);

-- Batch assignment runs, as returned to the broker that asked.
CREATE TABLE runs (
    id          UUID PRIMARY KEY,
    org_id      UUID NOT NULL,
    created_by  UUID NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    result      JSONB NOT NULL
);
CREATE INDEX runs_org ON runs (org_id, id);
