-- Travel bookings accrued (预提, issue 13): a booking confirmed in 合思 becomes an ERP accrual voucher
-- once; the trip's claim reverses it.
--
-- Writers: claim_events (accrue_bookings lands bookings and posts their accrual vouchers;
-- reverse_accruals reverses them once the trip's claim is posted). Readers: the month-end
-- reconciliation (open accruals, the accrued liabilities account's role) and the auditors' pack.
--
-- Accounting model:
--   * the accrual voucher (fin.voucher kind 'accrual', external_ref 'AC-<order_id>', '-V<n>' for
--     the n-th version of a changed booking):
--       Dr <travel expense account> (cost center, project)   Cr <accrued liabilities account> (same)
--   * its reversal (kind 'accrual_reversal', '<ref>-R1', fin.voucher.reverses = the accrual voucher):
--     the same lines swapped, in the accrual's period while that period is open, else in the period
--     of the claim that reversed it (expense_sync.accruals.post).
--   * open at the end of period P: accrual vouchers of a period ≤ P in the ERP with no reversal in
--     the ERP of a period ≤ P.

-- One row per booking (合思 order), as last landed. state:
--   pending    landed (new or changed), its accrual voucher not (yet) in force for this version
--   open       the accrual voucher of booking_version is in the ERP
--   reversed   the trip's claim was posted and the accrual reversed
--   cancelled  the booking was cancelled (its accrual reversed, or none was ever posted)
--   invalid    bad input (unknown employee / cost center, amount ≤ 0, no requisition): an open
--              item in sync.exception_item (entity 'booking') says why
CREATE TABLE fin.accrual (
    accrual_id        bigserial   PRIMARY KEY,
    order_id          text        NOT NULL UNIQUE,        -- the booking's id in 合思: the business key
    booking_version   integer     NOT NULL DEFAULT 1,     -- +1 whenever the booking's content changes
    booking_state     text        NOT NULL CHECK (booking_state IN ('confirmed', 'changed', 'cancelled')),
    booking_hash      text        NOT NULL,               -- hash of what the voucher is made of
    requisition_code  text,                               -- the 申请单 it was booked against
    staff_id          text        NOT NULL,               -- 合思 staff id of the traveller
    employee_no       text,                               -- 工号 (mdm.employee), once resolved
    company           text,                               -- ERP book / company code
    cost_center       text,                               -- mdm.cost_center.code, once resolved
    project           text,                               -- mdm.project.code
    category          text        NOT NULL,               -- flight | hotel | train | car | other
    gl_account        text,                               -- the travel expense account debited
    amount            numeric(18,2) NOT NULL,             -- the booked price (0 when cancelled)
    currency          text        NOT NULL DEFAULT 'CNY',
    booked_at         timestamptz NOT NULL,
    period            text        CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),  -- of the voucher in force
    voucher_id        bigint      REFERENCES fin.voucher, -- the accrual voucher in force (latest version)
    reversal_voucher_id bigint    REFERENCES fin.voucher, -- its reversal, once reversed or cancelled
    claim_id          bigint      REFERENCES fin.claim,   -- the claim whose posting reversed it
    state             text        NOT NULL DEFAULT 'pending' CHECK (state IN (
                          'pending', 'open', 'reversed', 'cancelled', 'invalid')),
    raw               jsonb       NOT NULL DEFAULT '{}',  -- the booking as 合思 sent it
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    reversed_at       timestamptz
);
CREATE INDEX accrual_requisition ON fin.accrual (requisition_code) WHERE state = 'open';
CREATE INDEX accrual_todo ON fin.accrual (accrual_id) WHERE state IN ('pending', 'invalid');

-- The 申请单 (requisitions) a claim is linked to, by their 单据编号 (form.code, as a booking names its
-- 申请单): 合思 flowDetails form.expenseLink (one flow id, 按申请事项整体报销) or form.expenseLinks
-- (several, 按申请明细分别报销), each read back by its id; an id 合思 cannot resolve is kept as is. A
-- claim may close the trips of several requisitions, hence an array.
ALTER TABLE fin.claim ADD COLUMN requisition_codes text[] NOT NULL DEFAULT '{}';
CREATE INDEX claim_requisitions ON fin.claim USING gin (requisition_codes);

ALTER TABLE fin.voucher DROP CONSTRAINT voucher_kind_check;
ALTER TABLE fin.voucher ADD CONSTRAINT voucher_kind_check
    CHECK (kind IN ('claim', 'rollup', 'reversal', 'accrual', 'accrual_reversal'));

-- The reconciliation knows the accrued liabilities account, and counts what is accrued.
ALTER TABLE fin.reconciliation_line DROP CONSTRAINT reconciliation_line_account_role_check;
ALTER TABLE fin.reconciliation_line ADD CONSTRAINT reconciliation_line_account_role_check
    CHECK (account_role IN ('expense', 'clearing', 'payable', 'input_vat', 'accrual', 'other'));
ALTER TABLE fin.reconciliation
    ADD COLUMN accrued_total numeric(18,2) NOT NULL DEFAULT 0,     -- Σ net accrual debits of the period
    ADD COLUMN open_accruals integer NOT NULL DEFAULT 0,           -- accruals open at the period's end
    ADD COLUMN open_accruals_total numeric(18,2) NOT NULL DEFAULT 0;
