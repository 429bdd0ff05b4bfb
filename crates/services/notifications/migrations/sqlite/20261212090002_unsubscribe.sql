-- One-click unsubscribe links (RFC 8058) in notification emails: one token per person and
-- scope (a kind of news, or `digest`). A token can only turn email off, so it is kept as
-- sent, and the same link serves every email of its scope.
CREATE TABLE nt_unsubscribe (
    user_id     BLOB NOT NULL,
    org_id      BLOB NOT NULL,
    scope       TEXT NOT NULL,
    token       TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (user_id, scope)
);
