-- The monthly rollup of a period's closed claims (expense_sync.monthend.rollup).

-- step: summary
-- The period's closed claims per company / GL account / cost center / project, and per company
-- (its counts): one statement. Parameters: period, vendor.
SELECT c.company, l.gl_account, l.cost_center, l.project,
       sum(l.amount)::numeric(18,2) AS amount, count(*) AS lines, count(DISTINCT c.claim_id) AS claims
FROM fin.closed_claim c
JOIN fin.claim_line l USING (claim_id)
WHERE c.period = %(period)s AND c.erp_vendor = %(vendor)s
GROUP BY GROUPING SETS ((c.company, l.gl_account, l.cost_center, l.project), (c.company))
ORDER BY c.company, l.gl_account NULLS FIRST, l.cost_center, l.project NULLS FIRST;

-- step: recorded
-- Every rollup voucher of the period and company, with its latest reversal's state
-- (positional: vendor, period, company).
SELECT v.voucher_id, v.external_ref, v.state, v.posting_date, v.lines,
       (SELECT r.state FROM fin.voucher r WHERE r.reverses = v.voucher_id
         ORDER BY r.voucher_id DESC LIMIT 1)
  FROM fin.voucher v
 WHERE v.erp_vendor = %s AND v.period = %s AND v.company = %s AND v.kind = 'rollup'
 ORDER BY v.external_ref;

-- step: companies
-- The companies with a rollup voucher in the period (positional: vendor, period).
SELECT DISTINCT company FROM fin.voucher WHERE erp_vendor = %s AND period = %s AND kind = 'rollup';

-- step: insert_run
-- The log of one company's rollup (positional).
INSERT INTO fin.rollup_run (run_key, erp_vendor, period, company, version, action, claims, claim_lines,
                            summary_lines, total, vouchers)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s);

-- step: awaiting_approval
-- The period's month-end vouchers (rollups and their reversals) the ERP holds but has not approved yet.
SELECT voucher_id, remote_id FROM fin.voucher
 WHERE kind IN ('rollup', 'reversal') AND claim_id IS NULL AND period = %s AND erp_vendor = %s
   AND remote_id IS NOT NULL
   AND state IN ('draft', 'submitted')
 ORDER BY voucher_id;

-- step: approval_state
-- What the ERP says of one of them now (state, raw state, number, voucher id).
UPDATE fin.voucher SET state = %s, raw_state = %s, number = COALESCE(%s, number), updated_at = now()
 WHERE voucher_id = %s;

-- step: refused_open
-- The open voucher_refused item of a rollup voucher (vendor, queue key), if any.
SELECT item_id FROM sync.exception_item
 WHERE reason_code = 'voucher_refused' AND entity = 'voucher' AND source_system = %s AND record_key = %s
   AND status <> 'resolved';
