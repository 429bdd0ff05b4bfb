-- A member erased by identity (identity.user_erased): their row stays, emptied, so a late
-- redelivery of their registration cannot bring the email back.
ALTER TABLE nt_members ADD COLUMN erased_at TEXT;
