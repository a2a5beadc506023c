-- The ERP's supplier (供应商) and tax-code (税码/税率) masters, for checking claims' invoices: the
-- seller a known, active supplier; the invoice's rate a known tax code. The ERP is master; records
-- are deactivated, never deleted. Each ERP record's own id is in mdm.crosswalk (entity 'supplier' /
-- 'tax_code', system = the ERP). Loaded by expense_sync.masters (include/sql/masters/*.sql).

-- ---------------------------------------------------------------------------------------------
-- Staging: what each load brought (the hooks hand over canonical records: no mapping files)
-- ---------------------------------------------------------------------------------------------
CREATE TABLE staging.supplier (
    load_id            bigint  NOT NULL REFERENCES sync.load ON DELETE CASCADE,
    source_key         text    NOT NULL,      -- the ERP's supplier number
    code               text,
    name               text,
    credit_code        text,
    credit_code_valid  boolean,               -- GB 32100-2015 check, computed when landed
    active             boolean,
    bank_account       text,
    remote_id          text,
    raw                jsonb   NOT NULL,
    PRIMARY KEY (load_id, source_key)
);

CREATE TABLE staging.tax_code (
    load_id            bigint  NOT NULL REFERENCES sync.load ON DELETE CASCADE,
    source_key         text    NOT NULL,
    code               text,
    name               text,
    rate               numeric(6,4),
    exempt             boolean,
    active             boolean,
    remote_id          text,
    raw                jsonb   NOT NULL,
    PRIMARY KEY (load_id, source_key)
);

-- ---------------------------------------------------------------------------------------------
-- The canonical masters
-- ---------------------------------------------------------------------------------------------
CREATE TABLE mdm.supplier (
    supplier_id        bigserial   PRIMARY KEY,
    code               text        NOT NULL UNIQUE,
    name               text        NOT NULL,
    credit_code        text,                    -- 统一社会信用代码 as the ERP holds it (even when invalid)
    credit_code_valid  boolean     NOT NULL DEFAULT false,
    active             boolean     NOT NULL DEFAULT true,
    bank_account       text,
    source_system      text        NOT NULL,    -- the ERP that last wrote the record
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    deactivated_at     timestamptz
);
CREATE INDEX supplier_credit_code ON mdm.supplier (credit_code) WHERE credit_code IS NOT NULL;

CREATE TABLE mdm.tax_code (
    tax_code_id        bigserial   PRIMARY KEY,
    code               text        NOT NULL UNIQUE,
    name               text        NOT NULL,
    rate               numeric(6,4),            -- 0.1300 for 13 %; NULL for an exempt code (免税)
    exempt             boolean     NOT NULL DEFAULT false,
    active             boolean     NOT NULL DEFAULT true,
    source_system      text        NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    deactivated_at     timestamptz,
    CHECK (exempt = (rate IS NULL)),
    CHECK (rate IS NULL OR (rate >= 0 AND rate < 1))
);
