-- The land -> merge pipeline's load bookkeeping.

-- step: new_load
INSERT INTO sync.load (source_system, entity, run_key, extracted_at) VALUES (%s, %s, %s, %s) RETURNING load_id;

-- step: mark_landed
UPDATE sync.load SET status = 'landed', landed_at = now(), row_count = %s WHERE load_id = %s;

-- step: previous_merged
SELECT max(load_id) FROM sync.load WHERE source_system = %s AND entity = %s AND status = 'merged' AND load_id < %s;

-- step: fields_per_load
SELECT load_id, array_agg(DISTINCT k) FROM {table}, jsonb_object_keys(raw) AS k WHERE load_id = ANY(%s) GROUP BY load_id;

-- step: take_for_merge
SELECT source_system, extracted_at, status FROM sync.load WHERE load_id = %s FOR UPDATE;

-- step: supersede
UPDATE sync.load SET status = 'superseded' WHERE load_id = %s;

-- step: mark_merged
UPDATE sync.load SET status = 'merged', merged_at = now() WHERE load_id = %s;

-- step: prune
DELETE FROM sync.load WHERE source_system = %s AND entity = %s AND load_id < (
               SELECT min(load_id) FROM (SELECT load_id FROM sync.load
                                          WHERE source_system = %s AND entity = %s AND status = 'merged'
                                          ORDER BY load_id DESC LIMIT %s) newest);

-- step: count_rows
SELECT count(*) FROM {table};
