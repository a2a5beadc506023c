-- The auditors' pack of a period (expense_sync.monthend.pack).
-- Parameters: period, vendor, prefix (the period's record keys, for a LIKE), clearing (the account).
-- The steps with {} are filled with other steps (psycopg.sql composition), never run alone.

-- step: snapshot
-- The pack's reads, from the page's first query to the last CSV, see the period as of one moment: the
-- page's chain head and totals agree with chain.csv even while claims or vouchers change meanwhile.
SET TRANSACTION ISOLATION LEVEL REPEATABLE READ;

-- step: totals
-- The latest reconciliation's lines of each company. A line without a difference needs no explanation;
-- a company whose ledger agrees is not reconciled while a month-end voucher awaits the ERP's approval.
SELECT r.company,
       CASE WHEN r.status = 'reconciled' AND EXISTS (
                SELECT 1 FROM fin.voucher v
                 WHERE v.period = r.period AND v.erp_vendor = r.erp_vendor AND v.company = r.company
                   AND v.kind IN ('rollup', 'reversal') AND v.claim_id IS NULL
                   AND v.state IN ('sending', 'draft', 'submitted'))
            THEN 'awaiting the ERP''s approval' ELSE r.status END AS status,
       l.account, l.account_role, l.cost_center, l.project, l.claims_amount,
       l.posted_debit, l.posted_credit, l.ledger_debit, l.ledger_credit, l.difference, l.cause,
       CASE WHEN l.cause IS NULL AND l.difference = 0 THEN 'no difference'
            WHEN l.explained THEN 'explained' ELSE 'unexplained' END AS explained
FROM fin.reconciliation_latest r JOIN fin.reconciliation_line l USING (reconciliation_id)
WHERE r.period = %(period)s AND r.erp_vendor = %(vendor)s
ORDER BY r.company, l.account, l.cost_center NULLS FIRST, l.project NULLS FIRST;

-- step: differences
-- The totals (filled in) that have a cause.
SELECT * FROM ({}) t WHERE cause IS NOT NULL;

-- step: exceptions
-- The exception queue's history for the period: the reconciliation's items (keys '<period>/…', prefix)
-- and the claim-level items of the period's claims (key = the claim number: e.g. voucher_refused with
-- the ERP's refusal text), with who decided and the note they gave with their decision (an answer in
-- the Airflow UI keeps its reason as the note, and as 'reason' on a deferral).
SELECT i.item_id, i.source_system, i.entity, i.record_key, i.reason_code, i.reason, i.status, i.decision,
       i.decided_by, i.decided_at, e.at AS event_at, e.actor, e.action,
       COALESCE(NULLIF(e.detail ->> 'note', ''), e.detail ->> 'reason') AS note, e.detail
FROM sync.exception_item i JOIN sync.exception_event e USING (item_id)
WHERE (i.source_system = %(vendor)s AND i.entity IN ('ledger_line', 'claim', 'voucher')
       AND i.record_key LIKE %(prefix)s)
   OR (i.entity = 'claim' AND i.record_key IN (SELECT claim_no FROM fin.claim WHERE period = %(period)s))
ORDER BY i.item_id, e.event_id;

-- step: claim_items
-- The claim-level items of the period's claims, one row each: what held the claim (the ERP's refusal
-- text is in the reason), whether it is still open, and who released or decided it, why (the note of
-- the latest decision) and when.
SELECT c.claim_no, c.company, c.state AS claim_state, i.source_system, i.reason_code, i.reason, i.status,
       i.decision, i.decided_by, d.note, i.decided_at, i.first_seen_at, i.occurrences
FROM sync.exception_item i
JOIN fin.claim c ON c.claim_no = i.record_key
LEFT JOIN LATERAL (SELECT COALESCE(NULLIF(e.detail ->> 'note', ''), e.detail ->> 'reason') AS note
                     FROM sync.exception_event e
                    WHERE e.item_id = i.item_id AND e.detail ? 'decision'
                    ORDER BY e.event_id DESC LIMIT 1) d ON true
WHERE i.entity = 'claim' AND c.period = %(period)s
ORDER BY c.claim_no, i.item_id;

