-- The exception queue: quarantined records and conflicts, with an append-only history.
-- {table}, {key}, {reason}, {record}, {detail}, {kind_col} are identifiers composed by the caller.

-- step: queue_from
WITH problems AS (
            SELECT {key}::text AS record_key, {reason} AS reason_code, {record}::jsonb AS record,
                   {detail}::text AS detail
            FROM {table} WHERE {reason} IS NOT NULL AND (NOT %(by_kind)s OR {kind_col} = %(kind)s)
        ), upserted AS (
            INSERT INTO sync.exception_item AS q
                (kind, source_system, entity, record_key, reason_code, reason, record, first_run_key, last_run_key)
            SELECT %(kind)s, %(system)s, %(entity)s, p.record_key, p.reason_code,
                   COALESCE(%(reasons)s::jsonb ->> p.reason_code, p.reason_code)
                       || COALESCE(': ' || p.detail, ''),
                   p.record, %(run_key)s, %(run_key)s
            FROM problems p
            ON CONFLICT (kind, source_system, entity, record_key, reason_code) WHERE status <> 'resolved'
            DO UPDATE SET last_seen_at = now(), occurrences = q.occurrences + 1, record = EXCLUDED.record,
                          reason = EXCLUDED.reason, last_run_key = EXCLUDED.last_run_key
            RETURNING q.item_id, (q.xmax = 0) AS inserted, q.reason_code
        )
        INSERT INTO sync.exception_event (item_id, actor, action, detail)
        SELECT item_id, %(actor)s, 'queued', jsonb_build_object('run_key', %(run_key)s::text,
                                                                  'reason_code', reason_code)
        FROM upserted WHERE inserted;

-- step: count_problems
SELECT count(*) FROM {table} WHERE {reason} IS NOT NULL AND (NOT %(by_kind)s OR {kind_col} = %(kind)s);

-- step: resolve_cleared
WITH cleared AS (
            UPDATE sync.exception_item q
               SET status = 'resolved', decision = 'auto_cleared', decided_by = %(actor)s, decided_at = now()
             WHERE q.kind = %(kind)s AND q.source_system = %(system)s AND q.entity = %(entity)s
               AND q.status <> 'resolved'
               AND (%(codes)s::text[] IS NULL OR q.reason_code = ANY(%(codes)s::text[]))
               AND (EXISTS (SELECT 1 FROM {table} t
                             WHERE t.{key}::text = q.record_key
                               AND t.{reason} IS DISTINCT FROM q.reason_code)
                    OR (%(full_snapshot)s AND NOT EXISTS (SELECT 1 FROM {table} t WHERE t.{key}::text = q.record_key)))
            RETURNING q.item_id
        )
        INSERT INTO sync.exception_event (item_id, actor, action, detail)
        SELECT item_id, %(actor)s, 'auto_resolved', jsonb_build_object('run_key', %(run_key)s::text)
        FROM cleared;

-- step: open_item
INSERT INTO sync.exception_item AS q
            (kind, source_system, entity, record_key, reason_code, reason, record, first_run_key, last_run_key)
        VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s)
        ON CONFLICT (kind, source_system, entity, record_key, reason_code) WHERE status <> 'resolved'
        DO UPDATE SET last_seen_at = now(), occurrences = q.occurrences + 1, reason = EXCLUDED.reason,
                      record = EXCLUDED.record, last_run_key = EXCLUDED.last_run_key
        RETURNING item_id, (xmax = 0);

-- step: queued_event
INSERT INTO sync.exception_event (item_id, actor, action, detail) VALUES (%s, %s, 'queued', %s);

-- step: resolve_item
UPDATE sync.exception_item SET status = 'resolved', decision = %s, decided_by = %s,
                  decided_at = COALESCE(%s, now())
           WHERE item_id = %s AND status <> 'resolved';

-- step: defer_item
UPDATE sync.exception_item SET status = 'deferred' WHERE item_id = %s AND status <> 'resolved';

-- step: add_event
INSERT INTO sync.exception_event (item_id, actor, action, detail) VALUES (%s, %s, %s, %s);

-- step: clear_records
WITH cleared AS (
            UPDATE sync.exception_item
               SET status = 'resolved', decision = 'auto_cleared', decided_by = %(actor)s, decided_at = now()
             WHERE kind = %(kind)s AND source_system = %(system)s AND entity = %(entity)s
               AND status <> 'resolved' AND record_key = ANY(%(keys)s)
               AND (%(codes)s::text[] IS NULL OR reason_code = ANY(%(codes)s::text[]))
            RETURNING item_id
        )
        INSERT INTO sync.exception_event (item_id, actor, action, detail)
        SELECT item_id, %(actor)s, 'auto_resolved', jsonb_build_object('run_key', %(run_key)s::text) FROM cleared;

-- step: take_item
SELECT status, entity, record_key, reason FROM sync.exception_item WHERE item_id = %s FOR UPDATE;

-- step: list_open
-- The open items for `python -m expense_sync queue` (reason code or NULL, entity or NULL), oldest first.
SELECT item_id, kind, entity, record_key, reason_code, reason FROM sync.exception_item
 WHERE status <> 'resolved' AND (%s::text IS NULL OR reason_code = %s::text)
   AND (%s::text IS NULL OR entity = %s::text)
 ORDER BY item_id;
