-- Merge one ERP load of cost centers (staging.cost_center) into mdm.cost_center: the rules of
-- merge_gl_accounts.sql. SAP has no change time on cost centers, so every SAP load is full and the
-- comparison below is what keeps an unchanged cost center from being written.
-- Parameters: load_id, system, full.

-- step: candidates
CREATE TEMP TABLE cost_center_in ON COMMIT DROP AS
SELECT s.source_key, s.code, s.name, s.parent_code, s.owner_unit, s.company, s.valid_from, s.valid_to, s.active,
       s.source_updated_at, s.raw, c.cost_center_id,
       CASE
           WHEN s.mapping_error IS NOT NULL OR s.active IS NULL THEN 'mapping_error'
           WHEN s.code IS NULL THEN 'missing_code'
           WHEN s.name IS NULL THEN 'missing_name'
           WHEN count(*) OVER (PARTITION BY s.code) > 1 THEN 'duplicate_code'
       END AS reason,
       COALESCE(s.name, '?') || ' (' || s.source_key || ')'
           || CASE WHEN s.mapping_error IS NOT NULL THEN ': ' || s.mapping_error ELSE '' END AS detail
FROM staging.cost_center s
LEFT JOIN mdm.cost_center c ON c.code = s.code
WHERE s.load_id = %(load_id)s;

-- step: index
CREATE INDEX ON cost_center_in (code);

-- step: analyze
ANALYZE cost_center_in;

-- step: insert_new
INSERT INTO mdm.cost_center (code, name, parent_code, owner_unit, company, valid_from, valid_to, active,
                             source_system, source_updated_at, deactivated_at)
SELECT code, name, parent_code, owner_unit, company, valid_from, valid_to, active, %(system)s, source_updated_at,
       CASE WHEN active THEN NULL ELSE now() END
FROM cost_center_in WHERE reason IS NULL AND cost_center_id IS NULL;

-- step: update_existing
UPDATE mdm.cost_center c
   SET name = i.name, parent_code = i.parent_code, owner_unit = i.owner_unit, company = i.company,
       valid_from = i.valid_from, valid_to = i.valid_to, active = i.active, source_system = %(system)s,
       source_updated_at = COALESCE(i.source_updated_at, c.source_updated_at), updated_at = now(),
       deactivated_at = CASE WHEN i.active THEN NULL ELSE COALESCE(c.deactivated_at, now()) END
FROM cost_center_in i
WHERE i.reason IS NULL AND c.cost_center_id = i.cost_center_id
  AND (i.source_updated_at IS NULL OR c.source_updated_at IS NULL OR i.source_updated_at >= c.source_updated_at)
  AND (c.name, c.parent_code, c.owner_unit, c.company, c.valid_from, c.valid_to, c.active, c.source_system)
      IS DISTINCT FROM (i.name, i.parent_code, i.owner_unit, i.company, i.valid_from, i.valid_to, i.active,
                        %(system)s::text);

-- step: deactivate_missing
UPDATE mdm.cost_center c SET active = false, deactivated_at = now(), updated_at = now()
WHERE %(full)s AND c.active AND NOT EXISTS (SELECT 1 FROM cost_center_in i WHERE i.code = c.code);
