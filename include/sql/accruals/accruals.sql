-- Travel bookings and their accruals (expense_sync.accruals). Positional parameters unless a step
-- says otherwise.

-- step: land
-- Insert a booking, or bring a known one in step (named). A new content (hash) is a new version and
-- makes the accrual pending again, unless the trip's claim reversed it already (then nothing more
-- happens to it). RETURNING whether it was inserted and whether its content changed.
INSERT INTO fin.accrual AS a (order_id, booking_state, booking_hash, requisition_code, staff_id, employee_no,
                              company, cost_center, project, category, amount, currency, booked_at, raw)
VALUES (%(order_id)s, %(state)s, %(hash)s, %(requisition)s, %(staff_id)s, %(employee_no)s, %(company)s,
        %(cost_center)s, %(project)s, %(category)s, %(amount)s, %(currency)s, %(booked_at)s, %(raw)s::jsonb)
ON CONFLICT (order_id) DO UPDATE SET
    booking_version = a.booking_version + (a.booking_hash <> EXCLUDED.booking_hash)::int,
    booking_state = EXCLUDED.booking_state, booking_hash = EXCLUDED.booking_hash,
    requisition_code = EXCLUDED.requisition_code, staff_id = EXCLUDED.staff_id,
    employee_no = EXCLUDED.employee_no, company = EXCLUDED.company, cost_center = EXCLUDED.cost_center,
    project = EXCLUDED.project, category = EXCLUDED.category, amount = EXCLUDED.amount,
    currency = EXCLUDED.currency, booked_at = EXCLUDED.booked_at, raw = EXCLUDED.raw,
    state = CASE WHEN a.state = 'reversed' THEN a.state ELSE 'pending' END,
    updated_at = now()
WHERE a.booking_hash <> EXCLUDED.booking_hash AND a.state <> 'reversed'
RETURNING (xmax = 0) AS inserted;

-- step: todo
-- The accruals to (re)consider: landed or changed, and those held for bad input.
SELECT accrual_id, order_id FROM fin.accrual WHERE state IN ('pending', 'invalid') ORDER BY accrual_id;

-- step: accrual
-- One accrual as the engine needs it (positional: accrual_id).
SELECT accrual_id, order_id, booking_version, booking_state, requisition_code, staff_id, employee_no, company,
       cost_center, project, category, amount, currency, booked_at, state
  FROM fin.accrual WHERE accrual_id = %s;

-- step: employee
-- The 工号 and activity of the traveller: by 合思 staff id through the org sync's crosswalk, else by 工号.
SELECT e.employee_no, e.active FROM mdm.employee e
 WHERE e.employee_id IN (SELECT x.canonical_id FROM mdm.crosswalk x
                          WHERE x.entity = 'employee' AND x.system = 'ekuaibao' AND x.external_id = %(staff)s)
    OR e.employee_no = %(no)s
 ORDER BY (e.employee_no = %(no)s) DESC LIMIT 1;

-- step: cost_center
-- A cost center by its canonical code, else by its 合思 dimension item id (positional: the value twice).
SELECT k.code, k.active FROM mdm.cost_center k
 WHERE k.code = %s
    OR k.cost_center_id IN (SELECT x.canonical_id FROM mdm.crosswalk x
                             WHERE x.entity = 'cost_center' AND x.system = 'ekuaibao' AND x.external_id = %s)
 LIMIT 1;

-- step: requisition
-- The trip's application (申请单) as approval_events routed it, by its code: its submitter's 工号, its
-- cost center and project (canonical codes), the latest version.
SELECT employee_no, cost_center, project FROM fin.approval_flow
 WHERE doc_code = %s AND kind = 'requisition'
 ORDER BY approval_id DESC LIMIT 1;

-- step: home_cost_center
-- A booking names no cost center: the one its traveller's department owns (mdm.cost_center.owner_unit
-- = the org unit's code), an active one first (positional: 工号).
SELECT k.code, k.active FROM mdm.employee e
  JOIN mdm.org_unit u ON u.org_unit_id = e.org_unit_id
  JOIN mdm.cost_center k ON k.owner_unit = u.code
 WHERE e.employee_no = %s
 ORDER BY k.active DESC, k.code LIMIT 1;

-- step: project
-- An active project by its canonical code, else by its 合思 dimension item id (positional: the value twice).
SELECT k.code FROM mdm.project k
 WHERE k.active AND (k.code = %s
    OR k.project_id IN (SELECT x.canonical_id FROM mdm.crosswalk x
                         WHERE x.entity = 'project' AND x.system = 'ekuaibao' AND x.external_id = %s))
 LIMIT 1;

