-- The flood check counts a person's immediate messages on a channel in the last hour: by
-- this index it reads only those rows, and no more of them than the limit.
CREATE INDEX nt_deliveries_recent ON nt_deliveries (user_id, channel, mode, created_at);
