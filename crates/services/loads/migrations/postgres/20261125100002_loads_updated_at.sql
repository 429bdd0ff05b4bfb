-- The board's catch-up after a rebuild reads loads changed since the rebuild began.
CREATE INDEX loads_updated ON loads (updated_at);
