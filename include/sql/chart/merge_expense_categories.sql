-- Merge one ERP load of expense items (staging.expense_category) into mdm.expense_category: the
-- rules of merge_gl_accounts.sql. Whether a category's GL account exists and can be posted to is
-- judged later (reconcile_categories and the erp_chart health check), not here.
-- Parameters: load_id, system, full.

-- step: candidates
CREATE TEMP TABLE category_in ON COMMIT DROP AS
SELECT s.source_key, s.code, s.name, s.parent_code, s.gl_account_code, s.active, s.company, s.source_updated_at,
       s.raw, c.expense_category_id,
       CASE
           WHEN s.mapping_error IS NOT NULL OR s.active IS NULL THEN 'mapping_error'
           WHEN s.code IS NULL THEN 'missing_code'
           WHEN s.name IS NULL THEN 'missing_name'
           WHEN count(*) OVER (PARTITION BY s.code) > 1 THEN 'duplicate_code'
       END AS reason,
       COALESCE(s.name, '?') || ' (' || s.source_key || ')'
           || CASE WHEN s.mapping_error IS NOT NULL THEN ': ' || s.mapping_error ELSE '' END AS detail
FROM staging.expense_category s
LEFT JOIN mdm.expense_category c ON c.code = s.code
WHERE s.load_id = %(load_id)s;

-- step: index
CREATE INDEX ON category_in (code);

-- step: analyze
ANALYZE category_in;

-- step: insert_new
INSERT INTO mdm.expense_category (code, name, parent_code, gl_account_code, active, company, source_system,
                                  source_updated_at, deactivated_at)
SELECT code, name, parent_code, gl_account_code, active, company, %(system)s, source_updated_at,
       CASE WHEN active THEN NULL ELSE now() END
FROM category_in WHERE reason IS NULL AND expense_category_id IS NULL;

-- step: update_existing
UPDATE mdm.expense_category c
   SET name = i.name, parent_code = i.parent_code, gl_account_code = i.gl_account_code, active = i.active,
       company = i.company, source_system = %(system)s,
       source_updated_at = COALESCE(i.source_updated_at, c.source_updated_at), updated_at = now(),
       deactivated_at = CASE WHEN i.active THEN NULL ELSE COALESCE(c.deactivated_at, now()) END
FROM category_in i
WHERE i.reason IS NULL AND c.expense_category_id = i.expense_category_id
  AND (i.source_updated_at IS NULL OR c.source_updated_at IS NULL OR i.source_updated_at >= c.source_updated_at)
  AND (c.name, c.parent_code, c.gl_account_code, c.active, c.company, c.source_system)
      IS DISTINCT FROM (i.name, i.parent_code, i.gl_account_code, i.active, i.company, %(system)s::text);

-- step: deactivate_missing
UPDATE mdm.expense_category c SET active = false, deactivated_at = now(), updated_at = now()
WHERE %(full)s AND c.active AND NOT EXISTS (SELECT 1 FROM category_in i WHERE i.code = c.code);
