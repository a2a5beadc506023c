-- Asking people about chart conflicts and applying their answers.

-- step: questions
SELECT item_id, entity, record_key, reason_code, reason, record, status FROM sync.exception_item
 WHERE kind = 'conflict' AND source_system = 'ekuaibao' AND reason_code = ANY(%(asked)s)
   AND (status = 'open' OR (%(deferred)s AND status = 'deferred'))
 ORDER BY item_id LIMIT %(limit)s;

-- step: items
SELECT item_id, entity, record_key, reason_code, record, status FROM sync.exception_item WHERE item_id = ANY(%s);

-- step: held_erp_hash
SELECT erp_hash FROM sync.chart_sync_state WHERE entity = %s AND record_key = %s;

-- step: decisions_of_run
SELECT i.item_id, i.entity, i.record_key, e.actor, e.action, e.detail FROM sync.exception_event e
           JOIN sync.exception_item i USING (item_id)
           WHERE e.action IN ('decided', 'deferred') AND e.detail ->> 'run_key' = %s ORDER BY e.event_id;
