-- Invoices and tax (发票报销): the invoice-type dictionary, each claim's invoices, and the input VAT
-- (进项税额) a claim line deducts. The dictionary's source is include/dictionaries/
-- invoice_types.yaml (expense_sync.invoices.types keeps these tables in step with it).

CREATE TABLE mdm.invoice_type (
    code            text        PRIMARY KEY,              -- vat_special, digital_normal, air_itinerary…
    name            text        NOT NULL,                 -- 增值税专用发票…
    vat_rule        text        NOT NULL CHECK (vat_rule IN
                        ('invoice_tax', 'transport_invoice_tax', 'air_rail_9', 'road_water_3', 'none')),
    special         boolean     NOT NULL,                 -- a 专用发票
    active          boolean     NOT NULL DEFAULT true,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Where each system puts a type: 合思's entity object id and, for its `invoice` object, 发票类别.
CREATE TABLE mdm.invoice_type_source (
    system          text        NOT NULL,
    object_id       text        NOT NULL,
    category        text        NOT NULL DEFAULT '',
    invoice_type    text        NOT NULL REFERENCES mdm.invoice_type,
    PRIMARY KEY (system, object_id, category)
);

-- The invoices of a claim, line by line, as 合思 held them when the claim was last taken in (a claim
-- already posted keeps the invoices its voucher was made of, as it keeps its lines).
--   invoice_key  the invoice itself, whoever claims it: '<type>:<发票代码>:<发票号码>' (数电票 and
--                tickets have no 代码), or 'ekuaibao:<invoice id>' for a receipt without a number;
--                the duplicate-invoice check compares it across every claim of every period
--   items        a VAT invoice's 发票明细 rows, each with its rate: the tax is checked row by row
--   rule_vat     the input VAT the invoice carries by its type's rule (expense_sync.invoices.vat);
--                whether the line deducts it depends on its expense, decided at validation
--   deductible   what the line deducts of it (set by validation; 0 until then)
--   problem      why the invoice could not be read; finding what the last validation found
CREATE TABLE fin.claim_invoice (
    claim_id        bigint      NOT NULL REFERENCES fin.claim ON DELETE CASCADE,
    line_no         integer     NOT NULL,
    seq             integer     NOT NULL,
    invoice_id      text        NOT NULL,                 -- 合思's id of the invoice entity
    source_type     text        NOT NULL,                 -- 合思 object id (invoice, train, flightItinerary…)
    category        text,                                 -- 合思 发票类别 (for object invoice)
    invoice_type    text,                                 -- mdm.invoice_type.code (None: not in the dictionary)
    invoice_key     text        NOT NULL,
    invoice_code    text,
    invoice_no      text,
    invoice_date    date,
    seller_name     text,
    seller_tax_id   text,
    buyer_tax_id    text,
    net             numeric(18,2),
    tax             numeric(18,2),
    total           numeric(18,2),
    fare            numeric(18,2),
    fuel            numeric(18,2),
    verified        boolean,                              -- 合思 验真
    claimed_deductible numeric(18,2),                     -- 合思's own 可抵扣税额 (taxAmount) on the line
    rule_vat        numeric(18,2) NOT NULL DEFAULT 0,
    deductible      numeric(18,2) NOT NULL DEFAULT 0 CHECK (deductible >= 0),
    rate            numeric(6,4),                         -- the VAT rate the tax was found to be computed at
    problem         text,                                 -- why it could not be read from 合思
    finding         text,                                 -- what the last validation found (reason: detail)
    raw             jsonb,
    items           jsonb       NOT NULL DEFAULT '[]',    -- 发票明细 rows: [{amount, rate, tax}] (strings)
    PRIMARY KEY (claim_id, line_no, seq)
);
CREATE INDEX claim_invoice_key ON fin.claim_invoice (invoice_key);

-- The part of a claim line the company deducts as input VAT: the voucher debits it to the input VAT
-- account; `amount` stays what the line costs (the clearing debit, the expense the rollup moves), so
-- amount + input_vat is the line as claimed.
ALTER TABLE fin.claim_line ADD COLUMN input_vat numeric(18,2) NOT NULL DEFAULT 0 CHECK (input_vat >= 0);

-- The reconciliation carries the input VAT account: its claims side is the claims' deducted VAT.
ALTER TABLE fin.reconciliation_line DROP CONSTRAINT reconciliation_line_account_role_check;
ALTER TABLE fin.reconciliation_line ADD CONSTRAINT reconciliation_line_account_role_check
    CHECK (account_role IN ('expense', 'clearing', 'payable', 'input_vat', 'other'));

-- Suite `invoices`: the invoices of every claim that reached a voucher, with their type's rule and
-- what their line deducts in all (line_input_vat) against the sum of its invoices (line_deductible).
CREATE VIEW fin.posted_invoice AS
SELECT c.claim_no, c.period, c.erp_vendor, i.line_no, i.seq, i.invoice_key, i.invoice_type, t.vat_rule, t.special,
       i.seller_tax_id, i.buyer_tax_id, i.net, i.tax, i.total, i.rate, i.deductible,
       l.input_vat AS line_input_vat,
       sum(i.deductible) OVER (PARTITION BY i.claim_id, i.line_no) AS line_deductible
FROM fin.closed_claim c
JOIN fin.claim_invoice i ON i.claim_id = c.claim_id
JOIN fin.claim_line l ON l.claim_id = i.claim_id AND l.line_no = i.line_no
LEFT JOIN mdm.invoice_type t ON t.code = i.invoice_type;

-- Suite `claims_month_to_date`: a claim's lines are what they cost plus the input VAT they deduct.
CREATE OR REPLACE VIEW fin.claim_month_to_date AS
SELECT c.claim_id, c.claim_no, c.company, c.period, c.state, c.total_amount,
       COALESCE(s.amount, 0)::numeric(18,2) AS lines_total,
       (c.total_amount - COALESCE(s.amount, 0))::numeric(18,2) AS lines_difference,
       COALESCE(s.lines, 0) AS lines
FROM fin.claim c
LEFT JOIN (SELECT claim_id, sum(amount + input_vat) AS amount, count(*)::integer AS lines FROM fin.claim_line
            GROUP BY 1) s
       USING (claim_id)
WHERE c.period = to_char(now() AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM');
