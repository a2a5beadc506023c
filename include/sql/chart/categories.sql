-- Reconcile expense categories (ERP) with 合思 fee types (read-only in 合思's API): each active
-- category maps onto the active fee type carrying its code; what cannot be decided automatically
-- becomes a conflict (no fee type; a mapped fee type whose GL account is inactive, unknown or not
-- postable). A person's decision stands while neither side changes (sync.chart_sync_state).
-- Parameters: run_key.

-- step: evaluate
CREATE TEMP TABLE category_eval ON COMMIT DROP AS
WITH judged AS (
    SELECT c.expense_category_id, c.code, c.name, c.active, c.gl_account_code,
           g.gl_account_id IS NOT NULL AS gl_known, COALESCE(g.active, false) AS gl_active,
           COALESCE(g.postable, false) AS gl_postable,
           f.fee_type_id, f.remote_id AS fee_remote_id, f.code AS fee_code, f.name AS fee_name,
           s.decision, s.erp_hash AS held_erp_hash, s.expense_hash AS held_expense_hash,
           q.decided_by, q.decided_at
    FROM mdm.expense_category c
    LEFT JOIN mdm.gl_account g ON g.code = c.gl_account_code
    LEFT JOIN LATERAL (SELECT * FROM mdm.fee_type t WHERE t.code = c.code AND t.active
                        ORDER BY t.fee_type_id LIMIT 1) f ON true
    LEFT JOIN sync.chart_sync_state s ON s.entity = 'expense_category' AND s.record_key = c.code
    LEFT JOIN sync.exception_item q ON q.item_id = s.decision_item_id
), hashed AS (
    SELECT j.*,
           md5(jsonb_build_array(j.code, j.name, j.active, j.gl_account_code, j.gl_known, j.gl_active,
                                 j.gl_postable)::text) AS erp_hash,
           md5(jsonb_build_array(j.fee_remote_id, j.fee_code, j.fee_name)::text) AS expense_hash
    FROM judged j
), problems AS (
    SELECT h.*,
           COALESCE(h.decision IS NOT NULL AND h.held_erp_hash = h.erp_hash
                    AND h.held_expense_hash = h.expense_hash, false) AS decided,
           CASE WHEN NOT h.active THEN NULL
                WHEN h.fee_type_id IS NULL THEN 'no_fee_type'
                WHEN NOT h.gl_active THEN 'fee_type_gl_inactive'
                WHEN NOT h.gl_postable THEN 'fee_type_gl_not_postable'
           END AS problem
    FROM hashed h
)
SELECT p.*,
       CASE WHEN NOT p.decided THEN p.problem END AS reason,
       CASE WHEN NOT p.active THEN 'inactive'
            WHEN p.problem IS NULL THEN 'mapped'
            WHEN p.problem = 'no_fee_type' THEN 'unmapped'
            WHEN p.decided AND p.decision = 'keep_expense' THEN 'kept'
            ELSE 'suspended'
       END AS state,
       CASE WHEN p.decided THEN 'human' WHEN p.active AND p.problem IS NULL THEN 'auto_code' END AS provenance,
       jsonb_build_object(
           'erp', jsonb_build_object('code', p.code, 'name', p.name, 'gl_account', p.gl_account_code,
                                     'gl_known', p.gl_known, 'gl_active', p.gl_active, 'gl_postable', p.gl_postable),
           'expense', CASE WHEN p.fee_type_id IS NOT NULL THEN
                          jsonb_build_object('fee_type', p.fee_remote_id, 'code', p.fee_code, 'name', p.fee_name)
                      END,
           'erp_hash', p.erp_hash, 'expense_hash', p.expense_hash) AS record,
       p.name || ' (' || p.code || ')' || CASE
           WHEN p.problem = 'no_fee_type' THEN ': no active 合思 fee type has the code ' || p.code
           WHEN p.problem IS NOT NULL THEN ': fee type ' || p.fee_name || ' posts to GL account '
                || COALESCE(p.gl_account_code, '(none)')
                || CASE WHEN NOT p.gl_known THEN ', which the chart does not have'
                        WHEN NOT p.gl_active THEN ', which is inactive' ELSE ', which is not a postable leaf' END
           ELSE '' END AS detail
FROM problems p;

-- step: index
CREATE INDEX ON category_eval (code);

-- step: analyze
ANALYZE category_eval;

-- step: reopen
-- A deferred conflict whose values changed since it was deferred is asked again.
WITH reopened AS (
    UPDATE sync.exception_item q SET status = 'open', last_run_key = %(run_key)s
      FROM category_eval e
     WHERE q.kind = 'conflict' AND q.source_system = 'ekuaibao' AND q.entity = 'expense_category'
       AND q.status = 'deferred' AND q.record_key = e.code AND q.reason_code = e.reason
       AND ((q.record ->> 'erp_hash') IS DISTINCT FROM e.erp_hash
            OR (q.record ->> 'expense_hash') IS DISTINCT FROM e.expense_hash)
    RETURNING q.item_id
)
INSERT INTO sync.exception_event (item_id, actor, action, detail)
SELECT item_id, 'system', 'reopened', jsonb_build_object('run_key', %(run_key)s::text) FROM reopened;

-- step: expire_decisions
-- A decision stands until either side changes; then the category is judged afresh.
UPDATE sync.chart_sync_state s SET decision = NULL, decision_item_id = NULL, updated_at = now()
  FROM category_eval e
 WHERE s.entity = 'expense_category' AND s.record_key = e.code AND s.decision IS NOT NULL AND NOT e.decided;

-- step: map
INSERT INTO mdm.category_fee_type AS m (expense_category_id, fee_type_id, state, provenance, decided_by, decided_at)
SELECT expense_category_id, fee_type_id, state, provenance,
       CASE WHEN decided THEN decided_by END, CASE WHEN decided THEN decided_at END
FROM category_eval
ON CONFLICT (expense_category_id) DO UPDATE
   SET fee_type_id = EXCLUDED.fee_type_id, state = EXCLUDED.state, provenance = EXCLUDED.provenance,
       decided_by = EXCLUDED.decided_by, decided_at = EXCLUDED.decided_at, updated_at = now()
 WHERE (m.fee_type_id, m.state, m.provenance, m.decided_by, m.decided_at)
       IS DISTINCT FROM (EXCLUDED.fee_type_id, EXCLUDED.state, EXCLUDED.provenance, EXCLUDED.decided_by,
                         EXCLUDED.decided_at);

-- step: count_states
SELECT state, count(*) FROM category_eval GROUP BY state;
