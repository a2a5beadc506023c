-- The event inbox: every verified webhook delivery, stored durably before the sender gets its 2xx.
--
-- Writer: the webhook receiver (plugins/expense_sync/webhooks). One row per event, however often it
-- is delivered: (source, dedup_key) is unique and the receiver inserts with ON CONFLICT DO NOTHING,
-- so a replay or a retry answers 2xx and changes nothing.
--
-- Reader: the claim_events DAG (expense_sync.store.inbox). In one transaction it claims 'new' rows
-- in arrival order with FOR UPDATE SKIP LOCKED (two runs never take the same row), acts on them and
-- marks each one 'processed' or 'ignored'; a failure counts an attempt and keeps the row 'new' until
-- the attempts run out ('failed': an operator looks at last_error and replays it).

CREATE TABLE sync.event_inbox (
    event_id      bigserial   PRIMARY KEY,            -- arrival order
    source        text        NOT NULL,               -- sender: 'ekuaibao', 'dingtalk', 'wecom', 'standard'
    dedup_key     text        NOT NULL CHECK (length(dedup_key) BETWEEN 1 AND 512),
    event_type    text,                                -- the sender's event name (action, EventType, Event…)
    subject       text,                                -- the business document it is about (flow id, process
                                                       -- instance, approval number), when the event names one
    received_at   timestamptz NOT NULL DEFAULT now(),
    headers       jsonb       NOT NULL DEFAULT '{}',  -- an allow-list of request headers; never a secret
    payload       jsonb       NOT NULL,               -- the verified (decrypted) event, without its key
    status        text        NOT NULL DEFAULT 'new'
                  CHECK (status IN ('new', 'processed', 'ignored', 'failed')),
    attempts      integer     NOT NULL DEFAULT 0,     -- processing attempts by the consumer
    last_error    text,
    processed_at  timestamptz,                        -- when it became processed, ignored or failed
    CONSTRAINT event_inbox_dedup UNIQUE (source, dedup_key),
    CONSTRAINT event_inbox_done CHECK ((status = 'new') = (processed_at IS NULL))
);

-- The consumer's work queue: the 'new' rows in arrival order (small, because processed rows leave it).
CREATE INDEX event_inbox_new ON sync.event_inbox (event_id) WHERE status = 'new';
-- Operators: what failed.
CREATE INDEX event_inbox_failed ON sync.event_inbox (event_id) WHERE status = 'failed';
-- The consumer and auditors: every event about one claim, in order.
CREATE INDEX event_inbox_subject ON sync.event_inbox (source, subject, event_id) WHERE subject IS NOT NULL;
