-- The chat service's store: the loads it may hold conversations about (a projection of
-- load.posted.v1), conversations, their members (direct ones), messages and read marks.

CREATE TABLE chat_loads (
    load_id        BLOB PRIMARY KEY,
    broker_org_id  BLOB NOT NULL,
    -- public | private: carriers start conversations about public loads only.
    visibility     TEXT NOT NULL,
    -- "Dallas, TX → Atlanta, GA", for conversation titles.
    lane           TEXT NOT NULL
);

CREATE TABLE conversations (
    id              BLOB PRIMARY KEY,
    -- load | direct
    kind            TEXT NOT NULL,
    -- The broker for a load conversation; the organization for a direct one.
    org_id          BLOB NOT NULL,
    load_id         BLOB,
    carrier_org_id  BLOB,
    title           TEXT NOT NULL,
    -- The last message's number; a message takes the next by updating this row, so two
    -- messages never share a number.
    last_seq        BIGINT NOT NULL,
    last_message_at TEXT,
    created_by      BLOB,
    created_at      TEXT NOT NULL
);
-- One conversation per load and carrier.
CREATE UNIQUE INDEX conversations_one_per_load_and_carrier ON conversations (load_id, carrier_org_id) WHERE kind = 'load';
CREATE INDEX conversations_by_org ON conversations (org_id, last_message_at);
CREATE INDEX conversations_by_carrier ON conversations (carrier_org_id, last_message_at);

-- The people in a direct conversation.
CREATE TABLE conversation_members (
    conversation_id  BLOB NOT NULL,
    user_id          BLOB NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX conversation_members_by_user ON conversation_members (user_id);

CREATE TABLE chat_messages (
    conversation_id  BLOB NOT NULL,
    seq              BIGINT NOT NULL,
    id               BLOB NOT NULL,
    -- text | negotiation
    kind             TEXT NOT NULL,
    author_org_id    BLOB NOT NULL,
    author_user_id   BLOB,
    body             TEXT,
    -- A negotiation move as the negotiation service published it.
    data             TEXT,
    -- What it came from ("<negotiation id>:<seq>"), so a redelivered event adds nothing.
    source_key       TEXT,
    at               TEXT NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);
CREATE UNIQUE INDEX chat_messages_one_per_source ON chat_messages (conversation_id, source_key);

-- How far each person has read each conversation.
CREATE TABLE chat_reads (
    conversation_id  BLOB NOT NULL,
    user_id          BLOB NOT NULL,
    org_id           BLOB NOT NULL,
    last_read_seq    BIGINT NOT NULL,
    read_at          TEXT NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
);
