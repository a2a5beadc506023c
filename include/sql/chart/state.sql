-- The chart's sync state: what both sides agreed on at the last sync.

-- step: save
INSERT INTO sync.chart_sync_state AS s
                 (entity, record_key, erp_hash, expense_hash, decision, decision_item_id)
          VALUES (%s, %s, %s, %s, %s, %s)
          ON CONFLICT (entity, record_key) DO UPDATE
             SET erp_hash = EXCLUDED.erp_hash, expense_hash = EXCLUDED.expense_hash, decision = EXCLUDED.decision,
                 decision_item_id = EXCLUDED.decision_item_id, updated_at = now()
           WHERE (s.erp_hash, s.expense_hash, s.decision, s.decision_item_id)
                 IS DISTINCT FROM (EXCLUDED.erp_hash, EXCLUDED.expense_hash, EXCLUDED.decision,
                                   EXCLUDED.decision_item_id);
