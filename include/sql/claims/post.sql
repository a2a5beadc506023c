-- Claim vouchers into the ERP (expense_sync.claims.post). Positional parameters.

-- step: pending
-- The claims waiting for their voucher.
SELECT claim_id, claim_no, company, claim_date, period, title, employee_no, currency
  FROM fin.claim
 WHERE state = 'voucher_pending'
 ORDER BY claim_id;

-- step: lines
-- A claim's lines, in order.
SELECT gl_account, cost_center, amount, project, description, input_vat FROM fin.claim_line
 WHERE claim_id = %s ORDER BY line_no;

-- step: voucher_made
-- The claim has its voucher (state, claim id).
UPDATE fin.claim SET state = %s, updated_at = now() WHERE claim_id = %s;

-- step: refused
-- The ERP refused the claim's voucher.
UPDATE fin.claim SET state = 'invalid', updated_at = now() WHERE claim_id = %s;
