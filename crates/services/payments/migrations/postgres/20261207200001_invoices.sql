-- Invoices and the processor's events. A load may be invoiced once its paperwork is
-- complete (documents.checklist_completed.v1, kept in pay_loads); each invoice is paid
-- through the payment processor (a PaymentIntent) or recorded as paid by hand; every
-- movement is also a ledger entry, recorded in the same transaction.

CREATE TABLE pay_loads (
    load_id             UUID PRIMARY KEY,
    broker_org_id       UUID NOT NULL,
    carrier_org_id      UUID,
    reference           TEXT NOT NULL,
    carrier_rate_cents  BIGINT NOT NULL,
    completed_at        TIMESTAMPTZ NOT NULL
);

CREATE TABLE invoices (
    id                   UUID PRIMARY KEY,
    org_id               UUID NOT NULL,
    load_id              UUID NOT NULL,
    number               TEXT NOT NULL,
    customer_name        TEXT NOT NULL,
    customer_email       TEXT NOT NULL,
    currency             TEXT NOT NULL,
    -- The lines as sent (JSON: description and amount in cents).
    lines                TEXT NOT NULL,
    amount_cents         BIGINT NOT NULL,
    paid_cents           BIGINT NOT NULL DEFAULT 0,
    refunded_cents       BIGINT NOT NULL DEFAULT 0,
    disputed_cents       BIGINT NOT NULL DEFAULT 0,
    failed_attempts      INTEGER NOT NULL DEFAULT 0,
    last_failure         TEXT,
    issued_at            TIMESTAMPTZ NOT NULL,
    due_at               TIMESTAMPTZ NOT NULL,
    paid_at              TIMESTAMPTZ,
    -- The processor's payment (a Stripe PaymentIntent) and the secret the client confirms it with.
    processor            TEXT,
    processor_intent_id  TEXT UNIQUE,
    client_secret        TEXT,
    idempotency_key      TEXT,
    -- SHA-256 of the request that created it: a replay must be the same request.
    request_hash         TEXT NOT NULL,
    created_by           UUID NOT NULL,
    UNIQUE (org_id, load_id),
    UNIQUE (org_id, number),
    UNIQUE (org_id, idempotency_key)
);
CREATE INDEX invoices_by_org ON invoices (org_id, id);

-- Every processor event received with a valid signature, once (its id is the key).
CREATE TABLE processor_events (
    event_id     TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL,
    -- What applying it did: applied, ignored, unknown-payment, already-paid...
    outcome      TEXT NOT NULL,
    invoice_id   UUID
);
