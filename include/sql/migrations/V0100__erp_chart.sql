-- The ERP chart (issue 3): GL accounts, expense categories, cost centers and projects, mastered by
-- the ERP, and their reconciliation with the expense system (合思).
--
--   staging.<entity>          one set of rows per load, typed columns + the vendor record as landed
--   mdm.<entity>              the canonical chart (the ERP's code is the business key)
--   mdm.fee_type              合思's fee types (合思 is their master; read-only in its API)
--   mdm.category_fee_type     which fee type each expense category maps onto, and why
--   sync.expense_dimension_item  the 合思 dimension items as last read (cost centers, projects)
--   sync.chart_sync_state     per record: the last-synced state of each side, and a standing decision
--
-- 合思 ids of canonical records live in mdm.crosswalk (system 'ekuaibao'); watermarks in sync.watermark.

-- ---------------------------------------------------------------------------------------------
-- Staging: what each load brought, as mapped by include/mappings/<system>/<entity>.yaml
-- ---------------------------------------------------------------------------------------------
CREATE TABLE staging.gl_account (
    load_id            bigint  NOT NULL REFERENCES sync.load ON DELETE CASCADE,
    source_key         text    NOT NULL,      -- the ERP's code of the record
    code               text,
    name               text,
    parent_code        text,
    postable           boolean,
    account_type       text,                  -- the ERP's own type (SAP GLAccountType, 科目类别…)
    account_class      text,                  -- canonical class, NULL when the type is unknown
    active             boolean,
    company            text,
    source_updated_at  timestamptz,
    mapping_error      text,
    raw                jsonb   NOT NULL,
    PRIMARY KEY (load_id, source_key)
);

CREATE TABLE staging.expense_category (
    load_id            bigint  NOT NULL REFERENCES sync.load ON DELETE CASCADE,
    source_key         text    NOT NULL,
    code               text,
    name               text,
    parent_code        text,
    gl_account_code    text,
    active             boolean,
    company            text,
    source_updated_at  timestamptz,
    mapping_error      text,
    raw                jsonb   NOT NULL,
    PRIMARY KEY (load_id, source_key)
);

CREATE TABLE staging.cost_center (
    load_id            bigint  NOT NULL REFERENCES sync.load ON DELETE CASCADE,
    source_key         text    NOT NULL,
    code               text,
    name               text,
    parent_code        text,
    owner_unit         text,                  -- the responsible department, by the ERP's code
    company            text,
    valid_from         date,
    valid_to           date,
    active             boolean,
    source_updated_at  timestamptz,
    mapping_error      text,
    raw                jsonb   NOT NULL,
    PRIMARY KEY (load_id, source_key)
);

CREATE TABLE staging.project (
    load_id            bigint  NOT NULL REFERENCES sync.load ON DELETE CASCADE,
    source_key         text    NOT NULL,
    code               text,
    name               text,
    parent_code        text,
    company            text,
    valid_from         date,
    valid_to           date,
    active             boolean,
    source_updated_at  timestamptz,
    mapping_error      text,
    raw                jsonb   NOT NULL,
    PRIMARY KEY (load_id, source_key)
);

CREATE TABLE staging.fee_type (
    load_id            bigint  NOT NULL REFERENCES sync.load ON DELETE CASCADE,
    source_key         text    NOT NULL,      -- 合思's fee type id ('corp:office')
    code               text,
    name               text,
    parent_key         text,
    active             boolean,
    mapping_error      text,
    raw                jsonb   NOT NULL,
    PRIMARY KEY (load_id, source_key)
);

CREATE TABLE staging.dimension_item (
    load_id            bigint  NOT NULL REFERENCES sync.load ON DELETE CASCADE,
    source_key         text    NOT NULL,      -- 合思's item id
    dimension_id       text,
    code               text,
    name               text,
    parent_key         text,
    active             boolean,
    remote_updated_at  timestamptz,
    mapping_error      text,
    raw                jsonb   NOT NULL,
    PRIMARY KEY (load_id, source_key)
);

-- ---------------------------------------------------------------------------------------------
-- The canonical chart (ERP is master; records are deactivated, never deleted)
-- ---------------------------------------------------------------------------------------------
CREATE TABLE mdm.gl_account (
    gl_account_id      bigserial   PRIMARY KEY,
    code               text        NOT NULL UNIQUE,
    name               text        NOT NULL,
    parent_code        text,
    postable           boolean     NOT NULL DEFAULT true,   -- a leaf that accepts postings (明细科目)
    account_type       text,
    account_class      text,
    active             boolean     NOT NULL DEFAULT true,
    company            text,
    source_system      text        NOT NULL,                -- the ERP that last wrote the record
    source_updated_at  timestamptz,                         -- the ERP's change time, when it tells
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    deactivated_at     timestamptz
);

CREATE TABLE mdm.expense_category (
    expense_category_id bigserial  PRIMARY KEY,
    code               text        NOT NULL UNIQUE,
    name               text        NOT NULL,
    parent_code        text,
    gl_account_code    text,                                -- the GL account it posts to
    active             boolean     NOT NULL DEFAULT true,
    company            text,
    source_system      text        NOT NULL,
    source_updated_at  timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    deactivated_at     timestamptz
);

CREATE TABLE mdm.cost_center (
    cost_center_id     bigserial   PRIMARY KEY,
    code               text        NOT NULL UNIQUE,
    name               text        NOT NULL,
    parent_code        text,
    owner_unit         text,                                -- the responsible org unit, by the ERP's code
    company            text,
    valid_from         date,
    valid_to           date,
    active             boolean     NOT NULL DEFAULT true,
    source_system      text        NOT NULL,
    source_updated_at  timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    deactivated_at     timestamptz
);
CREATE INDEX cost_center_updated ON mdm.cost_center (updated_at);

CREATE TABLE mdm.project (
    project_id         bigserial   PRIMARY KEY,
    code               text        NOT NULL UNIQUE,
    name               text        NOT NULL,
    parent_code        text,
    company            text,
    valid_from         date,
    valid_to           date,
    active             boolean     NOT NULL DEFAULT true,
    source_system      text        NOT NULL,
    source_updated_at  timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    deactivated_at     timestamptz
);
CREATE INDEX project_updated ON mdm.project (updated_at);

-- 合思's fee types (its master data; the open API cannot write them).
CREATE TABLE mdm.fee_type (
    fee_type_id        bigserial   PRIMARY KEY,
    remote_id          text        NOT NULL UNIQUE,
    code               text,
    name               text        NOT NULL,
    parent_remote_id   text,
    active             boolean     NOT NULL DEFAULT true,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX fee_type_code ON mdm.fee_type (code);

-- Expense category -> fee type, with its provenance. state:
--   mapped     in force (the fee type posts through the category's GL account)
--   suspended  the GL account is inactive or not postable: not in force
--   unmapped   no active fee type carries the category's code
--   kept       in force by a person's decision although the GL account is not usable
--   inactive   the category is inactive in the ERP
CREATE TABLE mdm.category_fee_type (
    expense_category_id bigint     PRIMARY KEY REFERENCES mdm.expense_category,
    fee_type_id        bigint      REFERENCES mdm.fee_type,
    state              text        NOT NULL CHECK (state IN ('mapped', 'suspended', 'unmapped', 'kept', 'inactive')),
    provenance         text        CHECK (provenance IN ('auto_code', 'human')),
    decided_by         text,                                -- for provenance 'human'
    decided_at         timestamptz,
    updated_at         timestamptz NOT NULL DEFAULT now()
);

-- ---------------------------------------------------------------------------------------------
-- Reconciliation state
-- ---------------------------------------------------------------------------------------------
-- 合思's cost center and project items as last read (incrementally, by updateTime).
CREATE TABLE sync.expense_dimension_item (
    remote_id          text        PRIMARY KEY,
    dimension_id       text        NOT NULL,
    code               text,
    name               text,
    parent_remote_id   text,
    active             boolean,
    remote_updated_at  timestamptz,
    changed_at         timestamptz NOT NULL DEFAULT now()   -- when a read found it new or different
);
CREATE INDEX expense_dimension_item_code ON sync.expense_dimension_item (dimension_id, code);
CREATE INDEX expense_dimension_item_changed ON sync.expense_dimension_item (changed_at);

-- Per record and side, the state both sides agreed on at the last sync (a hash of the compared
-- fields). A side whose current hash differs has changed since; both differ = a conflict. For
-- expense categories a person's decision stands while both hashes are unchanged.
CREATE TABLE sync.chart_sync_state (
    entity             text        NOT NULL,                -- cost_center, project, expense_category
    record_key         text        NOT NULL,                -- the ERP's code
    erp_hash           text,
    expense_hash       text,
    decision           text        CHECK (decision IN ('take_erp', 'keep_expense')),
    decision_item_id   bigint      REFERENCES sync.exception_item,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (entity, record_key)
);
