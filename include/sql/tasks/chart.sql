-- What the chart sync's tasks read (expense_sync.tasks.chart).

-- step: open_exceptions
-- The chart's exception items still open, per entity, reason and status.
SELECT entity, reason_code, status, count(*) FROM sync.exception_item
 WHERE status <> 'resolved' AND entity IN ('gl_account', 'expense_category', 'cost_center', 'project')
 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
