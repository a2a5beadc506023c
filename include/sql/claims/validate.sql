-- Validation of claims before they may become vouchers (expense_sync.claims.validate).
-- Parameters: %(claim_ids)s the claims to check, %(currencies)s the known currencies, and the tax
-- rules (expense_sync.invoices.rules): %(buyer_tax_ids)s (JSON company → tax id), %(non_deductible)s,
-- %(transport)s, %(supplier_required)s (GL accounts), %(max_age_days)s, %(rates)s.
-- The caller fills claim_budget (合思 budget balance per cost-center item) and claim_oa (the OA
-- approval state of each claim that names one) first, in the same transaction.
-- Step checked is the verdicts of one kind (a literal filled in: quarantine or conflict), a table
-- for the exception queue.

-- step: to_check
-- (claim id, OA approval id) of every claim waiting for validation: received or invalid, and not
-- held by an open voucher_refused or document_malformed item.
SELECT claim_id, raw -> 'form' ->> 'u_oaInstanceId' FROM fin.claim c
 WHERE state IN ('received', 'invalid')
   AND NOT EXISTS (SELECT 1 FROM sync.exception_item q
                    WHERE q.entity = 'claim' AND q.record_key = c.claim_no
                      AND q.reason_code IN ('voucher_refused', 'document_malformed')
                      AND q.status <> 'resolved')
 ORDER BY claim_id;

-- step: budget
CREATE TEMP TABLE claim_budget (item text PRIMARY KEY, balance numeric) ON COMMIT DROP;

-- step: oa
CREATE TEMP TABLE claim_oa (claim_id bigint PRIMARY KEY, oa_state text) ON COMMIT DROP;

-- step: fill_budget
-- One row of claim_budget (positional: item, balance).
INSERT INTO claim_budget VALUES (%s, %s);

-- step: fill_oa
-- One row of claim_oa (positional: claim id, OA state).
INSERT INTO claim_oa VALUES (%s, %s);

-- step: lines
CREATE TEMP TABLE claim_check_line ON COMMIT DROP AS
SELECT l.*, CASE
        WHEN amount IS NULL OR amount <= 0 OR amount <> round(amount, 2) THEN 'amount_invalid'
        WHEN NOT fee_known THEN 'fee_type_unknown'
        WHEN category_code IS NULL THEN 'fee_type_unmapped'
        WHEN gl_account IS NULL OR NOT gl_ok THEN 'gl_account_not_postable'
        WHEN cost_center IS NULL THEN 'cost_center_unknown'
        WHEN NOT cc_active THEN 'cost_center_inactive'
        WHEN pj_item IS NOT NULL AND project IS NULL THEN 'project_unknown'
    END AS reason
