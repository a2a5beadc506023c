-- What the org sync's tasks read (expense_sync.tasks.org).

-- step: open_exceptions
-- The exception items still open, per kind and entity.
SELECT kind, entity, count(*) FROM sync.exception_item WHERE status <> 'resolved'
 GROUP BY kind, entity ORDER BY kind, entity;
