-- Watermarks: how far each stream has synced.

-- step: value_of
SELECT value FROM sync.watermark WHERE system = %s AND stream = %s;

-- step: set_value
INSERT INTO sync.watermark (system, stream, value, cursor, load_id, run_key)
           VALUES (%s, %s, %s, %s, %s, %s)
           ON CONFLICT (system, stream) DO UPDATE SET value = EXCLUDED.value, cursor = EXCLUDED.cursor,
               load_id = EXCLUDED.load_id, run_key = EXCLUDED.run_key, updated_at = now();
