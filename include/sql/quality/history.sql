-- The history of the data health checks.

-- step: record_result
INSERT INTO quality.check_result (run_key, checkpoint, suite, success, evaluated, failed, failures)
               VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb);
