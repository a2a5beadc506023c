-- One voucher into the ERP, recorded in fin.voucher (expense_sync.erp.posting). Positional parameters.

-- step: intend
-- The voucher is being sent: its row, new or again, in state sending.
INSERT INTO fin.voucher (erp_vendor, external_ref, kind, claim_id, reverses, company, period,
                         posting_date, currency, total, lines, state)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, 'sending')
ON CONFLICT (erp_vendor, external_ref) DO UPDATE
   SET lines = EXCLUDED.lines, total = EXCLUDED.total, state = 'sending', updated_at = now();

-- step: record
-- What the ERP holds (remote id, number, state, raw state; vendor, external ref).
UPDATE fin.voucher SET remote_id = %s, number = %s, state = %s, raw_state = %s, updated_at = now()
 WHERE erp_vendor = %s AND external_ref = %s;

-- step: refused
-- The ERP refused the voucher (its answer; vendor, external ref).
UPDATE fin.voucher SET state = 'error', raw_state = %s, updated_at = now()
 WHERE erp_vendor = %s AND external_ref = %s;

-- step: posted
-- The voucher's row as it stands (vendor, external ref).
SELECT voucher_id, number, state FROM fin.voucher WHERE erp_vendor = %s AND external_ref = %s;
