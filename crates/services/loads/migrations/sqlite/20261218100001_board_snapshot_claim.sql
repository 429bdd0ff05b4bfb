-- Which instance writes the next board snapshot: one row, claimed by compare-and-set when the
-- last claim is older than the writing interval, so a deployment of many instances writes
-- one snapshot per interval rather than one per instance.
CREATE TABLE board_snapshot_claim (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    claimed_at  TEXT NOT NULL
);