FROM (
SELECT c.claim_id, d.ord::int AS line_no, d.v ->> 'feeTypeId' AS fee_type_id,
       CASE WHEN d.v -> 'feeTypeForm' -> 'amount' ->> 'standard' ~ '^-?[0-9]{1,15}(\.[0-9]+)?$'
            THEN (d.v -> 'feeTypeForm' -> 'amount' ->> 'standard')::numeric END AS amount,
       it.cc_item, it.pj_item,
       left(d.v -> 'feeTypeForm' ->> 'consumptionReasons', 200) AS description,
       f.fee_type_id IS NOT NULL AS fee_known, COALESCE(f.code, d.v ->> 'feeTypeId') AS fee_code,
       map.category_code, map.gl_account, COALESCE(map.gl_ok, false) AS gl_ok,
       cc.code AS cost_center, cc.active AS cc_active, pj.code AS project
  FROM fin.claim c
 CROSS JOIN LATERAL jsonb_array_elements(COALESCE(c.raw -> 'form' -> 'details', '[]')) WITH ORDINALITY d(v, ord)
 -- cost center and project: the line's own, else the claim header's (a form template may hold them
 -- on the document); the line wins when both are set (claims/parse.py says the same)
 CROSS JOIN LATERAL (
        SELECT COALESCE(NULLIF(d.v -> 'feeTypeForm' ->> 'u_costCenter', ''),
                        NULLIF(c.raw -> 'form' ->> 'u_costCenter', '')) AS cc_item,
               COALESCE(NULLIF(d.v -> 'feeTypeForm' ->> 'u_project', ''),
                        NULLIF(c.raw -> 'form' ->> 'u_project', '')) AS pj_item) it
  LEFT JOIN mdm.fee_type f ON f.remote_id = d.v ->> 'feeTypeId' AND f.active
  LEFT JOIN LATERAL (
        SELECT ec.code AS category_code, g.code AS gl_account, g.active AND g.postable AS gl_ok
          FROM mdm.category_fee_type m
          JOIN mdm.expense_category ec ON ec.expense_category_id = m.expense_category_id AND ec.active
          LEFT JOIN mdm.gl_account g ON g.code = ec.gl_account_code
         WHERE m.fee_type_id = f.fee_type_id AND m.state = 'mapped'
         ORDER BY ec.code LIMIT 1) map ON true
  LEFT JOIN LATERAL (
        SELECT k.code, k.active FROM mdm.crosswalk x JOIN mdm.cost_center k ON k.cost_center_id = x.canonical_id
         WHERE x.entity = 'cost_center' AND x.system = 'ekuaibao'
           AND x.external_id = it.cc_item LIMIT 1) cc ON true
  LEFT JOIN LATERAL (
        SELECT k.code FROM mdm.crosswalk x JOIN mdm.project k ON k.project_id = x.canonical_id
         WHERE x.entity = 'project' AND x.system = 'ekuaibao' AND k.active
           AND x.external_id = it.pj_item LIMIT 1) pj ON true
 WHERE c.claim_id = ANY(%(claim_ids)s)
) l;

