-- What the month-end and data health tasks read (expense_sync.tasks.monthend). Positional parameters.

-- step: rollup_runs
-- The runs that rolled the period up (period, vendor).
SELECT DISTINCT run_key FROM fin.rollup_run WHERE period = %s AND erp_vendor = %s;

-- step: open_differences
-- The period's reconciliation differences still open (the period's key prefix, for a LIKE).
SELECT entity, reason_code, count(*) FROM sync.exception_item WHERE status <> 'resolved'
   AND entity IN ('ledger_line', 'claim', 'voucher') AND record_key LIKE %s GROUP BY 1, 2 ORDER BY 1, 2;

-- step: checks_of_run
-- The data health results of one run.
SELECT suite, success, failed FROM quality.check_result WHERE run_key = %s ORDER BY suite;

-- step: checked_runs
-- How many runs the data health history holds.
SELECT count(DISTINCT run_key) FROM quality.check_result;
