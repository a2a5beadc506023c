-- The sync-health page (expense_sync.health): the numbers behind each chart, per DAG and run, over
-- the runs started since %(since)s. The run ledger is sync.run / sync.run_step; a step's counts are
-- the engine's own, plus `vendor_api` (vendor -> calls, throttled, retries) that run_step adds.

-- step: rows
-- Middle-platform rows per run: the `merge` steps count them per entity ({"employee": {"created": …}}).
SELECT r.dag_id, r.run_key, r.started_at,
       sum(COALESCE((e.value ->> 'created')::bigint, 0))::bigint     AS created,
       sum(COALESCE((e.value ->> 'updated')::bigint, 0))::bigint     AS updated,
       sum(COALESCE((e.value ->> 'deactivated')::bigint, 0))::bigint AS deactivated,
       sum(COALESCE((e.value ->> 'quarantined')::bigint, 0))::bigint AS quarantined
FROM sync.run r
JOIN sync.run_step s USING (run_key)
CROSS JOIN LATERAL jsonb_each(s.counts) e
WHERE r.started_at >= %(since)s AND s.step = 'merge'
  AND jsonb_typeof(e.value) = 'object' AND e.value ? 'created'
GROUP BY r.dag_id, r.run_key, r.started_at
ORDER BY r.started_at, r.run_key;

-- step: api_calls
-- Vendor API calls per run and vendor, from every step run_step metered.
SELECT r.dag_id, r.run_key, r.started_at, v.key AS vendor,
       sum(COALESCE((v.value ->> 'calls')::bigint, 0))::bigint     AS calls,
       sum(COALESCE((v.value ->> 'throttled')::bigint, 0))::bigint AS throttled,
       sum(COALESCE((v.value ->> 'retries')::bigint, 0))::bigint   AS retries
FROM sync.run r
JOIN sync.run_step s USING (run_key)
CROSS JOIN LATERAL jsonb_each(s.counts -> 'vendor_api') v
WHERE r.started_at >= %(since)s AND jsonb_typeof(s.counts -> 'vendor_api') = 'object'
GROUP BY r.dag_id, r.run_key, r.started_at, v.key
ORDER BY r.started_at, r.run_key, v.key;

-- step: vouchers
-- Claim vouchers per run: the `post` step counts created / adopted (posted) and refused by the ERP.
SELECT r.dag_id, r.run_key, r.started_at,
       sum(COALESCE((s.counts ->> 'created')::bigint, 0) + COALESCE((s.counts ->> 'adopted')::bigint, 0))::bigint
           AS posted,
       sum(COALESCE((s.counts ->> 'refused')::bigint, 0))::bigint AS refused
FROM sync.run r
JOIN sync.run_step s USING (run_key)
WHERE r.started_at >= %(since)s AND s.step = 'post'
GROUP BY r.dag_id, r.run_key, r.started_at
ORDER BY r.started_at, r.run_key;

-- step: conflicts
-- Conflicts not resolved yet (open or deferred), by the DAG that queued them, entity and age.
SELECT split_part(COALESCE(first_run_key, ''), '/', 1) AS dag_id, entity,
       CASE WHEN age < interval '1 day' THEN 0 WHEN age < interval '7 days' THEN 1
            WHEN age < interval '30 days' THEN 2 ELSE 3 END AS age_rank,
       count(*)::bigint AS open
FROM (SELECT first_run_key, entity, now() - first_seen_at AS age
      FROM sync.exception_item WHERE kind = 'conflict' AND status <> 'resolved') c
GROUP BY 1, 2, 3
ORDER BY 1, 3, 2;

-- step: quality
-- Great Expectations suites per DAG and day: how many ran, how many passed.
SELECT split_part(run_key, '/', 1) AS dag_id, (date_trunc('day', checked_at AT TIME ZONE 'UTC'))::date AS day,
       count(*)::bigint AS checks, (count(*) FILTER (WHERE success))::bigint AS passed
FROM quality.check_result
WHERE checked_at >= %(since)s
GROUP BY 1, 2
ORDER BY 2, 1;

-- step: durations
-- Each run's duration: from its ledger opening to its close (or its last step while unclosed).
SELECT r.dag_id, r.run_key, r.started_at, r.status,
       extract(epoch FROM COALESCE(r.finished_at, max(s.finished_at)) - r.started_at)::float8 AS seconds
FROM sync.run r
LEFT JOIN sync.run_step s USING (run_key)
WHERE r.started_at >= %(since)s
GROUP BY r.run_key
HAVING COALESCE(r.finished_at, max(s.finished_at)) IS NOT NULL
ORDER BY r.started_at, r.run_key;
