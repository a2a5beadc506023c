-- Approval flows (expense_sync.approvals.route): one row per version of a 合思 document waiting at
-- our E-Bot node. Every call to the OA and to 合思 is in sync.outbound (the exactly-once ledger).

-- step: see
-- A document version waiting at the node; a version seen before changes nothing (positional).
INSERT INTO fin.approval_flow (business_key, flow_id, doc_code, kind, doc_version, node_id, staff_id, employee_no,
                               company, cost_center, project, category, amount, currency, oa_vendor)
VALUES (%(business_key)s, %(flow_id)s, %(code)s, %(kind)s, %(version)s, %(node_id)s, %(staff_id)s, %(employee_no)s,
        %(company)s, %(cost_center)s, %(project)s, %(category)s, %(amount)s, %(currency)s, %(oa_vendor)s)
ON CONFLICT (business_key) DO UPDATE
   SET node_id = EXCLUDED.node_id,  -- what the org or chart sync did not know when first seen, known now
       employee_no = COALESCE(fin.approval_flow.employee_no, EXCLUDED.employee_no),
       cost_center = COALESCE(fin.approval_flow.cost_center, EXCLUDED.cost_center),
       project = COALESCE(fin.approval_flow.project, EXCLUDED.project),
       category = COALESCE(fin.approval_flow.category, EXCLUDED.category)
RETURNING approval_id, state, (xmax = 0) AS inserted;

-- step: supersede
-- Older versions of a document whose new version waits now: no longer to be decided.
UPDATE fin.approval_flow SET state = 'superseded', updated_at = now()
 WHERE flow_id = %(flow_id)s AND business_key <> %(business_key)s
   AND state IN ('pending', 'held', 'running', 'approved', 'rejected')
RETURNING approval_id, doc_code, instance_id, state;

-- step: employee_no
-- The 工号 of a 合思 staff, through the org sync's crosswalk.
SELECT e.employee_no FROM mdm.crosswalk x JOIN mdm.employee e ON e.employee_id = x.canonical_id
 WHERE x.entity = 'employee' AND x.system = 'ekuaibao' AND x.external_id = %s;

-- step: to_prepare
SELECT approval_id, business_key, kind, doc_code, employee_no, company, cost_center, project, category, amount,
       currency, created_at
  FROM fin.approval_flow
 WHERE instance_id IS NULL AND (state = 'held' OR (state = 'pending' AND nodes IS NULL))
   -- an instance the OA refused is requested again only once a person resolved its queue item
   AND NOT (state = 'held' AND reason_code = 'oa_refused_instance' AND EXISTS (
            SELECT 1 FROM sync.exception_item i
             WHERE i.entity = 'approval' AND i.record_key = fin.approval_flow.doc_code
               AND i.reason_code = 'oa_refused_instance' AND i.status <> 'resolved'))
 ORDER BY approval_id;

-- step: oa_users
-- The OA user id of each 工号 (active employees only), for one OA.
SELECT e.employee_no, x.external_id FROM mdm.employee e
  JOIN mdm.crosswalk x ON x.entity = 'employee' AND x.system = %(system)s AND x.canonical_id = e.employee_id
 WHERE e.employee_no = ANY(%(nos)s) AND e.active;

-- step: oa_department
-- The OA department id of an employee's org unit.
SELECT x.external_id FROM mdm.employee e
  JOIN mdm.crosswalk x ON x.entity = 'org_unit' AND x.system = %(system)s AND x.canonical_id = e.org_unit_id
 WHERE e.employee_no = %(no)s;

-- step: hold
UPDATE fin.approval_flow SET state = 'held', reason_code = %(reason)s, updated_at = now()
 WHERE approval_id = %(id)s AND state IN ('pending', 'held');

-- step: ready
UPDATE fin.approval_flow
   SET state = 'pending', reason_code = NULL, nodes = %(nodes)s::jsonb, matrix_version = %(matrix_version)s,
       over_budget = %(over_budget)s, updated_at = now()
 WHERE approval_id = %(id)s AND state IN ('pending', 'held');

-- step: to_request
SELECT approval_id, business_key, doc_code, kind, employee_no, amount, currency, cost_center, project, category,
       nodes, created_at
  FROM fin.approval_flow WHERE state = 'pending' AND nodes IS NOT NULL AND instance_id IS NULL
 ORDER BY approval_id;

