-- The business outcome of a run (expense_sync.outcomes): what it queued, what still waits.

-- step: new_items
-- The exception items this run queued first and that are still open, per kind and reason, with
-- a few of their record keys (run key).
SELECT kind, reason_code, count(*), (array_agg(record_key ORDER BY item_id))[1:5]
  FROM sync.exception_item
 WHERE first_run_key = %s AND status <> 'resolved'
 GROUP BY kind, reason_code ORDER BY kind, reason_code;

-- step: open_items
-- Every item still open of the given entities (NULL: of every entity), per kind and reason.
SELECT kind, reason_code, count(*) FROM sync.exception_item
 WHERE status <> 'resolved' AND (%(entities)s::text[] IS NULL OR entity = ANY(%(entities)s))
 GROUP BY kind, reason_code ORDER BY kind, reason_code;
