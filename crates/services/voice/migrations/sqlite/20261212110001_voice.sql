-- The voice service's store: each organization's phone lines, what it keeps of the loads
-- and carriers a caller may ask about (projected from events), and every call with its
-- turns (what was said, and the exact reply, so a retried webhook gets the same answer).

-- A broker's number, as the telephony provider calls it (E.164), and where a call is
-- transferred when a person must take it.
CREATE TABLE vc_lines (
    phone_number      TEXT PRIMARY KEY,
    org_id            BLOB NOT NULL,
    company_name      TEXT NOT NULL,
    transfer_number   TEXT,
    recording_notice  BOOLEAN NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE INDEX vc_lines_org ON vc_lines (org_id);

-- Posted loads, from load.posted.v1 and load.status_changed.v1.
CREATE TABLE vc_loads (
    load_id        BLOB PRIMARY KEY,
    broker_org_id  BLOB NOT NULL,
    reference      TEXT NOT NULL,
    reference_key  TEXT NOT NULL,
    origin         TEXT NOT NULL,
    destination    TEXT NOT NULL,
    equipment      TEXT NOT NULL,
    weight_lbs     BIGINT NOT NULL,
    loaded_miles   DOUBLE PRECISION NOT NULL,
    pickup_at      TEXT NOT NULL,
    rate_cents     BIGINT,
    status         TEXT NOT NULL,
    visibility     TEXT NOT NULL
);
CREATE INDEX vc_loads_reference ON vc_loads (broker_org_id, reference_key);
CREATE INDEX vc_loads_open ON vc_loads (broker_org_id, status, pickup_at);

-- Carriers' authority by MC number, from carrier.standing.v1.
CREATE TABLE vc_carriers (
    carrier_org_id  BLOB PRIMARY KEY,
    mc_number       BIGINT,
    usdot_number    BIGINT NOT NULL,
    standing        TEXT NOT NULL,
    checked_at      TEXT NOT NULL
);
CREATE INDEX vc_carriers_mc ON vc_carriers (mc_number);

-- A call: who called which line, where the conversation stands (`progress`, the agent's
-- state), how many turns were taken, and once it ends its outcome, sentiment and summary.
CREATE TABLE vc_calls (
    id              BLOB PRIMARY KEY,
    org_id          BLOB NOT NULL,
    call_sid        TEXT NOT NULL UNIQUE,
    channel         TEXT NOT NULL,
    from_number     TEXT NOT NULL,
    to_number       TEXT NOT NULL,
    progress        TEXT NOT NULL,
    turn            BIGINT NOT NULL,
    status          TEXT NOT NULL,
    outcome         TEXT,
    mc_number       BIGINT,
    carrier_org_id  BLOB,
    load_id         BLOB,
    negotiation_id  BLOB,
    agreed_cents    BIGINT,
    sentiment       TEXT,
    summary         TEXT,
    started_at      TEXT NOT NULL,
    ended_at        TEXT
);
CREATE INDEX vc_calls_org ON vc_calls (org_id, id);
CREATE INDEX vc_calls_load ON vc_calls (org_id, load_id);
CREATE INDEX vc_calls_carrier ON vc_calls (org_id, carrier_org_id);

-- One exchange: what the caller said (or keyed) and what the agent answered. Inserted with
-- an empty reply to claim the turn; a second request for the same turn waits for the
-- reply and repeats it.
CREATE TABLE vc_turns (
    call_id     BLOB NOT NULL,
    turn        BIGINT NOT NULL,
    heard       TEXT,
    said        TEXT,
    reply       TEXT,
    at          TEXT NOT NULL,
    PRIMARY KEY (call_id, turn)
);
