-- The budget checks against the ERP (expense_sync.approvals.budget).

-- step: record
INSERT INTO fin.budget_check (subject, subject_key, erp_vendor, company, cost_center, project, account, period,
                              budget, used, reserved, held_by_us, amount, control, result, source)
VALUES (%(subject)s, %(subject_key)s, %(vendor)s, %(company)s, %(cost_center)s, %(project)s, %(account)s,
        %(period)s, %(budget)s, %(used)s, %(reserved)s, %(held)s, %(amount)s, %(control)s, %(result)s, %(source)s)
RETURNING check_id;

-- step: held_requisitions
-- What our running or approved applications (申请单) of the same month hold on one cost center (and
-- project), the document itself excluded: the ERP does not know them. An application whose claim has
-- its voucher in the ERP holds nothing any more (the ERP counts the voucher).
SELECT COALESCE(sum(f.amount), 0) FROM fin.approval_flow f
 WHERE f.kind = 'requisition' AND f.state IN ('running', 'approved', 'applied')
   AND f.decision IS DISTINCT FROM 'refuse'
   AND f.company = %(company)s AND f.cost_center = %(cost_center)s AND f.project IS NOT DISTINCT FROM %(project)s
   AND f.business_key <> %(business_key)s
   AND to_char(f.created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM') = %(period)s
   AND NOT EXISTS (SELECT 1 FROM fin.claim c
                    WHERE f.doc_code = ANY(c.requisition_codes)
                      AND c.state IN ('voucher_created', 'voucher_audited', 'closed'));

-- step: held_claims
-- What our claims whose voucher the ERP holds but does not count yet (created, not audited) hold on one
-- cost center / project / account, the claim itself excluded.
SELECT COALESCE(sum(l.amount), 0)
  FROM fin.claim c JOIN fin.claim_line l ON l.claim_id = c.claim_id
 WHERE c.state = 'voucher_created' AND c.claim_id <> %(claim_id)s AND c.company = %(company)s
   AND l.cost_center = %(cost_center)s AND l.project IS NOT DISTINCT FROM %(project)s
   AND (%(account)s::text IS NULL OR l.gl_account = %(account)s);

-- step: claim_groups
-- A claim's amounts per cost center / project / GL account (what its voucher debits).
SELECT l.cost_center, l.project, l.gl_account, sum(l.amount)
  FROM fin.claim_line l WHERE l.claim_id = %s
 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;

-- step: category_account
-- The GL account an expense category posts to.
SELECT gl_account_code FROM mdm.expense_category WHERE code = %s AND active;
