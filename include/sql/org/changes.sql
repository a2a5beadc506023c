-- The OA directory read by its contact-change events (expense_sync.org.changes).

-- step: baseline
-- The newest word of the OA on one entity: the last load landed or merged (a landed load not merged
-- yet, e.g. a run whose merge failed, is newer than the merged one and already holds its events).
SELECT load_id FROM sync.load
 WHERE source_system = %s AND entity = %s AND status IN ('landed', 'merged')
 ORDER BY load_id DESC LIMIT 1;

-- step: baseline_departments
-- The departments of the baseline load and their managers (keys as landed).
SELECT source_key, manager_key FROM staging.org_unit WHERE load_id = %s;

-- step: baseline_size
SELECT count(*) FROM staging.org_unit WHERE load_id = %s;

-- step: carry_forward
-- The baseline's rows the events did not name, copied into the new load: together with the records
-- read now they are the whole directory, as a full listing would land it. A key marked as listed twice
-- (``key#dupN``) goes with its key.
INSERT INTO {table} ({columns})
SELECT %(load)s, {carried}
  FROM {table} b
 WHERE b.load_id = %(base)s
   AND split_part(b.source_key, '#dup', 1) <> ALL(%(skip)s::text[])
   AND NOT EXISTS (SELECT 1 FROM {table} n WHERE n.load_id = %(load)s AND n.source_key = b.source_key);

-- step: count_landed
UPDATE sync.load SET row_count = (SELECT count(*) FROM {table} WHERE load_id = %(load)s)
 WHERE load_id = %(load)s
RETURNING row_count;
