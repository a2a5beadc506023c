-- The chart merge's watermark: the newest ERP change time of a load.

-- step: newest_change
SELECT max(source_updated_at) FROM {table} WHERE load_id = %s;
