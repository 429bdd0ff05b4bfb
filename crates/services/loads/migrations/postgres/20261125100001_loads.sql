-- Loads: the columns queries filter or sort on, plus the whole validated load as jsonb
-- (stops, contact, ...). Rates are bigint cents.
CREATE TABLE loads (
    id                      UUID PRIMARY KEY,
    org_id                  UUID NOT NULL,
    status                  TEXT NOT NULL,
    truck_ordered_not_used  BOOLEAN NOT NULL DEFAULT FALSE,
    visibility              TEXT NOT NULL CHECK (visibility IN ('public', 'private')),
    reference               TEXT NOT NULL,
    version                 BIGINT NOT NULL,
    equipment               TEXT NOT NULL,
    pickup_start            TIMESTAMPTZ NOT NULL,
    pickup_end              TIMESTAMPTZ NOT NULL,
    posted_rate_cents       BIGINT,
    target_rate_cents       BIGINT,
    max_rate_cents          BIGINT,
    spec                    JSONB NOT NULL,
    created_by              UUID NOT NULL,
    created_at              TIMESTAMPTZ NOT NULL,
    updated_at              TIMESTAMPTZ NOT NULL,
    posted_at               TIMESTAMPTZ
);
CREATE INDEX loads_org ON loads (org_id, id);
CREATE INDEX loads_posted ON loads (status, pickup_end) WHERE status = 'posted';

-- Every status change, with who and why.
CREATE TABLE load_history (
    id           UUID PRIMARY KEY,
    load_id      UUID NOT NULL REFERENCES loads (id),
    org_id       UUID NOT NULL,
    event        TEXT NOT NULL,
    from_status  TEXT,
    to_status    TEXT NOT NULL,
    actor_id     UUID NOT NULL,
    reason       TEXT,
    occurred_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX load_history_load ON load_history (load_id, id);

-- Idempotency-Key of POST /v1/loads: the first response is replayed for the same key and
-- body; the same key with another body is refused.
CREATE TABLE idempotency_keys (
    org_id           UUID NOT NULL,
    key              TEXT NOT NULL,
    request_hash     TEXT NOT NULL,
    response_status  INTEGER NOT NULL,
    response_body    JSONB NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, key)
);

CREATE TABLE trucks (
    id               UUID PRIMARY KEY,
    org_id           UUID NOT NULL,
    equipment        TEXT NOT NULL,
    lat              DOUBLE PRECISION NOT NULL,
    lon              DOUBLE PRECISION NOT NULL,
    available_from   TIMESTAMPTZ NOT NULL,
    available_until  TIMESTAMPTZ NOT NULL,
    spec             JSONB NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX trucks_org ON trucks (org_id, id);
CREATE INDEX trucks_until ON trucks (available_until);

CREATE TABLE saved_searches (
    id          UUID PRIMARY KEY,
    org_id      UUID NOT NULL,
    created_by  UUID NOT NULL,
    name        TEXT NOT NULL,
    params      JSONB NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX saved_searches_org ON saved_searches (org_id, id);
