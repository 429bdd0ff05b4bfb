-- The matching service's projection of the loads service's events. Nothing here is the
-- source of truth: it is rebuilt by replaying load.* and truck.* events.

-- Every load matching has heard of. `terms` is the public view (never the broker's target
-- or maximum rate: the events do not carry them). Status and terms each keep the version
-- of the event that set them, so an older event arriving late changes nothing.
CREATE TABLE loads (
    load_id         BLOB PRIMARY KEY,
    broker_org_id   BLOB NOT NULL,
    status          TEXT,
    status_version  INTEGER NOT NULL,
    terms           TEXT,
    terms_version   INTEGER NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX loads_open ON loads (broker_org_id) WHERE status = 'posted';

-- Truck postings. A removed truck stays as a tombstone (`removed`, no posting) so that a
-- late truck.posted cannot bring it back: the loads service never reuses a truck id.
CREATE TABLE trucks (
    truck_id         BLOB PRIMARY KEY,
    carrier_org_id   BLOB NOT NULL,
    posting          TEXT,
    posting_updated_at TEXT,
    removed          BOOLEAN NOT NULL DEFAULT 0,
    updated_at       TEXT NOT NULL
);

-- Batch assignment runs, as returned to the broker that asked.
CREATE TABLE runs (
    id          BLOB PRIMARY KEY,
    org_id      BLOB NOT NULL,
    created_by  BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    result      TEXT NOT NULL
);
CREATE INDEX runs_org ON runs (org_id, id);
