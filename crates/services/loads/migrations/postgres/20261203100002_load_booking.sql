-- What a covered load was booked at: the carrier (when on LaneRunner) and the agreed
-- all-in rate. Set by the cover transition; kept afterwards (cancelled loads included).
ALTER TABLE loads ADD COLUMN carrier_org_id UUID;
ALTER TABLE loads ADD COLUMN booked_rate_cents BIGINT;
ALTER TABLE loads ADD COLUMN booked_at TIMESTAMPTZ;
