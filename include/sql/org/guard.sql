-- The mass-deactivation guard of the org sync.

-- step: leaving_org_unit
SELECT COALESCE(array_agg(id ORDER BY key), '{}'), COALESCE(array_agg(key ORDER BY key), '{}'), count(*) FROM org_leaving;

-- step: leaving_employee
SELECT COALESCE(array_agg(id ORDER BY key), '{}'), COALESCE(array_agg(key ORDER BY key), '{}'), count(*) FROM emp_leaving;

-- step: active_org_unit
SELECT count(*) FROM mdm.org_unit u JOIN mdm.crosswalk c ON c.entity = 'org_unit' AND c.system = %s AND c.canonical_id = u.org_unit_id WHERE u.active;

-- step: active_employee
SELECT count(*) FROM mdm.employee m JOIN mdm.crosswalk c ON c.entity = 'employee' AND c.system = %s AND c.canonical_id = m.employee_id WHERE m.active;

-- step: open_item
SELECT item_id, record, status FROM sync.exception_item
 WHERE kind = 'conflict' AND source_system = %s AND entity = %s AND record_key = %s AND reason_code = %s
   AND status <> 'resolved';

-- step: questions
SELECT item_id, source_system, reason, record FROM sync.exception_item WHERE kind = 'conflict' AND entity = %s AND reason_code = %s AND status <> 'resolved' ORDER BY item_id;

-- step: take_item
SELECT status, record FROM sync.exception_item WHERE item_id = %s FOR UPDATE;
