-- What 合思 holds, as last read: its fee types (a full snapshot each run; 合思 is their master) and
-- the cost center and project items changed since the last read. Rows are written only when they
-- differ, so an unchanged 合思 leaves these tables untouched.
-- Parameters: load_id.

-- step: fee_types
INSERT INTO mdm.fee_type AS f (remote_id, code, name, parent_remote_id, active)
SELECT source_key, code, COALESCE(name, source_key), parent_key, COALESCE(active, false)
FROM staging.fee_type WHERE load_id = %(load_id)s AND mapping_error IS NULL
ON CONFLICT (remote_id) DO UPDATE
   SET code = EXCLUDED.code, name = EXCLUDED.name, parent_remote_id = EXCLUDED.parent_remote_id,
       active = EXCLUDED.active, updated_at = now()
 WHERE (f.code, f.name, f.parent_remote_id, f.active)
       IS DISTINCT FROM (EXCLUDED.code, EXCLUDED.name, EXCLUDED.parent_remote_id, EXCLUDED.active);

-- step: fee_types_gone
UPDATE mdm.fee_type f SET active = false, updated_at = now()
WHERE f.active AND NOT EXISTS (SELECT 1 FROM staging.fee_type s
                                WHERE s.load_id = %(load_id)s AND s.source_key = f.remote_id);

-- step: dimension_items
INSERT INTO sync.expense_dimension_item AS d
    (remote_id, dimension_id, code, name, parent_remote_id, active, remote_updated_at)
SELECT source_key, dimension_id, code, name, parent_key, active, remote_updated_at
FROM staging.dimension_item WHERE load_id = %(load_id)s AND mapping_error IS NULL
ON CONFLICT (remote_id) DO UPDATE
   SET dimension_id = EXCLUDED.dimension_id, code = EXCLUDED.code, name = EXCLUDED.name,
       parent_remote_id = EXCLUDED.parent_remote_id, active = EXCLUDED.active,
       remote_updated_at = EXCLUDED.remote_updated_at, changed_at = now()
 WHERE (d.dimension_id, d.code, d.name, d.parent_remote_id, d.active)
       IS DISTINCT FROM (EXCLUDED.dimension_id, EXCLUDED.code, EXCLUDED.name, EXCLUDED.parent_remote_id,
                         EXCLUDED.active);

-- step: newest_update
SELECT max(raw->>'updateTime'), max(remote_updated_at) FROM staging.dimension_item WHERE load_id = %s;
