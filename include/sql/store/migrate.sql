-- The migration runner's own bookkeeping.

-- step: lock
SELECT pg_advisory_xact_lock(%s);

-- step: create_table
CREATE TABLE IF NOT EXISTS public.expense_sync_migration (
                   version text PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now());

-- step: applied
SELECT version, checksum FROM public.expense_sync_migration;

-- step: record_applied
INSERT INTO public.expense_sync_migration (version, name, checksum) VALUES (%s, %s, %s);