-- step: invoices
-- Each invoice of the claims checked, with what it deducts and the first thing wrong with it.
CREATE TEMP TABLE claim_check_invoice ON COMMIT DROP AS
SELECT i.claim_id, i.line_no, i.seq, i.invoice_key, i.invoice_type,
       CASE WHEN it.n > 0 AND it.min_rate = it.max_rate THEN it.min_rate WHEN it.n = 0 THEN r.rate END AS rate,
       CASE WHEN i.problem IS NOT NULL OR t.code IS NULL OR l.gl_account IS NULL
                 OR l.gl_account = ANY(%(non_deductible)s)
                 OR (t.vat_rule = 'transport_invoice_tax' AND NOT l.gl_account = ANY(%(transport)s)) THEN 0
            ELSE i.rule_vat END AS deductible,
       CASE WHEN i.problem IS NOT NULL THEN 'invoice_unreadable'
            WHEN t.code IS NULL OR NOT t.active THEN 'invoice_type_unknown'
            WHEN dup.claim_no IS NOT NULL THEN 'invoice_duplicate'
            WHEN t.special AND i.seller_tax_id IS NULL THEN 'special_invoice_no_seller_tax_id'
            WHEN t.special AND l.gl_account = ANY(%(non_deductible)s) THEN 'special_invoice_not_deductible'
            WHEN buyer.tax_id IS NOT NULL AND (t.special OR i.buyer_tax_id IS NOT NULL)
                 AND i.buyer_tax_id IS DISTINCT FROM buyer.tax_id THEN 'buyer_tax_id_mismatch'
            WHEN tx.detail IS NOT NULL THEN 'tax_arithmetic'
            WHEN i.invoice_date > c.claim_date OR i.invoice_date < c.claim_date - %(max_age_days)s::int
                 THEN 'invoice_date_invalid'
            WHEN l.gl_account = ANY(%(supplier_required)s)
                 AND NOT EXISTS (SELECT 1 FROM mdm.supplier s WHERE s.credit_code = i.seller_tax_id AND s.active)
                 THEN 'seller_not_supplier'
       END AS reason,
       CASE WHEN i.problem IS NOT NULL THEN i.problem
            WHEN t.code IS NULL OR NOT t.active THEN 'type ' || COALESCE(i.invoice_type, i.source_type)
            WHEN dup.claim_no IS NOT NULL THEN 'already claimed on ' || dup.claim_no || ' line ' || dup.line_no
            WHEN t.special AND i.seller_tax_id IS NULL THEN t.name || ' without the seller''s tax id'
            WHEN t.special AND l.gl_account = ANY(%(non_deductible)s)
                 THEN t.name || ' on ' || l.gl_account || ', whose input VAT may not be deducted'
            WHEN buyer.tax_id IS NOT NULL AND (t.special OR i.buyer_tax_id IS NOT NULL)
                 AND i.buyer_tax_id IS DISTINCT FROM buyer.tax_id
                 THEN 'buyer ' || COALESCE(i.buyer_tax_id, 'none') || ', the company is ' || buyer.tax_id
            WHEN tx.detail IS NOT NULL THEN tx.detail
            WHEN i.invoice_date > c.claim_date OR i.invoice_date < c.claim_date - %(max_age_days)s::int
                 THEN 'dated ' || i.invoice_date || ', claim dated ' || c.claim_date
            ELSE 'seller ' || COALESCE(i.seller_name, '?') || ' (' || COALESCE(i.seller_tax_id, 'no tax id')
                 || ') is not an active supplier'
       END AS detail
  FROM fin.claim_invoice i
  JOIN fin.claim c ON c.claim_id = i.claim_id
  LEFT JOIN claim_check_line l ON l.claim_id = i.claim_id AND l.line_no = i.line_no
  LEFT JOIN mdm.invoice_type t ON t.code = i.invoice_type
  LEFT JOIN LATERAL (SELECT (%(buyer_tax_ids)s::jsonb) ->> c.company AS tax_id) buyer ON true
  -- the rate an invoice without 发票明细 rows was computed at (the nearest, to the cent), and its rows
  LEFT JOIN LATERAL (
        SELECT rt AS rate FROM unnest(%(rates)s::numeric[]) rt
         WHERE i.net IS NOT NULL AND i.tax IS NOT NULL AND abs(i.tax - round(i.net * rt, 2)) <= 0.01
         ORDER BY abs(i.tax - round(i.net * rt, 2)), rt DESC LIMIT 1) r ON true
  CROSS JOIN LATERAL (
        SELECT count(*) AS n, min(rate) AS min_rate, max(rate) AS max_rate, sum(amount) AS amount, sum(tax) AS tax,
               count(*) FILTER (WHERE rate IS NULL OR amount IS NULL OR tax IS NULL
                                   OR NOT rate = ANY(%(rates)s::numeric[])
                                   OR abs(tax - round(amount * rate, 2)) > 0.01) AS bad
          FROM (SELECT (x ->> 'amount')::numeric AS amount, (x ->> 'rate')::numeric AS rate,
                       (x ->> 'tax')::numeric AS tax
                  FROM jsonb_array_elements(i.items) x) rows) it
  -- tax arithmetic: net + tax = total; each 发票明细 row's tax is its amount × a VAT rate and the rows
  -- add up to the invoice, to the cent; an invoice without rows: its tax is net × a VAT rate
  CROSS JOIN LATERAL (
        SELECT CASE WHEN i.net IS NULL OR i.tax IS NULL THEN NULL
                    WHEN abs(i.net + i.tax - COALESCE(i.total, i.net + i.tax)) > 0.01
                         THEN 'net ' || i.net || ' + tax ' || i.tax || ' is not the total ' || i.total
                    WHEN it.bad > 0
                         THEN it.bad || ' of ' || it.n || ' 发票明细 rows: the tax is not the amount × a VAT rate to the cent'
                    WHEN it.n > 0 AND (abs(it.amount - i.net) > 0.01 OR abs(it.tax - i.tax) > 0.01)
                         THEN 'the 发票明细 rows add up to ' || it.amount || ' + ' || it.tax || ', the invoice says '
                              || i.net || ' + ' || i.tax
                    WHEN it.n = 0 AND r.rate IS NULL
                         THEN 'net ' || i.net || ' tax ' || i.tax || ': no VAT rate gives this tax to the cent'
               END AS detail) tx
  -- the same invoice on a claim (or a line) taken in before, unless that claim was cancelled
  LEFT JOIN LATERAL (
        SELECT oc.claim_no, o.line_no FROM fin.claim_invoice o JOIN fin.claim oc ON oc.claim_id = o.claim_id
         WHERE o.invoice_key = i.invoice_key AND oc.state <> 'cancelled'
           AND (o.claim_id, o.line_no, o.seq) < (i.claim_id, i.line_no, i.seq)
         ORDER BY o.claim_id, o.line_no, o.seq LIMIT 1) dup ON true
 WHERE i.claim_id = ANY(%(claim_ids)s);

