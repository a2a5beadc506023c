-- The outbound ledger: exactly-once writes to another system, keyed by business key.

-- step: mark_sending
INSERT INTO sync.outbound AS o (target_system, entity, business_key, payload, payload_hash, state,
                                               attempts, run_key)
               SELECT %s, %s, e ->> 'k', e -> 'p', e ->> 'h', 'sending', 1, %s FROM jsonb_array_elements(%s::jsonb) e
               ON CONFLICT (target_system, entity, business_key) DO UPDATE
                  SET payload = EXCLUDED.payload, payload_hash = EXCLUDED.payload_hash, state = 'sending',
                      attempts = o.attempts + 1, run_key = EXCLUDED.run_key, last_error = NULL,
                      updated_at = now();

-- step: mark_done
UPDATE sync.outbound o SET state = 'done', remote_id = COALESCE(t.r, o.remote_id), last_error = NULL,
                  payload_hash = CASE WHEN %s THEN o.payload_hash END, updated_at = now()
             FROM unnest(%s::text[], %s::text[]) AS t(k, r)
            WHERE o.target_system = %s AND o.entity = %s AND o.business_key = t.k;

-- step: mark_failed
UPDATE sync.outbound SET state = %s, last_error = %s, updated_at = now()
                WHERE target_system = %s AND entity = %s AND business_key = %s;

-- step: in_doubt
SELECT business_key, payload, remote_id FROM sync.outbound
            WHERE target_system = %s AND entity = %s AND state = 'sending' ORDER BY business_key;

-- step: ledger_of_keys
SELECT business_key, state, payload_hash, remote_id FROM sync.outbound
            WHERE target_system = %s AND entity = %s AND business_key = ANY(%s);

-- step: commit_asynchronously
SET LOCAL synchronous_commit = off;
