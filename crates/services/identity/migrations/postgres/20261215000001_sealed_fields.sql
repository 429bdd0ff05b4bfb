-- TOTP secrets, phones and token signing keys are sealed (crate::sealing in the platform):
-- the columns keep their type and hold `lre1.…` values; the sweep seals what is still in
-- the clear. The phone's last four digits stay readable for display (as a card's do).
ALTER TABLE users ADD COLUMN mfa_phone_last4 TEXT;
UPDATE users SET mfa_phone_last4 = right(mfa_phone, 4) WHERE mfa_phone IS NOT NULL;
-- The private key, sealed (base64 of its PKCS#8 document inside); `pkcs8_der` is emptied
-- once it is.
ALTER TABLE signing_keys ADD COLUMN private_key TEXT;
