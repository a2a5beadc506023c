-- Reconciliation of a period with the ERP ledger (expense_sync.monthend.reconcile).
-- Parameters: vendor, period, company, clearing and payable (the posting accounts); positional
-- where the step says so.

-- step: companies
-- The companies of the period: those with closed claims or with vouchers (v: vendor, p: period).
SELECT company FROM fin.closed_claim WHERE erp_vendor = %(v)s AND period = %(p)s
UNION SELECT company FROM fin.voucher WHERE erp_vendor = %(v)s AND period = %(p)s ORDER BY 1;

-- step: our_vouchers
-- Every voucher we made for the period and company, by external ref.
SELECT external_ref FROM fin.voucher WHERE erp_vendor = %(vendor)s AND period = %(period)s
AND company = %(company)s;

-- step: second_vouchers
-- Claims with more than one claim voucher in force (in the ERP, not reversed): the later ones are duplicates.
SELECT c.claim_no, array_agg(v.external_ref ORDER BY v.voucher_id)
FROM fin.voucher v JOIN fin.claim c USING (claim_id)
WHERE v.erp_vendor = %(vendor)s AND v.period = %(period)s AND v.company = %(company)s AND v.kind = 'claim'
  AND v.state IN ('draft', 'submitted', 'audited', 'posted')
  AND NOT EXISTS (SELECT 1 FROM fin.voucher r WHERE r.reverses = v.voucher_id
                   AND r.state IN ('draft', 'submitted', 'audited', 'posted'))
GROUP BY c.claim_no HAVING count(*) > 1
ORDER BY 1;

-- step: voucher_grains
-- The (cost center, project) pairs the lines of these vouchers touch (positional: vendor, refs).
SELECT DISTINCT NULLIF(l ->> 'cost_center', ''), NULLIF(l ->> 'project', '')
  FROM fin.voucher v CROSS JOIN LATERAL jsonb_array_elements(v.lines) l
 WHERE v.erp_vendor = %s AND v.external_ref = ANY(%s);

-- step: erp_ledger
-- The ERP's movements of the period, copied in by the caller.
CREATE TEMP TABLE erp_ledger (account text, cost_center text, project text, debit numeric,
credit numeric) ON COMMIT DROP;

-- step: period_claim_lines
-- The period's closed claim lines, read once per reconciliation.
CREATE TEMP TABLE period_claim_line ON COMMIT DROP AS
SELECT c.claim_id, c.claim_no, c.voucher_id, c.voucher_ref, c.voucher_number,
       l.gl_account, l.cost_center, l.project, l.amount, l.input_vat
FROM fin.closed_claim c JOIN fin.claim_line l USING (claim_id)
WHERE c.erp_vendor = %(vendor)s AND c.period = %(period)s AND c.company = %(company)s;

-- step: lines
-- The three sides (claims, posted, ledger) per account, cost center and project, with the account's role.
-- The travel bookings accrued (and reversed) in the period are expected on their expense account as the
-- claims are (claims_amount), and counted apart (accrued): the expense a booking accrued is not a claim's.
WITH sides AS (
    SELECT l ->> 'account' AS account, COALESCE(l ->> 'cost_center', '') AS cost_center,
           COALESCE(l ->> 'project', '') AS project, 0 AS claims_amount,
           (l ->> 'debit')::numeric AS posted_debit, (l ->> 'credit')::numeric AS posted_credit,
           0 AS ledger_debit, 0 AS ledger_credit, 0 AS accrued
    FROM fin.voucher v CROSS JOIN LATERAL jsonb_array_elements(v.lines) l
    WHERE v.erp_vendor = %(vendor)s AND v.period = %(period)s AND v.company = %(company)s
      AND v.state IN ('draft', 'submitted', 'audited', 'posted')
    UNION ALL
    SELECT gl_account, cost_center, COALESCE(project, ''), amount, 0, 0, 0, 0, 0 FROM period_claim_line
    UNION ALL
    -- the input VAT the claims deduct, on the input VAT account (no dimensions)
    SELECT %(input_vat)s, '', '', input_vat, 0, 0, 0, 0, 0 FROM period_claim_line WHERE input_vat <> 0
    UNION ALL
    -- the accruals' expense side (Dr on accrual, Cr on its reversal)
    SELECT l ->> 'account', COALESCE(l ->> 'cost_center', ''), COALESCE(l ->> 'project', ''),
           (l ->> 'debit')::numeric - (l ->> 'credit')::numeric, 0, 0, 0, 0,
           (l ->> 'debit')::numeric - (l ->> 'credit')::numeric
    FROM fin.voucher v CROSS JOIN LATERAL jsonb_array_elements(v.lines) l
    WHERE v.erp_vendor = %(vendor)s AND v.period = %(period)s AND v.company = %(company)s
      AND v.kind IN ('accrual', 'accrual_reversal') AND v.state IN ('draft', 'submitted', 'audited', 'posted')
      AND l ->> 'account' <> %(accrued)s
    UNION ALL
    SELECT account, COALESCE(cost_center, ''), COALESCE(project, ''), 0, 0, 0, debit, credit, 0 FROM erp_ledger
), expense AS (
    SELECT DISTINCT account FROM sides WHERE claims_amount <> 0
    UNION
    SELECT l ->> 'account' FROM fin.voucher v CROSS JOIN LATERAL jsonb_array_elements(v.lines) l
    WHERE v.erp_vendor = %(vendor)s AND v.period = %(period)s AND v.company = %(company)s AND v.kind = 'rollup'
      AND (l ->> 'debit')::numeric > 0
)
SELECT account, NULLIF(cost_center, ''), NULLIF(project, ''),
       sum(claims_amount)::numeric(18,2), sum(posted_debit)::numeric(18,2), sum(posted_credit)::numeric(18,2),
       sum(ledger_debit)::numeric(18,2), sum(ledger_credit)::numeric(18,2),
       CASE WHEN account = %(clearing)s THEN 'clearing'
            WHEN account = %(payable)s THEN 'payable'
            WHEN account = %(input_vat)s THEN 'input_vat'
            WHEN account = %(accrued)s THEN 'accrual'
            WHEN account IN (SELECT account FROM expense) THEN 'expense'
            ELSE 'other' END AS role,
       sum(accrued)::numeric(18,2)
