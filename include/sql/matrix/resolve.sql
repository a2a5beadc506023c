-- The resolver: the steps of the matrix in force that apply to one document, and the people in them.

-- step: in_force
SELECT max(version) FROM mdm.approval_matrix_version;

-- step: chain
-- The steps for the cost center, amount band and category; rows for the document's own category
-- win over the rows for any category.
WITH candidates AS (
    SELECT m.*, rank() OVER (ORDER BY (m.category IS NULL)) AS pick
    FROM mdm.approval_matrix m
    WHERE m.version = %(version)s AND m.cost_center = %(cost_center)s
      AND (m.company IS NULL OR %(company)s::text IS NULL OR m.company = %(company)s)
      AND (m.category IS NULL OR m.category = %(category)s)
      AND m.band_low < %(amount)s AND (m.band_high IS NULL OR %(amount)s <= m.band_high)
)
SELECT seq, role, approver_employee_no, rule FROM candidates WHERE pick = 1 ORDER BY seq;

-- step: director
-- Who holds 总监 for the cost center in this version, whatever the band (over budget adds them).
SELECT DISTINCT approver_employee_no FROM mdm.approval_matrix
WHERE version = %(version)s AND cost_center = %(cost_center)s AND role = '总监';

-- step: employee
SELECT employee_no, active, manager_employee_no FROM mdm.employee WHERE employee_no = %(employee_no)s;
