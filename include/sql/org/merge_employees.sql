-- Merge one OA load of people (staging.employee) into mdm.employee, after the departments of the
-- same extraction were merged. OA wins; leavers (missing from the OA, or marked not employed) are
-- deactivated, never deleted (org/leaving.sql); bad records are quarantined with their reason and the
-- rest syncs.
-- A mobile or e-mail the OA may withhold (email_src / mobile_src: the OA field it comes from, or NULL
-- when the OA never withholds it) and that a record lacks is unknown: the stored value stays.
-- Parameters: load_id, system, observed_at, email_re, mobile_re, email_src, mobile_src, org_load.

-- step: candidates
CREATE TEMP TABLE emp_in ON COMMIT DROP AS
SELECT c.*,
       COALESCE(c.name, '?') || ' (' || COALESCE(c.employee_no, 'no 工号') || '): ' || CASE c.reason
           WHEN 'mapping_error' THEN c.mapping_error
           WHEN 'unknown_department' THEN 'department ' || c.org_unit_key
           WHEN 'malformed_email' THEN 'e-mail ' || quote_literal(c.email)
           WHEN 'malformed_phone' THEN 'mobile ' || quote_literal(c.mobile)
           WHEN 'duplicate_employee_no' THEN '工号 ' || c.employee_no
           WHEN 'missing_employee_no' THEN 'no employee number'
               || COALESCE(' (no custom attribute ' || quote_literal(c.raw ->> '_employee_no_attr') || ')', '')
           ELSE c.reason
       END AS detail
FROM (
    SELECT s.source_key, s.employee_no, s.name, s.email, s.mobile, s.position_title, s.hired_on,
           COALESCE(s.active, true) AS active, s.raw, s.mapping_error, s.org_unit_key, s.manager_key,
           x.canonical_id AS employee_id, u.org_unit_id,
           (s.email IS NULL AND COALESCE(NOT (s.raw ? %(email_src)s), false)) AS email_unknown,
           (s.mobile IS NULL AND COALESCE(NOT (s.raw ? %(mobile_src)s), false)) AS mobile_unknown,
           CASE
               WHEN s.mapping_error IS NOT NULL THEN 'mapping_error'
               WHEN s.employee_no IS NULL THEN 'missing_employee_no'
               WHEN s.name IS NULL THEN 'missing_name'
               WHEN s.org_unit_key IS NULL THEN 'missing_department'
               WHEN u.org_unit_id IS NULL OR NOT u.active THEN 'unknown_department'
               WHEN count(*) OVER (PARTITION BY s.employee_no) > 1 THEN 'duplicate_employee_no'
               WHEN EXISTS (SELECT 1 FROM mdm.employee e
                             WHERE e.employee_no = s.employee_no AND e.employee_id IS DISTINCT FROM x.canonical_id)
                    THEN 'duplicate_employee_no'
               WHEN s.email IS NOT NULL AND s.email !~ %(email_re)s THEN 'malformed_email'
               WHEN s.mobile IS NOT NULL AND s.mobile !~ %(mobile_re)s THEN 'malformed_phone'
           END AS reason
    FROM staging.employee s
    LEFT JOIN mdm.crosswalk x ON x.entity = 'employee' AND x.system = %(system)s AND x.external_id = s.source_key
    LEFT JOIN mdm.crosswalk ux ON ux.entity = 'org_unit' AND ux.system = %(system)s
                               AND ux.external_id = s.org_unit_key
    LEFT JOIN mdm.org_unit u ON u.org_unit_id = ux.canonical_id
    WHERE s.load_id = %(load_id)s
) c;

-- step: index
CREATE INDEX ON emp_in (source_key);

-- step: analyze
ANALYZE emp_in;

-- step: hold
-- People the OA lists as not employed stay active while the guard holds the deactivations.
UPDATE emp_in e SET active = true
FROM mdm.employee m
WHERE m.employee_id = e.employee_id AND m.active AND NOT e.active
  AND NOT EXISTS (SELECT 1 FROM emp_leaving l WHERE l.id = m.employee_id);

-- step: positions
INSERT INTO mdm.position (title)
SELECT DISTINCT position_title FROM emp_in WHERE reason IS NULL AND position_title IS NOT NULL
ON CONFLICT (title) DO NOTHING;

-- step: insert_new
WITH inserted AS (
    INSERT INTO mdm.employee (employee_no, name, email, mobile, org_unit_id, position_id, hired_on, active,
                              source_updated_at, deactivated_at)
    SELECT e.employee_no, e.name, e.email, e.mobile, e.org_unit_id, p.position_id, e.hired_on, e.active,
           %(observed_at)s, CASE WHEN NOT e.active THEN now() END
    FROM emp_in e LEFT JOIN mdm.position p ON p.title = e.position_title
    WHERE e.reason IS NULL AND e.employee_id IS NULL
    RETURNING employee_id, employee_no
)
INSERT INTO mdm.crosswalk (entity, canonical_id, system, external_id)
SELECT 'employee', i.employee_id, %(system)s, e.source_key
FROM inserted i JOIN emp_in e ON e.employee_no = i.employee_no AND e.reason IS NULL AND e.employee_id IS NULL;