-- step: chain_sources
-- What the chain is made of (filled in: nothing for every claim line, or chain_head for the first ones):
-- the period's closed claim lines; the rollup voucher line that moved each ledger line on to its expense
-- account; the expense ledger lines of the latest reconciliation (one per account, cost center and project).
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
), claim_lines AS (
    SELECT c.claim_no, c.company, c.claim_date, c.voucher_ref, c.voucher_number,
           l.line_no, l.amount, l.gl_account, l.cost_center, l.project, COALESCE(l.project, '') AS grain_project
    FROM fin.closed_claim c JOIN fin.claim_line l USING (claim_id)
    WHERE c.period = %(period)s AND c.erp_vendor = %(vendor)s
    {}
)

-- step: chain_head
-- The chain's first claim lines, in its order (a literal count, filled in). They hold the first claim
-- line of every ledger line they touch (a ledger line's lines are in the chain's order), so the chain
-- shows each ledger amount on the same row whether it is read whole or only its head.
ORDER BY c.company, c.claim_no, l.line_no LIMIT {}

-- step: chain
-- One row per claim line (the sources filled in): the claim, its voucher and number, the clearing ledger
-- line it moved, the rollup voucher that moved it on to its expense account, and that expense ledger
-- line's amounts, shown on the first claim line of the ledger line only (several claim lines share one
-- ledger line: repeating its amount would count it once per line).
{}
SELECT l.claim_no, l.company, l.claim_date, l.line_no, l.amount, l.gl_account, l.cost_center, l.project,
       l.voucher_ref AS claim_voucher, l.voucher_number AS claim_voucher_number,
       %(clearing)s || ' / ' || l.cost_center || ' / ' || l.grain_project AS clearing_ledger_line,
       ru.external_ref AS rollup_voucher, ru.number AS rollup_voucher_number,
       l.gl_account || ' / ' || l.cost_center || ' / ' || l.grain_project AS expense_ledger_line,
       CASE WHEN row_number() OVER grain = 1 THEN g.ledger_debit END AS expense_ledger_debit,
       CASE WHEN row_number() OVER grain = 1 THEN g.ledger_credit END AS expense_ledger_credit
FROM claim_lines l
LEFT JOIN rollup_lines ru
       ON (ru.company, ru.account, ru.cost_center, ru.project) = (l.company, l.gl_account, l.cost_center, l.grain_project)
LEFT JOIN ledger g
       ON (g.company, g.account, g.cost_center, g.project) = (l.company, l.gl_account, l.cost_center, l.grain_project)
WINDOW grain AS (PARTITION BY l.company, l.gl_account, l.cost_center, l.grain_project ORDER BY l.claim_no, l.line_no)
ORDER BY l.company, l.claim_no, l.line_no;

-- step: chain_totals
-- The chain's totals (the sources filled in) without its rows: the claim lines, and the ledger amounts
-- counted once per ledger line the claim lines touch, which is what the expense ledger lines hold.
{}
SELECT COALESCE(sum(k.lines), 0), COALESCE(sum(k.amount), 0), COALESCE(sum(g.ledger_debit), 0),
       COALESCE(sum(g.ledger_credit), 0)
FROM (SELECT company, gl_account, cost_center, grain_project, count(*) AS lines, sum(amount) AS amount
        FROM claim_lines GROUP BY company, gl_account, cost_center, grain_project) k
LEFT JOIN ledger g
       ON (g.company, g.account, g.cost_center, g.project) = (k.company, k.gl_account, k.cost_center, k.grain_project);

-- step: chain_table
-- The whole chain (filled in) for chain.csv, computed into this session's table (dropped before and
-- after: chain_drop) while the PDF renders, then copied out; numbered in the chain's order (the
-- subquery's sort feeds the numbering). The page reads chain_head and chain_totals instead.
CREATE TEMP TABLE pack_chain AS
SELECT row_number() OVER (ORDER BY chain.company, chain.claim_no, chain.line_no) AS seq, chain.*
FROM ({}) chain;

-- step: chain_columns
-- No row: the table's columns (the numbering first).
SELECT * FROM pack_chain LIMIT 0;

-- step: chain_rows
-- The chain's rows in its order, without the numbering (the columns filled in).
SELECT {} FROM pack_chain ORDER BY seq;

-- step: chain_drop
-- The chain's table of this session, gone.
DROP TABLE IF EXISTS pg_temp.pack_chain;

-- step: first_rows
-- The first rows (a literal count) of a query (filled in).
{} LIMIT {};

