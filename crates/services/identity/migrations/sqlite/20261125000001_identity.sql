CREATE TABLE organizations (
    id            BLOB PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('broker', 'carrier', 'shipper')),
    name          TEXT NOT NULL,
    mc_number     TEXT,
    usdot_number  TEXT,
    require_mfa   BOOLEAN NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE TABLE users (
    id                 BLOB PRIMARY KEY,
    org_id             BLOB NOT NULL REFERENCES organizations (id),
    email              TEXT NOT NULL UNIQUE,
    name               TEXT NOT NULL,
    role               TEXT NOT NULL,
    active             BOOLEAN NOT NULL DEFAULT 1,
    password_hash      TEXT NOT NULL,
    email_verified_at  TEXT,
    mfa_secret         TEXT,
    mfa_pending_secret TEXT,
    mfa_last_step      INTEGER,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);
CREATE INDEX users_org ON users (org_id, id);

CREATE TABLE recovery_codes (
    user_id    BLOB NOT NULL REFERENCES users (id),
    code_hash  TEXT NOT NULL,
    used_at    TEXT,
    PRIMARY KEY (user_id, code_hash)
);

-- A session is one login; its refresh tokens form a family rotated on every use.
CREATE TABLE sessions (
    id           BLOB PRIMARY KEY,
    user_id      BLOB NOT NULL REFERENCES users (id),
    org_id       BLOB NOT NULL,
    mfa          BOOLEAN NOT NULL,
    client_addr  TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    revoked_at   TEXT,
    revoked_reason TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE refresh_tokens (
    token_hash  TEXT PRIMARY KEY,
    session_id  BLOB NOT NULL REFERENCES sessions (id),
    issued_at   TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    rotated_at  TEXT
);

CREATE TABLE one_time_tokens (
    token_hash  TEXT PRIMARY KEY,
    purpose     TEXT NOT NULL,
    user_id     BLOB NOT NULL REFERENCES users (id),
    expires_at  TEXT NOT NULL,
    used_at     TEXT
);

CREATE TABLE invitations (
    id          BLOB PRIMARY KEY,
    org_id      BLOB NOT NULL REFERENCES organizations (id),
    email       TEXT NOT NULL,
    role        TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    invited_by  BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    accepted_at TEXT,
    revoked_at  TEXT
);
CREATE INDEX invitations_org ON invitations (org_id, id);

CREATE TABLE api_keys (
    id           BLOB PRIMARY KEY,
    org_id       BLOB NOT NULL REFERENCES organizations (id),
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    key_hash     TEXT NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    role         TEXT NOT NULL,
    created_by   BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT,
    last_used_at TEXT,
    revoked_at   TEXT
);
CREATE INDEX api_keys_org ON api_keys (org_id, id);

CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    pkcs8_der   BLOB NOT NULL,
    public_key  BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);

-- Security-relevant actions: who, what, when, from where, and whether it worked.
CREATE TABLE audit_events (
    id           BLOB PRIMARY KEY,
    org_id       BLOB,
    actor_id     BLOB,
    action       TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    target_id    BLOB,
    client_addr  TEXT NOT NULL,
    detail       TEXT NOT NULL,
    occurred_at  TEXT NOT NULL
);
CREATE INDEX audit_events_org ON audit_events (org_id, id);
