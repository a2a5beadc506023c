-- The approval matrix (审批矩阵) as master data: per company / cost center / expense category and
-- amount band, the ordered approver roles (主管 → 财务 → 总监) and who holds each. Derived daily by
-- expense_sync.matrix (include/sql/matrix/*.sql) from the ERP budget center's holders of each cost
-- center (owner = 总监, budget controller = 财务) and the OA's managers (主管 = the submitter's
-- manager, resolved per document). Versioned: a new version only when the content changes; every
-- version is kept for the auditors, with the approvers that changed from the version before.
--
-- Version range V0500-V0599: approvals (issue 13).

-- ---------------------------------------------------------------------------------------------
-- The OA's managers (主管): a person's direct manager, else their department's manager
-- ---------------------------------------------------------------------------------------------
ALTER TABLE staging.org_unit ADD COLUMN manager_key text;      -- the OA's user id of the department's manager
ALTER TABLE staging.employee ADD COLUMN manager_key text;      -- the OA's user id of the direct manager
ALTER TABLE mdm.org_unit ADD COLUMN manager_employee_no text;  -- 工号 of the department's manager
ALTER TABLE mdm.employee ADD COLUMN manager_employee_no text;  -- 工号 of the person's manager (direct,
                                                              -- else the nearest department's manager)

-- ---------------------------------------------------------------------------------------------
-- Who answers for each cost center in the ERP's budget center
-- ---------------------------------------------------------------------------------------------
CREATE TABLE mdm.cost_center_holder (
    cost_center         text        PRIMARY KEY,   -- mdm.cost_center.code
    company             text,
    owner               text,                      -- 工号 of the 负责人 (总监)
    budget_controller   text,                      -- 工号 of the 预算控制人 (财务)
    source_system       text        NOT NULL,      -- the ERP that said so
    updated_at          timestamptz NOT NULL DEFAULT now()
);

-- ---------------------------------------------------------------------------------------------
-- The matrix, versioned
-- ---------------------------------------------------------------------------------------------
CREATE TABLE mdm.approval_matrix_version (
    version        integer     PRIMARY KEY,
    derived_at     timestamptz NOT NULL DEFAULT now(),
    run_key        text,
    content_hash   text        NOT NULL,           -- sha256 of the rows: a new version only when it differs from
                                                   -- the latest (A → B → A is three versions: the holders went back)
    row_count      integer     NOT NULL,
    cost_centers   integer     NOT NULL,
    vacant         integer     NOT NULL            -- rows whose role nobody holds (incomplete chains)
);

-- One row per step of a chain. A step names its approver (approver_employee_no), or the rule that
-- finds them per document (rule 'submitter_manager': the submitter's 主管), or neither: nobody holds
-- the role (the chain is incomplete; the GX suite approval_matrix fails on it).
CREATE TABLE mdm.approval_matrix (
    version              integer       NOT NULL REFERENCES mdm.approval_matrix_version,
    company              text,
    cost_center          text          NOT NULL,
    category             text,                   -- expense category code; NULL = any category
    band_low             numeric(18,2) NOT NULL,  -- the band holds amounts > band_low …
    band_high            numeric(18,2),           -- … and <= band_high (NULL: no upper bound)
    seq                  smallint      NOT NULL,
    role                 text          NOT NULL CHECK (role IN ('主管', '财务', '总监')),
    approver_employee_no text,
    rule                 text          CHECK (rule IN ('submitter_manager')),
    CHECK (approver_employee_no IS NULL OR rule IS NULL),
    CHECK (band_high IS NULL OR band_high > band_low)
);
CREATE UNIQUE INDEX approval_matrix_step
    ON mdm.approval_matrix (version, cost_center, COALESCE(category, ''), band_low, seq);

-- The approvers that changed from one version to the next, per cost center and role (for the
-- auditors and for reassigning in-flight approvals).
CREATE TABLE mdm.approval_matrix_change (
    new_version    integer NOT NULL REFERENCES mdm.approval_matrix_version,
    old_version    integer REFERENCES mdm.approval_matrix_version,
    cost_center    text    NOT NULL,
    role           text    NOT NULL,
    old_approver   text,
    new_approver   text,
    PRIMARY KEY (new_version, cost_center, role)
);

-- ---------------------------------------------------------------------------------------------
-- What the GX suite approval_matrix reads: one row per active cost center and the matrix in force
-- (no rows before a first matrix is derived)
-- ---------------------------------------------------------------------------------------------
CREATE VIEW mdm.approval_matrix_health AS
WITH in_force AS (SELECT max(version) AS version FROM mdm.approval_matrix_version),
steps AS (
    SELECT m.*, e.employee_id IS NOT NULL AS known, COALESCE(e.active, false) AS active
    FROM mdm.approval_matrix m
    JOIN in_force f ON f.version = m.version
    LEFT JOIN mdm.employee e ON e.employee_no = m.approver_employee_no
)
SELECT c.code AS cost_center, c.company, f.version,
       EXISTS (SELECT 1 FROM steps s WHERE s.cost_center = c.code) AS in_matrix,
       (SELECT count(*) FROM steps s WHERE s.cost_center = c.code
          AND s.approver_employee_no IS NULL AND s.rule IS NULL) AS vacant,
       (SELECT count(*) FROM steps s WHERE s.cost_center = c.code
          AND s.approver_employee_no IS NOT NULL AND NOT s.known) AS unknown,
       (SELECT count(*) FROM steps s WHERE s.cost_center = c.code
          AND s.approver_employee_no IS NOT NULL AND s.known AND NOT s.active) AS inactive,
       -- chains (one category and band) whose named approvers, two or more, are all one person
       (SELECT count(*) FROM (
            SELECT 1 FROM steps s WHERE s.cost_center = c.code AND s.approver_employee_no IS NOT NULL
            GROUP BY COALESCE(s.category, ''), s.band_low
            HAVING count(*) > 1 AND count(DISTINCT s.approver_employee_no) = 1) one) AS one_person_chains
FROM mdm.cost_center c
CROSS JOIN in_force f
WHERE c.active AND f.version IS NOT NULL;
