-- Month end: the rollup of a period's claims to the ERP ledger, its reconciliation, and the history
-- of the data health checks.
--
-- Writers: expense_rollup_monthly (fin.rollup_run, fin.reconciliation, fin.reconciliation_line) and
-- every data health check (quality.check_result). Readers: the GX suites `vouchers`, `rollup`,
-- `reconciliation`, `claims_month_to_date` (through the views below) and the auditors' pack.
--
-- A period closes over its "closed claims": claims in state voucher_created, voucher_audited or
-- closed whose current claim voucher is in the ERP (fin.voucher kind 'claim', not sending/void/error).
-- Their claim vouchers are in the ERP ledger (the clearing account), so the rollup must move exactly
-- them for the clearing account to net to zero. Money is numeric(18,2).

-- One row per rollup run of a period and company: what it found and what it did.
--   action: posted    first posting of the period
--           unchanged the posted rollup already equals the claims: nothing was sent
--           reposted  the claims changed: the posted rollup was reversed and a new version posted
--           empty     the period has no closed claims
CREATE TABLE fin.rollup_run (
    rollup_run_id   bigserial   PRIMARY KEY,
    run_key         text        NOT NULL,
    erp_vendor      text        NOT NULL,
    period          text        NOT NULL CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    company         text        NOT NULL,
    version         integer     NOT NULL,               -- the rollup version in force after the run
    action          text        NOT NULL CHECK (action IN ('posted', 'unchanged', 'reposted', 'empty')),
    claims          integer     NOT NULL,
    claim_lines     integer     NOT NULL,
    summary_lines   integer     NOT NULL,               -- (GL account, cost center, project) rows
    total           numeric(18,2) NOT NULL,
    vouchers        text[]      NOT NULL DEFAULT '{}',  -- external refs posted by this run (rollups, reversals)
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rollup_run_period ON fin.rollup_run (period, company, rollup_run_id);

-- One reconciliation of a period and company against the ERP ledger.
CREATE TABLE fin.reconciliation (
    reconciliation_id bigserial PRIMARY KEY,
    run_key         text        NOT NULL,
    erp_vendor      text        NOT NULL,
    period          text        NOT NULL CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    company         text        NOT NULL,
    status          text        NOT NULL CHECK (status IN ('reconciled', 'differences')),
    claims          integer     NOT NULL,
    claims_total    numeric(18,2) NOT NULL,             -- Σ closed claim lines
    posted_total    numeric(18,2) NOT NULL,             -- Σ net expense debits of our vouchers
    ledger_total    numeric(18,2) NOT NULL,             -- Σ net expense debits in the ERP ledger
    explained       numeric(18,2) NOT NULL,             -- Σ |difference| with an explained cause
    unexplained     numeric(18,2) NOT NULL,             -- Σ |difference| without one
    claims_unmatched integer    NOT NULL,               -- claims without a voucher number / with other amounts
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reconciliation_period ON fin.reconciliation (period, company, reconciliation_id);

-- Its lines, per account / cost center / project: the claims, our vouchers and the ERP ledger.
-- cause: NULL (agrees), erp_manual_entry (explained: movements in the ERP we did not post),
--        missing_in_erp, rollup_out_of_date, clearing_not_zero (unexplained).
CREATE TABLE fin.reconciliation_line (
    reconciliation_id bigint    NOT NULL REFERENCES fin.reconciliation ON DELETE CASCADE,
    account         text        NOT NULL,
    account_role    text        NOT NULL CHECK (account_role IN ('expense', 'clearing', 'payable', 'other')),
    cost_center     text,
    project         text,
    claims_amount   numeric(18,2) NOT NULL,             -- expense accounts: Σ claim lines; others 0
    posted_debit    numeric(18,2) NOT NULL,
    posted_credit   numeric(18,2) NOT NULL,
    ledger_debit    numeric(18,2) NOT NULL,
    ledger_credit   numeric(18,2) NOT NULL,
    difference      numeric(18,2) NOT NULL,             -- Σ |ledger − posted| + |posted net − claims|
    cause           text,
    explained       boolean     NOT NULL DEFAULT false
);
CREATE INDEX reconciliation_line_run ON fin.reconciliation_line (reconciliation_id);

-- History of every data health check (数据体检): one row per suite and run.
CREATE SCHEMA IF NOT EXISTS quality;
CREATE TABLE quality.check_result (
    check_id        bigserial   PRIMARY KEY,
    run_key         text        NOT NULL,
    checkpoint      text        NOT NULL,
    suite           text        NOT NULL,
    success         boolean     NOT NULL,
    evaluated       integer,
    failed          integer,
    failures        jsonb       NOT NULL DEFAULT '[]',
    checked_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX check_result_suite ON quality.check_result (suite, checked_at);

-- Reversals are looked up by the voucher they reverse (is this voucher still in force?).
CREATE INDEX voucher_reverses ON fin.voucher (reverses) WHERE reverses IS NOT NULL;

-- The claim voucher in force for each claim: the newest kind 'claim' voucher that is in the ERP.
CREATE VIEW fin.claim_voucher_current AS
SELECT DISTINCT ON (v.claim_id) v.*
FROM fin.voucher v
WHERE v.kind = 'claim' AND v.state IN ('draft', 'submitted', 'audited', 'posted')
  AND NOT EXISTS (SELECT 1 FROM fin.voucher r WHERE r.reverses = v.voucher_id AND r.state <> 'error')
ORDER BY v.claim_id, v.voucher_id DESC;

-- The period's closed claims (see the header).
CREATE VIEW fin.closed_claim AS
SELECT c.*, v.voucher_id, v.external_ref AS voucher_ref, v.number AS voucher_number, v.erp_vendor
FROM fin.claim c
JOIN fin.claim_voucher_current v ON v.claim_id = c.claim_id
WHERE c.state IN ('voucher_created', 'voucher_audited', 'closed');

-- Suite `vouchers`: every voucher's lines balance and add up to its total.
CREATE VIEW fin.voucher_balance AS
SELECT v.voucher_id, v.erp_vendor, v.external_ref, v.kind, v.period, v.company, v.state, v.total,
       s.debit, s.credit, s.debit - s.credit AS imbalance, s.debit - v.total AS total_difference, s.lines
FROM fin.voucher v
CROSS JOIN LATERAL (
    SELECT COALESCE(sum((l ->> 'debit')::numeric), 0)::numeric(18,2) AS debit,
           COALESCE(sum((l ->> 'credit')::numeric), 0)::numeric(18,2) AS credit,
           count(*)::integer AS lines
    FROM jsonb_array_elements(v.lines) l
) s;

-- Suite `rollup`: per period and company with a rollup, the closed claims against the rollup
-- vouchers in force (net of reversals), to the cent.
CREATE VIEW fin.rollup_agreement AS
WITH rolled AS (
    SELECT DISTINCT period, company, erp_vendor FROM fin.rollup_run
), claims AS (
    SELECT c.period, c.company, sum(l.amount) AS amount
    FROM fin.closed_claim c JOIN fin.claim_line l USING (claim_id)
    GROUP BY 1, 2
), posted AS (
    SELECT v.period, v.company, v.erp_vendor,
           sum(CASE WHEN v.kind = 'rollup' THEN b.debit ELSE -b.debit END) AS amount
    FROM fin.voucher v JOIN fin.voucher_balance b USING (voucher_id)
    WHERE v.kind = 'rollup'
       OR (v.kind = 'reversal' AND EXISTS (SELECT 1 FROM fin.voucher o WHERE o.voucher_id = v.reverses AND o.kind = 'rollup'))
    GROUP BY 1, 2, 3
)
SELECT r.period, r.company, r.erp_vendor,
       COALESCE(c.amount, 0)::numeric(18,2) AS claims_total,
       COALESCE(p.amount, 0)::numeric(18,2) AS rollup_total,
       (COALESCE(p.amount, 0) - COALESCE(c.amount, 0))::numeric(18,2) AS difference
FROM rolled r
LEFT JOIN claims c ON (c.period, c.company) = (r.period, r.company)
LEFT JOIN posted p ON (p.period, p.company, p.erp_vendor) = (r.period, r.company, r.erp_vendor);

-- Suite `reconciliation`: the latest reconciliation of each period and company.
CREATE VIEW fin.reconciliation_latest AS
SELECT DISTINCT ON (period, company, erp_vendor) *,
       (posted_total - claims_total)::numeric(18,2) AS posted_difference
FROM fin.reconciliation
ORDER BY period, company, erp_vendor, reconciliation_id DESC;

-- Suite `claims_month_to_date`: the current month's claims (Asia/Shanghai) with their lines' sum.
CREATE VIEW fin.claim_month_to_date AS
SELECT c.claim_id, c.claim_no, c.company, c.period, c.state, c.total_amount,
       COALESCE(s.amount, 0)::numeric(18,2) AS lines_total,
       (c.total_amount - COALESCE(s.amount, 0))::numeric(18,2) AS lines_difference,
       COALESCE(s.lines, 0) AS lines
FROM fin.claim c
LEFT JOIN (SELECT claim_id, sum(amount) AS amount, count(*)::integer AS lines FROM fin.claim_line GROUP BY 1) s
       USING (claim_id)
WHERE c.period = to_char(now() AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM');
