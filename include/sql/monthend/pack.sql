-- The auditors' pack of a period (expense_sync.monthend.pack).
-- Parameters: period, vendor, prefix (the period's record keys, for a LIKE), clearing (the account).
-- The steps with {} are filled with other steps (psycopg.sql composition), never run alone.

-- step: totals
-- The latest reconciliation's lines of each company.
SELECT r.company, r.status, l.account, l.account_role, l.cost_center, l.project, l.claims_amount,
       l.posted_debit, l.posted_credit, l.ledger_debit, l.ledger_credit, l.difference, l.cause, l.explained
FROM fin.reconciliation_latest r JOIN fin.reconciliation_line l USING (reconciliation_id)
WHERE r.period = %(period)s AND r.erp_vendor = %(vendor)s
ORDER BY r.company, l.account, l.cost_center NULLS FIRST, l.project NULLS FIRST;

-- step: differences
-- The totals (filled in) that have a cause.
SELECT * FROM ({}) t WHERE cause IS NOT NULL;

-- step: exceptions
-- The exception queue's history for the period's reconciliation items.
SELECT i.item_id, i.entity, i.record_key, i.reason_code, i.reason, i.status, i.decision, i.decided_by,
       i.decided_at, e.at AS event_at, e.actor, e.action, e.detail
FROM sync.exception_item i JOIN sync.exception_event e USING (item_id)
WHERE i.source_system = %(vendor)s AND i.entity IN ('ledger_line', 'claim', 'voucher')
  AND i.record_key LIKE %(prefix)s
ORDER BY i.item_id, e.event_id;

-- step: chain
-- One row per claim line: the claim, its voucher and number, the clearing ledger line it moved, the
-- rollup voucher that moved it on to its expense account, and that expense ledger line's amounts.
WITH rollup_lines AS (
    SELECT DISTINCT ON (v.company, l ->> 'account', l ->> 'cost_center', COALESCE(l ->> 'project', ''))
           v.company, l ->> 'account' AS account, l ->> 'cost_center' AS cost_center,
           COALESCE(l ->> 'project', '') AS project, v.external_ref, v.number
    FROM fin.voucher v CROSS JOIN LATERAL jsonb_array_elements(v.lines) l
    WHERE v.erp_vendor = %(vendor)s AND v.period = %(period)s AND v.kind = 'rollup'
      AND (l ->> 'debit')::numeric > 0
      AND NOT EXISTS (SELECT 1 FROM fin.voucher r WHERE r.reverses = v.voucher_id)
    ORDER BY v.company, l ->> 'account', l ->> 'cost_center', COALESCE(l ->> 'project', ''), v.external_ref
), ledger AS (
    SELECT r.company, l.account, l.cost_center, COALESCE(l.project, '') AS project, l.ledger_debit, l.ledger_credit
    FROM fin.reconciliation_latest r JOIN fin.reconciliation_line l USING (reconciliation_id)
    WHERE r.period = %(period)s AND r.erp_vendor = %(vendor)s
)
SELECT c.claim_no, c.company, c.claim_date, l.line_no, l.amount, l.gl_account, l.cost_center, l.project,
       c.voucher_ref AS claim_voucher, c.voucher_number AS claim_voucher_number,
       %(clearing)s || ' / ' || l.cost_center || ' / ' || COALESCE(l.project, '') AS clearing_ledger_line,
       ru.external_ref AS rollup_voucher, ru.number AS rollup_voucher_number,
       l.gl_account || ' / ' || l.cost_center || ' / ' || COALESCE(l.project, '') AS expense_ledger_line,
       g.ledger_debit AS expense_ledger_debit, g.ledger_credit AS expense_ledger_credit
FROM fin.closed_claim c
JOIN fin.claim_line l USING (claim_id)
LEFT JOIN rollup_lines ru
       ON (ru.company, ru.account, ru.cost_center, ru.project)
        = (c.company, l.gl_account, l.cost_center, COALESCE(l.project, ''))
LEFT JOIN ledger g
       ON (g.company, g.account, g.cost_center, g.project)
        = (c.company, l.gl_account, l.cost_center, COALESCE(l.project, ''))
WHERE c.period = %(period)s AND c.erp_vendor = %(vendor)s
ORDER BY c.company, c.claim_no, l.line_no;

-- step: first_rows
-- The first rows (a literal count) of a query (filled in).
{} LIMIT {};

-- step: chain_count
-- How many claim lines the chain has.
SELECT count(*) FROM fin.closed_claim c JOIN fin.claim_line l USING (claim_id)
 WHERE c.period = %(period)s AND c.erp_vendor = %(vendor)s;

-- step: csv
-- A query (filled in) streamed out as CSV with a header.
COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER true);

-- step: summary
-- The latest reconciliation of each company.
SELECT company, status, claims, claims_total, posted_total, ledger_total, explained, unexplained,
       claims_unmatched, created_at, run_key
  FROM fin.reconciliation_latest WHERE period = %(period)s AND erp_vendor = %(vendor)s ORDER BY company;

-- step: rollups
-- The rollup runs of the period.
SELECT company, version, action, claims, claim_lines, total, array_to_string(vouchers, ' '), created_at
  FROM fin.rollup_run WHERE period = %(period)s AND erp_vendor = %(vendor)s ORDER BY rollup_run_id;

-- step: vouchers
-- The month-end vouchers of the period (rollups and their reversals).
SELECT company, kind, external_ref, number, state, total, posting_date FROM fin.voucher
 WHERE period = %(period)s AND erp_vendor = %(vendor)s AND kind IN ('rollup', 'reversal')
   AND claim_id IS NULL ORDER BY voucher_id;
