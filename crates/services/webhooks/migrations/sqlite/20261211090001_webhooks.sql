-- The outgoing webhooks service's store: each organization's endpoints, the messages made
-- from its events, one delivery per message and endpoint, and every attempt at one.

-- An endpoint a customer's system listens on. `secret` signs every delivery; during a
-- rotation's overlap `previous_secret` signs too, until `previous_expires_at`.
CREATE TABLE wh_endpoints (
    id                   BLOB PRIMARY KEY,
    org_id               BLOB NOT NULL,
    url                  TEXT NOT NULL,
    description          TEXT,
    -- JSON array of event types; empty for every event in the catalog.
    event_types          TEXT NOT NULL,
    disabled             BOOLEAN NOT NULL,
    secret               TEXT NOT NULL,
    previous_secret      TEXT,
    previous_expires_at  TEXT,
    created_by           BLOB NOT NULL,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL
);
CREATE INDEX wh_endpoints_org ON wh_endpoints (org_id, id);

-- What is sent: the event's body exactly as signed, so every attempt sends the same bytes.
CREATE TABLE wh_messages (
    id           BLOB PRIMARY KEY,
    org_id       BLOB NOT NULL,
    event_type   TEXT NOT NULL,
    aggregate_id BLOB NOT NULL,
    occurred_at  TEXT NOT NULL,
    body         TEXT NOT NULL
);

-- One message to one endpoint. Times the dispatcher compares are epoch milliseconds, so
-- both backends order them as numbers.
CREATE TABLE wh_deliveries (
    id               BLOB PRIMARY KEY,
    org_id           BLOB NOT NULL,
    endpoint_id      BLOB NOT NULL,
    message_id       BLOB NOT NULL,
    -- The message's aggregate: an endpoint hears one aggregate's events in order.
    aggregate_id     BLOB NOT NULL,
    event_type       TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL,
    next_attempt_ms  BIGINT NOT NULL,
    -- A dispatcher's claim: until when, and its token (compare-and-set on both).
    lease_until_ms   BIGINT,
    lease_token      BLOB,
    -- Put back in line by a replay; its next attempt is logged as one.
    replayed         BOOLEAN NOT NULL DEFAULT FALSE,
    last_status      INTEGER,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    delivered_at     TEXT,
    UNIQUE (endpoint_id, message_id)
);
CREATE INDEX wh_deliveries_due ON wh_deliveries (status, next_attempt_ms);
CREATE INDEX wh_deliveries_chain ON wh_deliveries (endpoint_id, aggregate_id, status, message_id);
CREATE INDEX wh_deliveries_log ON wh_deliveries (org_id, endpoint_id, id);
CREATE INDEX wh_deliveries_lease ON wh_deliveries (lease_token);

-- Every attempt, for the delivery log.
CREATE TABLE wh_attempts (
    id            BLOB PRIMARY KEY,
    delivery_id   BLOB NOT NULL,
    org_id        BLOB NOT NULL,
    attempted_at  TEXT NOT NULL,
    -- `scheduled`, or `manual` for a replay.
    trigger_kind  TEXT NOT NULL,
    status_code   INTEGER,
    error         TEXT,
    response      TEXT,
    duration_ms   BIGINT NOT NULL
);
CREATE INDEX wh_attempts_delivery ON wh_attempts (delivery_id, attempted_at);
