-- The run ledger: counts per DAG run and step.

-- step: open_run
INSERT INTO sync.run (run_key, dag_id, run_id) VALUES (%s, %s, %s) ON CONFLICT (run_key) DO NOTHING;

-- step: record_step
INSERT INTO sync.run_step (run_key, step, counts) VALUES (%s, %s, %s)
           ON CONFLICT (run_key, step) DO UPDATE SET counts = EXCLUDED.counts, finished_at = now();

-- step: finish_run
UPDATE sync.run SET finished_at = now(), status = %s WHERE run_key = %s;

-- step: steps_of_run
SELECT step, counts FROM sync.run_step WHERE run_key = %s ORDER BY finished_at;
