-- Pushing cost centers and projects to 合思 as dimension items.
-- {table} is the canonical table (mdm.cost_center, mdm.project), {id} its id column.

-- step: candidates
WITH RECURSIVE tree AS (
    SELECT r.code, 0 AS depth FROM {table} r
     WHERE r.parent_code IS NULL OR NOT EXISTS (SELECT 1 FROM {table} p WHERE p.code = r.parent_code)
    UNION ALL
    SELECT c.code, t.depth + 1 FROM {table} c JOIN tree t ON c.parent_code = t.code WHERE t.depth < 100
)
SELECT c.{id} AS canonical_id, c.code, c.name, c.parent_code, c.active, c.updated_at,
       COALESCE(t.depth, 0) AS depth, x.external_id AS remote_id, s.erp_hash, s.expense_hash,
       o.state AS ledger_state, o.payload_hash
FROM {table} c
LEFT JOIN (SELECT code, max(depth) AS depth FROM tree GROUP BY code) t USING (code)
LEFT JOIN mdm.crosswalk x ON x.entity = %(entity)s AND x.system = 'ekuaibao' AND x.canonical_id = c.{id}
LEFT JOIN sync.chart_sync_state s ON s.entity = %(entity)s AND s.record_key = c.code
LEFT JOIN sync.outbound o ON o.target_system = 'ekuaibao' AND o.entity = %(entity)s AND o.business_key = c.code
WHERE (%(codes)s::text[] IS NULL OR c.code = ANY(%(codes)s::text[]))
  AND (%(all)s OR c.updated_at > %(since)s OR s.record_key IS NULL
       OR (o.business_key IS NOT NULL AND (o.state <> 'done' OR o.payload_hash IS NULL))
       OR EXISTS (SELECT 1 FROM sync.expense_dimension_item i
                   WHERE i.dimension_id = %(dimension)s AND i.code = c.code AND i.changed_at > %(expense_since)s))
ORDER BY depth, c.code;

-- step: newest_expense_change
SELECT max(changed_at) FROM sync.expense_dimension_item WHERE dimension_id = %s;

-- step: crosswalk_pairs
SELECT c.code, x.external_id FROM mdm.crosswalk x JOIN {table} c ON c.{id} = x.canonical_id WHERE x.entity = %s AND x.system = %s;

-- step: items_of_codes
SELECT remote_id, code, name, parent_remote_id, active FROM sync.expense_dimension_item WHERE dimension_id = %s AND code = ANY(%s);

-- step: canonical_id_of_code
SELECT {id} FROM {table} WHERE code = %s;

-- step: link
INSERT INTO mdm.crosswalk (entity, canonical_id, system, external_id) VALUES (%s, %s, %s, %s)
          ON CONFLICT (entity, canonical_id, system) DO UPDATE
             SET external_id = EXCLUDED.external_id, updated_at = now()
           WHERE mdm.crosswalk.external_id <> EXCLUDED.external_id;

-- step: reopen_if_changed
UPDATE sync.exception_item SET status = 'open'
            WHERE kind = 'conflict' AND source_system = %s AND entity = %s AND record_key = %s AND reason_code = %s
              AND status = 'deferred' AND ((record ->> 'erp_hash') IS DISTINCT FROM %s
                                           OR (record ->> 'expense_hash') IS DISTINCT FROM %s)
            RETURNING item_id;
