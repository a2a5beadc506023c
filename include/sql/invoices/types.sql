-- The invoice-type dictionary in step with invoice_types.yaml (expense_sync.invoices.types).

-- step: upsert_type
-- One type (positional: code, name, vat_rule, special).
INSERT INTO mdm.invoice_type (code, name, vat_rule, special) VALUES (%s, %s, %s, %s)
ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, vat_rule = EXCLUDED.vat_rule, special = EXCLUDED.special,
    active = true, updated_at = now()
WHERE (mdm.invoice_type.name, mdm.invoice_type.vat_rule, mdm.invoice_type.special, mdm.invoice_type.active)
      IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.vat_rule, EXCLUDED.special, true);

-- step: upsert_source
-- Where one system puts a type (positional: system, object id, category or '', type).
INSERT INTO mdm.invoice_type_source (system, object_id, category, invoice_type) VALUES (%s, %s, %s, %s)
ON CONFLICT (system, object_id, category) DO UPDATE SET invoice_type = EXCLUDED.invoice_type
WHERE mdm.invoice_type_source.invoice_type <> EXCLUDED.invoice_type;

-- step: retire
-- Types the file no longer lists stay (invoices refer to them) but are inactive (positional: codes).
UPDATE mdm.invoice_type SET active = false, updated_at = now() WHERE active AND NOT code = ANY(%s);
