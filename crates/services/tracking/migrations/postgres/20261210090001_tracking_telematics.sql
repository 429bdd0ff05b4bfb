-- Telematics providers (Motive): the account a carrier connected, by the shared secret its
-- webhooks are signed with, and the truck on each load as that provider names it, so a
-- provider's position finds the loads its vehicle hauls.

CREATE TABLE tracking_providers (
    org_id      UUID NOT NULL,
    -- motive
    provider    TEXT NOT NULL,
    secret      TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, provider)
);

ALTER TABLE tracked_loads ADD COLUMN vehicle_provider TEXT;
ALTER TABLE tracked_loads ADD COLUMN vehicle_ref TEXT;
CREATE INDEX tracked_by_vehicle ON tracked_loads (carrier_org_id, vehicle_provider, vehicle_ref);