-- step: deactivate_flagged
-- The OA still lists them but says they are not employed (e.g. WeCom status 2 / 5).
UPDATE mdm.employee m
   SET employee_no = e.employee_no, name = e.name,
       email = CASE WHEN e.email_unknown THEN m.email ELSE e.email END,
       mobile = CASE WHEN e.mobile_unknown THEN m.mobile ELSE e.mobile END,
       org_unit_id = e.org_unit_id, position_id = p.position_id, hired_on = e.hired_on, active = false,
       deactivated_at = now(), source_updated_at = %(observed_at)s, updated_at = now()
FROM emp_in e LEFT JOIN mdm.position p ON p.title = e.position_title
WHERE e.reason IS NULL AND m.employee_id = e.employee_id AND m.active AND NOT e.active
  AND m.source_updated_at <= %(observed_at)s;

-- step: update_existing
UPDATE mdm.employee m
   SET employee_no = e.employee_no, name = e.name,
       email = CASE WHEN e.email_unknown THEN m.email ELSE e.email END,
       mobile = CASE WHEN e.mobile_unknown THEN m.mobile ELSE e.mobile END,
       org_unit_id = e.org_unit_id, position_id = p.position_id, hired_on = e.hired_on, active = e.active,
       deactivated_at = CASE WHEN e.active THEN NULL ELSE COALESCE(m.deactivated_at, now()) END,
       source_updated_at = %(observed_at)s, updated_at = now()
FROM emp_in e LEFT JOIN mdm.position p ON p.title = e.position_title
WHERE e.reason IS NULL AND m.employee_id = e.employee_id
  AND m.source_updated_at <= %(observed_at)s
  AND (m.employee_no, m.name, m.email, m.mobile, m.org_unit_id, m.position_id, m.hired_on, m.active)
      IS DISTINCT FROM (e.employee_no, e.name,
                        CASE WHEN e.email_unknown THEN m.email ELSE e.email END,
                        CASE WHEN e.mobile_unknown THEN m.mobile ELSE e.mobile END,
                        e.org_unit_id, p.position_id, e.hired_on, e.active);

-- step: unit_managers
-- Each department's manager (主管), by 工号: the first manager the OA names for it in this extraction
-- (DingTalk dept_manager_userid_list, WeCom department_leader), when the middle platform knows them.
UPDATE mdm.org_unit u SET manager_employee_no = n.employee_no
FROM (
    SELECT ux.canonical_id AS org_unit_id, m.employee_no
    FROM staging.org_unit s
    JOIN mdm.crosswalk ux ON ux.entity = 'org_unit' AND ux.system = %(system)s AND ux.external_id = s.source_key
    LEFT JOIN mdm.crosswalk mx ON mx.entity = 'employee' AND mx.system = %(system)s AND mx.external_id = s.manager_key
    LEFT JOIN mdm.employee m ON m.employee_id = mx.canonical_id
    WHERE s.load_id = %(org_load)s AND s.mapping_error IS NULL
) n
WHERE u.org_unit_id = n.org_unit_id AND u.manager_employee_no IS DISTINCT FROM n.employee_no;

-- step: managers
-- Each person's manager (主管), by 工号: the direct manager the OA names (DingTalk manager_userid,
-- WeCom direct_leader), else the manager of their department, else of the nearest department above
-- it, never themselves. Neither step touches updated_at (the push to 合思 reads it; 合思 holds no manager).
WITH RECURSIVE people AS (
    SELECT x.canonical_id AS employee_id, m.employee_no, m.org_unit_id, dm.employee_no AS direct
    FROM emp_in e
    JOIN mdm.crosswalk x ON x.entity = 'employee' AND x.system = %(system)s AND x.external_id = e.source_key
    JOIN mdm.employee m ON m.employee_id = x.canonical_id
    LEFT JOIN mdm.crosswalk dx ON dx.entity = 'employee' AND dx.system = %(system)s AND dx.external_id = e.manager_key
    LEFT JOIN mdm.employee dm ON dm.employee_id = dx.canonical_id AND dm.employee_id <> m.employee_id
    WHERE e.reason IS NULL
), up AS (
    SELECT p.employee_id, p.employee_no, u.org_unit_id, u.parent_id, u.manager_employee_no, 0 AS depth
    FROM people p JOIN mdm.org_unit u ON u.org_unit_id = p.org_unit_id
    WHERE p.direct IS NULL
    UNION ALL
    SELECT up.employee_id, up.employee_no, u.org_unit_id, u.parent_id, u.manager_employee_no, up.depth + 1
    FROM up JOIN mdm.org_unit u ON u.org_unit_id = up.parent_id
    WHERE (up.manager_employee_no IS NULL OR up.manager_employee_no = up.employee_no) AND up.depth < 64
), nearest AS (
    SELECT DISTINCT ON (employee_id) employee_id, manager_employee_no
    FROM up WHERE manager_employee_no IS NOT NULL AND manager_employee_no <> employee_no
    ORDER BY employee_id, depth
), resolved AS (
    SELECT p.employee_id, COALESCE(p.direct, n.manager_employee_no) AS manager
    FROM people p LEFT JOIN nearest n ON n.employee_id = p.employee_id
)
UPDATE mdm.employee m SET manager_employee_no = r.manager
FROM resolved r
WHERE m.employee_id = r.employee_id AND m.manager_employee_no IS DISTINCT FROM r.manager;
