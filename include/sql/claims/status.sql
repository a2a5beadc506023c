-- Claim vouchers' state from the ERP, and their numbers back to 合思 (expense_sync.claims.status).
-- Positional parameters.

-- step: open_vouchers
-- The claim vouchers not yet audited, and the audited ones whose number is not written back yet.
SELECT v.voucher_id, v.erp_vendor, v.external_ref, v.remote_id, v.number, v.state, v.period, v.created_at,
       c.claim_id, c.claim_no, c.flow_id
  FROM fin.voucher v JOIN fin.claim c ON c.claim_id = v.claim_id
 WHERE v.kind = 'claim' AND v.remote_id IS NOT NULL
   AND (v.state IN ('draft', 'submitted')
        OR (v.state IN ('audited', 'posted') AND v.written_back_at IS NULL AND c.state = 'voucher_audited'))
 ORDER BY v.voucher_id;

-- step: voucher_state
-- The ERP's state of a voucher (state, raw state, number, voucher id).
UPDATE fin.voucher SET state = %s, raw_state = %s, number = COALESCE(%s, number), updated_at = now()
 WHERE voucher_id = %s;

-- step: claim_audited
-- The claim whose voucher was created is audited.
UPDATE fin.claim SET state = 'voucher_audited', updated_at = now()
 WHERE claim_id = %s AND state = 'voucher_created';

-- step: written_back
-- The voucher's number is in 合思.
UPDATE fin.voucher SET written_back_at = now() WHERE voucher_id = %s;

-- step: claim_closed
-- The claim is closed.
UPDATE fin.claim SET state = 'closed', closed_at = now(), updated_at = now() WHERE claim_id = %s;

-- step: expense_state
-- The 合思 state of a claim.
SELECT expense_state FROM fin.claim WHERE claim_id = %s;
