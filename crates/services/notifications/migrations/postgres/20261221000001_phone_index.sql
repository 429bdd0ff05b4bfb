-- Phone numbers at rest (issue 17): the numbers texts go to are sealed (`phone` and
-- `pending_phone` hold `lre1.…` values under the store's data keys) and each has its blind
-- index beside it (`bi1.…`, HMAC-SHA256 under the store's blind-index key), by which a
-- number is matched without being readable. The tables that only ever match a number —
-- its consent, its reply codes, the texts it sent — keep the index alone, in a column
-- named for it. Numbers stored before this version are sealed and indexed by the service
-- as it starts (`phones::convert`), before it serves.
ALTER TABLE nt_settings ADD COLUMN phone_index TEXT;
ALTER TABLE nt_settings ADD COLUMN pending_phone_index TEXT;
DROP INDEX nt_settings_phone;
CREATE INDEX nt_settings_phone_index ON nt_settings (phone_index);
CREATE INDEX nt_settings_pending_phone_index ON nt_settings (pending_phone_index);
ALTER TABLE nt_sms_consent RENAME COLUMN phone TO phone_index;
ALTER TABLE nt_reply_codes RENAME COLUMN phone TO phone_index;
ALTER TABLE nt_inbound RENAME COLUMN phone TO phone_index;
