-- The org merge's housekeeping.

-- step: analyze_canonical
ANALYZE {table}, mdm.crosswalk;
