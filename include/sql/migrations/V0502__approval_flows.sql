-- The travel scenario's front half (issue 13): each version of a 合思 document (申请单 or 报销单)
-- that waits at our E-Bot node becomes one OA approval instance whose nodes come from the approval
-- matrix; the OA's decision goes back to 合思 through the E-Bot callback. Writers:
-- expense_sync.approvals (include/sql/approvals/*.sql); every call to the OA or to 合思 goes through
-- the exactly-once primitive (sync.outbound), these rows only say what the flow is.

CREATE TABLE fin.approval_flow (
    approval_id     bigserial   PRIMARY KEY,
    business_key    text        NOT NULL UNIQUE,             -- <flowId>:<version>, carried in the OA instance
    flow_id         text        NOT NULL,                    -- 合思 document
    doc_code        text        NOT NULL,                    -- 单号
    kind            text        NOT NULL CHECK (kind IN ('requisition', 'expense')),
    doc_version     text        NOT NULL,
    node_id         text        NOT NULL,                    -- the E-Bot node the document waits at
    staff_id        text        NOT NULL,                    -- 合思 staff id of the submitter
    employee_no     text,                                    -- 工号, when resolved
    company         text,
    cost_center     text,
    project         text,
    category        text,
    amount          numeric(18,2) NOT NULL,
    currency        text        NOT NULL,
    oa_vendor       text        NOT NULL,
    matrix_version  integer,
    nodes           jsonb,                                   -- [{role, approvers: [工号], oa_users: [OA user id]}]
    over_budget     boolean,
    instance_id     text,                                    -- the OA's approval instance
    state           text        NOT NULL DEFAULT 'pending' CHECK (state IN (
                        'pending',      -- seen, not yet requested in the OA
                        'held',         -- cannot be requested (no chain, unknown approver…): queued with a reason
                        'running',      -- the OA instance exists and runs
                        'approved',     -- the OA approved; 合思 not yet told
                        'rejected',     -- the OA refused; 合思 not yet told
                        'applied',      -- 合思 took the OA's decision (decision says which)
                        'superseded',   -- a newer version of the document replaced this one
                        'conflict')),   -- 合思 and the OA disagree: a person decides (conflict queue)
    decision        text        CHECK (decision IN ('accept', 'refuse')),
    decided_by      text,                                    -- OA user id of the deciding approver
    comment         text,
    reason_code     text,                                    -- why held / conflict
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (flow_id, doc_version)
);
CREATE INDEX approval_flow_open ON fin.approval_flow (state) WHERE state IN ('pending', 'held', 'running', 'approved', 'rejected');
CREATE INDEX approval_flow_instance ON fin.approval_flow (oa_vendor, instance_id);

-- Each task handed from one approver to another (approver left, holder changed in the ERP), and why.
CREATE TABLE fin.approval_reassignment (
    reassignment_id bigserial   PRIMARY KEY,
    approval_id     bigint      NOT NULL REFERENCES fin.approval_flow,
    task_id         text        NOT NULL,
    role            text,
    from_user       text        NOT NULL,                   -- OA user ids
    to_user         text,
    reason          text        NOT NULL,                   -- 'approver_inactive' | 'matrix_changed'
    outcome         text        NOT NULL CHECK (outcome IN ('transferred', 'unsupported', 'refused', 'no_successor')),
    detail          text,
    matrix_version  integer,
    at              timestamptz NOT NULL DEFAULT now(),
    UNIQUE (approval_id, task_id, from_user)
);

-- Each budget check against the ERP (the auditors' trail): what was asked, what the ERP answered,
-- what our own not-yet-posted documents already held, and the result.
CREATE TABLE fin.budget_check (
    check_id        bigserial   PRIMARY KEY,
    subject         text        NOT NULL CHECK (subject IN ('approval', 'claim')),
    subject_key     text        NOT NULL,                   -- approval business key | claim number
    erp_vendor      text        NOT NULL,
    company         text        NOT NULL,
    cost_center     text        NOT NULL,
    project         text,
    account         text,
    period          text        NOT NULL,
    budget          numeric(18,2),
    used            numeric(18,2),
    reserved        numeric(18,2),                          -- the ERP's committed figure
    held_by_us      numeric(18,2) NOT NULL DEFAULT 0,       -- our valid documents the ERP does not know yet
    amount          numeric(18,2) NOT NULL,
    control         text,
    result          text        NOT NULL CHECK (result IN ('within', 'over', 'no_budget', 'unavailable')),
    source          text,
    checked_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX budget_check_subject ON fin.budget_check (subject, subject_key, checked_at);
