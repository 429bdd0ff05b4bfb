-- When a delivery was first leased: a later lease of a text means an earlier attempt's
-- outcome was never recorded (its answer was lost, or recording it failed), so the
-- provider is asked whether it took the message before it is sent again.
ALTER TABLE nt_deliveries ADD COLUMN first_claimed_ms BIGINT;