-- step: verdict
CREATE TEMP TABLE claim_check ON COMMIT DROP AS
WITH invoice_problem AS (
    SELECT DISTINCT ON (claim_id) claim_id, reason,
           'line ' || line_no || ' invoice ' || invoice_key || ': ' || detail AS detail
      FROM claim_check_invoice WHERE reason IS NOT NULL ORDER BY claim_id, line_no, seq
), line_vat AS (
    SELECT claim_id, line_no, sum(deductible) AS input_vat FROM claim_check_invoice GROUP BY 1, 2
), vat_problem AS (
    SELECT DISTINCT ON (l.claim_id) l.claim_id,
           'line ' || l.line_no || ': input VAT ' || v.input_vat || ' of an amount of ' || l.amount AS detail
      FROM claim_check_line l JOIN line_vat v USING (claim_id, line_no)
     WHERE v.input_vat >= l.amount ORDER BY l.claim_id, l.line_no
), line_problem AS (
    SELECT DISTINCT ON (claim_id) claim_id, reason,
           'line ' || line_no || ' (fee type ' || fee_code || ', cost center item ' || COALESCE(cc_item, '-')
               || ', amount ' || COALESCE(amount::text, 'malformed') || ')' AS detail
      FROM claim_check_line WHERE reason IS NOT NULL ORDER BY claim_id, line_no
), sums AS (
    SELECT claim_id, count(*) AS lines, sum(amount) AS total FROM claim_check_line GROUP BY claim_id
), over_budget AS (
    SELECT DISTINCT ON (l.claim_id) l.claim_id,
           'cost center ' || l.cost_center || ': balance ' || b.balance::text || ' after this claim' AS detail
      FROM claim_check_line l JOIN claim_budget b ON b.item = l.cc_item
     WHERE b.balance < 0 ORDER BY l.claim_id, b.balance
), judged AS (
    SELECT c.claim_id, c.claim_no, c.flow_id, c.employee_no, c.total_amount, o.oa_state,
           CASE WHEN o.oa_state IN ('rejected', 'withdrawn') THEN 'oa_disagrees'
                WHEN o.oa_state = 'missing' THEN 'oa_approval_missing'
                WHEN COALESCE(s.lines, 0) = 0 THEN 'no_lines'
                WHEN NOT c.currency = ANY(%(currencies)s) THEN 'currency_unknown'
                WHEN e.employee_id IS NULL THEN 'employee_unknown'
                WHEN NOT (e.active OR e.deactivated_at::date >= c.claim_date)
                     OR e.hired_on > c.claim_date THEN 'employee_inactive'
                WHEN lp.reason IS NOT NULL THEN lp.reason
                WHEN s.total IS DISTINCT FROM c.total_amount THEN 'total_mismatch'
                WHEN ip.reason IS NOT NULL THEN ip.reason
                WHEN vp.claim_id IS NOT NULL THEN 'tax_exceeds_line'
                WHEN ob.claim_id IS NOT NULL THEN 'budget_exceeded'
           END AS reason,
           CASE WHEN o.oa_state IN ('rejected', 'withdrawn', 'missing')
                THEN 'OA approval ' || COALESCE(c.raw -> 'form' ->> 'u_oaInstanceId', '') || ' ' || o.oa_state
                     || ', 合思 ' || c.expense_state
                WHEN NOT c.currency = ANY(%(currencies)s) THEN c.currency
                WHEN e.employee_id IS NULL OR NOT e.active THEN 'employee ' || c.employee_no
                WHEN lp.reason IS NOT NULL THEN lp.detail
                WHEN s.total IS DISTINCT FROM c.total_amount
                     THEN 'claim total ' || c.total_amount::text || ', lines ' || COALESCE(s.total::text, '-')
                WHEN ip.reason IS NOT NULL THEN ip.detail
                WHEN vp.claim_id IS NOT NULL THEN vp.detail
                ELSE ob.detail
           END AS detail
      FROM fin.claim c
      LEFT JOIN mdm.employee e ON e.employee_no = c.employee_no
      LEFT JOIN claim_oa o ON o.claim_id = c.claim_id
      LEFT JOIN sums s ON s.claim_id = c.claim_id
      LEFT JOIN line_problem lp ON lp.claim_id = c.claim_id
      LEFT JOIN over_budget ob ON ob.claim_id = c.claim_id
      LEFT JOIN invoice_problem ip ON ip.claim_id = c.claim_id
      LEFT JOIN vat_problem vp ON vp.claim_id = c.claim_id
     WHERE c.claim_id = ANY(%(claim_ids)s)
)
SELECT *, CASE WHEN reason IN ('oa_disagrees', 'oa_approval_missing') THEN 'conflict' ELSE 'quarantine' END AS kind,
       jsonb_build_object('flow_id', flow_id, 'employee_no', employee_no, 'total', total_amount::text,
                          'oa_state', oa_state) AS record
  FROM judged;

