-- LaneRunner's operators: the people who run the deployment (they change an organization's
-- plan under dual control, `lanerunner org plan`). Each proves who they are with a code
-- from their own authenticator app, so one person cannot act under two names. The secret
-- is sealed (identity's data keys, bound to the name); the last step a code was accepted
-- at refuses a replayed code. Retired operators are kept (the audit trail names them).
CREATE TABLE operators (
    -- The name as enrolled; looked up ignoring case.
    name         TEXT NOT NULL,
    name_key     TEXT PRIMARY KEY,
    totp_secret  TEXT NOT NULL,
    last_step    BIGINT,
    enrolled_at  TIMESTAMPTZ NOT NULL,
    retired_at   TIMESTAMPTZ
);
