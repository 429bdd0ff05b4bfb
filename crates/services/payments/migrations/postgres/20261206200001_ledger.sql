-- The payment service's ledger: double entry in integer cents. Every journal entry's
-- postings sum to zero in each currency (debits positive, credits negative), so the sum of
-- every balance is zero. Entries are never updated or deleted: a mistake is reversed by
-- another entry.

CREATE TABLE ledger_entries (
    id           UUID PRIMARY KEY,
    org_id       UUID NOT NULL,
    -- invoice_issued | payment_received | fee | carrier_payable | transfer | payout |
    -- refund | dispute | adjustment
    kind         TEXT NOT NULL,
    -- What the entry records, unique per organization (an invoice number, a Stripe event
    -- id): recording it twice records it once.
    reference    TEXT NOT NULL,
    memo         TEXT,
    occurred_at  TIMESTAMPTZ NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL,
    recorded_by  UUID,
    UNIQUE (org_id, reference)
);

CREATE TABLE ledger_postings (
    entry_id      UUID NOT NULL REFERENCES ledger_entries (id),
    seq           INTEGER NOT NULL,
    org_id        UUID NOT NULL,
    account       TEXT NOT NULL,
    currency      TEXT NOT NULL,
    amount_cents  BIGINT NOT NULL,
    PRIMARY KEY (entry_id, seq)
);
CREATE INDEX ledger_postings_by_account ON ledger_postings (org_id, account, currency);

-- Each account's balance, kept in the entry's transaction by an atomic increment.
CREATE TABLE ledger_balances (
    org_id         UUID NOT NULL,
    account        TEXT NOT NULL,
    currency       TEXT NOT NULL,
    balance_cents  BIGINT NOT NULL,
    postings       BIGINT NOT NULL,
    PRIMARY KEY (org_id, account, currency)
);