-- step: invalid
UPDATE fin.claim c SET state = 'invalid', updated_at = now()
  FROM claim_check k WHERE k.claim_id = c.claim_id AND k.reason IS NOT NULL AND c.state <> 'invalid';

-- step: clear_lines
DELETE FROM fin.claim_line WHERE claim_id = ANY(%(claim_ids)s);

-- step: insert_lines
-- A valid claim's lines: what each costs (its amount less the input VAT its invoices deduct) and that VAT.
INSERT INTO fin.claim_line (claim_id, line_no, fee_type_code, gl_account, cost_center, project, amount,
                            input_vat, description)
SELECT l.claim_id, l.line_no, l.fee_code, l.gl_account, l.cost_center, l.project,
       l.amount - COALESCE(v.input_vat, 0), COALESCE(v.input_vat, 0), l.description
  FROM claim_check_line l JOIN claim_check k ON k.claim_id = l.claim_id
  LEFT JOIN (SELECT claim_id, line_no, sum(deductible) AS input_vat FROM claim_check_invoice GROUP BY 1, 2) v
         ON v.claim_id = l.claim_id AND v.line_no = l.line_no
 WHERE k.reason IS NULL;

-- step: invoice_findings
-- What validation found on each invoice, for auditors; what it deducts, once its claim is valid.
UPDATE fin.claim_invoice i
   SET finding = CASE WHEN v.reason IS NOT NULL THEN v.reason || ': ' || v.detail END, rate = v.rate,
       deductible = CASE WHEN k.reason IS NULL THEN v.deductible ELSE 0 END
  FROM claim_check_invoice v JOIN claim_check k ON k.claim_id = v.claim_id
 WHERE i.claim_id = v.claim_id AND i.line_no = v.line_no AND i.seq = v.seq;

-- step: valid
UPDATE fin.claim c SET state = 'voucher_pending', updated_at = now()
  FROM claim_check k WHERE k.claim_id = c.claim_id AND k.reason IS NULL;

-- step: reasons
-- How many claims failed, per reason.
SELECT reason, count(*) FROM claim_check WHERE reason IS NOT NULL GROUP BY reason;
