-- What the claim events' tasks read (expense_sync.tasks.claims).

-- step: claims_by_state
-- How many claims each state holds.
SELECT state, count(*) FROM fin.claim GROUP BY state;

-- step: open_exceptions
-- The claims' exception items still open, per kind and reason.
SELECT kind, reason_code, count(*) FROM sync.exception_item WHERE entity = 'claim'
   AND status <> 'resolved' GROUP BY kind, reason_code ORDER BY kind, reason_code;
