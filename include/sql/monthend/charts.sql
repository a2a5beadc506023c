-- The numbers behind the auditors' pack's charts (expense_sync.monthend.charts): where the period's
-- expenses went, and how the months compare. Parameters: period, vendor.
-- Every amount is Σ of the closed claims' lines (fin.closed_claim), as rolled up to the ledger.

-- step: distribution
-- The period's expense per cost center, per category (the expense GL account, named by its expense
-- category where the chart has one) and per project ('' for lines without a project), largest first,
-- beside the month before's (month over month; a key only the month before had shows 0 this month).
WITH lines AS (
    SELECT c.period = %(period)s AS this_month, c.claim_id, l.cost_center, l.gl_account,
           COALESCE(l.project, '') AS project, l.amount
    FROM fin.closed_claim c JOIN fin.claim_line l USING (claim_id)
    WHERE c.erp_vendor = %(vendor)s
      AND c.period IN (%(period)s, to_char(to_date(%(period)s, 'YYYY-MM') - interval '1 month', 'YYYY-MM'))
), keyed AS (
    SELECT 'cost_center' AS dimension, cost_center AS code, this_month, claim_id, amount FROM lines
    UNION ALL
    SELECT 'category', gl_account, this_month, claim_id, amount FROM lines
    UNION ALL
    SELECT 'project', project, this_month, claim_id, amount FROM lines
), grouped AS (
    SELECT dimension, code, count(DISTINCT claim_id) FILTER (WHERE this_month) AS claims,
           COALESCE(sum(amount) FILTER (WHERE this_month), 0) AS amount,
           COALESCE(sum(amount) FILTER (WHERE NOT this_month), 0) AS before
    FROM keyed GROUP BY dimension, code
)
SELECT g.dimension, g.code,
       COALESCE(CASE g.dimension
                    WHEN 'cost_center' THEN (SELECT cc.name FROM mdm.cost_center cc WHERE cc.code = g.code)
                    WHEN 'project' THEN (SELECT p.name FROM mdm.project p WHERE p.code = g.code)
                    ELSE COALESCE((SELECT min(e.name) FROM mdm.expense_category e WHERE e.gl_account_code = g.code),
                                  (SELECT a.name FROM mdm.gl_account a WHERE a.code = g.code))
                END, '') AS name,
       g.claims, g.amount::numeric(18,2) AS amount, g.before::numeric(18,2) AS month_before,
       (g.amount - g.before)::numeric(18,2) AS change
FROM grouped g
ORDER BY g.dimension, g.amount DESC, g.before DESC, g.code;

-- step: trend
-- The twelve months up to the period: claims, expense, and the change on the month before (months
-- without claims are there with zero).
WITH months AS (
    SELECT to_char(m, 'YYYY-MM') AS period
    FROM generate_series(to_date(%(period)s, 'YYYY-MM') - interval '11 months', to_date(%(period)s, 'YYYY-MM'),
                         interval '1 month') m
), sums AS (
    SELECT c.period, count(DISTINCT c.claim_id) AS claims, sum(l.amount) AS amount
    FROM fin.closed_claim c JOIN fin.claim_line l USING (claim_id)
    WHERE c.erp_vendor = %(vendor)s AND c.period IN (SELECT period FROM months)
    GROUP BY c.period
)
SELECT m.period, COALESCE(s.claims, 0) AS claims, COALESCE(s.amount, 0)::numeric(18,2) AS amount,
       (COALESCE(s.amount, 0) - lag(COALESCE(s.amount, 0)) OVER (ORDER BY m.period))::numeric(18,2) AS change
FROM months m LEFT JOIN sums s USING (period)
ORDER BY m.period;
