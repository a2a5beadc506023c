-- Claims in from 合思 (expense_sync.claims.intake). Positional parameters unless a step says otherwise.

-- step: update_times
-- The 合思 update time (epoch milliseconds, garbage left out) of the flows held among these.
SELECT flow_id, CASE WHEN raw ->> 'updateTime' ~ '^[0-9]{1,15}$'
                     THEN (raw ->> 'updateTime')::bigint END
  FROM fin.claim WHERE flow_id = ANY(%s);

-- step: held
-- The state and content hash of a claim held, by flow.
SELECT state, content_hash FROM fin.claim WHERE flow_id = %s;

-- step: upsert
-- Insert an approved claim, or bring a known one in step (named parameters). A claim not yet
-- posted takes the new content and is validated again; a posted one keeps what its voucher holds.
INSERT INTO fin.claim AS c (claim_no, flow_id, company, employee_no, title, claim_date, period, currency,
                           total_amount, expense_state, content_hash, raw, approved_at, requisition_codes)
VALUES (%(claim_no)s, %(flow_id)s, %(company)s, %(employee_no)s, %(title)s, %(claim_date)s, %(period)s,
        %(currency)s, %(total)s, %(state)s, %(hash)s, %(raw)s::jsonb, now(), %(requisitions)s::text[])
ON CONFLICT (flow_id) DO UPDATE SET
    requisition_codes = EXCLUDED.requisition_codes,
    raw = EXCLUDED.raw, expense_state = EXCLUDED.expense_state, fetched_at = now(), updated_at = now(),
    version = c.version + (c.content_hash <> EXCLUDED.content_hash)::int,
    content_hash = CASE WHEN c.state IN ('received', 'invalid', 'cancelled') THEN EXCLUDED.content_hash
                        ELSE c.content_hash END,
    title = EXCLUDED.title, employee_no = EXCLUDED.employee_no,
    claim_date = CASE WHEN c.state IN ('received', 'invalid', 'cancelled') THEN EXCLUDED.claim_date
                      ELSE c.claim_date END,
    period = CASE WHEN c.state IN ('received', 'invalid', 'cancelled') THEN EXCLUDED.period ELSE c.period END,
    total_amount = CASE WHEN c.state IN ('received', 'invalid', 'cancelled') THEN EXCLUDED.total_amount
                        ELSE c.total_amount END,
    currency = CASE WHEN c.state IN ('received', 'invalid', 'cancelled') THEN EXCLUDED.currency ELSE c.currency END,
    state = CASE WHEN c.state = 'cancelled' OR (c.state = 'invalid' AND c.content_hash <> EXCLUDED.content_hash)
                 THEN 'received' ELSE c.state END,
    approved_at = COALESCE(c.approved_at, now())
RETURNING claim_id, state, (xmax = 0) AS inserted, version;

-- step: hold_malformed
-- A claim whose document became malformed: not yet valid, it stays invalid.
UPDATE fin.claim SET state = CASE WHEN state IN ('received', 'invalid') THEN 'invalid' ELSE state END
 WHERE flow_id = %s RETURNING claim_no, state;

-- step: claim_of
-- A claim by flow.
SELECT claim_id, claim_no, state FROM fin.claim WHERE flow_id = %s;

-- step: voucher_intended
-- Whether the voucher of a claim was ever begun (an outbound row for its claim number).
SELECT 1 FROM sync.outbound WHERE entity = 'voucher' AND business_key = %s;

-- step: cancel
-- A claim without a voucher, cancelled in 合思 (expense state, claim id).
UPDATE fin.claim SET state = 'cancelled', expense_state = %s, updated_at = now() WHERE claim_id = %s;

-- step: expense_state
-- The 合思 state of a claim (expense state, claim id).
UPDATE fin.claim SET expense_state = %s, updated_at = now() WHERE claim_id = %s;

-- step: employee_no
-- The 工号 of a 合思 staff, through the org sync's crosswalk.
SELECT e.employee_no FROM mdm.crosswalk x JOIN mdm.employee e ON e.employee_id = x.canonical_id
 WHERE x.entity = 'employee' AND x.system = 'ekuaibao' AND x.external_id = %s;

-- step: unread_invoices
-- Claims not yet posted with an invoice 合思 did not return when they were read (positional: how
-- many): read again on the next catch-up, since a document unchanged in 合思 is otherwise not.
SELECT DISTINCT c.flow_id, c.claim_id FROM fin.claim c JOIN fin.claim_invoice i USING (claim_id)
 WHERE c.state IN ('received', 'invalid') AND i.raw IS NULL
 ORDER BY c.claim_id LIMIT %s;
