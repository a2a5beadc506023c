-- Merge one OA load of departments (staging.org_unit) into mdm.org_unit. OA is master ("OA wins"):
-- a clean record overwrites the canonical one unless the canonical version is newer; departments
-- missing from the load are deactivated, never deleted (org/leaving.sql); bad records are quarantined,
-- the rest syncs.
-- Parameters: load_id, system, observed_at.

-- step: candidates
CREATE TEMP TABLE org_in ON COMMIT DROP AS
SELECT s.source_key, s.code, s.name, s.parent_key, COALESCE(s.sort_order, 0) AS sort_order, s.raw,
       x.canonical_id AS org_unit_id,
       CASE
           WHEN s.mapping_error IS NOT NULL THEN 'mapping_error'
           WHEN s.name IS NULL THEN 'missing_name'
           WHEN s.code IS NULL THEN 'missing_code'
           WHEN s.parent_key = s.source_key THEN 'self_parent'
           WHEN count(*) OVER (PARTITION BY s.code) > 1 THEN 'duplicate_code'
           WHEN EXISTS (SELECT 1 FROM mdm.org_unit o
                         WHERE o.code = s.code AND o.org_unit_id IS DISTINCT FROM x.canonical_id) THEN 'code_taken'
           WHEN s.parent_key IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM staging.org_unit p WHERE p.load_id = s.load_id AND p.source_key = s.parent_key)
                THEN 'unknown_parent'
       END AS reason,
       COALESCE(s.name, '?') || ' (' || s.source_key || ')'
           || CASE WHEN s.mapping_error IS NOT NULL THEN ': ' || s.mapping_error ELSE '' END AS detail
FROM staging.org_unit s
LEFT JOIN mdm.crosswalk x ON x.entity = 'org_unit' AND x.system = %(system)s AND x.external_id = s.source_key
WHERE s.load_id = %(load_id)s;

-- step: index
CREATE INDEX ON org_in (source_key);

-- step: analyze
-- Temporary tables get no statistics from autovacuum: without them the planner takes the load for
-- one row and joins it with nested loops, which is quadratic on a large directory.
ANALYZE org_in;

-- step: orphans
-- A department is only taken when the root reaches it through clean departments: children of a
-- quarantined department, and departments in a cycle, are quarantined too.
WITH RECURSIVE reachable AS (
    SELECT source_key FROM org_in WHERE parent_key IS NULL AND reason IS NULL
    UNION
    SELECT c.source_key FROM org_in c JOIN reachable r ON c.parent_key = r.source_key WHERE c.reason IS NULL
)
UPDATE org_in SET reason = 'orphaned'
 WHERE reason IS NULL AND source_key NOT IN (SELECT source_key FROM reachable);

-- step: insert_new
WITH inserted AS (
    INSERT INTO mdm.org_unit (code, name, sort_order, source_updated_at)
    SELECT code, name, sort_order, %(observed_at)s FROM org_in WHERE reason IS NULL AND org_unit_id IS NULL
    RETURNING org_unit_id, code
)
INSERT INTO mdm.crosswalk (entity, canonical_id, system, external_id)
SELECT 'org_unit', i.org_unit_id, %(system)s, o.source_key
FROM inserted i JOIN org_in o ON o.code = i.code AND o.reason IS NULL AND o.org_unit_id IS NULL;

-- step: link_new
UPDATE mdm.org_unit u SET parent_id = p.canonical_id
FROM org_in o
JOIN mdm.crosswalk c ON c.entity = 'org_unit' AND c.system = %(system)s AND c.external_id = o.source_key
LEFT JOIN mdm.crosswalk p ON p.entity = 'org_unit' AND p.system = %(system)s AND p.external_id = o.parent_key
WHERE o.reason IS NULL AND o.org_unit_id IS NULL AND u.org_unit_id = c.canonical_id;

-- step: update_existing
UPDATE mdm.org_unit u
   SET code = o.code, name = o.name, sort_order = o.sort_order, parent_id = p.canonical_id,
       active = true, deactivated_at = NULL, source_updated_at = %(observed_at)s, updated_at = now()
FROM org_in o
LEFT JOIN mdm.crosswalk p ON p.entity = 'org_unit' AND p.system = %(system)s AND p.external_id = o.parent_key
WHERE o.reason IS NULL AND u.org_unit_id = o.org_unit_id
  AND u.source_updated_at <= %(observed_at)s
  AND (u.code, u.name, u.sort_order, u.parent_id, u.active)
      IS DISTINCT FROM (o.code, o.name, o.sort_order, p.canonical_id, true);
