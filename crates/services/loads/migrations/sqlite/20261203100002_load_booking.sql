-- What a covered load was booked at: the carrier (when on LaneRunner) and the agreed
-- all-in rate. Set by the cover transition; kept afterwards (cancelled loads included).
ALTER TABLE loads ADD COLUMN carrier_org_id BLOB;
ALTER TABLE loads ADD COLUMN booked_rate_cents INTEGER;
ALTER TABLE loads ADD COLUMN booked_at TEXT;
