-- The approval matrix: the ERP's cost-center holders kept, the matrix derived into a new version
-- when its content changed, and the approvers that changed between two versions.

-- step: lock
-- One derivation at a time (two runs deriving at once would both take the next version number).
SELECT pg_advisory_xact_lock(8734502);

-- step: upsert_holder
INSERT INTO mdm.cost_center_holder AS h (cost_center, company, owner, budget_controller, source_system)
VALUES (%(cost_center)s, %(company)s, %(owner)s, %(budget_controller)s, %(source_system)s)
ON CONFLICT (cost_center) DO UPDATE
   SET company = EXCLUDED.company, owner = EXCLUDED.owner, budget_controller = EXCLUDED.budget_controller,
       source_system = EXCLUDED.source_system, updated_at = now()
 WHERE (h.company, h.owner, h.budget_controller, h.source_system)
       IS DISTINCT FROM (EXCLUDED.company, EXCLUDED.owner, EXCLUDED.budget_controller, EXCLUDED.source_system);

-- step: vacate_unlisted
-- The ERP's listing is complete: a cost center it no longer names holders for has none.
UPDATE mdm.cost_center_holder
   SET owner = NULL, budget_controller = NULL, source_system = %(source_system)s, updated_at = now()
 WHERE NOT (cost_center = ANY(%(listed)s)) AND (owner IS NOT NULL OR budget_controller IS NOT NULL);

-- step: cost_centers
-- Every active cost center with whoever holds its roles (none: the chain is incomplete).
SELECT c.code, COALESCE(h.company, c.company) AS company, h.owner, h.budget_controller
FROM mdm.cost_center c
LEFT JOIN mdm.cost_center_holder h ON h.cost_center = c.code
WHERE c.active
ORDER BY c.code;

-- step: latest
SELECT version, content_hash FROM mdm.approval_matrix_version ORDER BY version DESC LIMIT 1;

-- step: new_version
INSERT INTO mdm.approval_matrix_version (version, run_key, content_hash, row_count, cost_centers, vacant)
VALUES (%(version)s, %(run_key)s, %(content_hash)s, %(row_count)s, %(cost_centers)s, %(vacant)s);

-- step: copy_rows
-- The new version's rows, streamed (COPY): a matrix is cost centers × categories × band steps.
COPY mdm.approval_matrix (version, company, cost_center, category, band_low, band_high, seq, role,
                          approver_employee_no, rule) FROM STDIN;

-- step: changed
-- Per cost center and role held by a named person: who held it in old_version and in new_version,
-- where that differs (a role only one of the versions has shows NULL on the other side).
WITH o AS (
    SELECT DISTINCT cost_center, role, approver_employee_no AS approver
    FROM mdm.approval_matrix WHERE version = %(old)s AND rule IS NULL
), n AS (
    SELECT DISTINCT cost_center, role, approver_employee_no AS approver
    FROM mdm.approval_matrix WHERE version = %(new)s AND rule IS NULL
)
SELECT COALESCE(n.cost_center, o.cost_center) AS cost_center, COALESCE(n.role, o.role) AS role,
       o.approver AS old_approver, n.approver AS new_approver
FROM o FULL JOIN n ON n.cost_center = o.cost_center AND n.role = o.role
WHERE o.approver IS DISTINCT FROM n.approver
ORDER BY 1, 2;

-- step: record_changes
INSERT INTO mdm.approval_matrix_change (new_version, old_version, cost_center, role, old_approver, new_approver)
VALUES (%(new)s, %(old)s, %(cost_center)s, %(role)s, %(old_approver)s, %(new_approver)s);

-- step: changes_of
SELECT cost_center, role, old_approver, new_approver FROM mdm.approval_matrix_change
WHERE new_version = %(new)s ORDER BY cost_center, role;
