-- Outreach: calls the agent places to the best-matched carriers of a load.

-- Which way a call went: 'inbound' (a carrier called a line) or 'outbound' (we called).
ALTER TABLE vc_calls ADD COLUMN direction TEXT NOT NULL DEFAULT 'inbound';
-- One outreach call per load and carrier, however many requests race to place it.
CREATE UNIQUE INDEX vc_calls_outreach ON vc_calls (load_id, carrier_org_id) WHERE direction = 'outbound';

-- A carrier's dispatch number, given by the carrier with its consent to be called about
-- loads that fit its trucks (an automated call needs prior consent).
CREATE TABLE vc_dispatch (
    carrier_org_id  BLOB PRIMARY KEY,
    phone           TEXT NOT NULL,
    consented_by    BLOB NOT NULL,
    consented_at    TEXT NOT NULL
);

-- The carriers matching suggested for each load (match.suggested.v1), best cost kept.
CREATE TABLE vc_suggestions (
    load_id         BLOB NOT NULL,
    carrier_org_id  BLOB NOT NULL,
    broker_org_id   BLOB NOT NULL,
    cost_cents      REAL NOT NULL,
    PRIMARY KEY (load_id, carrier_org_id)
);
