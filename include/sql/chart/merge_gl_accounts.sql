-- Merge one ERP load of GL accounts (staging.gl_account) into mdm.gl_account. The ERP is master:
-- a clean record overwrites the canonical one unless the canonical version is newer; on a full load
-- accounts missing from it are deactivated, never deleted; malformed records are quarantined.
-- Parameters: load_id, system, full.

-- step: candidates
CREATE TEMP TABLE gl_in ON COMMIT DROP AS
SELECT s.source_key, s.code, s.name, s.parent_code, s.postable, s.account_type, s.account_class, s.active,
       s.company, s.source_updated_at, s.raw, g.gl_account_id,
       CASE
           WHEN s.mapping_error IS NOT NULL OR s.postable IS NULL OR s.active IS NULL THEN 'mapping_error'
           WHEN s.code IS NULL THEN 'missing_code'
           WHEN s.name IS NULL THEN 'missing_name'
           WHEN count(*) OVER (PARTITION BY s.code) > 1 THEN 'duplicate_code'
       END AS reason,
       COALESCE(s.name, '?') || ' (' || s.source_key || ')'
           || CASE WHEN s.mapping_error IS NOT NULL THEN ': ' || s.mapping_error ELSE '' END AS detail
FROM staging.gl_account s
LEFT JOIN mdm.gl_account g ON g.code = s.code
WHERE s.load_id = %(load_id)s;

-- step: index
CREATE INDEX ON gl_in (code);

-- step: analyze
ANALYZE gl_in;

-- step: insert_new
INSERT INTO mdm.gl_account (code, name, parent_code, postable, account_type, account_class, active, company,
                            source_system, source_updated_at, deactivated_at)
SELECT code, name, parent_code, postable, account_type, account_class, active, company,
       %(system)s, source_updated_at, CASE WHEN active THEN NULL ELSE now() END
FROM gl_in WHERE reason IS NULL AND gl_account_id IS NULL;

-- step: update_existing
UPDATE mdm.gl_account g
   SET name = i.name, parent_code = i.parent_code, postable = i.postable, account_type = i.account_type,
       account_class = i.account_class, active = i.active, company = i.company, source_system = %(system)s,
       source_updated_at = COALESCE(i.source_updated_at, g.source_updated_at), updated_at = now(),
       deactivated_at = CASE WHEN i.active THEN NULL ELSE COALESCE(g.deactivated_at, now()) END
FROM gl_in i
WHERE i.reason IS NULL AND g.gl_account_id = i.gl_account_id
  AND (i.source_updated_at IS NULL OR g.source_updated_at IS NULL OR i.source_updated_at >= g.source_updated_at)
  AND (g.name, g.parent_code, g.postable, g.account_type, g.account_class, g.active, g.company, g.source_system)
      IS DISTINCT FROM (i.name, i.parent_code, i.postable, i.account_type, i.account_class, i.active, i.company,
                        %(system)s::text);

-- step: deactivate_missing
UPDATE mdm.gl_account g SET active = false, deactivated_at = now(), updated_at = now()
WHERE %(full)s AND g.active AND NOT EXISTS (SELECT 1 FROM gl_in i WHERE i.code = g.code);
