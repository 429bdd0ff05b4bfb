-- Carrier payouts. When a load's paperwork is complete its carrier is offered the
-- broker's terms (standard: paid N days later, free; quick pay: paid now for a fee); the
-- payout is sent through the processor (a transfer to the carrier's connected account,
-- then a payout to its bank) or recorded as paid by hand. Every movement is a ledger
-- entry on both sides, recorded in the same transaction as the payout's change.

-- A broker's terms; without a row, the configured defaults (payments.payouts).
CREATE TABLE payout_terms (
    org_id             UUID PRIMARY KEY,
    standard_days      BIGINT NOT NULL,
    -- NULL: quick pay is not offered.
    quick_pay_fee_bps  BIGINT,
    updated_at         TIMESTAMPTZ NOT NULL,
    updated_by         UUID NOT NULL
);

-- A carrier's account with the processor (a Stripe Express account).
CREATE TABLE payee_accounts (
    org_id         UUID PRIMARY KEY,
    processor      TEXT NOT NULL,
    account_id     TEXT NOT NULL UNIQUE,
    -- onboarding, ready, restricted
    status         TEXT NOT NULL,
    -- What the processor still needs, comma-separated.
    currently_due  TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE payouts (
    id                   UUID PRIMARY KEY,
    load_id              UUID NOT NULL UNIQUE,
    payer_org_id         UUID NOT NULL,
    payee_org_id         UUID NOT NULL,
    reference            TEXT NOT NULL,
    currency             TEXT NOT NULL,
    amount_cents         BIGINT NOT NULL,
    -- The terms as offered (a broker changing its terms later changes no offer).
    standard_days        BIGINT NOT NULL,
    quick_pay_fee_bps    BIGINT,
    completed_at         TIMESTAMPTZ NOT NULL,
    -- offered, scheduled, sending, transferred, paid
    status               TEXT NOT NULL,
    -- standard, quick_pay; NULL while offered (standard applies when it falls due)
    choice               TEXT,
    fee_cents            BIGINT NOT NULL DEFAULT 0,
    due_at               TIMESTAMPTZ NOT NULL,
    chosen_at            TIMESTAMPTZ,
    chosen_by            UUID,
    -- The processor's transfer and payout; or the bank reference of a payout made by hand.
    transfer_id          TEXT,
    processor_payout_id  TEXT UNIQUE,
    manual_reference     TEXT,
    transfer_attempts    INTEGER NOT NULL DEFAULT 0,
    payout_attempts      INTEGER NOT NULL DEFAULT 0,
    last_failure         TEXT,
    next_attempt_at      TIMESTAMPTZ,
    claimed_at           TIMESTAMPTZ,
    transferred_at       TIMESTAMPTZ,
    paid_at              TIMESTAMPTZ,
    created_at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX payouts_by_payer ON payouts (payer_org_id, id);
CREATE INDEX payouts_by_payee ON payouts (payee_org_id, id);
CREATE INDEX payouts_due ON payouts (status, due_at);
