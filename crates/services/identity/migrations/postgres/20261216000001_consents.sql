-- GDPR consent records: what a person agreed to (or withdrew), which version of the text,
-- when and from where. Append-only: the current state of a purpose is its newest record.
CREATE TABLE consents (
    id           UUID PRIMARY KEY,
    org_id       UUID NOT NULL,
    user_id      UUID NOT NULL REFERENCES users (id),
    -- terms, privacy_notice, marketing_email
    purpose      TEXT NOT NULL,
    version      TEXT NOT NULL,
    granted      BOOLEAN NOT NULL,
    client_addr  TEXT NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX consents_by_user ON consents (org_id, user_id, recorded_at);
