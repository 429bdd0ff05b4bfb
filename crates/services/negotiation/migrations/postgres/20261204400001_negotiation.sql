-- The negotiation service's store: the loads it may negotiate (a projection of the loads
-- service's events), each negotiation's protocol state, and every message in it.

CREATE TABLE loads (
    load_id            UUID PRIMARY KEY,
    broker_org_id      UUID NOT NULL,
    posted_rate_cents  BIGINT,
    loaded_miles       DOUBLE PRECISION NOT NULL,
    pickup_at          TIMESTAMPTZ NOT NULL,
    -- For the market signal: "City, ST" of the first pickup and last delivery.
    origin             TEXT NOT NULL,
    destination        TEXT NOT NULL,
    equipment          TEXT NOT NULL,
    weight_lbs         BIGINT NOT NULL,
    -- posted, or the status it moved to since (covered, cancelled, expired, ...)
    status             TEXT NOT NULL,
    status_version     BIGINT NOT NULL
);

CREATE TABLE negotiations (
    id              UUID PRIMARY KEY,
    load_id         UUID NOT NULL,
    broker_org_id   UUID NOT NULL,
    carrier_org_id  UUID NOT NULL,
    status          TEXT NOT NULL,
    -- The protocol's state (lanerunner_negotiation::protocol::Negotiation).
    state           JSONB NOT NULL,
    -- Compare-and-set: every change names the version it read.
    version         BIGINT NOT NULL,
    closed_reason   TEXT,
    -- The protocol's deadline (the pickup time), for the sweep that expires what is due.
    deadline        TIMESTAMPTZ NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
-- One open negotiation per carrier and load, and one agreement per load: two carriers
-- accepting at the same instant cannot both win.
CREATE UNIQUE INDEX negotiations_one_open_per_carrier ON negotiations (load_id, carrier_org_id) WHERE status = 'open';
CREATE UNIQUE INDEX negotiations_one_agreement_per_load ON negotiations (load_id) WHERE status = 'agreed';
CREATE INDEX negotiations_by_broker ON negotiations (broker_org_id, updated_at);
CREATE INDEX negotiations_by_carrier ON negotiations (carrier_org_id, updated_at);
CREATE INDEX negotiations_by_load ON negotiations (load_id, status);
CREATE INDEX negotiations_open_by_deadline ON negotiations (deadline) WHERE status = 'open';

CREATE TABLE negotiation_messages (
    negotiation_id  UUID NOT NULL,
    seq             BIGINT NOT NULL,
    side            TEXT NOT NULL,
    author_id       UUID,
    -- What the protocol recorded (an offer, an agreement, ...), as JSON.
    event           JSONB NOT NULL,
    -- The words it was said in, when it came as text.
    text            TEXT,
    at              TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (negotiation_id, seq)
);

-- The broker's agent for a load: it answers carriers' offers within these limits. Never
-- shown to carriers (the maximum is the broker's secret).
CREATE TABLE agent_policies (
    load_id                UUID PRIMARY KEY,
    broker_org_id          UUID NOT NULL,
    start_cents            BIGINT NOT NULL,
    target_cents           BIGINT,
    max_cents              BIGINT NOT NULL,
    approval_above_cents   BIGINT,
    concession             DOUBLE PRECISION NOT NULL,
    updated_by             UUID,
    updated_at             TIMESTAMPTZ NOT NULL
);

-- A carrier's agent: it answers brokers' counters on every negotiation the carrier is in,
-- within these rates a loaded mile. Never shown to brokers.
CREATE TABLE carrier_policies (
    carrier_org_id         UUID PRIMARY KEY,
    desired_rpm_cents      BIGINT NOT NULL,
    min_rpm_cents          BIGINT NOT NULL,
    approval_below_cents   BIGINT,
    concession             DOUBLE PRECISION NOT NULL,
    updated_by             UUID,
    updated_at             TIMESTAMPTZ NOT NULL
);

-- A broker's preferred and blocked carriers. A blocked carrier cannot negotiate the
-- broker's loads, and the broker's agent never deals with it.
CREATE TABLE carrier_lists (
    broker_org_id   UUID NOT NULL,
    carrier_org_id  UUID NOT NULL,
    list            TEXT NOT NULL,
    updated_by      UUID,
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (broker_org_id, carrier_org_id)
);
