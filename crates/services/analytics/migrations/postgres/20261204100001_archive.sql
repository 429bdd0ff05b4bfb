-- Accepted records waiting for the Parquet archive (blob store). The flusher writes a batch
-- as partitioned Parquet files and deletes exactly those rows in one transaction.
CREATE TABLE archive_queue (
    seq     BIGSERIAL PRIMARY KEY,
    -- `bookings` or `postings`: the dataset.
    kind    TEXT NOT NULL,
    -- YYYY-MM-DD (UTC) of the booking or posting: the partition.
    day     TEXT NOT NULL,
    record  JSONB NOT NULL
);
