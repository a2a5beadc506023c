-- The OA directory's extraction.

-- step: active_departments
SELECT c.external_id FROM mdm.crosswalk c JOIN mdm.org_unit u ON u.org_unit_id = c.canonical_id WHERE c.entity = 'org_unit' AND c.system = %s AND u.active ORDER BY c.external_id DESC;

-- step: listed_managers
-- Departments' managers named by the members listing (the hook's listed_managers), for the departments
-- of this load whose own record named none; the merge's unit_managers step reads manager_key.
UPDATE staging.org_unit s SET manager_key = m.manager_key
FROM unnest(%(keys)s::text[], %(managers)s::text[]) AS m(source_key, manager_key)
WHERE s.load_id = %(load)s AND s.source_key = m.source_key AND s.manager_key IS NULL AND s.mapping_error IS NULL;

-- step: analyze_staging
ANALYZE staging.org_unit, staging.employee;
