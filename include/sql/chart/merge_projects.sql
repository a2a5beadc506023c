-- Merge one ERP load of projects (staging.project) into mdm.project: the rules of merge_gl_accounts.sql.
-- Parameters: load_id, system, full.

-- step: candidates
CREATE TEMP TABLE project_in ON COMMIT DROP AS
SELECT s.source_key, s.code, s.name, s.parent_code, s.company, s.valid_from, s.valid_to, s.active,
       s.source_updated_at, s.raw, p.project_id,
       CASE
           WHEN s.mapping_error IS NOT NULL OR s.active IS NULL THEN 'mapping_error'
           WHEN s.code IS NULL THEN 'missing_code'
           WHEN s.name IS NULL THEN 'missing_name'
           WHEN count(*) OVER (PARTITION BY s.code) > 1 THEN 'duplicate_code'
       END AS reason,
       COALESCE(s.name, '?') || ' (' || s.source_key || ')'
           || CASE WHEN s.mapping_error IS NOT NULL THEN ': ' || s.mapping_error ELSE '' END AS detail
FROM staging.project s
LEFT JOIN mdm.project p ON p.code = s.code
WHERE s.load_id = %(load_id)s;

-- step: index
CREATE INDEX ON project_in (code);

-- step: analyze
ANALYZE project_in;

-- step: insert_new
INSERT INTO mdm.project (code, name, parent_code, company, valid_from, valid_to, active, source_system,
                         source_updated_at, deactivated_at)
SELECT code, name, parent_code, company, valid_from, valid_to, active, %(system)s, source_updated_at,
       CASE WHEN active THEN NULL ELSE now() END
FROM project_in WHERE reason IS NULL AND project_id IS NULL;

-- step: update_existing
UPDATE mdm.project p
   SET name = i.name, parent_code = i.parent_code, company = i.company, valid_from = i.valid_from,
       valid_to = i.valid_to, active = i.active, source_system = %(system)s,
       source_updated_at = COALESCE(i.source_updated_at, p.source_updated_at), updated_at = now(),
       deactivated_at = CASE WHEN i.active THEN NULL ELSE COALESCE(p.deactivated_at, now()) END
FROM project_in i
WHERE i.reason IS NULL AND p.project_id = i.project_id
  AND (i.source_updated_at IS NULL OR p.source_updated_at IS NULL OR i.source_updated_at >= p.source_updated_at)
  AND (p.name, p.parent_code, p.company, p.valid_from, p.valid_to, p.active, p.source_system)
      IS DISTINCT FROM (i.name, i.parent_code, i.company, i.valid_from, i.valid_to, i.active, %(system)s::text);

-- step: deactivate_missing
UPDATE mdm.project p SET active = false, deactivated_at = now(), updated_at = now()
WHERE %(full)s AND p.active AND NOT EXISTS (SELECT 1 FROM project_in i WHERE i.code = p.code);
