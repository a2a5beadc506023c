-- The approval matrix in the auditors' pack (expense_sync.monthend.pack).

-- step: in_force
-- The matrix in force at the end of the period: the last version derived before the next month began
-- (Asia/Shanghai), one row per step (parameters: period).
SELECT m.version, v.derived_at, m.company, m.cost_center, COALESCE(m.category, '(any)') AS category,
       m.band_low, m.band_high, m.seq, m.role,
       COALESCE(m.approver_employee_no,
                CASE m.rule WHEN 'submitter_manager' THEN '(the submitter''s manager)' END, '(vacant)') AS approver,
       e.name AS approver_name, e.active AS approver_active
FROM mdm.approval_matrix m
JOIN mdm.approval_matrix_version v USING (version)
LEFT JOIN mdm.employee e ON e.employee_no = m.approver_employee_no
WHERE m.version = (
    SELECT max(version) FROM mdm.approval_matrix_version
    WHERE derived_at < ((%(period)s || '-01')::date + interval '1 month')::timestamp AT TIME ZONE 'Asia/Shanghai'
)
ORDER BY m.cost_center, COALESCE(m.category, ''), m.band_low, m.seq
