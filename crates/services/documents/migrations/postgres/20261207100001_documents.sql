-- The documents service's store: what it knows of the loads it does paperwork for (from
-- the loads service's events), the parties' names (identity, carriers), each
-- organization's template, every document attached to a load, and the signatures on them.
-- Documents' bytes are files of the storage service (encrypted at rest there).

-- Organizations' names and, for carriers, their authority numbers: for letterheads.
CREATE TABLE doc_parties (
    org_id        UUID PRIMARY KEY,
    kind          TEXT,
    name          TEXT,
    usdot_number  BIGINT,
    mc_number     BIGINT
);

-- A booked load: its terms as booked (`load.booked.v1`), its status since.
CREATE TABLE doc_loads (
    load_id                 UUID PRIMARY KEY,
    broker_org_id           UUID NOT NULL,
    carrier_org_id          UUID,
    reference               TEXT NOT NULL,
    rate_cents              BIGINT NOT NULL,
    booked_at               TIMESTAMPTZ NOT NULL,
    status                  TEXT NOT NULL,
    delivered_at            TIMESTAMPTZ,
    -- The load's public terms as booked (stops, equipment, commodity...), JSON.
    terms                   TEXT NOT NULL,
    -- The rate confirmation and bill of lading are still to be generated.
    generation_due          BOOLEAN NOT NULL,
    generation_attempts     INTEGER NOT NULL DEFAULT 0,
    -- Set once, when every required document is present (`documents.checklist_completed.v1`).
    checklist_completed_at  TIMESTAMPTZ
);
CREATE INDEX doc_loads_by_broker ON doc_loads (broker_org_id, load_id);
CREATE INDEX doc_loads_by_carrier ON doc_loads (carrier_org_id, load_id);
CREATE INDEX doc_loads_generation_due ON doc_loads (generation_due) WHERE generation_due;

-- An organization's letterhead and standing terms.
CREATE TABLE doc_templates (
    org_id                   UUID PRIMARY KEY,
    legal_name               TEXT,
    address                  TEXT,
    phone                    TEXT,
    email                    TEXT,
    rate_confirmation_terms  TEXT,
    invoice_terms            TEXT,
    logo                     BYTEA,
    updated_at               TIMESTAMPTZ NOT NULL,
    updated_by               UUID NOT NULL
);

CREATE TABLE documents (
    id              UUID PRIMARY KEY,
    load_id         UUID NOT NULL REFERENCES doc_loads (load_id),
    kind            TEXT NOT NULL,
    -- `generated`, `uploaded` or `signed` (a generated document with its signatures).
    origin          TEXT NOT NULL,
    -- The storage service's file, and the organization it belongs to there.
    file_id         UUID NOT NULL,
    file_org_id     UUID NOT NULL,
    name            TEXT NOT NULL,
    content_type    TEXT NOT NULL,
    size_bytes      BIGINT NOT NULL,
    -- SHA-256 of the bytes, hex: what a signature names and a copy is checked against.
    sha256          TEXT NOT NULL,
    -- For a signed version: the document whose content was signed.
    signs           UUID REFERENCES documents (id),
    -- What a generated document was rendered from (JSON), so its signed version renders
    -- the same content with the signatures under it.
    model           TEXT,
    note            TEXT,
    created_by      UUID NOT NULL,
    created_by_org  UUID NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX documents_by_load ON documents (load_id, id);
CREATE INDEX documents_by_sha256 ON documents (sha256);

CREATE TABLE document_signatures (
    id              UUID PRIMARY KEY,
    -- The document signed (a generated one), and the signed version made for it.
    document_id     UUID NOT NULL REFERENCES documents (id),
    signed_version  UUID NOT NULL REFERENCES documents (id),
    -- `broker` or `carrier`: each side signs a document once.
    party           TEXT NOT NULL,
    org_id          UUID NOT NULL,
    user_id         UUID NOT NULL,
    signer_name     TEXT NOT NULL,
    signer_title    TEXT,
    signed_at       TIMESTAMPTZ NOT NULL,
    ip              TEXT NOT NULL,
    user_agent      TEXT,
    -- The SHA-256 of the document as the signer saw it.
    document_sha256 TEXT NOT NULL,
    UNIQUE (document_id, party)
);
