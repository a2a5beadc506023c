-- Claims from 合思 and the ERP vouchers made of them: the finance side of the middle platform.
--
-- Writers: claim_events (a claim as fetched and validated, its voucher) and voucher_status_pull
-- (the voucher's ERP state and number, the write-back, the claim's close). Readers: the month-end
-- rollup and reconciliation (V0300-V0399) and the auditors' pack.
--
-- Accounting model (the month end relies on it):
--   * a claim voucher moves the claim into the ERP at once, to an expense CLEARING account:
--       Dr <clearing account> (per claim line, with its cost center and project)
--       Cr <employee payable account> (one line, the claim total)
--   * the monthly rollup posts, per period / company / cost center / GL account / project,
--       Dr <expense GL account of the line>  Cr <clearing account>
--     so the clearing account nets to zero per period once the month is closed.
-- Money is numeric(18,2): yuan with two decimals, never float.

CREATE SCHEMA IF NOT EXISTS fin;

-- One row per 合思 document (报销单), as last fetched. state:
--   received         fetched, not yet validated
--   invalid          failed validation: an open item in sync.exception_item says why
--   voucher_pending  valid; its voucher is being created (sync.outbound row 'sending')
--   voucher_created  the ERP holds the voucher draft
--   voucher_audited  the ERP audited/posted it; the number is known, write-back pending
--   closed           the voucher number was written back to 合思
--   cancelled        withdrawn, rejected or deleted in 合思 before a voucher existed
CREATE TABLE fin.claim (
    claim_id        bigserial   PRIMARY KEY,
    claim_no        text        NOT NULL UNIQUE,        -- 合思 form.code (e.g. B24000123): the voucher's external ref
    flow_id         text        NOT NULL UNIQUE,        -- 合思 flowId
    company         text        NOT NULL,               -- the ERP accounting book / company code
    employee_no     text        NOT NULL,               -- 工号 of the claimant (mdm.employee.employee_no)
    title           text,
    claim_date      date        NOT NULL,               -- the voucher date (合思 expenseDate / submitDate)
    period          text        NOT NULL CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    currency        text        NOT NULL,
    total_amount    numeric(18,2) NOT NULL,
    expense_state   text        NOT NULL,               -- 合思 state: approving, paying, paid, archived…
    oa_state        text,                               -- the OA approval's state, when an OA approval mirrors it
    state           text        NOT NULL DEFAULT 'received' CHECK (state IN (
                        'received', 'invalid', 'voucher_pending', 'voucher_created',
                        'voucher_audited', 'closed', 'cancelled')),
    version         integer     NOT NULL DEFAULT 1,     -- +1 whenever 合思 changes the content (content_hash)
    content_hash    text        NOT NULL,               -- hash of the lines, amounts, company and date
    raw             jsonb       NOT NULL,               -- the 合思 flow detail as fetched
    fetched_at      timestamptz NOT NULL DEFAULT now(),
    approved_at     timestamptz,
    closed_at       timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX claim_period ON fin.claim (period, company);
CREATE INDEX claim_open ON fin.claim (state) WHERE state NOT IN ('closed', 'cancelled');

-- The claim's lines (费用明细), with the GL account each one posts to as resolved at validation.
CREATE TABLE fin.claim_line (
    claim_id        bigint      NOT NULL REFERENCES fin.claim ON DELETE CASCADE,
    line_no         integer     NOT NULL,
    fee_type_code   text        NOT NULL,               -- 合思 fee type code (mdm.fee_type.code)
    gl_account      text        NOT NULL,               -- the expense GL account (mdm.gl_account.code)
    cost_center     text        NOT NULL,               -- mdm.cost_center.code
    project         text,                               -- mdm.project.code
    amount          numeric(18,2) NOT NULL CHECK (amount > 0),
    description     text,
    PRIMARY KEY (claim_id, line_no)
);

-- Every voucher we asked an ERP to hold, whatever made it. The exactly-once guard is
-- sync.outbound (target_system = ERP vendor, entity = 'voucher', business_key = external_ref),
-- written before the call; this table is the finance view with the lines as sent.
--   kind:  claim     one per claim (external_ref = claim_no; a changed claim: '<claim_no>-V2'…)
--          rollup    a month-end summary (external_ref 'RU-<period>-<company>-<n>')
--          reversal  cancels an earlier voucher (external_ref '<reversed ref>-R1'…)
CREATE TABLE fin.voucher (
    voucher_id      bigserial   PRIMARY KEY,
    erp_vendor      text        NOT NULL CHECK (erp_vendor IN ('kingdee', 'yonyou', 'sap')),
    external_ref    text        NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('claim', 'rollup', 'reversal')),
    claim_id        bigint      REFERENCES fin.claim,   -- kind 'claim' (and its reversals)
    reverses        bigint      REFERENCES fin.voucher, -- kind 'reversal'
    company         text        NOT NULL,
    period          text        NOT NULL CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    posting_date    date        NOT NULL,
    currency        text        NOT NULL DEFAULT 'CNY',
    total           numeric(18,2) NOT NULL CHECK (total > 0),
    lines           jsonb       NOT NULL,               -- [{account, debit, credit, cost_center, project, text}], amounts as strings
    remote_id       text,                               -- the ERP's id, once known
    number          text,                               -- the voucher number people see, once assigned
    state           text        NOT NULL DEFAULT 'sending' CHECK (state IN (
                        'sending', 'draft', 'submitted', 'audited', 'posted', 'void', 'error')),
    raw_state       text,
    written_back_at timestamptz,                        -- claim vouchers: number written back to 合思
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT voucher_ref UNIQUE (erp_vendor, external_ref)
);
CREATE INDEX voucher_open ON fin.voucher (erp_vendor, voucher_id) WHERE state IN ('sending', 'draft', 'submitted');
CREATE INDEX voucher_period ON fin.voucher (period, company, kind);
CREATE INDEX voucher_claim ON fin.voucher (claim_id) WHERE claim_id IS NOT NULL;
