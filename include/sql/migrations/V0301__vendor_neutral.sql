-- Vendors are packages under plugins/expense_sync/hooks/, found at run time: the schema names none.
-- V0201 listed the ERPs in a CHECK; adding an ERP then needed a migration. Keep only the shape of a
-- vendor name (the hook package's name).
ALTER TABLE fin.voucher DROP CONSTRAINT voucher_erp_vendor_check;
ALTER TABLE fin.voucher ADD CONSTRAINT voucher_erp_vendor_name CHECK (erp_vendor ~ '^[a-z][a-z0-9_]*$');
