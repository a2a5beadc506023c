-- The event inbox: webhook events in, the claim_events DAG's work queue out.

-- step: insert
INSERT INTO sync.event_inbox (source, dedup_key, event_type, subject, headers, payload)
VALUES (%s, %s, %s, %s, %s::jsonb, %s::jsonb)
ON CONFLICT (source, dedup_key) DO NOTHING
RETURNING event_id;

-- step: insert_batch
-- The receiver's group commit: many events in one statement (one transaction, one commit), in the
-- order given; a key given twice is inserted once. Returns the keys inserted now.
INSERT INTO sync.event_inbox (source, dedup_key, event_type, subject, headers, payload)
SELECT source, dedup_key, event_type, subject, headers::jsonb, payload::jsonb
  FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[]) WITH ORDINALITY
       AS given (source, dedup_key, event_type, subject, headers, payload, position)
 ORDER BY position
ON CONFLICT (source, dedup_key) DO NOTHING
RETURNING source, dedup_key;

-- step: claim
SELECT event_id, source, dedup_key, event_type, subject, payload, attempts, received_at
  FROM sync.event_inbox
 WHERE status = 'new' AND (%(sources)s::text[] IS NULL OR source = ANY(%(sources)s::text[]))
   AND (%(types)s::text[] IS NULL OR event_type = ANY(%(types)s::text[]))
   AND (%(except)s::text[] IS NULL OR event_type IS NULL OR NOT event_type = ANY(%(except)s::text[]))
 ORDER BY event_id
 LIMIT %(limit)s
   FOR UPDATE SKIP LOCKED;

-- step: finish
UPDATE sync.event_inbox
              SET status = %s, attempts = attempts + 1, last_error = %s, processed_at = now()
            WHERE event_id = ANY(%s) AND status = 'new';

-- step: record_failure
UPDATE sync.event_inbox
              SET attempts = attempts + 1, last_error = %(error)s,
                  status = CASE WHEN attempts + 1 >= %(max)s THEN 'failed' ELSE 'new' END,
                  processed_at = CASE WHEN attempts + 1 >= %(max)s THEN now() END
            WHERE event_id = %(id)s AND status = 'new'
        RETURNING status;

-- step: replay
UPDATE sync.event_inbox SET status = 'new', attempts = 0, processed_at = NULL
            WHERE event_id = ANY(%s) AND status = 'failed';