-- step: csv
-- A query (filled in) streamed out as CSV with a header.
COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER true);

-- step: summary
-- The latest reconciliation of each company, and the month-end vouchers the ERP has not approved yet
-- (neither audited nor posted): the ledger may agree, but the period is not closed until it approves.
SELECT r.company, r.status, r.claims, r.claims_total, r.posted_total, r.ledger_total, r.explained,
       r.unexplained, COALESCE(p.pending, 'all approved') AS erp_approval, r.claims_unmatched, r.created_at,
       r.run_key
  FROM fin.reconciliation_latest r
  LEFT JOIN LATERAL (SELECT string_agg(v.external_ref || ' ' || v.state, ', ' ORDER BY v.voucher_id) AS pending
                       FROM fin.voucher v
                      WHERE v.period = r.period AND v.erp_vendor = r.erp_vendor AND v.company = r.company
                        AND v.kind IN ('rollup', 'reversal') AND v.claim_id IS NULL
                        AND v.state IN ('sending', 'draft', 'submitted')) p ON true
 WHERE r.period = %(period)s AND r.erp_vendor = %(vendor)s ORDER BY r.company;

-- step: reconcile_run
-- The latest reconciliation step the run ledger holds for the period with this ERP: its run, status,
-- how many companies it reconciled, and the run's own status.
SELECT s.run_key, s.counts ->> 'status', jsonb_array_length(COALESCE(s.counts -> 'companies', '[]')), r.status,
       s.finished_at
  FROM sync.run_step s
  JOIN sync.run r USING (run_key)
  JOIN sync.run_step ru ON ru.run_key = s.run_key AND ru.step = 'rollup'
 WHERE s.step = 'reconcile' AND s.counts ->> 'period' = %(period)s AND ru.counts ->> 'vendor' = %(vendor)s
 ORDER BY s.finished_at DESC LIMIT 1;

-- step: rollups
-- The rollup runs of the period.
SELECT company, version, action, claims, claim_lines, total, array_to_string(vouchers, ' '), created_at
  FROM fin.rollup_run WHERE period = %(period)s AND erp_vendor = %(vendor)s ORDER BY rollup_run_id;

-- step: vouchers
-- The month-end vouchers of the period (rollups and their reversals).
SELECT company, kind, external_ref, number, state, total, posting_date FROM fin.voucher
 WHERE period = %(period)s AND erp_vendor = %(vendor)s AND kind IN ('rollup', 'reversal')
   AND claim_id IS NULL ORDER BY voucher_id;

-- step: input_vat
-- The input VAT the period's posted claims deduct, per invoice type and VAT rate (parameters: period,
-- vendor): how many invoices, their net, printed tax and total, and what was deducted.
SELECT COALESCE(t.name, i.invoice_type, i.source_type) AS invoice_type, t.vat_rule,
       COALESCE(trim_scale(i.rate * 100)::text || ' %%', '') AS rate, count(*) AS invoices,
       sum(i.net)::numeric(18,2) AS net, sum(i.tax)::numeric(18,2) AS tax, sum(i.total)::numeric(18,2) AS total,
       sum(i.deductible)::numeric(18,2) AS deducted
FROM fin.closed_claim c
JOIN fin.claim_invoice i ON i.claim_id = c.claim_id
LEFT JOIN mdm.invoice_type t ON t.code = i.invoice_type
WHERE c.period = %(period)s AND c.erp_vendor = %(vendor)s
GROUP BY 1, 2, 3
ORDER BY 1, 3;

-- step: invoice_findings
-- The invoices of the period's claims that validation found wrong (a duplicate names the claim that
-- holds the invoice): the claim, its state, the invoice and the finding.
SELECT c.claim_no, c.state AS claim_state, i.line_no, i.invoice_key, COALESCE(t.name, i.source_type) AS invoice_type,
       i.invoice_date, i.seller_name, i.seller_tax_id, i.total, split_part(i.finding, ': ', 1) AS reason_code,
       i.finding
FROM fin.claim c
JOIN fin.claim_invoice i ON i.claim_id = c.claim_id
LEFT JOIN mdm.invoice_type t ON t.code = i.invoice_type
WHERE c.period = %(period)s AND i.finding IS NOT NULL
ORDER BY c.claim_no, i.line_no, i.seq;
