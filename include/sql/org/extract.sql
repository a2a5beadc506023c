-- The OA directory's extraction.

-- step: active_departments
SELECT c.external_id FROM mdm.crosswalk c JOIN mdm.org_unit u ON u.org_unit_id = c.canonical_id WHERE c.entity = 'org_unit' AND c.system = %s AND u.active ORDER BY c.external_id DESC;

-- step: analyze_staging
ANALYZE staging.org_unit, staging.employee;
