-- Dual control (SOX separation of duties) on money: with it on, a payout recorded by hand,
-- a ledger entry by hand, a change of payout terms, and turning dual control off are
-- requests that a second person approves; the approval carries out the action in the same
-- transaction. Requests are never deleted: who asked, who decided, when and why stay.

-- Per organization; without a row, dual control is off.
CREATE TABLE payment_controls (
    org_id        BLOB PRIMARY KEY,
    dual_control  INTEGER NOT NULL,
    changed_by    BLOB NOT NULL,
    changed_at    TEXT NOT NULL
);

CREATE TABLE approvals (
    id            BLOB PRIMARY KEY,
    org_id        BLOB NOT NULL,
    -- payout_paid_by_hand, ledger_adjustment, payout_terms, dual_control_off
    kind          TEXT NOT NULL,
    -- The action as asked for (JSON), carried out as it is on approval.
    action        TEXT NOT NULL,
    summary       TEXT NOT NULL,
    -- pending, approved, rejected, withdrawn
    status        TEXT NOT NULL,
    requested_by  BLOB NOT NULL,
    requested_at  TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    decided_by    BLOB,
    decided_at    TEXT,
    reason        TEXT,
    -- What the approved action made (JSON: the payout, the entry).
    result        TEXT
);

CREATE INDEX approvals_by_org ON approvals (org_id, id DESC);
CREATE INDEX approvals_by_decision ON approvals (org_id, decided_at);
