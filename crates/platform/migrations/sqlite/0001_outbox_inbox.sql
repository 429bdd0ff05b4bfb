-- Every service database carries its own outbox (events written in the same transaction as
-- the state change) and inbox (ids of events it has already processed).
CREATE TABLE outbox (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            BLOB NOT NULL UNIQUE,
    topic         TEXT NOT NULL,
    aggregate_id  BLOB NOT NULL,
    envelope      TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    published_at  TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT
);
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;

CREATE TABLE processed_events (
    consumer      TEXT NOT NULL,
    event_id      BLOB NOT NULL,
    processed_at  TEXT NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
