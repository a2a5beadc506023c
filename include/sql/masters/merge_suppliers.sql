-- Merge one ERP load of suppliers (staging.supplier) into mdm.supplier, the ERP being master.
-- A supplier with an invalid credit code is merged all the same (credit_code_valid false) and
-- queued (reason supplier_credit_code_invalid); one without a code or name, or listed twice, is
-- quarantined and left out. Suppliers the ERP no longer lists are deactivated, never deleted.
-- Only what changed is written: a re-run writes nothing. Parameters: load_id, system.

-- step: candidates
CREATE TEMP TABLE supplier_in ON COMMIT DROP AS
SELECT s.source_key, s.code, s.name, s.credit_code, COALESCE(s.credit_code_valid, false) AS credit_code_valid,
       s.active, s.bank_account, s.remote_id, s.raw,
       CASE
           WHEN s.code IS NULL THEN 'missing_code'
           WHEN s.name IS NULL THEN 'missing_name'
           WHEN count(*) OVER (PARTITION BY s.code) > 1 THEN 'duplicate_code'
           WHEN s.credit_code IS NOT NULL AND NOT s.credit_code_valid THEN 'supplier_credit_code_invalid'
       END AS reason,
       COALESCE(s.name, '?') || ' (' || s.source_key || ')'
           || COALESCE(': credit code ' || s.credit_code, '') AS detail
FROM staging.supplier s
WHERE s.load_id = %(load_id)s;

-- step: index
CREATE INDEX ON supplier_in (code);

-- step: analyze
ANALYZE supplier_in;

-- step: insert_new
INSERT INTO mdm.supplier (code, name, credit_code, credit_code_valid, active, bank_account, source_system,
                          deactivated_at)
SELECT i.code, i.name, i.credit_code, i.credit_code_valid, i.active, i.bank_account, %(system)s,
       CASE WHEN i.active THEN NULL ELSE now() END
FROM supplier_in i
WHERE (i.reason IS NULL OR i.reason = 'supplier_credit_code_invalid')
  AND NOT EXISTS (SELECT 1 FROM mdm.supplier c WHERE c.code = i.code);

-- step: update_existing
UPDATE mdm.supplier c
   SET name = i.name, credit_code = i.credit_code, credit_code_valid = i.credit_code_valid, active = i.active,
       bank_account = i.bank_account, source_system = %(system)s, updated_at = now(),
       deactivated_at = CASE WHEN i.active THEN NULL ELSE COALESCE(c.deactivated_at, now()) END
FROM supplier_in i
WHERE (i.reason IS NULL OR i.reason = 'supplier_credit_code_invalid') AND c.code = i.code
  AND (c.name, c.credit_code, c.credit_code_valid, c.active, c.bank_account, c.source_system)
      IS DISTINCT FROM (i.name, i.credit_code, i.credit_code_valid, i.active, i.bank_account, %(system)s::text);

-- step: deactivate_missing
UPDATE mdm.supplier c SET active = false, deactivated_at = now(), updated_at = now()
WHERE c.active AND c.source_system = %(system)s AND NOT EXISTS (SELECT 1 FROM supplier_in i WHERE i.code = c.code);

-- step: crosswalk_stale
DELETE FROM mdm.crosswalk x
USING supplier_in i JOIN mdm.supplier c ON c.code = i.code
WHERE x.entity = 'supplier' AND x.system = %(system)s AND x.canonical_id = c.supplier_id
  AND i.remote_id IS NOT NULL AND x.external_id <> i.remote_id
  AND (i.reason IS NULL OR i.reason = 'supplier_credit_code_invalid');

-- step: crosswalk
INSERT INTO mdm.crosswalk (entity, canonical_id, system, external_id)
SELECT 'supplier', c.supplier_id, %(system)s, i.remote_id
FROM supplier_in i JOIN mdm.supplier c ON c.code = i.code
WHERE i.remote_id IS NOT NULL AND (i.reason IS NULL OR i.reason = 'supplier_credit_code_invalid')
ON CONFLICT (entity, system, external_id) DO UPDATE SET canonical_id = EXCLUDED.canonical_id, updated_at = now()
WHERE mdm.crosswalk.canonical_id <> EXCLUDED.canonical_id;
