-- Text-message codes (Twilio Verify) as a second factor beside TOTP: the verified number,
-- and the one waiting for its first code during enrolment.
ALTER TABLE users ADD COLUMN mfa_phone TEXT;
ALTER TABLE users ADD COLUMN mfa_pending_phone TEXT;
