-- Tracking: each booked load's stops and where its truck is (the geofence state, kept as
-- JSON and changed under the row's lock), every position received with what became of it,
-- and the links that report positions (the driver's) or show them (the shipper's).

CREATE TABLE tracked_loads (
    load_id         BLOB PRIMARY KEY,
    broker_org_id   BLOB NOT NULL,
    carrier_org_id  BLOB,
    reference       TEXT NOT NULL,
    -- The stops as geofences (JSON).
    stops           TEXT NOT NULL,
    -- The geofence state, visits and the driver's hours (JSON).
    state           TEXT NOT NULL,
    -- active, delivered, cancelled
    status          TEXT NOT NULL,
    -- The last ETA to the next stop (JSON), if any.
    eta             TEXT,
    delivered_at    TEXT,
    -- When its positions were deleted (tracking.retention_days after it ended).
    purged_at       TEXT,
    updated_at      TEXT NOT NULL,
    created_at      TEXT NOT NULL
);
CREATE INDEX tracked_by_broker ON tracked_loads (broker_org_id);
CREATE INDEX tracked_by_carrier ON tracked_loads (carrier_org_id, delivered_at);
CREATE INDEX tracked_ended ON tracked_loads (status, updated_at);

CREATE TABLE positions (
    id           BLOB PRIMARY KEY,
    load_id      BLOB NOT NULL,
    at           TEXT NOT NULL,
    lat          DOUBLE PRECISION NOT NULL,
    lon          DOUBLE PRECISION NOT NULL,
    speed_mph    DOUBLE PRECISION,
    -- driver, webhook, samsara, mqtt
    source       TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    -- NULL: applied. Otherwise why not (quarantined), with its detail.
    refusal      TEXT,
    detail       TEXT
);
CREATE INDEX positions_by_load ON positions (load_id, at);

CREATE TABLE tracking_links (
    id           BLOB PRIMARY KEY,
    -- SHA-256 of the token: the token itself is shown once.
    token_hash   TEXT NOT NULL UNIQUE,
    load_id      BLOB NOT NULL,
    org_id       BLOB NOT NULL,
    -- driver (reports positions) or share (shows them)
    kind         TEXT NOT NULL,
    created_by   BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    revoked_at   TEXT
);
CREATE INDEX tracking_links_by_load ON tracking_links (load_id);

-- A carrier's secret for its own signed position webhook.
CREATE TABLE tracking_secrets (
    org_id      BLOB PRIMARY KEY,
    secret      TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
