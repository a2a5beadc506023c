-- Merge one ERP load of tax codes (staging.tax_code) into mdm.tax_code: the rules of
-- merge_suppliers.sql (ERP master, quarantine of malformed records, deactivate what the ERP no
-- longer lists, write only what changed). Parameters: load_id, system.

-- step: candidates
CREATE TEMP TABLE tax_code_in ON COMMIT DROP AS
SELECT s.source_key, s.code, s.name, s.rate, s.exempt, s.active, s.remote_id, s.raw,
       CASE
           WHEN s.code IS NULL THEN 'missing_code'
           WHEN s.name IS NULL THEN 'missing_name'
           WHEN count(*) OVER (PARTITION BY s.code) > 1 THEN 'duplicate_code'
       END AS reason,
       COALESCE(s.name, '?') || ' (' || s.source_key || ')' AS detail
FROM staging.tax_code s
WHERE s.load_id = %(load_id)s;

-- step: index
CREATE INDEX ON tax_code_in (code);

-- step: analyze
ANALYZE tax_code_in;

-- step: insert_new
INSERT INTO mdm.tax_code (code, name, rate, exempt, active, source_system, deactivated_at)
SELECT i.code, i.name, i.rate, i.exempt, i.active, %(system)s, CASE WHEN i.active THEN NULL ELSE now() END
FROM tax_code_in i
WHERE i.reason IS NULL AND NOT EXISTS (SELECT 1 FROM mdm.tax_code c WHERE c.code = i.code);

-- step: update_existing
UPDATE mdm.tax_code c
   SET name = i.name, rate = i.rate, exempt = i.exempt, active = i.active, source_system = %(system)s,
       updated_at = now(),
       deactivated_at = CASE WHEN i.active THEN NULL ELSE COALESCE(c.deactivated_at, now()) END
FROM tax_code_in i
WHERE i.reason IS NULL AND c.code = i.code
  AND (c.name, c.rate, c.exempt, c.active, c.source_system)
      IS DISTINCT FROM (i.name, i.rate, i.exempt, i.active, %(system)s::text);

-- step: deactivate_missing
UPDATE mdm.tax_code c SET active = false, deactivated_at = now(), updated_at = now()
WHERE c.active AND c.source_system = %(system)s AND NOT EXISTS (SELECT 1 FROM tax_code_in i WHERE i.code = c.code);

-- step: crosswalk_stale
DELETE FROM mdm.crosswalk x
USING tax_code_in i JOIN mdm.tax_code c ON c.code = i.code
WHERE x.entity = 'tax_code' AND x.system = %(system)s AND x.canonical_id = c.tax_code_id
  AND i.remote_id IS NOT NULL AND x.external_id <> i.remote_id AND i.reason IS NULL;

-- step: crosswalk
INSERT INTO mdm.crosswalk (entity, canonical_id, system, external_id)
SELECT 'tax_code', c.tax_code_id, %(system)s, i.remote_id
FROM tax_code_in i JOIN mdm.tax_code c ON c.code = i.code
WHERE i.remote_id IS NOT NULL AND i.reason IS NULL
ON CONFLICT (entity, system, external_id) DO UPDATE SET canonical_id = EXCLUDED.canonical_id, updated_at = now()
WHERE mdm.crosswalk.canonical_id <> EXCLUDED.canonical_id;
