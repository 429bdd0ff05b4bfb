-- A plan change (the only way past an organization's rate limit and quota) takes two
-- operators (SOX separation of duties): one asks (`lanerunner org plan request`), another
-- approves or rejects it; the one who asked cannot decide. Every request and decision is
-- kept for good. At most one request per organization waits at a time.
CREATE TABLE plan_changes (
    id               BLOB PRIMARY KEY,
    org_id           BLOB NOT NULL REFERENCES organizations (id),
    -- The plan asked for; none: back to the default limits.
    plan             TEXT,
    requested_by     TEXT NOT NULL,
    reason           TEXT NOT NULL,
    requested_at     TEXT NOT NULL,
    status           TEXT NOT NULL,
    decided_by       TEXT,
    decision_reason  TEXT,
    decided_at       TEXT,
    -- The plan the organization was on when the change was carried out.
    plan_before      TEXT
);
CREATE UNIQUE INDEX plan_changes_one_pending ON plan_changes (org_id) WHERE status = 'pending';
CREATE INDEX plan_changes_by_org ON plan_changes (org_id, requested_at);