FROM sides
GROUP BY account, cost_center, project
ORDER BY 1, 2, 3;

-- step: mismatched_claims
-- Claims without a voucher number, or whose voucher's clearing debits are not their lines' sum, or
-- whose input VAT debit is not the VAT their lines deduct.
WITH claims AS (
    SELECT claim_id, claim_no, voucher_id, voucher_ref, voucher_number, sum(amount) AS amount,
           sum(input_vat) AS input_vat
    FROM period_claim_line GROUP BY 1, 2, 3, 4, 5
)
SELECT c.claim_id, c.claim_no, c.voucher_ref, c.voucher_number, c.amount, v.debit
FROM claims c
JOIN LATERAL (SELECT COALESCE(sum((l ->> 'debit')::numeric) FILTER (WHERE l ->> 'account' = %(clearing)s), 0)
                     AS debit,
                     COALESCE(sum((l ->> 'debit')::numeric) FILTER (WHERE l ->> 'account' = %(input_vat)s), 0)
                     AS vat
              FROM fin.voucher vv CROSS JOIN LATERAL jsonb_array_elements(vv.lines) l
              WHERE vv.voucher_id = c.voucher_id) v ON true
WHERE c.voucher_number IS NULL OR c.amount <> v.debit OR c.input_vat <> v.vat;

-- step: claims_total
-- How many claims the period holds, and their total.
SELECT count(DISTINCT claim_id), COALESCE(sum(amount), 0) FROM period_claim_line;

-- step: short_claim_vouchers
-- The claim vouchers of these cost centers / projects (positional: cost centers, projects, limit).
SELECT DISTINCT voucher_ref FROM period_claim_line
 WHERE (cost_center, COALESCE(project, '')) IN (SELECT * FROM unnest(%s::text[], %s::text[]))
 ORDER BY 1 LIMIT %s;

-- step: rollup_vouchers
-- Our rollup, reversal and accrual vouchers of the period in the ERP (positional: vendor, period, company).
SELECT external_ref FROM fin.voucher WHERE erp_vendor = %s AND period = %s AND company = %s
   AND kind IN ('rollup', 'reversal', 'accrual', 'accrual_reversal') AND state IN ('draft', 'submitted', 'audited', 'posted')
 ORDER BY external_ref;

-- step: insert_reconciliation
-- The reconciliation's header (positional).
INSERT INTO fin.reconciliation (run_key, erp_vendor, period, company, status, claims, claims_total,
                                posted_total, ledger_total, explained, unexplained, claims_unmatched,
                                accrued_total, open_accruals, open_accruals_total)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING reconciliation_id;

-- step: resolve_cleared
-- Resolve the open conflicts of the period (prefix) and entity whose key is not among keys any more.
WITH cleared AS (
    UPDATE sync.exception_item SET status = 'resolved', decision = 'auto_cleared',
           decided_by = 'system', decided_at = now()
     WHERE kind = 'conflict' AND source_system = %(vendor)s AND entity = %(entity)s
       AND status <> 'resolved' AND record_key LIKE %(prefix)s AND NOT record_key = ANY(%(keys)s)
    RETURNING item_id)
INSERT INTO sync.exception_event (item_id, actor, action, detail)
SELECT item_id, 'system', 'auto_resolved', jsonb_build_object('run_key', %(run_key)s::text)
FROM cleared;
