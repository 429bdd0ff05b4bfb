-- The notifications service's store: who is in each organization (from identity's events),
-- what each person wants told and how, the notices themselves (the in-app list), each
-- email or text to send, and the phone numbers' consent and reply codes.

-- Members, projected from identity.user_* events.
CREATE TABLE nt_members (
    user_id     UUID PRIMARY KEY,
    org_id      UUID NOT NULL,
    email       TEXT NOT NULL,
    role        TEXT NOT NULL,
    active      BOOLEAN NOT NULL
);
CREATE INDEX nt_members_org ON nt_members (org_id, active);

-- A person's settings: quiet hours in their time zone, the digest interval, and the
-- mobile number texts go to once verified (`pending_phone` while a code is out).
CREATE TABLE nt_settings (
    user_id            UUID PRIMARY KEY,
    org_id             UUID NOT NULL,
    time_zone          TEXT NOT NULL,
    quiet_start        TEXT,
    quiet_end          TEXT,
    digest_minutes     INTEGER NOT NULL,
    phone              TEXT,
    phone_verified_at  TIMESTAMPTZ,
    pending_phone      TEXT,
    updated_at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX nt_settings_phone ON nt_settings (phone);

-- A person's choice for one kind of news on one channel (absent: the default).
CREATE TABLE nt_preferences (
    user_id  UUID NOT NULL,
    org_id   UUID NOT NULL,
    kind     TEXT NOT NULL,
    channel  TEXT NOT NULL,
    mode     TEXT NOT NULL,
    PRIMARY KEY (user_id, kind, channel)
);

-- The in-app list. One notice per person and dedupe key, however often its event comes.
CREATE TABLE nt_notifications (
    id          UUID PRIMARY KEY,
    org_id      UUID NOT NULL,
    user_id     UUID NOT NULL,
    kind        TEXT NOT NULL,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    link        TEXT NOT NULL,
    event_id    UUID NOT NULL,
    dedupe_key  TEXT NOT NULL,
    -- Whether it shows in the list (the person may want it by email or text only).
    in_app      BOOLEAN NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    read_at     TIMESTAMPTZ,
    UNIQUE (user_id, dedupe_key)
);
CREATE INDEX nt_notifications_list ON nt_notifications (user_id, in_app, id);
CREATE INDEX nt_notifications_unread ON nt_notifications (user_id, read_at);

-- An email or a text to send for a notice: now, after quiet hours, or in the next digest.
-- Times the dispatcher compares are epoch milliseconds.
CREATE TABLE nt_deliveries (
    id               UUID PRIMARY KEY,
    org_id           UUID NOT NULL,
    user_id          UUID NOT NULL,
    notification_id  UUID NOT NULL,
    channel          TEXT NOT NULL,
    -- `immediate` or `digest`.
    mode             TEXT NOT NULL,
    -- `pending`, `sent`, `delivered`, `failed`, `skipped`.
    status           TEXT NOT NULL,
    due_ms           BIGINT NOT NULL,
    lease_until_ms   BIGINT,
    lease_token      UUID,
    attempts         INTEGER NOT NULL,
    last_error       TEXT,
    -- The provider's id: the Twilio message SID, or the email's message id.
    provider_ref     TEXT,
    -- The digest a gathered delivery went out in.
    digest_id        UUID,
    -- The code a text's offer is taken with ("YES 4821").
    reply_code       TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    sent_at          TIMESTAMPTZ,
    UNIQUE (notification_id, channel)
);
CREATE INDEX nt_deliveries_due ON nt_deliveries (status, due_ms);
CREATE INDEX nt_deliveries_person ON nt_deliveries (user_id, channel, status, mode);
CREATE INDEX nt_deliveries_sent ON nt_deliveries (user_id, channel, sent_at);
CREATE INDEX nt_deliveries_provider ON nt_deliveries (provider_ref);
CREATE INDEX nt_deliveries_lease ON nt_deliveries (lease_token);

-- A phone number's consent, recorded from its STOP and START replies (and from the
-- provider refusing it as opted out).
CREATE TABLE nt_sms_consent (
    phone       TEXT PRIMARY KEY,
    opted_out   BOOLEAN NOT NULL,
    keyword     TEXT NOT NULL,
    changed_at  TIMESTAMPTZ NOT NULL
);

-- What a texted offer's code takes, for the number it was sent to.
CREATE TABLE nt_reply_codes (
    phone           TEXT NOT NULL,
    code            TEXT NOT NULL,
    org_id          UUID NOT NULL,
    user_id         UUID NOT NULL,
    negotiation_id  UUID NOT NULL,
    offer_seq       BIGINT NOT NULL,
    total_cents     BIGINT NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL,
    used_at         TIMESTAMPTZ,
    PRIMARY KEY (phone, code)
);

-- Every inbound text, once (the provider retries a webhook it thinks failed).
CREATE TABLE nt_inbound (
    message_sid  TEXT PRIMARY KEY,
    phone        TEXT NOT NULL,
    body         TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL
);
