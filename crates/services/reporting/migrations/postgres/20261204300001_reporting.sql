-- The reporting service's store: each report made (its files live in the blob store under
-- reports/<org>/<report>/) and the schedules that make them.

CREATE TABLE report_schedules (
    id            UUID PRIMARY KEY,
    org_id        UUID NOT NULL,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    params        JSONB NOT NULL,
    cadence       TEXT NOT NULL,
    recipients    JSONB NOT NULL,
    -- Runs are counted from the first, so a monthly schedule keeps its day of the month.
    first_run_at  TIMESTAMPTZ NOT NULL,
    -- Claimed by compare-and-set: one instance makes each run.
    next_run_at   TIMESTAMPTZ NOT NULL,
    created_by    UUID,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX report_schedules_due ON report_schedules (next_run_at);
CREATE INDEX report_schedules_by_org ON report_schedules (org_id, created_at);

CREATE TABLE report_runs (
    id            UUID PRIMARY KEY,
    org_id        UUID NOT NULL,
    kind          TEXT NOT NULL,
    params        JSONB NOT NULL,
    title         TEXT NOT NULL,
    schedule_id   UUID,
    -- The schedule's run this is (NULL on demand): made once however often it is tried.
    due_at        TIMESTAMPTZ,
    requested_by  UUID,
    -- ready, or failed with the reason
    status        TEXT NOT NULL,
    error         TEXT,
    csv_bytes     BIGINT,
    pdf_bytes     BIGINT,
    emailed_to    JSONB NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX report_runs_by_org ON report_runs (org_id, created_at);
CREATE UNIQUE INDEX report_runs_once_per_due ON report_runs (schedule_id, due_at);
