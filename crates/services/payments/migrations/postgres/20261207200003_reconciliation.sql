-- What LaneRunner's ledger says moved through the processor's balance, one row per
-- processor object (a charge, a refund, a dispute), written with its ledger entry; and the
-- daily reconciliations of those rows against the processor's balance transactions.
CREATE TABLE processor_movements (
    object_id     TEXT PRIMARY KEY,
    org_id        UUID NOT NULL,
    -- `charge`, `refund` or `dispute`.
    kind          TEXT NOT NULL,
    currency      TEXT NOT NULL,
    -- Its effect on the processor balance, in cents (refunds and disputes negative).
    amount_cents  BIGINT NOT NULL,
    occurred_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX processor_movements_by_time ON processor_movements (occurred_at);

CREATE TABLE reconciliations (
    day           DATE PRIMARY KEY,
    ran_at        TIMESTAMPTZ NOT NULL,
    matched       BIGINT NOT NULL,
    differences   BIGINT NOT NULL,
    -- The report (JSON): totals per currency on each side and every difference.
    report        TEXT NOT NULL
);