-- step: requested
UPDATE fin.approval_flow SET instance_id = %(instance)s, state = 'running', updated_at = now()
 WHERE business_key = %(key)s AND instance_id IS NULL;

-- step: request_refused
UPDATE fin.approval_flow SET state = 'held', reason_code = 'oa_refused_instance', updated_at = now()
 WHERE business_key = %(key)s
RETURNING doc_code;

-- step: running
SELECT approval_id, business_key, flow_id, doc_code, instance_id, nodes, employee_no, company, cost_center,
       category, amount, over_budget, matrix_version, staff_id
  FROM fin.approval_flow WHERE state = 'running' AND oa_vendor = %s
 ORDER BY approval_id;

-- step: by_instance
-- Which of these OA instance ids are approval flows of ours.
SELECT instance_id FROM fin.approval_flow WHERE oa_vendor = %s AND instance_id = ANY(%s);

-- step: decided
UPDATE fin.approval_flow
   SET state = %(state)s, decision = %(decision)s, decided_by = %(by)s, comment = %(comment)s, updated_at = now()
 WHERE approval_id = %(id)s AND state = 'running';

-- step: conflict
UPDATE fin.approval_flow SET state = 'conflict', reason_code = %(reason)s, updated_at = now()
 WHERE approval_id = %(id)s AND state IN ('running', 'approved', 'rejected');

-- step: to_apply
SELECT approval_id, business_key, flow_id, doc_code, node_id, doc_version, decision, COALESCE(comment, '')
  FROM fin.approval_flow WHERE state IN ('approved', 'rejected')
 ORDER BY approval_id;

-- step: applied
UPDATE fin.approval_flow SET state = 'applied', updated_at = now()
 WHERE business_key = %s AND state IN ('approved', 'rejected');

-- step: employee_of_oa_user
SELECT e.employee_no, e.active FROM mdm.crosswalk x JOIN mdm.employee e ON e.employee_id = x.canonical_id
 WHERE x.entity = 'employee' AND x.system = %s AND x.external_id = %s;

-- step: reassigned
INSERT INTO fin.approval_reassignment (approval_id, task_id, role, from_user, to_user, reason, outcome, detail,
                                       matrix_version)
VALUES (%(id)s, %(task)s, %(role)s, %(from)s, %(to)s, %(reason)s, %(outcome)s, %(detail)s, %(matrix_version)s)
ON CONFLICT (approval_id, task_id, from_user) DO UPDATE
   SET to_user = EXCLUDED.to_user, outcome = EXCLUDED.outcome, detail = EXCLUDED.detail, at = now();

-- step: counts
SELECT state, count(*) FROM fin.approval_flow GROUP BY state ORDER BY state;

-- step: of_key
SELECT approval_id, doc_code FROM fin.approval_flow WHERE business_key = %s;

-- step: ledger_payload
SELECT payload FROM sync.outbound WHERE target_system = %s AND entity = %s AND business_key = %s;

-- step: ledger_state
SELECT state FROM sync.outbound WHERE target_system = %s AND entity = %s AND business_key = %s;

-- step: codes
-- 合思's dimension items and fee type of a document → the middle platform's cost center, project and
-- expense category codes (the chart sync's crosswalk and mapping, as the claims' validation reads
-- them); NULL where unknown.
SELECT (SELECT k.code FROM mdm.crosswalk x JOIN mdm.cost_center k ON k.cost_center_id = x.canonical_id
         WHERE x.entity = 'cost_center' AND x.system = 'ekuaibao' AND x.external_id = %(cc)s LIMIT 1),
       (SELECT k.code FROM mdm.crosswalk x JOIN mdm.project k ON k.project_id = x.canonical_id
         WHERE x.entity = 'project' AND x.system = 'ekuaibao' AND x.external_id = %(pj)s LIMIT 1),
       (SELECT ec.code FROM mdm.fee_type f
          JOIN mdm.category_fee_type m ON m.fee_type_id = f.fee_type_id AND m.state IN ('mapped', 'kept')
          JOIN mdm.expense_category ec ON ec.expense_category_id = m.expense_category_id AND ec.active
         WHERE f.remote_id = %(fee)s ORDER BY ec.code LIMIT 1);
