-- The exception queue reviewed by a person from the Airflow UI (DAG exception_review): the open
-- items no other DAG asks about (quarantined records, refused vouchers and write-backs, unreadable
-- documents, claims that disagree with the OA or the ERP), oldest first.

-- step: questions
SELECT item_id, kind, source_system, entity, record_key, reason_code, reason, record, status,
       first_seen_at, last_seen_at, occurrences
  FROM sync.exception_item
 WHERE reason_code <> ALL(%(asked_elsewhere)s)
   AND (status = 'open' OR (%(deferred)s AND status = 'deferred'))
 ORDER BY first_seen_at, item_id
 LIMIT %(limit)s;

-- step: still_open
SELECT count(*) FROM sync.exception_item WHERE status <> 'resolved';

-- step: take_item
-- One item, locked while its answer is applied: its status and reason code.
SELECT status, reason_code FROM sync.exception_item WHERE item_id = %s FOR UPDATE;
