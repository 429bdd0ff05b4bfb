-- Loads: the columns queries filter or sort on, plus the whole validated load as JSON text
-- (stops, contact, ...). Rates are integer cents.
CREATE TABLE loads (
    id                      BLOB PRIMARY KEY,
    org_id                  BLOB NOT NULL,
    status                  TEXT NOT NULL,
    truck_ordered_not_used  BOOLEAN NOT NULL DEFAULT 0,
    visibility              TEXT NOT NULL CHECK (visibility IN ('public', 'private')),
    reference               TEXT NOT NULL,
    version                 INTEGER NOT NULL,
    equipment               TEXT NOT NULL,
    pickup_start            TEXT NOT NULL,
    pickup_end              TEXT NOT NULL,
    posted_rate_cents       INTEGER,
    target_rate_cents       INTEGER,
    max_rate_cents          INTEGER,
    spec                    TEXT NOT NULL,
    created_by              BLOB NOT NULL,
    created_at              TEXT NOT NULL,
    updated_at              TEXT NOT NULL,
    posted_at               TEXT
);
CREATE INDEX loads_org ON loads (org_id, id);
CREATE INDEX loads_posted ON loads (status, pickup_end) WHERE status = 'posted';

-- Every status change, with who and why.
CREATE TABLE load_history (
    id           BLOB PRIMARY KEY,
    load_id      BLOB NOT NULL REFERENCES loads (id),
    org_id       BLOB NOT NULL,
    event        TEXT NOT NULL,
    from_status  TEXT,
    to_status    TEXT NOT NULL,
    actor_id     BLOB NOT NULL,
    reason       TEXT,
    occurred_at  TEXT NOT NULL
);
CREATE INDEX load_history_load ON load_history (load_id, id);

-- Idempotency-Key of POST /v1/loads: the first response is replayed for the same key and
-- body; the same key with another body is refused.
CREATE TABLE idempotency_keys (
    org_id           BLOB NOT NULL,
    key              TEXT NOT NULL,
    request_hash     TEXT NOT NULL,
    response_status  INTEGER NOT NULL,
    response_body    TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    PRIMARY KEY (org_id, key)
);

CREATE TABLE trucks (
    id               BLOB PRIMARY KEY,
    org_id           BLOB NOT NULL,
    equipment        TEXT NOT NULL,
    lat              REAL NOT NULL,
    lon              REAL NOT NULL,
    available_from   TEXT NOT NULL,
    available_until  TEXT NOT NULL,
    spec             TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX trucks_org ON trucks (org_id, id);
CREATE INDEX trucks_until ON trucks (available_until);

CREATE TABLE saved_searches (
    id          BLOB PRIMARY KEY,
    org_id      BLOB NOT NULL,
    created_by  BLOB NOT NULL,
    name        TEXT NOT NULL,
    params      TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX saved_searches_org ON saved_searches (org_id, id);
