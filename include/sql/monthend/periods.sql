-- Which periods the month end has closed (expense_sync.monthend.periods).

-- step: closed
-- The month end ran for the period and company: a rollup run or a reconciliation of it (positional:
-- vendor, period, company). Nothing more is posted into it; a late correction goes into an open period.
SELECT EXISTS (SELECT 1 FROM fin.rollup_run WHERE erp_vendor = %s AND period = %s AND company = %s)
    OR EXISTS (SELECT 1 FROM fin.reconciliation WHERE erp_vendor = %s AND period = %s AND company = %s);
