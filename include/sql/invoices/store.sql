-- A claim's invoices (expense_sync.invoices.store). Positional parameters.

-- step: clear
DELETE FROM fin.claim_invoice WHERE claim_id = %s;

-- step: insert
-- One invoice of a claim line, as read from 合思 (the problem is why it could not be read).
INSERT INTO fin.claim_invoice (claim_id, line_no, seq, invoice_id, source_type, category, invoice_type,
    invoice_key, invoice_code, invoice_no, invoice_date, seller_name, seller_tax_id, buyer_tax_id, net, tax,
    total, fare, fuel, verified, claimed_deductible, rule_vat, problem, raw, items)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb,
        %s::jsonb);
