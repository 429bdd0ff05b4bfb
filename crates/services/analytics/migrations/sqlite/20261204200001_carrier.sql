-- The carrier each load was booked to, for the broker's carrier scorecard. Loads booked
-- before this column existed keep NULL and are left out of the scorecard.
ALTER TABLE broker_loads ADD COLUMN carrier_org_id BLOB;
