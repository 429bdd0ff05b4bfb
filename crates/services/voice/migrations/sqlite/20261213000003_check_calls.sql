-- Check calls: what the voice service keeps of a load once it is booked and on the road.
-- The carrier that hauls it (load.booked.v1), when it started moving (its status), and
-- its latest position (tracking.updated.v1): a load moving without a recent position gets
-- a call to the carrier's dispatch number.
ALTER TABLE vc_loads ADD COLUMN carrier_org_id BLOB;
ALTER TABLE vc_loads ADD COLUMN moving_since TEXT;
ALTER TABLE vc_loads ADD COLUMN last_position_at TEXT;
-- When the last check call about the load was placed: claimed by compare-and-set, so two
-- instances sweeping at once place one call.
ALTER TABLE vc_loads ADD COLUMN check_called_at TEXT;
CREATE INDEX vc_loads_status ON vc_loads (status);
