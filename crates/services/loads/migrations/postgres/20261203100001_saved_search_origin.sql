-- Where each saved search starts, so a posted load is checked only against the searches
-- whose origin circle can reach its pickup (an index range), not against every search.
-- NULL until the service has resolved the search's origin (rows saved before this column
-- are filled in at start-up; until then they are always checked).
ALTER TABLE saved_searches ADD COLUMN origin_lat DOUBLE PRECISION;
ALTER TABLE saved_searches ADD COLUMN origin_lon DOUBLE PRECISION;
CREATE INDEX saved_searches_origin ON saved_searches (origin_lat, origin_lon);
