-- Invoices issued by the payment service (payments.invoice_issued.v1), waiting for their
-- PDF: the sweep renders each once and attaches it to the load.
CREATE TABLE doc_invoices (
    invoice_id  BLOB PRIMARY KEY,
    load_id     BLOB NOT NULL REFERENCES doc_loads (load_id),
    org_id      BLOB NOT NULL,
    -- The event's payload (JSON): what the invoice says.
    payload     TEXT NOT NULL,
    generated   BOOLEAN NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX doc_invoices_due ON doc_invoices (generated);