-- step: vouchers
-- The accrual vouchers and reversals recorded for these refs (positional: vendor, refs).
SELECT v.external_ref, v.voucher_id, v.state, v.company, v.period, v.posting_date, v.lines,
       r.voucher_id, r.state
  FROM fin.voucher v
  LEFT JOIN LATERAL (SELECT voucher_id, state FROM fin.voucher r
                      WHERE r.reverses = v.voucher_id AND r.kind = 'accrual_reversal'
                      ORDER BY voucher_id DESC LIMIT 1) r ON true
 WHERE v.erp_vendor = %s AND v.external_ref = ANY(%s) AND v.kind = 'accrual';

-- step: reversal_begun
-- The period and date of a reversal begun earlier (positional: its voucher id): sent again as it was.
SELECT period, posting_date FROM fin.voucher WHERE voucher_id = %s;

-- step: resolved
-- What the engine decided for an accrual (named).
UPDATE fin.accrual SET state = %(state)s, employee_no = COALESCE(%(employee_no)s, employee_no),
       company = COALESCE(%(company)s, company), cost_center = COALESCE(%(cost_center)s, cost_center),
       project = COALESCE(%(project)s, project), gl_account = COALESCE(%(gl_account)s, gl_account),
       period = COALESCE(%(period)s, period), voucher_id = COALESCE(%(voucher_id)s, voucher_id),
       reversal_voucher_id = COALESCE(%(reversal_id)s, reversal_voucher_id),
       claim_id = COALESCE(%(claim_id)s, claim_id),
       reversed_at = CASE WHEN %(state)s IN ('reversed', 'cancelled') THEN now() ELSE reversed_at END,
       updated_at = now()
 WHERE accrual_id = %(accrual_id)s;

-- step: refused_open
-- A voucher of this booking the ERP refused, not yet released (positional: vendor, order id).
SELECT 1 FROM sync.exception_item WHERE kind = 'quarantine' AND source_system = %s AND entity = 'booking'
   AND record_key = %s AND reason_code = 'voucher_refused' AND status <> 'resolved';

-- step: claimed
-- Accruals in force whose trip's claim is posted (its voucher in the ERP): the claim naming the
-- accrual's requisition, the first one posted when several do (positional: vendor).
SELECT a.accrual_id, a.order_id, c.claim_id, c.claim_no, c.period, c.claim_date
  FROM fin.accrual a
  JOIN LATERAL (SELECT c.claim_id, c.claim_no, c.period, c.claim_date FROM fin.claim c
                 WHERE a.requisition_code = ANY(c.requisition_codes)
                   AND c.state IN ('voucher_created', 'voucher_audited', 'closed')
                   AND EXISTS (SELECT 1 FROM fin.voucher v WHERE v.claim_id = c.claim_id AND v.kind = 'claim'
                                  AND v.erp_vendor = %s AND v.state IN ('draft', 'submitted', 'audited', 'posted'))
                 ORDER BY c.claim_date, c.claim_id LIMIT 1) c ON true
 WHERE a.state IN ('open', 'pending', 'invalid') AND a.voucher_id IS NOT NULL AND a.requisition_code IS NOT NULL
 ORDER BY a.accrual_id;

-- step: open_at
-- The accruals open at the end of a period (named: vendor, period, company — NULL for all): an
-- accrual voucher of a period up to it in the ERP, not reversed in the ERP by then.
SELECT v.external_ref, v.company, v.period, v.number, a.order_id, a.requisition_code, a.employee_no,
       a.cost_center, a.project, a.category, v.total, v.currency
  FROM fin.voucher v
  LEFT JOIN fin.accrual a ON a.voucher_id = v.voucher_id
 WHERE v.kind = 'accrual' AND v.erp_vendor = %(vendor)s AND v.period <= %(period)s
   AND (%(company)s::text IS NULL OR v.company = %(company)s)
   AND v.state IN ('draft', 'submitted', 'audited', 'posted')
   AND NOT EXISTS (SELECT 1 FROM fin.voucher r WHERE r.reverses = v.voucher_id AND r.kind = 'accrual_reversal'
                      AND r.period <= %(period)s AND r.state IN ('draft', 'submitted', 'audited', 'posted'))
 ORDER BY v.company, v.period, v.external_ref;
