-- Session-level advisory locks per outbound key.

-- step: set_lock_timeout
SELECT set_config('lock_timeout', %s, true);

-- step: lock
SELECT pg_advisory_lock(%s);

-- step: unlock
SELECT pg_advisory_unlock(%s);
