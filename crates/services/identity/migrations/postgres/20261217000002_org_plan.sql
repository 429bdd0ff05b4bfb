-- The plan an organization is on (the gateway's `http.plans`: its limits and daily quota);
-- none: the default limits. Set by operators (`lanerunner org plan`).
ALTER TABLE organizations ADD COLUMN plan TEXT;
