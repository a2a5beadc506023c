-- Pushing the org delta to 合思.

-- step: units
WITH RECURSIVE tree AS (
    SELECT org_unit_id, 0 AS depth FROM mdm.org_unit WHERE parent_id IS NULL
    UNION ALL
    SELECT c.org_unit_id, t.depth + 1 FROM mdm.org_unit c JOIN tree t ON c.parent_id = t.org_unit_id
)
SELECT u.org_unit_id, u.code, u.name, u.sort_order, u.active, u.parent_id, t.depth, u.updated_at,
       o.state, o.payload_hash, o.payload
FROM mdm.org_unit u
JOIN tree t USING (org_unit_id)
LEFT JOIN sync.outbound o ON o.target_system = 'ekuaibao' AND o.entity = 'org_unit' AND o.business_key = u.code
WHERE %(full)s OR u.updated_at > %(since)s OR o.business_key IS NULL OR o.state <> 'done'
   OR o.payload_hash IS NULL
ORDER BY t.depth, u.code;

-- step: employees
SELECT e.employee_id, e.employee_no, e.name, e.email, e.mobile, e.org_unit_id, p.title AS position_title,
       e.active, e.updated_at, o.state, o.payload_hash, o.payload
FROM mdm.employee e
LEFT JOIN mdm.position p USING (position_id)
LEFT JOIN sync.outbound o ON o.target_system = 'ekuaibao' AND o.entity = 'employee'
                          AND o.business_key = e.employee_no
WHERE %(full)s OR e.updated_at > %(since)s OR o.business_key IS NULL OR o.state <> 'done'
   OR o.payload_hash IS NULL
ORDER BY e.employee_no;

-- step: crosswalk
SELECT canonical_id, external_id FROM mdm.crosswalk WHERE entity = %s AND system = %s;

-- step: link
INSERT INTO mdm.crosswalk (entity, canonical_id, system, external_id)
               SELECT %s, c, %s, r FROM unnest(%s::bigint[], %s::text[]) AS t(c, r)
               ON CONFLICT (entity, canonical_id, system) DO UPDATE
                  SET external_id = EXCLUDED.external_id, updated_at = now();

-- step: analyze_ledger
ANALYZE sync.outbound, mdm.crosswalk;

-- step: roots
SELECT org_unit_id FROM mdm.org_unit WHERE parent_id IS NULL;

-- step: ids_by_key
SELECT {key}, {id} FROM {table} WHERE {key} = ANY(%s);

-- step: oa_read
-- Whether the newest OA listing of people can name leavers: it was merged, it identified everyone it
-- listed (no person without a 工号, no record that failed to map), and the deactivation guard holds
-- nothing (a hold means the listing looked partial). Also its load id.
SELECT l.status = 'merged'
       AND NOT EXISTS (SELECT 1 FROM staging.employee s
                        WHERE s.load_id = l.load_id AND (s.employee_no IS NULL OR s.mapping_error IS NOT NULL))
       AND NOT EXISTS (SELECT 1 FROM sync.exception_item i
                        WHERE i.kind = 'conflict' AND i.entity = 'directory' AND i.record_key = 'deactivations'
                          AND i.reason_code = 'mass_deactivation' AND i.status <> 'resolved'),
       l.load_id
FROM sync.load l
WHERE l.entity = 'employee' AND l.source_system <> 'ekuaibao'
ORDER BY l.load_id DESC
LIMIT 1;

-- step: ekuaibao_only
-- Of 合思's staff codes, those the OA does not know at all: no canonical person (active or not) and
-- nobody in the newest OA listing (a quarantined person is known).
SELECT code FROM unnest(%(codes)s::text[]) AS code
WHERE NOT EXISTS (SELECT 1 FROM mdm.employee e WHERE e.employee_no = code)
  AND NOT EXISTS (SELECT 1 FROM staging.employee s WHERE s.load_id = %(load_id)s AND s.employee_no = code);

-- step: unconfirm
-- 合思 was found to differ from what the ledger says it holds (a hand edit): the ledger no longer
-- vouches for the record, so the correction is written even though our wanted state did not change.
UPDATE sync.outbound SET payload_hash = NULL
WHERE target_system = 'ekuaibao' AND entity = %s AND business_key = %s AND state = 'done';

-- step: active_people
SELECT count(*) FROM mdm.employee WHERE active;
