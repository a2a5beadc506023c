-- The middle platform (中台): staging, canonical master data and sync state.
--
--   staging.*  raw vendor records as landed, one set per load (typed columns + the raw JSON)
--   mdm.*      canonical master data, with crosswalk ids per source system
--   sync.*     loads, watermarks, the run ledger, the outbound ledger and the exception queue
--
-- Version ranges: V0001-V0099 foundation (org sync), V0100-V0199 ERP chart, V0200-V0299 claims
-- and vouchers, V0300-V0399 month end. A migration never changes once applied (checksums are kept).

CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS mdm;
CREATE SCHEMA IF NOT EXISTS sync;

-- ---------------------------------------------------------------------------------------------
-- Loads and staging
-- ---------------------------------------------------------------------------------------------
CREATE TABLE sync.load (
    load_id        bigserial PRIMARY KEY,
    source_system  text        NOT NULL,
    entity         text        NOT NULL,
    run_key        text,
    extracted_at   timestamptz NOT NULL,     -- extraction start: when these records were observed
    landed_at      timestamptz,
    merged_at      timestamptz,
    row_count      integer,
    status         text        NOT NULL DEFAULT 'landing'
                   CHECK (status IN ('landing', 'landed', 'merged', 'superseded', 'failed'))
);
CREATE INDEX load_source_entity ON sync.load (source_system, entity, load_id DESC);

CREATE TABLE staging.org_unit (
    load_id        bigint NOT NULL REFERENCES sync.load ON DELETE CASCADE,
    source_key     text   NOT NULL,          -- the vendor's id of the department
    code           text,
    name           text,
    parent_key     text,                     -- the vendor's id of the parent; NULL for the root
    sort_order     integer,
    mapping_error  text,                     -- set when the vendor record could not be mapped
    raw            jsonb  NOT NULL,
    PRIMARY KEY (load_id, source_key)
);

CREATE TABLE staging.employee (
    load_id        bigint NOT NULL REFERENCES sync.load ON DELETE CASCADE,
    source_key     text   NOT NULL,          -- the vendor's user id
    employee_no    text,
    name           text,
    email          text,
    mobile         text,
    org_unit_key   text,                     -- the vendor's id of the main department
    position_title text,
    hired_on       date,
    active         boolean,
    mapping_error  text,
    raw            jsonb  NOT NULL,
    PRIMARY KEY (load_id, source_key)
);

-- ---------------------------------------------------------------------------------------------
-- Canonical master data
-- ---------------------------------------------------------------------------------------------
CREATE TABLE mdm.org_unit (
    org_unit_id       bigserial PRIMARY KEY,
    code              text        NOT NULL UNIQUE,
    name              text        NOT NULL,
    parent_id         bigint      REFERENCES mdm.org_unit,
    sort_order        integer     NOT NULL DEFAULT 0,
    active            boolean     NOT NULL DEFAULT true,
    source_updated_at timestamptz NOT NULL,  -- the master's last-update time of this version
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    deactivated_at    timestamptz
);
CREATE INDEX org_unit_parent ON mdm.org_unit (parent_id);
CREATE INDEX org_unit_updated ON mdm.org_unit (updated_at);

CREATE TABLE mdm.position (
    position_id  bigserial PRIMARY KEY,
    title        text        NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE mdm.employee (
    employee_id       bigserial PRIMARY KEY,
    employee_no       text        NOT NULL UNIQUE,   -- 工号: the business key
    name              text        NOT NULL,
    email             text,
    mobile            text,
    org_unit_id       bigint      NOT NULL REFERENCES mdm.org_unit,
    position_id       bigint      REFERENCES mdm.position,
    hired_on          date,
    active            boolean     NOT NULL DEFAULT true,
    source_updated_at timestamptz NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    deactivated_at    timestamptz                     -- leavers are deactivated, never deleted
);
CREATE INDEX employee_org_unit ON mdm.employee (org_unit_id);
CREATE INDEX employee_updated ON mdm.employee (updated_at);

-- One row per (entity, canonical record, system): the record's id in that system.
CREATE TABLE mdm.crosswalk (
    entity        text        NOT NULL,
    canonical_id  bigint      NOT NULL,
    system        text        NOT NULL,
    external_id   text        NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (entity, system, external_id),
    UNIQUE (entity, canonical_id, system)
);

-- ---------------------------------------------------------------------------------------------
-- Sync state
-- ---------------------------------------------------------------------------------------------
-- How far each stream has been synced: inbound (vendor -> mdm) or outbound (mdm -> vendor).
CREATE TABLE sync.watermark (
    system       text        NOT NULL,
    stream       text        NOT NULL,        -- e.g. 'employee' or 'employee:push'
    value        timestamptz,
    cursor       text,
    load_id      bigint,
    run_key      text,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (system, stream)
);

-- The run ledger: one row per DAG run, one per step with its counts.
CREATE TABLE sync.run (
    run_key      text PRIMARY KEY,            -- '<dag_id>/<run_id>'
    dag_id       text        NOT NULL,
    run_id       text        NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    status       text        NOT NULL DEFAULT 'running'
);

CREATE TABLE sync.run_step (
    run_key      text        NOT NULL REFERENCES sync.run ON DELETE CASCADE,
    step         text        NOT NULL,
    counts       jsonb       NOT NULL DEFAULT '{}',
    finished_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_key, step)
);

-- The outbound ledger: what we asked a target system to hold, written *before* the call.
-- 'sending' after a crash or timeout means "outcome unknown": look the record up before resending.
CREATE TABLE sync.outbound (
    target_system  text        NOT NULL,
    entity         text        NOT NULL,
    business_key   text        NOT NULL,
    remote_id      text,
    payload        jsonb,
    payload_hash   text,
    state          text        NOT NULL CHECK (state IN ('sending', 'done', 'failed', 'blocked')),
    attempts       integer     NOT NULL DEFAULT 0,
    last_error     text,
    run_key        text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (target_system, entity, business_key)
);
CREATE INDEX outbound_pending ON sync.outbound (target_system, entity) WHERE state <> 'done';

-- The exception queue: quarantined records and conflicts that need a human decision.
CREATE TABLE sync.exception_item (
    item_id        bigserial PRIMARY KEY,
    kind           text        NOT NULL CHECK (kind IN ('quarantine', 'conflict')),
    source_system  text        NOT NULL,
    entity         text        NOT NULL,
    record_key     text        NOT NULL,
    reason_code    text        NOT NULL,
    reason         text        NOT NULL,
    record         jsonb,
    status         text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'deferred', 'resolved')),
    decision       text,
    decided_by     text,
    decided_at     timestamptz,
    first_seen_at  timestamptz NOT NULL DEFAULT now(),
    last_seen_at   timestamptz NOT NULL DEFAULT now(),
    occurrences    integer     NOT NULL DEFAULT 1,
    first_run_key  text,
    last_run_key   text
);
CREATE UNIQUE INDEX exception_item_open
    ON sync.exception_item (kind, source_system, entity, record_key, reason_code)
    WHERE status <> 'resolved';

-- Append-only history of the queue, for auditors: who queued, decided or cleared what, and when.
CREATE TABLE sync.exception_event (
    event_id   bigserial PRIMARY KEY,
    item_id    bigint      NOT NULL REFERENCES sync.exception_item,
    at         timestamptz NOT NULL DEFAULT now(),
    actor      text        NOT NULL,
    action     text        NOT NULL,    -- 'queued', 'seen_again', 'decided', 'auto_resolved', 'deferred'
    detail     jsonb
);
CREATE INDEX exception_event_item ON sync.exception_event (item_id, at);
