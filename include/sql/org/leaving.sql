-- The active departments and people one OA extraction deactivates: those it no longer lists and
-- (people) those it lists as not employed. Staged before the merge applies anything, so that the
-- guard (org/guard.py) can hold them all when they are too many; a person's approval deactivates
-- the held ones later through the same statements.
-- Parameters: system, org_load, emp_load, observed_at (staging); unit_ids, employee_ids (approved).

-- step: units
CREATE TEMP TABLE org_leaving ON COMMIT DROP AS
SELECT u.org_unit_id AS id, u.code AS key
FROM mdm.org_unit u
JOIN mdm.crosswalk c ON c.entity = 'org_unit' AND c.system = %(system)s AND c.canonical_id = u.org_unit_id
WHERE u.active AND u.source_updated_at <= %(observed_at)s
  AND NOT EXISTS (SELECT 1 FROM staging.org_unit s WHERE s.load_id = %(org_load)s AND s.source_key = c.external_id);

-- step: employees
CREATE TEMP TABLE emp_leaving ON COMMIT DROP AS
SELECT m.employee_id AS id, m.employee_no AS key
FROM mdm.employee m
JOIN mdm.crosswalk c ON c.entity = 'employee' AND c.system = %(system)s AND c.canonical_id = m.employee_id
WHERE m.active AND m.source_updated_at <= %(observed_at)s
  AND NOT EXISTS (SELECT 1 FROM staging.employee s
                   WHERE s.load_id = %(emp_load)s AND s.source_key = c.external_id AND s.active IS NOT FALSE);

-- step: approved_units
CREATE TEMP TABLE org_leaving ON COMMIT DROP AS
SELECT org_unit_id AS id, code AS key FROM mdm.org_unit WHERE org_unit_id = ANY(%(unit_ids)s::bigint[]);

-- step: approved_employees
CREATE TEMP TABLE emp_leaving ON COMMIT DROP AS
SELECT employee_id AS id, employee_no AS key FROM mdm.employee WHERE employee_id = ANY(%(employee_ids)s::bigint[]);

-- step: hold
TRUNCATE org_leaving, emp_leaving;

-- step: deactivate_units
UPDATE mdm.org_unit u SET active = false, deactivated_at = now(), source_updated_at = %(observed_at)s,
       updated_at = now()
FROM org_leaving l
WHERE u.org_unit_id = l.id AND u.active AND u.source_updated_at <= %(observed_at)s;

-- step: deactivate_employees
UPDATE mdm.employee m SET active = false, deactivated_at = now(), source_updated_at = %(observed_at)s,
       updated_at = now()
FROM emp_leaving l
WHERE m.employee_id = l.id AND m.active AND m.source_updated_at <= %(observed_at)s;
